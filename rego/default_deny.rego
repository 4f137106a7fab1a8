# METADATA
# title: Namespaces deny by default
# description: >-
#   Every namespace that runs workloads from this repository has a
#   default-deny ingress policy and a default-deny egress policy: a
#   NetworkPolicy with an empty podSelector, the policy type, and no rules
#   for that direction. Every allowed flow is then an explicit exception.
#   One finding per namespace, naming the directions it leaves open and
#   the workloads no policy isolates there: they accept connections from
#   anywhere, the internet included, or reach anywhere, the cloud metadata
#   service included. NP002, NP008 and NP009 leave those workloads to this
#   finding rather than repeat it per workload. A direction that a policy
#   named default-deny* promises and does not deny is NP025's.
# custom:
#   id: NP001
#   severity: error
#   remediation: >-
#     Add a NetworkPolicy to the namespace with `podSelector: {}`,
#     `policyTypes: [Ingress, Egress]` and no ingress or egress rules, then
#     allow each needed flow (including DNS) with its own policy.
#   controls:
#     - "CIS Kubernetes Benchmark 5.3.2"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.3.1"
#     - "PCI DSS v4.0 1.3.2"
package reachgate.rules.default_deny

import data.reachgate.lib
import rego.v1

# open[[ns, dir]]: the workloads of ns that no policy isolates for dir.
open := {[ns, dir]: [k | some k in lib.managed_by_namespace[ns]; not isolated(k, dir)] |
	some [ns, dir] in lib.open_namespaces
}

isolated(k, "ingress") if lib.ingress_isolated[k]

isolated(k, "egress") if lib.egress_isolated[k]

deny contains f if {
	some ns in lib.managed_namespaces
	dirs := [dir |
		some dir in ["ingress", "egress"]
		lib.open_namespaces[[ns, dir]]
		not lib.broken_default_denies[[ns, dir]]
	]
	count(dirs) > 0
	f := {
		"msg": sprintf("namespace %s has no default-deny %s policy (empty podSelector, the policy type, no rules): %s", [ns, concat(" or ", dirs), concat("; ", [consequence(ns, dir) | some dir in dirs])]),
		"object": {"kind": "Namespace", "namespace": "", "name": ns},
	}
}

gains := {
	"ingress": "accept connections from any pod and from the internet, on every port",
	"egress": "may connect anywhere, the cloud metadata service included, on every port",
}

consequence(ns, dir) := sprintf("%s %s", [lib.summarize(open[[ns, dir]]), gains[dir]]) if {
	count(open[[ns, dir]]) > 0
} else := sprintf("every workload is isolated for %s by its own policy today, but a new pod will not be", [dir])
