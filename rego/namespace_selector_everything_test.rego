package reachgate.rules.namespace_selector_everything_test

import data.reachgate.rules.namespace_selector_everything
import data.reachgate.testing as t
import rego.v1

pol(name, selector, rule) := t.policy("shop", name, {"podSelector": selector, "ingress": [rule]})

sel(name, selects) := {"selection": [t.selection(sprintf("shop/%s", [name]), selects, [t.peer_sel("ingress", 0, 0, ["shop/web", "monitoring/prometheus", "kube-system/coredns"])])]}

everything := {"from": [{"namespaceSelector": {}}]}

# The recipe "deny from other namespaces" written with the wrong selector.
test_name_says_own_namespace if {
	findings := namespace_selector_everything.deny with input as t.with_input({
		"policies": [pol("deny-from-other-namespaces", {}, everything)],
		"reach": sel("deny-from-other-namespaces", ["shop/web"]),
	})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[0].from[0].namespaceSelector"
	f.object == {"kind": "NetworkPolicy", "namespace": "shop", "name": "deny-from-other-namespaces"}
	f.msg == "shop/deny-from-other-namespaces spec.ingress[0].from[0].namespaceSelector is `namespaceSelector: {}`, every pod of every namespace, where the policy's name says it is about its own namespace shop: every pod of the cluster (kube-system/coredns, monitoring/prometheus outside shop) reaches shop/web on every port; for the pods of shop only, write `podSelector: {}`"
}

test_whole_namespace_every_port if {
	findings := namespace_selector_everything.deny with input as t.with_input({
		"policies": [pol("allow-ingress", {}, everything)],
		"reach": sel("allow-ingress", ["shop/web"]),
	})
	count(findings) == 1
	some f in findings
	contains(f.msg, "where the policy selects every pod of shop and the rule names no ports")
}

# Argo CD's metrics ports: every namespace on purpose, one component, a
# named port.
test_deliberate_cluster_wide_metrics_pass if {
	count(namespace_selector_everything.deny) == 0 with input as t.with_input({"policies": [
		pol("argocd-dex-server-network-policy", {"matchLabels": {"app": "dex"}}, {"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 5558}]}),
		pol("allow-all-namespaces", {}, {"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 80}]}),
	]})
}

test_the_narrow_form_passes if {
	count(namespace_selector_everything.deny) == 0 with input as t.with_input({"policies": [
		pol("allow-same-namespace", {}, {"from": [{"podSelector": {}}]}),
		pol("allow-same-namespace-dns", {}, {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]}),
	]})
}

test_egress if {
	p := t.policy("shop", "allow-egress-same-ns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 80}]}]})
	findings := namespace_selector_everything.deny with input as t.with_input({
		"policies": [p],
		"reach": {"selection": [t.selection("shop/allow-egress-same-ns", ["shop/web"], [t.peer_sel("egress", 0, 0, ["shop/web"])])]},
	})
	count(findings) == 1
	some f in findings
	contains(f.msg, "shop/web reach every pod of the cluster (none today outside shop) on the rule's ports")
}
