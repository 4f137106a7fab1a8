# METADATA
# title: Guardrails hold
# description: >-
#   Cluster guardrails (AdminNetworkPolicies and Admin-tier
#   ClusterNetworkPolicies) are evaluated before every NetworkPolicy: no
#   NetworkPolicy can open what an Admin Deny closes. A NetworkPolicy rule
#   that allows ports such a Deny takes is shadowed: its owner believes the
#   flow is open, and it is not. Two Admin-tier policies with the same
#   priority have no defined order upstream, so the guardrail they form
#   may not hold the same way in every implementation.
# custom:
#   id: NP020
#   inputVersion: 4
#   severity: warning
#   remediation: >-
#     Remove or narrow the shadowed NetworkPolicy rule (or ask the platform
#     team for an Admin Allow or Pass if the flow is wanted). Give every
#     Admin-tier policy a priority of its own.
#   controls:
#     - "PCI DSS v4.0 1.2.1"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.guardrails

import data.reachgate.lib
import rego.v1

deny contains f if {
	some o in input.reach.overridden
	p := lib.policies_by_key[o.rule.policy]
	f := {
		"msg": sprintf("%s allows %s that %s denies first: the guardrail holds, and this NetworkPolicy rule is shadowed there", [o.rule.text, o.ports, o.by.text]),
		"object": lib.policy_object(p),
		"field": sprintf("spec.%s[%d]", [o.rule.direction, o.rule.rule]),
	}
}

deny contains f if {
	some a in input.clusterPolicies
	a.tier == "Admin"
	a.rules > 0
	others := [sprintf("%s %s", [b.kind, b.name]) |
		some b in input.clusterPolicies
		b.tier == "Admin"
		b.rules > 0
		b.priority == a.priority
		[b.kind, b.name] != [a.kind, a.name]
	]
	count(others) > 0
	f := {
		"msg": sprintf("%s %s has priority %d, like %s: upstream leaves the order of equal priorities undefined, so which rule wins is up to the implementation (reachgate orders them by kind and name)", [a.kind, a.name, a.priority, concat(", ", sort(others))]),
		"object": {"kind": a.kind, "name": a.name},
		"field": "spec.priority",
	}
}
