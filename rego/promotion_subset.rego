# METADATA
# title: Production reachability is a subset of what was promoted
# description: >-
#   Changes reach production through the overlay promoted into it (staging
#   for prod, set with promotesTo in reachgate.yaml). Every connection in
#   this overlay must exist in that overlay with at least the same ports:
#   a flow that is open only in prod was never exercised before it got
#   there. Only evaluated when the overlay has a promotion source.
# custom:
#   id: NP017
#   severity: error
#   remediation: >-
#     Make the change in the earlier overlay (or in the base) first, or
#     remove the prod-only patch that opens the flow.
#   controls:
#     - "PCI DSS v4.0 1.2.2"
#     - "PCI DSS v4.0 6.5.1"
package reachgate.rules.promotion_subset

import data.reachgate.lib
import rego.v1

promoted := {[c.src, c.dst]: c.ports | some c in input.promotion.connections}

deny contains f if {
	some c in input.reach.connections
	not promoted[[c.src, c.dst]]
	some g in c.allowedBy
	side := blame(c, g)
	f := {
		"msg": sprintf("%s -> %s on %s is allowed in %s but not in %s: %s", [label(c.srcPeer, c.src), label(c.dstPeer, c.dst), lib.ports_string(c.ports), env, input.promotion.from, reason(side)]),
		"object": side.object,
		"field": side.field,
	}
}

deny contains f if {
	some c in input.reach.connections
	before := promoted[[c.src, c.dst]]
	not lib.ports_subset(c.ports, before)
	some g in c.allowedBy
	not lib.ports_subset(g.ports, before)
	side := blame(c, g)
	f := {
		"msg": sprintf("%s -> %s allows %s in %s but only %s in %s: %s", [label(c.srcPeer, c.src), label(c.dstPeer, c.dst), lib.ports_string(c.ports), env, lib.ports_string(before), input.promotion.from, reason(side)]),
		"object": side.object,
		"field": side.field,
	}
}

env := input.environment if input.environment != ""

else := input.overlay

label(peer, key) := lib.peer_label(peer, key)

# Blame the destination's ingress rule; when the destination is not
# isolated (or is outside the cluster), the source's egress rule.
blame(c, g) := side if {
	side := lib.grant_side(c, g, "ingress")
	not side.notIsolated
} else := side if {
	side := lib.grant_side(c, g, "egress")
} else := lib.grant_side(c, g, "ingress")

reason(side) := lib.side_reason(side, "ingress") if {
	startswith(side.field, "spec.ingress")
} else := lib.side_reason(side, "egress") if {
	startswith(side.field, "spec.egress")
} else := sprintf("%s is not isolated", [lib.side_name(side)])
