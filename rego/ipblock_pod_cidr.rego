# METADATA
# title: ipBlocks do not cover pod addresses
# description: >-
#   NetworkPolicy ipBlocks are meant for addresses outside the cluster. An
#   ipBlock that overlaps the pod CIDRs (reachgate.yaml cluster.podCIDRs)
#   without excepting them matches pods by their address. Two cases: a
#   block that holds every pod CIDR (0.0.0.0/0 without an except) matches
#   every pod, but Cilium and GKE Dataplane V2 ignore ipBlocks for pod
#   traffic, so the policy means different things on different clusters;
#   a block that holds part of a pod CIDR matches a pod or not depending on
#   the address it gets at each reschedule (the matrix marks such flows
#   address-dependent). Each ipBlock is reported once; an address-dependent
#   flow is blamed on the policy rule whose ipBlock makes it so, when that
#   ipBlock was not reported already.
# custom:
#   id: NP010
#   severity: warning
#   inputVersion: 8
#   remediation: >-
#     Add the pod CIDRs to the ipBlock's `except` list (for 0.0.0.0/0:
#     `except: [10.244.0.0/16, ...]`) and reach pods with pod and namespace
#     selectors instead.
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.2.5"
package reachgate.rules.ipblock_pod_cidr

import data.reachgate.lib
import rego.v1

# blocks[[policy key, dir, rule, peer, block]]: every ipBlock of a rule.
blocks contains [p.key, dir, i, j, peer.ipBlock] if {
	some p in input.policies
	some dir, key in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(p.spec, dir, [])
	some j, peer in object.get(rule, key, [])
	peer.ipBlock
}

# The pod CIDRs a block holds part of without excepting it.
uncovered(block) := {pod |
	some pod in input.podCIDRs
	net.cidr_intersects(block.cidr, pod)
	not excepted(block, pod)
}

# The part of the pod CIDR inside the block is covered by its excepts.
excepted(block, pod) if {
	overlap := smaller(block.cidr, pod)
	merged := net.cidr_merge(object.get(block, "except", []))
	some e in merged
	net.cidr_contains(e, overlap)
}

smaller(a, b) := b if net.cidr_contains(a, b)

else := a

# The block holds every pod CIDR whole: no except touches any of them.
holds_all_pods(block) if {
	count(input.podCIDRs) > 0
	every pod in input.podCIDRs {
		net.cidr_contains(block.cidr, pod)
		not except_touches(block, pod)
	}
}

except_touches(block, pod) if {
	some e in object.get(block, "except", [])
	net.cidr_intersects(e, pod)
}

# offending[[policy key, dir, rule, peer, block, pod CIDRs]]
offending contains [key, dir, i, j, block, pods] if {
	some [key, dir, i, j, block] in blocks
	pods := uncovered(block)
	count(pods) > 0
}

peer_field(dir, i, j) := sprintf("%s.ipBlock", [lib.peer_field(dir, i, j)])

deny contains f if {
	some [key, dir, i, j, block, pods] in offending
	p := lib.policies_by_key[key]
	field := peer_field(dir, i, j)
	f := {
		"msg": message(p, dir, i, field, block, pods),
		"object": lib.policy_object(p),
		"field": field,
	}
}

message(p, dir, i, field, block, pods) := sprintf("%s %s %s holds every pod CIDR (%s): it matches every pod, letting %s; Cilium and GKE Dataplane V2 ignore ipBlocks for pod traffic, so this is not portable", [p.key, field, block.cidr, concat(", ", input.podCIDRs), who_gains(p, dir, i)]) if {
	holds_all_pods(block)
} else := sprintf("%s %s %s overlaps the pod CIDR %s without excepting it: it matches the pods whose address lands inside it, which changes on every reschedule (address-dependent), letting %s", [p.key, field, block.cidr, concat(", ", sort(pods)), who_gains(p, dir, i)])

who_gains(p, "ingress", i) := sprintf("those pods reach %s on %s", [lib.selected_text(p.key), rule_ports(p.spec.ingress[i])])

who_gains(p, "egress", i) := sprintf("%s reach those pods on %s", [lib.selected_text(p.key), rule_ports(p.spec.egress[i])])

rule_ports(rule) := "every port" if {
	count(object.get(rule, "ports", [])) == 0
} else := concat(", ", [port_text(x) | some x in rule.ports])

port_text(x) := sprintf("%s %v-%v", [x.protocol, x.port, x.endPort]) if x.endPort

else := sprintf("%s %v", [x.protocol, x.port]) if x.port

else := sprintf("every %s port", [x.protocol])

# The rule sides already reported through their ipBlock.
flagged := {[key, dir, i] | some [key, dir, i, _, _, _] in offending}

# Address-dependent flows: the grant side whose rule matches the other
# end only through an ipBlock (no selector peer of the rule matches it) is
# what makes the flow depend on addresses. Judged on one example pair per
# flow (input.reach.addressSides, built by reachgate); reported when its
# ipBlock was not (the reachability engine and the CIDR arithmetic above
# disagree only in corner cases).
dependent := {[s.policy, s.direction, s.rule, sprintf("%s -> %s", [s.src, s.dst])] |
	some s in input.reach.addressSides
	not flagged[[s.policy, s.direction, s.rule]]
}

deny contains f if {
	some [key, dir, i] in {[key, dir, i] | some [key, dir, i, _] in dependent}
	p := lib.policies_by_key[key]
	examples := sort([e | some [k, d, r, e] in dependent; k == key; d == dir; r == i])
	field := sprintf("spec.%s[%d]", [dir, i])
	f := {
		"msg": sprintf("%s %s allows address-dependent flows (%s): they exist only if a pod gets an address inside one of the rule's ipBlocks", [key, field, lib.summarize(examples)]),
		"object": lib.policy_object(p),
		"field": field,
	}
}
