# METADATA
# title: ipBlocks do not cover pod addresses
# description: >-
#   NetworkPolicy ipBlocks are meant for addresses outside the cluster. An
#   ipBlock that overlaps the pod CIDR (params come from reachgate.yaml
#   cluster.podCIDRs) without excepting it matches pods by their address,
#   which changes with every reschedule: the flow exists or not depending
#   on where a pod lands (the matrix marks such flows address-dependent).
#   Both the ipBlocks and the address-dependent connections are reported.
# custom:
#   id: NP010
#   severity: warning
#   remediation: >-
#     Add the pod CIDR to the ipBlock's `except` list (for 0.0.0.0/0:
#     `except: [10.244.0.0/16, ...]`) and reach pods with pod and namespace
#     selectors instead.
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.2.5"
package reachgate.rules.ipblock_pod_cidr

import data.reachgate.lib
import rego.v1

# offending[[policy key, field, cidr, pod cidr]]
offending contains [p.key, field, block.cidr, pod] if {
	some p in input.policies
	some dir, key in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(p.spec, dir, [])
	some j, peer in object.get(rule, key, [])
	block := peer.ipBlock
	some pod in input.podCIDRs
	net.cidr_intersects(block.cidr, pod)
	not excepted(block, pod)
	field := sprintf("spec.%s[%d].%s[%d].ipBlock", [dir, i, key, j])
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

deny contains f if {
	some [key, field, cidr, pod] in offending
	p := lib.policies_by_key[key]
	f := {
		"msg": sprintf("%s %s %s overlaps the pod CIDR %s without excepting it: pods match by address, which changes on every reschedule", [key, field, cidr, pod]),
		"object": lib.policy_object(p),
		"field": field,
	}
}

flagged_policies := {key | some [key, _, _, _] in offending}

# Address-dependent flows whose policies were not reported above (for
# example an ipBlock the reachability engine resolved differently), with
# one example connection per flow.
dependent := {[key, sprintf("%s -> %s", [f.srcs[0], f.dsts[0]])] |
	some f in input.reach.addressDependent
	some g in f.allowedBy
	some dir in ["ingress", "egress"]
	key := g[dir].policy
	not flagged_policies[key]
}

deny contains f if {
	some key in {key | some [key, _] in dependent}
	p := lib.policies_by_key[key]
	examples := sort([e | some [k, e] in dependent; k == key])
	f := {
		"msg": sprintf("%s allows address-dependent flows (%s): they exist only if a pod gets an address inside one of its ipBlocks", [key, lib.summarize(examples)]),
		"object": lib.policy_object(p),
	}
}
