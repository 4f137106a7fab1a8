package reachgate.rules.ipblock_pod_cidr_test

import data.reachgate.rules.ipblock_pod_cidr
import data.reachgate.testing as t
import rego.v1

block(b) := t.policy("app", "allow-external", {"podSelector": {"matchLabels": {"app": "be"}}, "egress": [{"to": [{"ipBlock": b}], "ports": [{"protocol": "TCP", "port": 443}]}]})

sel := {"selection": [t.selection("app/allow-external", ["app/be"], [])]}

test_public_block_passes if {
	count(ipblock_pod_cidr.deny) == 0 with input as t.with_input({"policies": [block({"cidr": "203.0.113.0/24"})]})
}

# 0.0.0.0/0 holds the whole pod CIDR: every pod matches, and the finding
# says so (not "address-dependent"), with who gains what.
test_everything_without_except_fails if {
	findings := ipblock_pod_cidr.deny with input as t.with_input({"policies": [block({"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]})], "reach": sel})
	count(findings) == 1
	some f in findings
	f.field == "spec.egress[0].to[0].ipBlock"
	contains(f.msg, "holds every pod CIDR (10.244.0.0/16): it matches every pod, letting app/be reach those pods on TCP 443")
	contains(f.msg, "Cilium and GKE Dataplane V2 ignore ipBlocks for pod traffic, so this is not portable")
	not contains(f.msg, "address-dependent")
}

test_everything_excepting_pod_cidr_passes if {
	count(ipblock_pod_cidr.deny) == 0 with input as t.with_input({"policies": [block({"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.169.254/32"]})]})
}

test_except_split_in_halves_passes if {
	count(ipblock_pod_cidr.deny) == 0 with input as t.with_input({"policies": [block({"cidr": "10.0.0.0/8", "except": ["10.244.0.0/17", "10.244.128.0/17"]})]})
}

test_block_inside_pod_cidr_fails if {
	findings := ipblock_pod_cidr.deny with input as t.with_input({"policies": [block({"cidr": "10.244.3.0/24"})]})
	count(findings) == 1
	some f in findings
	contains(f.msg, "address-dependent")
}

# Excepting part of the pod CIDR leaves the rest matched by address.
test_partial_except_is_address_dependent if {
	findings := ipblock_pod_cidr.deny with input as t.with_input({"policies": [block({"cidr": "0.0.0.0/0", "except": ["10.244.0.0/17"]})]})
	count(findings) == 1
	some f in findings
	contains(f.msg, "overlaps the pod CIDR 10.244.0.0/16 without excepting it")
}

# The address-dependent half blames the rule whose ipBlock makes the flow
# depend on an address, not every rule that allows part of it.
test_address_dependent_connection_blames_the_ipblock_rule if {
	odd := t.policy("app", "allow-odd", {"podSelector": {"matchLabels": {"app": "be"}}, "egress": [{"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}]})
	dns := t.policy("app", "allow-db", {"podSelector": {"matchLabels": {"app": "be"}}, "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"protocol": "TCP", "port": 5432}]}]})
	fl := object.union(t.xflow(["app/be"], "", "app/db", t.wpeer("app/db"), t.tcp(5432), {"policy": "app/allow-odd", "rule": 0}, t.not_isolated), {
		"addressDependent": true,
		"allowedBy": [
			{"ports": t.tcp(5432), "portsText": "TCP 5432", "egress": {"policy": "app/allow-odd", "rule": 0}, "ingress": t.not_isolated},
			{"ports": t.tcp(5432), "portsText": "TCP 5432", "egress": {"policy": "app/allow-db", "rule": 0}, "ingress": t.not_isolated},
		],
	})
	findings := ipblock_pod_cidr.deny with input as t.with_input({
		"policies": [odd, dns],
		"reach": object.union(t.reach([fl]), {"selection": [
			t.selection("app/allow-odd", ["app/be"], [object.union(t.peer_sel("egress", 0, 0, []), {"ipBlock": "203.0.113.0/24"})]),
			t.selection("app/allow-db", ["app/be"], [t.peer_sel("egress", 0, 0, ["app/db"])]),
		]}),
	})
	count(findings) == 1
	some f in findings
	f.object.name == "allow-odd"
	f.field == "spec.egress[0]"
	contains(f.msg, "address-dependent flows (app/be -> app/db)")
}

test_address_dependent_flow_of_flagged_rule_not_repeated if {
	p := block({"cidr": "10.244.0.0/17"})
	fl := object.union(t.xflow(["app/be"], "", "app/db", t.wpeer("app/db"), t.tcp(443), {"policy": "app/allow-external", "rule": 0}, t.not_isolated), {"addressDependent": true})
	count(ipblock_pod_cidr.deny) == 1 with input as t.with_input({"policies": [p], "reach": t.reach([fl])})
}
