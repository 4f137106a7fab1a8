package reachgate.rules.default_deny_test

import data.reachgate.rules.default_deny
import data.reachgate.testing as t
import rego.v1

app := t.workload("app", "frontend", {"app": "frontend"})

test_both_directions_denied_passes if {
	count(default_deny.deny) == 0 with input as t.with_input({
		"workloads": [app, t.dns],
		"policies": [t.default_deny_all("app")],
	})
}

test_separate_policies_pass if {
	count(default_deny.deny) == 0 with input as t.with_input({
		"workloads": [app],
		"policies": [
			t.policy("app", "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
			t.policy("app", "default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]}),
		],
	})
}

test_missing_egress_fails if {
	findings := default_deny.deny with input as t.with_input({
		"workloads": [app],
		"policies": [t.policy("app", "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})],
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Namespace", "namespace": "", "name": "app"}
	contains(f.msg, "default-deny egress")
}

test_policy_with_rules_is_not_default_deny if {
	findings := default_deny.deny with input as t.with_input({
		"workloads": [app],
		"policies": [t.policy("app", "all", {
			"podSelector": {},
			"policyTypes": ["Ingress", "Egress"],
			"ingress": [{"from": [{"podSelector": {}}]}],
		})],
	})
	count(findings) == 1
	some f in findings
	contains(f.msg, "default-deny ingress")
}

test_selector_not_empty_is_not_default_deny if {
	findings := default_deny.deny with input as t.with_input({
		"workloads": [app],
		"policies": [t.policy("app", "deny-frontend", {"podSelector": {"matchLabels": {"app": "frontend"}}, "policyTypes": ["Ingress", "Egress"]})],
	})
	count(findings) == 2
}

test_inventory_only_namespace_ignored if {
	count(default_deny.deny) == 0 with input as t.with_input({"workloads": [t.dns]})
}
