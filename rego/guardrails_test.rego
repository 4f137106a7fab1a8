package reachgate.rules.guardrails_test

import data.reachgate.rules.guardrails
import data.reachgate.testing as t
import rego.v1

np := t.policy("monitoring", "allow-all", {"podSelector": {}})

overridden := {
	"rule": {"policy": "monitoring/allow-all", "kind": "", "direction": "ingress", "rule": 0, "action": "Allow", "text": "monitoring/allow-all ingress[0]"},
	"by": {"policy": "deny-monitoring", "kind": "AdminNetworkPolicy", "direction": "ingress", "rule": 0, "action": "Deny", "text": "AdminNetworkPolicy deny-monitoring ingress[0] (Deny)"},
	"ports": "all ports",
}

test_shadowed_networkpolicy_rule_found if {
	findings := guardrails.deny with input as t.with_input({
		"policies": [np],
		"reach": {"overridden": [overridden]},
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "NetworkPolicy", "namespace": "monitoring", "name": "allow-all"}
	f.field == "spec.ingress[0]"
	contains(f.msg, "AdminNetworkPolicy deny-monitoring ingress[0] (Deny) denies first")
}

test_nothing_overridden_passes if {
	count(guardrails.deny) == 0 with input as t.with_input({"policies": [np], "reach": {"overridden": []}})
}

anp(name, prio) := {"kind": "AdminNetworkPolicy", "name": name, "tier": "Admin", "priority": prio, "rules": 1}

test_equal_priorities_found if {
	findings := guardrails.deny with input as t.with_input({"clusterPolicies": [anp("a", 10), anp("b", 10), anp("c", 11)]})
	count(findings) == 2
	some f in findings
	f.object == {"kind": "AdminNetworkPolicy", "name": "a"}
	contains(f.msg, "priority 10, like AdminNetworkPolicy b")
}

test_baseline_and_ruleless_ties_ignored if {
	base := {"kind": "ClusterNetworkPolicy", "name": "b", "tier": "Baseline", "priority": 10, "rules": 1}
	empty := {"kind": "AdminNetworkPolicy", "name": "e", "tier": "Admin", "priority": 10, "rules": 0}
	count(guardrails.deny) == 0 with input as t.with_input({"clusterPolicies": [anp("a", 10), base, empty]})
}
