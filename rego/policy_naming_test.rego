package reachgate.rules.policy_naming_test

import data.reachgate.rules.policy_naming
import data.reachgate.testing as t
import rego.v1

named(n) := t.policy("app", n, {"podSelector": {}})

# This repository's convention (reachgate.yaml, docs/naming-convention.md).
convention := {"namingPattern": `^(default-deny-(ingress|egress|all)|allow-[a-z0-9]([-a-z0-9]*[a-z0-9])?)$`}

test_conventional_names_pass if {
	count(policy_naming.deny) == 0 with input as t.with_input({"policies": [
		named("default-deny-ingress"),
		named("default-deny-all"),
		named("allow-frontend-to-backend"),
	]})
		with data.reachgate.params as convention
}

test_other_names_fail if {
	findings := policy_naming.deny with input as t.with_input({"policies": [named("frontend"), named("allow-"), named("default-deny-everything")]})
		with data.reachgate.params as convention
	count(findings) == 3
	some f in findings
	f.object.name == "frontend"
	contains(f.msg, "does not match the naming pattern")
}

test_custom_pattern if {
	count(policy_naming.deny) == 0 with input as t.with_input({"policies": [named("np-frontend")]})
		with data.reachgate.params as {"namingPattern": "^np-[a-z-]+$"}
}

# A naming convention is the repository's choice: off unless
# rules.params.namingPattern sets one.
test_off_by_default if {
	count(policy_naming.deny) == 0 with input as t.with_input({"policies": [named("Whatever"), named("argocd-server-network-policy")]})
}

test_empty_pattern_disables if {
	count(policy_naming.deny) == 0 with input as t.with_input({"policies": [named("Whatever")]})
		with data.reachgate.params as {"namingPattern": ""}
}
