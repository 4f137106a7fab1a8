package reachgate.rules.dangling_policy_test

import data.reachgate.rules.dangling_policy
import data.reachgate.testing as t
import rego.v1

p := t.policy("app", "allow-x", {"podSelector": {"matchLabels": {"app": "x"}}})

test_selecting_policy_passes if {
	count(dangling_policy.deny) == 0 with input as t.with_input({
		"policies": [p],
		"reach": {"selection": [t.selection("app/allow-x", ["app/x"], [])]},
	})
}

test_policy_selecting_nothing_fails if {
	findings := dangling_policy.deny with input as t.with_input({
		"policies": [p],
		"reach": {"selection": [t.selection("app/allow-x", [], [])]},
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "NetworkPolicy", "namespace": "app", "name": "allow-x"}
	contains(f.msg, `{"matchLabels":{"app":"x"}}`)
}

test_empty_default_deny_exempt if {
	count(dangling_policy.deny) == 0 with input as t.with_input({
		"policies": [t.default_deny_all("empty")],
		"reach": {"selection": [t.selection("empty/default-deny-all", [], [])]},
	})
}
