package reachgate.rules.dns_egress_test

import data.reachgate.rules.dns_egress
import data.reachgate.testing as t
import rego.v1

fe := t.workload("app", "frontend", {"app": "frontend"})

sel := [t.selection("app/default-deny-all", ["app/frontend"], [])]

dns53 := {"TCP": [{"from": 53, "to": 53}], "UDP": [{"from": 53, "to": 53}]}

test_udp_and_tcp_pass if {
	count(dns_egress.deny) == 0 with input as t.with_input({
		"workloads": [fe, t.dns],
		"policies": [t.default_deny_all("app")],
		"reach": object.union(t.reach([t.flow(["app/frontend"], "kube-system/coredns", dns53)]), {"selection": sel}),
	})
}

test_udp_only_fails if {
	findings := dns_egress.deny with input as t.with_input({
		"workloads": [fe, t.dns],
		"policies": [t.default_deny_all("app")],
		"reach": object.union(t.reach([t.flow(["app/frontend"], "kube-system/coredns", t.udp(53))]), {"selection": sel}),
	})
	count(findings) == 1
	some f in findings
	f.object.name == "frontend"
	contains(f.msg, "TCP 53")
	not contains(f.msg, "UDP")
}

test_no_dns_at_all_fails if {
	findings := dns_egress.deny with input as t.with_input({
		"workloads": [fe, t.dns],
		"policies": [t.default_deny_all("app")],
		"reach": object.union(t.reach([t.flow(["app/frontend"], "kube-system/coredns", t.tcp(443))]), {"selection": sel}),
	})
	some f in findings
	contains(f.msg, "UDP and TCP 53")
}

test_not_egress_isolated_passes if {
	count(dns_egress.deny) == 0 with input as t.with_input({
		"workloads": [fe, t.dns],
		"policies": [t.policy("app", "in", {"podSelector": {}, "policyTypes": ["Ingress"]})],
		"reach": {"selection": [t.selection("app/in", ["app/frontend"], [])]},
	})
}

test_port_range_counts if {
	count(dns_egress.deny) == 0 with input as t.with_input({
		"workloads": [fe, t.dns],
		"policies": [t.default_deny_all("app")],
		"reach": object.union(t.reach([t.flow(["app/frontend"], "kube-system/coredns", {"TCP": [{"from": 1, "to": 1024}], "UDP": [{"from": 50, "to": 60}]})]), {"selection": sel}),
	})
}

test_custom_dns_labels if {
	mydns := t.inventory_workload("dns", "unbound", {"app": "unbound"})
	findings := dns_egress.deny with input as t.with_input({
		"workloads": [fe, t.dns, mydns],
		"policies": [t.default_deny_all("app")],
		"reach": object.union(t.reach([t.flow(["app/frontend"], "kube-system/coredns", dns53)]), {"selection": sel}),
	})
		with data.reachgate.params as {"dnsSelector": {"namespace": "dns", "labels": {"app": "unbound"}}}
	some f in findings
	contains(f.msg, "dns/unbound")
}

test_dns_namespace_must_match if {
	impostor := t.workload("app", "fake-dns", {"k8s-app": "kube-dns"})
	findings := dns_egress.deny with input as t.with_input({
		"workloads": [fe, impostor],
		"policies": [t.default_deny_all("app")],
		"reach": object.union(t.reach([t.flow(["app/frontend"], "app/fake-dns", dns53)]), {"selection": sel}),
	})
	some f in findings
	contains(f.msg, "no workload matches kube-system/k8s-app=kube-dns")
}
