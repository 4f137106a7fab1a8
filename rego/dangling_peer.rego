# METADATA
# title: No rule peer that matches nothing
# description: >-
#   A podSelector or namespaceSelector in a rule's from/to that matches no
#   workload allows nothing. Either a label is wrong (and the intended flow
#   is silently blocked) or the peer is dead weight that will start matching
#   whatever pod someone labels that way later. The seed's
#   `namespaceSelector: {matchLabels: {name: ingress-nginx}}` is the typical
#   case: namespaces carry kubernetes.io/metadata.name, not name, unless
#   someone adds it.
# custom:
#   id: NP007
#   severity: warning
#   remediation: >-
#     Match on labels the peer really has; for namespaces prefer
#     `kubernetes.io/metadata.name`, which the API server sets on every
#     namespace.
#   controls:
#     - "PCI DSS v4.0 1.2.7"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.dangling_peer

import data.reachgate.lib
import rego.v1

deny contains f if {
	some s in input.reach.selection
	some peer in s.peers
	count(peer.matches) == 0
	peer.ipBlock == ""
	p := lib.policies_by_key[s.policy]
	field := lib.peer_field(peer.direction, peer.rule, peer.peer)
	f := {
		"msg": sprintf("%s %s matches no workload, so it allows nothing (check its labels)", [p.key, field]),
		"object": lib.policy_object(p),
		"field": field,
	}
}
