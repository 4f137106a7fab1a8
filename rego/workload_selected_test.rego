package reachgate.rules.workload_selected_test

import data.reachgate.rules.workload_selected
import data.reachgate.testing as t
import rego.v1

fe := t.workload("app", "frontend", {"app": "frontend"})

test_selected_both_ways_passes if {
	count(workload_selected.deny) == 0 with input as t.with_input({
		"workloads": [fe, t.dns],
		"policies": [t.default_deny_all("app")],
		"reach": {"selection": [t.selection("app/default-deny-all", ["app/frontend"], [])]},
	})
}

test_only_ingress_fails if {
	findings := workload_selected.deny with input as t.with_input({
		"workloads": [fe],
		"policies": [t.policy("app", "in", {"podSelector": {}, "policyTypes": ["Ingress"]})],
		"reach": {"selection": [t.selection("app/in", ["app/frontend"], [])]},
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Deployment", "namespace": "app", "name": "frontend"}
	contains(f.msg, "for egress")
}

test_unselected_fails_twice if {
	findings := workload_selected.deny with input as t.with_input({"workloads": [fe]})
	count(findings) == 2
}

test_host_network_and_inventory_ignored if {
	hn := object.union(fe, {"hostNetwork": true})
	count(workload_selected.deny) == 0 with input as t.with_input({"workloads": [hn, t.dns]})
}
