package reachgate.rules.all_ports_test

import data.reachgate.rules.all_ports
import data.reachgate.testing as t
import rego.v1

pol(rule) := t.policy("monitoring", "allow-scrape", {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [rule]})

test_named_ports_pass if {
	count(all_ports.deny) == 0 with input as t.with_input({"policies": [pol({"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 9090}]}), t.default_deny_all("app")]})
}

test_no_ports_fails if {
	findings := all_ports.deny with input as t.with_input({"policies": [pol({"from": [{"podSelector": {}}]})]})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[0]"
}

test_protocol_only_fails if {
	findings := all_ports.deny with input as t.with_input({"policies": [pol({"ports": [{"protocol": "TCP", "port": 80}, {"protocol": "UDP"}]})]})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[0].ports[1]"
	contains(f.msg, "every UDP port")
}

test_allow_everything_rule_fails if {
	count(all_ports.deny) == 1 with input as t.with_input({"policies": [pol({})]})
}

test_exempt_by_params if {
	count(all_ports.deny) == 0 with input as t.with_input({"policies": [pol({})]})
		with data.reachgate.params as {"allPortsAllowed": ["monitoring/*"]}
}

test_glob_does_not_cross_namespaces if {
	count(all_ports.deny) == 1 with input as t.with_input({"policies": [pol({})]})
		with data.reachgate.params as {"allPortsAllowed": ["monitor*"]}
}
