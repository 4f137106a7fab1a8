package reachgate.rules.default_deny_test

import data.reachgate.rules.default_deny
import data.reachgate.testing as t
import rego.v1

app := t.workload("app", "frontend", {"app": "frontend"})

api := t.workload("app", "api", {"app": "api"})

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
		"reach": {"selection": [t.selection("app/default-deny-ingress", ["app/frontend"], [])]},
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Namespace", "namespace": "", "name": "app"}
	contains(f.msg, "no default-deny egress policy")
	contains(f.msg, "app/frontend may connect anywhere, the cloud metadata service included")
}

test_policy_with_rules_is_not_default_deny if {
	findings := default_deny.deny with input as t.with_input({
		"workloads": [app],
		"policies": [t.policy("app", "all", {
			"podSelector": {},
			"policyTypes": ["Ingress", "Egress"],
			"ingress": [{"from": [{"podSelector": {}}]}],
		})],
		"reach": {"selection": [t.selection("app/all", ["app/frontend"], [])]},
	})
	count(findings) == 1
	some f in findings
	contains(f.msg, "no default-deny ingress policy")
	contains(f.msg, "every workload is isolated for ingress by its own policy today, but a new pod will not be")
}

# One finding per namespace, whatever the number of workloads and open
# directions, naming the workloads.
test_one_finding_per_namespace if {
	findings := default_deny.deny with input as t.with_input({
		"workloads": [app, api],
		"policies": [t.policy("app", "deny-frontend", {"podSelector": {"matchLabels": {"app": "frontend"}}, "policyTypes": ["Ingress", "Egress"]})],
		"reach": {"selection": [t.selection("app/deny-frontend", ["app/frontend"], [])]},
	})
	count(findings) == 1
	some f in findings
	contains(f.msg, "no default-deny ingress or egress policy")
	contains(f.msg, "app/api accept connections from any pod and from the internet")
	contains(f.msg, "app/api may connect anywhere")
	not contains(f.msg, "app/frontend")
}

test_inventory_only_namespace_ignored if {
	count(default_deny.deny) == 0 with input as t.with_input({"workloads": [t.dns]})
}

# A policy named default-deny-all that lists Ingress only: NP025 names it,
# and NP001 does not repeat it for the namespace.
test_misnamed_default_deny_left_to_np025 if {
	p := t.policy("app", "default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress"]})
	count(default_deny.deny) == 0 with input as t.with_input({"workloads": [app], "policies": [p]})
}
