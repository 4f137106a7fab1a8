package reachgate.rules.ipblock_pod_cidr_test

import data.reachgate.rules.ipblock_pod_cidr
import data.reachgate.testing as t
import rego.v1

block(b) := t.policy("app", "allow-external", {"podSelector": {"matchLabels": {"app": "be"}}, "egress": [{"to": [{"ipBlock": b}], "ports": [{"protocol": "TCP", "port": 443}]}]})

test_public_block_passes if {
	count(ipblock_pod_cidr.deny) == 0 with input as t.with_input({"policies": [block({"cidr": "203.0.113.0/24"})]})
}

test_everything_without_except_fails if {
	findings := ipblock_pod_cidr.deny with input as t.with_input({"policies": [block({"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]})]})
	count(findings) == 1
	some f in findings
	f.field == "spec.egress[0].to[0].ipBlock"
	contains(f.msg, "10.244.0.0/16")
}

test_everything_excepting_pod_cidr_passes if {
	count(ipblock_pod_cidr.deny) == 0 with input as t.with_input({"policies": [block({"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.169.254/32"]})]})
}

test_except_split_in_halves_passes if {
	count(ipblock_pod_cidr.deny) == 0 with input as t.with_input({"policies": [block({"cidr": "10.0.0.0/8", "except": ["10.244.0.0/17", "10.244.128.0/17"]})]})
}

test_block_inside_pod_cidr_fails if {
	count(ipblock_pod_cidr.deny) == 1 with input as t.with_input({"policies": [block({"cidr": "10.244.3.0/24"})]})
}

test_address_dependent_connection_fails if {
	other := t.policy("app", "allow-odd", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}]})
	fl := object.union(t.xflow(["app/be"], "", "app/db", t.wpeer("app/db"), t.tcp(5432), {"policy": "app/allow-odd", "rule": 0}, t.not_isolated), {"addressDependent": true})
	findings := ipblock_pod_cidr.deny with input as t.with_input({"policies": [other], "reach": t.reach([fl])})
	count(findings) == 1
	some f in findings
	f.object.name == "allow-odd"
	contains(f.msg, "address-dependent flows (app/be -> app/db)")
}

test_address_dependent_flow_of_flagged_policy_not_repeated if {
	p := block({"cidr": "0.0.0.0/0"})
	fl := object.union(t.xflow(["app/be"], "", "app/db", t.wpeer("app/db"), t.tcp(443), {"policy": "app/allow-external", "rule": 0}, t.not_isolated), {"addressDependent": true})
	count(ipblock_pod_cidr.deny) == 1 with input as t.with_input({"policies": [p], "reach": t.reach([fl])})
}
