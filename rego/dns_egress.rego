# METADATA
# title: Egress-isolated workloads can resolve names
# description: >-
#   Default-deny egress also blocks DNS. Every workload that is isolated for
#   egress must still reach the cluster DNS pods (params.dnsSelector, by
#   default k8s-app=kube-dns in kube-system) on UDP 53 and on TCP 53: resolvers fall back
#   to TCP for large answers, so UDP alone breaks lookups at random.
# custom:
#   id: NP003
#   severity: error
#   remediation: >-
#     Allow egress to `namespaceSelector: {matchLabels:
#     {kubernetes.io/metadata.name: kube-system}}` with `podSelector:
#     {matchLabels: {k8s-app: kube-dns}}` on UDP 53 and TCP 53 (one
#     allow-dns-egress policy per namespace is the usual pattern).
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.2.5"
package reachgate.rules.dns_egress

import data.reachgate.lib
import rego.v1

# reaches[protocol] holds the sources that reach some DNS pod on port 53
# of protocol.
reaches := {proto: {src |
	some d in lib.dns_keys
	some f in lib.flows_to(d)
	lib.port_in(f.ports, proto, 53)
	some src in f.srcs
} |
	some proto in ["UDP", "TCP"]
}

# The egress-isolated workloads that cannot resolve names, found with set
# operations: most workloads can, and looking at each costs more.
cut_off := (lib.egress_isolated - (reaches.UDP & reaches.TCP)) - lib.dns_keys

dns_desc := concat(", ", sort(lib.dns_keys)) if {
	count(lib.dns_keys) > 0
} else := sprintf("no workload matches %s in the overlay or the inventory", [lib.dns_selector_string])

deny contains f if {
	some k in cut_off
	w := lib.managed_workloads[k]
	missing := [p | some p in ["UDP", "TCP"]; not reaches[p][k]]
	f := {
		"msg": sprintf("%s is isolated for egress but cannot reach DNS on %s 53 (DNS: %s)", [k, concat(" and ", missing), dns_desc]),
		"object": lib.workload_object(w),
	}
}
