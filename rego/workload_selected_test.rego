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

# A workload left open where the namespace has a default deny: the policy
# that would have isolated it was dropped (invalid), so the matrix does not
# see it.
test_only_ingress_fails if {
	findings := workload_selected.deny with input as t.with_input({
		"workloads": [fe],
		"policies": [t.policy("app", "in", {"podSelector": {}, "policyTypes": ["Ingress"]}), t.default_deny_all("app")],
		"reach": {"selection": [t.selection("app/in", ["app/frontend"], [])]},
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Deployment", "namespace": "app", "name": "frontend"}
	contains(f.msg, "for egress")
}

# A namespace without a default deny is one NP001 finding naming its
# workloads, not one more finding per workload.
test_open_namespace_left_to_np001 if {
	count(workload_selected.deny) == 0 with input as t.with_input({"workloads": [fe]})
}

test_host_network_and_inventory_ignored if {
	hn := object.union(fe, {"hostNetwork": true})
	count(workload_selected.deny) == 0 with input as t.with_input({"workloads": [hn, t.dns]})
}
