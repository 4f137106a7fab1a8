package reachgate.rules.internet_ingress_test

import data.reachgate.rules.internet_ingress
import data.reachgate.testing as t
import rego.v1

fe := t.workload("app", "frontend", {"app": "frontend"})

pol := t.policy("app", "allow-web", {"podSelector": {"matchLabels": {"app": "frontend"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})

from_internet(dst, cidrs, ingress) := t.xflow(cidrs, "internet", dst, t.wpeer(dst), t.tcp(443), t.not_isolated, ingress)

test_internet_to_unlabelled_workload_fails if {
	findings := internet_ingress.deny with input as t.with_input({
		"workloads": [fe],
		"policies": [pol],
		"reach": t.reach([from_internet("app/frontend", ["0.0.0.0/5", "8.0.0.0/7"], {"policy": "app/allow-web", "rule": 0})]),
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "NetworkPolicy", "namespace": "app", "name": "allow-web"}
	f.field == "spec.ingress[0]"
	contains(f.msg, "reachable from the internet (internet) on TCP 443")
}

test_labelled_workload_passes if {
	facing := t.workload("app", "frontend", {"app": "frontend", "reachgate.dev/internet-facing": "true"})
	count(internet_ingress.deny) == 0 with input as t.with_input({
		"workloads": [facing],
		"policies": [pol],
		"reach": t.reach([from_internet("app/frontend", ["0.0.0.0/5"], {"policy": "app/allow-web", "rule": 0})]),
	})
}

# An unisolated workload in a namespace without a default-deny ingress is
# NP001's finding for the namespace.
test_not_isolated_workload_left_to_np001 if {
	count(internet_ingress.deny) == 0 with input as t.with_input({
		"workloads": [fe],
		"reach": t.reach([from_internet("app/frontend", ["0.0.0.0/5"], t.not_isolated)]),
	})
}

test_partner_range_passes if {
	fl := t.xflow(["203.0.113.0/24"], "partner-api", "app/frontend", t.wpeer("app/frontend"), t.tcp(443), t.not_isolated, t.not_isolated)
	count(internet_ingress.deny) == 0 with input as t.with_input({"workloads": [fe], "reach": t.reach([fl])})
}

test_unnamed_public_range_fails if {
	fl := t.xflow(["10.1.0.0/16", "198.51.100.0/24"], "-", "app/frontend", t.wpeer("app/frontend"), t.tcp(443), t.not_isolated, {"policy": "app/allow-web", "rule": 0})
	findings := internet_ingress.deny with input as t.with_input({"workloads": [fe], "policies": [pol], "reach": t.reach([fl])})
	count(findings) == 1
	some f in findings
	contains(f.msg, "(unnamed public ranges)")
}

test_unnamed_private_range_passes if {
	fl := t.xflow(["10.1.0.0/16"], "-", "app/frontend", t.wpeer("app/frontend"), t.tcp(443), t.not_isolated, t.not_isolated)
	count(internet_ingress.deny) == 0 with input as t.with_input({"workloads": [fe], "reach": t.reach([fl])})
}

test_ipv6_internet_fails if {
	count(internet_ingress.deny) == 1 with input as t.with_input({
		"workloads": [fe],
		"policies": [pol],
		"reach": t.reach([from_internet("app/frontend", ["2000::/3"], {"policy": "app/allow-web", "rule": 0})]),
	})
}

test_workload_sources_ignored if {
	count(internet_ingress.deny) == 0 with input as t.with_input({
		"workloads": [fe],
		"reach": t.reach([t.flow(["app/a"], "app/frontend", t.tcp(443))]),
	})
}

test_inventory_workload_ignored if {
	nginx := t.inventory_workload("ingress-nginx", "controller", {})
	count(internet_ingress.deny) == 0 with input as t.with_input({
		"workloads": [nginx],
		"reach": t.reach([from_internet("ingress-nginx/controller", ["0.0.0.0/5"], t.not_isolated)]),
	})
}

# The internet let in by an AdminNetworkPolicy Allow (networks peer) or a
# Cilium fromEntities: world rule is found and blamed on that rule.
test_admin_allow_from_internet_fails if {
	g := {"policy": "public-web", "rule": 0, "kind": "AdminNetworkPolicy", "action": "Allow"}
	findings := internet_ingress.deny with input as t.with_input({
		"workloads": [fe],
		"reach": t.reach([from_internet("app/frontend", ["0.0.0.0/5"], g)]),
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "AdminNetworkPolicy", "name": "public-web"}
	f.field == "spec.ingress[0]"
	contains(f.msg, "allowed by AdminNetworkPolicy public-web spec.ingress[0] (Allow)")
}

test_cilium_world_ingress_fails if {
	cnp := {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "web-in", "key": "app/web-in", "rules": [], "source": t.src}
	g := {"policy": "app/web-in", "rule": 0, "kind": "CiliumNetworkPolicy", "action": "Allow", "section": "spec"}
	findings := internet_ingress.deny with input as t.with_input({
		"workloads": [fe],
		"ciliumPolicies": [cnp],
		"reach": t.reach([from_internet("app/frontend", ["0.0.0.0/5"], g)]),
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "web-in"}
	f.field == "spec.ingress[0]"
}
