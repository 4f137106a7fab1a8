package reachgate.rules.empty_pod_selector_test

import data.reachgate.rules.empty_pod_selector
import data.reachgate.testing as t
import rego.v1

test_default_deny_passes if {
	count(empty_pod_selector.deny) == 0 with input as t.with_input({"policies": [t.default_deny_all("app")]})
}

test_labelled_policy_passes if {
	p := t.policy("app", "allow-x", {
		"podSelector": {"matchLabels": {"app": "x"}},
		"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "y"}}}], "ports": [{"protocol": "TCP", "port": 80}]}],
	})
	count(empty_pod_selector.deny) == 0 with input as t.with_input({"policies": [p]})
}

test_empty_selector_with_rules_fails if {
	p := t.policy("app", "allow-metrics-scraping", {
		"podSelector": {},
		"policyTypes": ["Ingress"],
		"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}, "podSelector": {"matchLabels": {"app": "prometheus"}}}]}],
	})
	findings := empty_pod_selector.deny with input as t.with_input({"policies": [p]})
	count(findings) == 1
	some f in findings
	f.field == "spec.podSelector"
	f.object.name == "allow-metrics-scraping"
}

test_empty_peer_selector_fails if {
	p := t.policy("app", "allow-backend-external-apis", {
		"podSelector": {"matchLabels": {"app": "backend-api"}},
		"policyTypes": ["Egress"],
		"egress": [{"to": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 443}]}],
	})
	findings := empty_pod_selector.deny with input as t.with_input({"policies": [p]})
	count(findings) == 1
	some f in findings
	f.field == "spec.egress[0].to[0].podSelector"
	contains(f.msg, "in namespace app")
}

test_match_expressions_are_not_empty if {
	p := t.policy("app", "allow-x", {
		"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
		"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "y"}}}]}],
	})
	count(empty_pod_selector.deny) == 0 with input as t.with_input({"policies": [p]})
}
