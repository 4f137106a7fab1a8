package reachgate.rules.policy_naming_test

import data.reachgate.rules.policy_naming
import data.reachgate.testing as t
import rego.v1

named(n) := t.policy("app", n, {"podSelector": {}})

test_conventional_names_pass if {
	count(policy_naming.deny) == 0 with input as t.with_input({"policies": [
		named("default-deny-ingress"),
		named("default-deny-all"),
		named("allow-frontend-to-backend"),
	]})
}

test_other_names_fail if {
	findings := policy_naming.deny with input as t.with_input({"policies": [named("frontend"), named("allow-"), named("default-deny-everything")]})
	count(findings) == 3
}

test_custom_pattern if {
	count(policy_naming.deny) == 0 with input as t.with_input({"policies": [named("np-frontend")]})
		with data.reachgate.params as {"namingPattern": "^np-[a-z-]+$"}
}

test_empty_pattern_disables if {
	count(policy_naming.deny) == 0 with input as t.with_input({"policies": [named("Whatever")]})
		with data.reachgate.params as {"namingPattern": ""}
}
