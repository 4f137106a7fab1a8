# METADATA
# title: Every workload is selected in both directions
# description: >-
#   Every workload rendered from this repository is selected by at least
#   one NetworkPolicy for ingress and one for egress, so no pod falls back
#   to Kubernetes' allow-all default. hostNetwork workloads are outside
#   NetworkPolicy and reported by NP012 instead. A workload in a namespace
#   without a default-deny policy for that direction is named by NP001's
#   finding for the namespace, not once more here.
# custom:
#   id: NP002
#   severity: warning
#   remediation: >-
#     Add a default-deny policy to the namespace (NP001), or a policy whose
#     podSelector selects the workload with both policy types.
#   controls:
#     - "CIS Kubernetes Benchmark 5.3.2"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.3.1"
package reachgate.rules.workload_selected

import data.reachgate.lib
import rego.v1

deny contains f if {
	some k, w in lib.managed_workloads
	some dir in ["ingress", "egress"]
	not isolated(k, dir)
	not lib.open_namespaces[[w.namespace, dir]]
	f := {
		"msg": sprintf("%s is not selected by any NetworkPolicy for %s: all %s traffic is allowed", [k, dir, dir]),
		"object": lib.workload_object(w),
	}
}

isolated(k, "ingress") if lib.ingress_isolated[k]

isolated(k, "egress") if lib.egress_isolated[k]
