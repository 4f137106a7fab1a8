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

# input.promotion.flows holds only the connections of this overlay that the
# promoted overlay does not allow, or allows on fewer ports (extra).

deny contains f if {
	some fl in input.promotion.flows
	count(fl.promoted) == 0
	some g in fl.allowedBy
	some side in sides(fl, g)
	f := {
		"msg": sprintf("%s -> %s on %s is allowed in %s but not in %s: %s", [sources(fl), destinations(fl, g, side), fl.portsText, env, input.promotion.from, reason(side)]),
		"object": side.object,
		"field": side.field,
	}
}

deny contains f if {
	some fl in input.promotion.flows
	count(fl.promoted) > 0
	some g in fl.allowedBy
	not lib.ports_subset(g.ports, fl.promoted)
	some side in sides(fl, g)
	f := {
		"msg": sprintf("%s -> %s allows %s in %s but only %s in %s: %s", [sources(fl), destinations(fl, g, side), fl.portsText, env, fl.promotedText, input.promotion.from, reason(side)]),
		"object": side.object,
		"field": side.field,
	}
}

env := input.environment if input.environment != ""

else := input.overlay

label(key) := lib.peer_label(input.reach.peers[key], key)

sources(fl) := lib.summarize([label(s) | some s in fl.srcs])

# The destinations of a flow that one side is blamed for.
destinations(fl, g, side) := lib.summarize([label(d) | some d in fl.dsts; blame(fl.srcs[0], d, g) == side])

sides(fl, g) := {blame(fl.srcs[0], d, g) | some d in fl.dsts}

# Blame the destination's ingress rule; when the destination is not
# isolated (or is outside the cluster), the source's egress rule.
blame(src, dst, g) := side if {
	side := lib.grant_side(src, dst, g, "ingress")
	not side.notIsolated
} else := side if {
	side := lib.grant_side(src, dst, g, "egress")
} else := lib.grant_side(src, dst, g, "ingress")

reason(side) := lib.side_reason(side, side.direction) if {
	not side.notIsolated
} else := sprintf("%s is not isolated", [lib.side_name(side)])
