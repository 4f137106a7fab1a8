package reachgate.rules.default_deny_name_test

import data.reachgate.rules.default_deny_name
import data.reachgate.testing as t
import rego.v1

named(name, spec) := t.policy("app", name, spec)

test_honest_names_pass if {
	count(default_deny_name.deny) == 0 with input as t.with_input({"policies": [
		named("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
		named("default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]}),
		named("default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
		named("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
		named("allow-web", {"podSelector": {}, "policyTypes": ["Ingress"]}),
	]})
}

test_all_without_egress_fails if {
	findings := default_deny_name.deny with input as t.with_input({"policies": [named("default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress"]})]})
	count(findings) == 1
	some f in findings
	f.field == "spec.policyTypes"
	f.msg == `app/default-deny-all is named default-deny-all but does not deny egress: policyTypes ["Ingress"] lacks Egress, so the egress traffic of every pod in app stays allowed`
}

# policyTypes omitted: the API defaults them to Ingress only.
test_default_deny_without_types_fails if {
	findings := default_deny_name.deny with input as t.with_input({"policies": [named("default-deny", {"podSelector": {}})]})
	count(findings) == 1
	some f in findings
	contains(f.msg, "does not deny egress")
}

test_rules_fail if {
	findings := default_deny_name.deny with input as t.with_input({"policies": [named("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]})]})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress"
	contains(f.msg, "spec.ingress has 1 rule(s), which allow traffic")
}

test_selector_fails_once if {
	p := named("default-deny-all", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"]})
	findings := default_deny_name.deny with input as t.with_input({"policies": [p], "reach": {"selection": [t.selection("app/default-deny-all", ["app/web"], [])]}})
	count(findings) == 1
	some f in findings
	f.field == "spec.podSelector"
	f.msg == "app/default-deny-all is named default-deny-all but does not deny ingress or egress: its podSelector selects only app/web, so the other pods of app stay open"
}
