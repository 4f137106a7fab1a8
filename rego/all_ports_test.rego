package reachgate.rules.all_ports_test

import data.reachgate.rules.all_ports
import data.reachgate.testing as t
import rego.v1

pol(rule) := t.policy("monitoring", "allow-scrape", {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [rule]})

sel(peers) := {"selection": [t.selection("monitoring/allow-scrape", ["monitoring/x"], peers)]}

test_named_ports_pass if {
	count(all_ports.deny) == 0 with input as t.with_input({"policies": [pol({"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 9090}]}), t.default_deny_all("app")]})
}

test_no_ports_fails if {
	findings := all_ports.deny with input as t.with_input({
		"policies": [pol({"from": [{"podSelector": {}}]})],
		"reach": sel([t.peer_sel("ingress", 0, 0, ["monitoring/prometheus", "monitoring/x"])]),
	})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[0]"
	contains(f.msg, "has no ports: monitoring/prometheus, monitoring/x reach monitoring/x on every port and protocol")
}

# A protocol-only entry is NP023's.
test_protocol_only_not_here if {
	count(all_ports.deny) == 0 with input as t.with_input({"policies": [pol({"ports": [{"protocol": "TCP", "port": 80}, {"protocol": "UDP"}]})]})
}

test_allow_everything_rule_fails if {
	findings := all_ports.deny with input as t.with_input({"policies": [pol({})], "reach": sel([])})
	count(findings) == 1
	some f in findings
	contains(f.msg, "every source, in the cluster or not reach monitoring/x on every port and protocol")
}

test_exempt_by_params if {
	count(all_ports.deny) == 0 with input as t.with_input({"policies": [pol({})]})
		with data.reachgate.params as {"allPortsAllowed": ["monitoring/*"]}
}

test_glob_does_not_cross_namespaces if {
	count(all_ports.deny) == 1 with input as t.with_input({"policies": [pol({})]})
		with data.reachgate.params as {"allPortsAllowed": ["monitor*"]}
}

# `namespaceSelector: {}` where the namespace was meant is NP024's.
test_namespace_slip_left_to_np024 if {
	p := t.policy("auth", "deny-from-other-namespaces", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]})
	count(all_ports.deny) == 0 with input as t.with_input({"policies": [p]})
}
