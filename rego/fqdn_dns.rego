# METADATA
# title: DNS is allowed where FQDN rules need it
# description: >-
#   Cilium learns the addresses of a toFQDNs rule's hosts only from the DNS
#   answers its DNS proxy sees: a workload whose egress a toFQDNs rule
#   allows must also be allowed to reach kube-dns (params.dnsSelector) on
#   port 53 through a rule with a DNS L7 rule (toPorts[].rules.dns), or
#   its FQDN rule allows nothing in the cluster although the matrix shows
#   the flow.
# custom:
#   id: NP026
#   inputVersion: 7
#   severity: error
#   remediation: >-
#     Add an egress rule to the same CiliumNetworkPolicy:
#     toEndpoints kube-system/k8s-app=kube-dns, toPorts port 53 protocol
#     ANY, rules.dns [{matchPattern: "*"}] (or the hosts' names).
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.fqdn_dns

import data.reachgate.lib
import rego.v1

# fqdn_grants[[src, kind, policy, section, rule]]: src reaches a host name
# through that Cilium egress rule.
fqdn_grants contains [src, g.egress.kind, g.egress.policy, g.egress.section, g.egress.rule, p.fqdn] if {
	some d, p in input.reach.peers
	lib.is_fqdn(p)
	some fl in lib.flows_to(d)
	fl.srcKind == "workload"
	some g in fl.allowedBy
	g.egress.section
	some src in fl.srcs
	lib.managed_workloads[src]
}

# dns_proxied[src]: src reaches kube-dns on UDP 53 through a rule with a
# DNS L7 rule.
dns_proxied contains src if {
	some d in lib.dns_keys
	some fl in lib.flows_to(d)
	some g in fl.allowedBy
	"dns" in object.get(g.egress, "l7", [])
	lib.port_in(g.ports, "UDP", 53)
	some src in fl.srcs
}

deny contains f if {
	some [src, kind, policy, section, rule, host] in fqdn_grants
	not dns_proxied[src]
	p := lib.cilium_policies[[kind, policy]]
	f := {
		"msg": sprintf("%s reaches %s through this toFQDNs rule, but cannot reach kube-dns (%s) on UDP 53 through a rule with a DNS L7 rule: DNS must be allowed for FQDN rules to work", [src, host, lib.dns_selector_string]),
		"object": lib.cilium_object(p),
		"field": sprintf("%s.egress[%d]", [section, rule]),
	}
}
