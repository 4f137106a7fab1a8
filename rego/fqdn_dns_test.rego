package reachgate.rules.fqdn_dns_test

import data.reachgate.rules.fqdn_dns
import data.reachgate.testing as t
import rego.v1

be := t.workload("app", "payments", {"app": "payments"})

host := {"kind": "external", "name": "fqdn:api.stripe.com", "fqdn": "api.stripe.com", "range": "", "cidrs": []}

cnp := {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "payments", "key": "app/payments", "rules": [], "source": t.src}

fqdn_rule := {"policy": "app/payments", "rule": 1, "kind": "CiliumNetworkPolicy", "action": "Allow", "section": "spec"}

to_host := t.xflow(["app/payments"], "", "fqdn:api.stripe.com", host, t.tcp(443), fqdn_rule, t.not_isolated)

dns_flow(l7) := t.xflow(["app/payments"], "", "kube-system/coredns", t.wpeer("kube-system/coredns"), t.udp(53),
	object.union({"policy": "app/payments", "rule": 0, "kind": "CiliumNetworkPolicy", "action": "Allow", "section": "spec"}, l7), t.not_isolated)

inp(flows) := t.with_input({"workloads": [t.dns, be], "ciliumPolicies": [cnp], "reach": t.reach(flows)})

test_fqdn_with_dns_proxy_passes if {
	count(fqdn_dns.deny) == 0 with input as inp([to_host, dns_flow({"l7": ["dns"]})])
}

test_fqdn_without_dns_fails if {
	findings := fqdn_dns.deny with input as inp([to_host])
	count(findings) == 1
	some f in findings
	f.object == {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "payments"}
	f.field == "spec.egress[1]"
	contains(f.msg, "DNS must be allowed for FQDN rules to work")
}

# DNS allowed at L4 only (no DNS L7 rule) does not feed the DNS proxy.
test_dns_without_l7_rule_fails if {
	count(fqdn_dns.deny) == 1 with input as inp([to_host, dns_flow({})])
}
