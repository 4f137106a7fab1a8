# METADATA
# title: No namespaceSelector {} where this namespace was meant
# description: >-
#   A rule peer `namespaceSelector: {}` without a podSelector matches every
#   pod in every namespace; `podSelector: {}` alone matches every pod of
#   the policy's own namespace. Writing the first for the second is a
#   classic slip that opens a namespace to the whole cluster. Reported
#   where the slip is likely: the policy's name says it is about its own
#   namespace (same-namespace, intra-namespace, namespace-only, deny or
#   allow from other namespaces, ...), or the policy selects every pod of
#   its namespace and the rule names no ports, so the namespace is open to
#   every pod of the cluster on every port. A deliberate cluster-wide peer
#   limited to some ports (a metrics port for a Prometheus that may run
#   anywhere) is not reported.
# custom:
#   id: NP024
#   severity: error
#   remediation: >-
#     For the pods of the policy's own namespace write `podSelector: {}`
#     with no namespaceSelector; for other namespaces select them by label
#     (`namespaceSelector: {matchLabels: {kubernetes.io/metadata.name:
#     monitoring}}`).
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.3.1"
package reachgate.rules.namespace_selector_everything

import data.reachgate.lib
import rego.v1

deny contains f if {
	some p in input.policies
	some dir, key in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(p.spec, dir, [])
	some j, peer in object.get(rule, key, [])
	reason := lib.everything_slip(p, rule, peer)
	field := sprintf("%s.namespaceSelector", [lib.peer_field(dir, i, j)])
	f := {
		"msg": sprintf("%s %s is `namespaceSelector: {}`, every pod of every namespace, where %s: %s on %s; for the pods of %s only, write `podSelector: {}`", [p.key, field, reason, gains(p, dir, i, j), ports(rule), p.namespace]),
		"object": lib.policy_object(p),
		"field": field,
	}
}

# The pods outside the policy's namespace that the peer lets in, or out to.
outsiders(p, dir, i, j) := sort({k |
	some k in lib.peer_selection[[p.key, dir, i, j]].matches
	not startswith(k, sprintf("%s/", [p.namespace]))
})

gains(p, "ingress", i, j) := sprintf("every pod of the cluster (%s outside %s) reaches %s", [others(p, "ingress", i, j), p.namespace, lib.selected_text(p.key)])

gains(p, "egress", i, j) := sprintf("%s reach every pod of the cluster (%s outside %s)", [lib.selected_text(p.key), others(p, "egress", i, j), p.namespace])

others(p, dir, i, j) := lib.summarize(outsiders(p, dir, i, j)) if {
	count(outsiders(p, dir, i, j)) > 0
} else := "none today"

ports(rule) := "every port" if {
	count(object.get(rule, "ports", [])) == 0
} else := "the rule's ports"
