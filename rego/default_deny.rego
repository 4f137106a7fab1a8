# METADATA
# title: Namespaces deny by default
# description: >-
#   Every namespace that runs workloads from this repository has a
#   default-deny ingress policy and a default-deny egress policy: a
#   NetworkPolicy with an empty podSelector, the policy type, and no rules
#   for that direction. Every allowed flow is then an explicit exception.
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

namespaces_with_workloads := {w.namespace | some w in lib.managed_workloads}

deny contains f if {
	some ns in namespaces_with_workloads
	some dir in ["Ingress", "Egress"]
	not has_default_deny(ns, dir)
	f := {
		"msg": sprintf("namespace %s has no default-deny %s policy (empty podSelector, policyTypes including %s, no %s rules)", [ns, lower(dir), dir, lower(dir)]),
		"object": {"kind": "Namespace", "namespace": "", "name": ns},
	}
}

has_default_deny(ns, dir) if [ns, dir] in default_denies

default_denies := {[p.namespace, dir] |
	some p in input.policies
	some dir in ["Ingress", "Egress"]
	lib.default_deny(p, dir)
}
