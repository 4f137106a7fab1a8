# An example of a repository's own rule, loaded beside the built-in pack
# (reachgate.yaml: rules.paths). docs/rules.md#your-own-rules explains it.
#
# METADATA
# title: Partner APIs are reached only by the workloads that integrate with them
# description: >-
#   A partner's production API (an external endpoint of reachgate.yaml) may
#   be reached only by the workloads params.partnerClients names for it,
#   e.g. {"partner-payments": ["app/backend-api"]}. Computed on the
#   reachability matrix, so a wide egress rule that happens to cover the
#   partner's range is caught as well as an explicit one.
# custom:
#   id: ORG001
#   severity: error
#   remediation: >-
#     Narrow the egress rule to the workloads that integrate with the
#     partner, or add the workload to params.partnerClients in a pull
#     request of its own, merged before the integration (the base's
#     reachgate.yaml judges a pull request).
#   controls:
#     - "PCI DSS v4.0 1.3.2"
package reachgate.rules.custom.partner_egress

import data.reachgate.lib
import rego.v1

# The rule's own parameter, read with its default.
clients := object.get(data.reachgate.params, "partnerClients", {})

deny contains f if {
	some flow in input.reach.flows
	flow.srcKind == "workload"
	flow.dstKind == "external"
	allowed := object.get(clients, flow.dstName, null)
	allowed != null
	some src in flow.srcs
	lib.managed_workloads[src]
	not src in allowed
	some g in flow.allowedBy
	some dst in flow.dsts
	side := lib.grant_side(src, dst, g, "egress")
	f := {
		"msg": sprintf("%s can reach partner %s (%s) on %s, and only %s may: %s", [
			src, flow.dstName, dst, g.portsText,
			concat(", ", allowed), lib.side_reason(side, "egress"),
		]),
		"object": side.object,
		"field": side.field,
	}
}
