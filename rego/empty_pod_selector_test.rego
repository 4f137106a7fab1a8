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
	contains(f.msg, "including pods added later, but is not a default-deny policy: no one (its peers match no workload) reach no pod on every port")
}

# The usual allow-dns policy: every pod may resolve names.
test_dns_for_every_pod_passes if {
	p := t.policy("app", "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
		"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
		"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
	}]})
	count(empty_pod_selector.deny) == 0 with input as t.with_input({"policies": [p]})
}

test_dns_and_more_for_every_pod_fails if {
	p := t.policy("app", "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
		{"to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": [{"protocol": "UDP", "port": 53}]},
		{"to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": [{"protocol": "TCP", "port": 9153}]},
	]})
	count(empty_pod_selector.deny) == 1 with input as t.with_input({"policies": [p]})
}

# `podSelector: {}` next to a namespaceSelector says what the
# namespaceSelector says alone.
test_empty_peer_selector_with_namespace_selector_passes if {
	p := t.policy("app", "allow-x", {
		"podSelector": {"matchLabels": {"app": "x"}},
		"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}, "podSelector": {}}], "ports": [{"protocol": "TCP", "port": 80}]}],
	})
	count(empty_pod_selector.deny) == 0 with input as t.with_input({"policies": [p]})
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
	contains(f.msg, "it matches every pod in namespace app, including pods added later, and no pod reach them all through it")
}

test_match_expressions_are_not_empty if {
	p := t.policy("app", "allow-x", {
		"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
		"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "y"}}}]}],
	})
	count(empty_pod_selector.deny) == 0 with input as t.with_input({"policies": [p]})
}

test_namespace_slip_left_to_np024 if {
	p := t.policy("auth", "deny-from-other-namespaces", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]})
	count(empty_pod_selector.deny) == 0 with input as t.with_input({"policies": [p]})
}
