package reachgate.rules.dns_only_kube_dns_test

import data.reachgate.rules.dns_only_kube_dns
import data.reachgate.testing as t
import rego.v1

dns_peer := {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}

dns_ports := [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]

good := t.policy("app", "allow-dns", {"podSelector": {}, "egress": [{"to": [dns_peer], "ports": dns_ports}]})

test_dns_to_kube_dns_passes if {
	count(dns_only_kube_dns.deny) == 0 with input as t.with_input({
		"policies": [good],
		"reach": {"selection": [t.selection("app/allow-dns", [], [t.peer_sel("egress", 0, 0, ["kube-system/coredns"])])]},
	})
}

test_dns_to_any_destination_fails if {
	p := t.policy("app", "allow-dns", {"podSelector": {}, "egress": [{"ports": dns_ports}]})
	findings := dns_only_kube_dns.deny with input as t.with_input({"policies": [p]})
	count(findings) == 1
	some f in findings
	f.field == "spec.egress[0]"
	contains(f.msg, "any destination")
}

test_dns_to_ipblock_fails if {
	p := t.policy("app", "allow-dns", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "8.8.8.8/32"}}], "ports": [{"protocol": "UDP", "port": 53}]}]})
	findings := dns_only_kube_dns.deny with input as t.with_input({"policies": [p]})
	some f in findings
	contains(f.msg, "ipBlock 8.8.8.8/32")
}

test_dns_to_other_pods_fails if {
	p := t.policy("app", "allow-dns", {"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "UDP", "port": 53}]}]})
	findings := dns_only_kube_dns.deny with input as t.with_input({
		"policies": [p],
		"reach": {"selection": [t.selection("app/allow-dns", [], [t.peer_sel("egress", 0, 0, ["app/a", "app/b", "kube-system/coredns"])])]},
	})
	some f in findings
	contains(f.msg, "to app/a, app/b (to[0])")
}

test_port_range_covering_53_fails if {
	p := t.policy("app", "wide", {"podSelector": {}, "egress": [{"ports": [{"protocol": "TCP", "port": 1, "endPort": 1024}]}]})
	count(dns_only_kube_dns.deny) == 1 with input as t.with_input({"policies": [p]})
}

test_other_ports_ignored if {
	p := t.policy("app", "https", {"podSelector": {}, "egress": [{"ports": [{"protocol": "TCP", "port": 443}]}]})
	count(dns_only_kube_dns.deny) == 0 with input as t.with_input({"policies": [p]})
}
