# METADATA
# title: No empty podSelector outside default-deny policies
# description: >-
#   An empty podSelector selects every pod. In a default-deny policy (no
#   rules) that is the point; anywhere else it grants the rule to, or from,
#   every pod of a namespace, including pods added later. Both the policy's
#   own podSelector and the podSelector of each rule peer are checked.
# custom:
#   id: NP005
#   severity: warning
#   remediation: >-
#     Select the pods by label (`matchLabels: {app: ...}`). Keep `podSelector: {}`
#     only in policies without ingress and egress rules.
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.2.5"
package reachgate.rules.empty_pod_selector

import data.reachgate.lib
import rego.v1

deny contains f if {
	some p in input.policies
	lib.is_empty_selector(p.spec.podSelector)
	has_rules(p)
	f := {
		"msg": sprintf("%s applies its rules to every pod in namespace %s (empty podSelector) but is not a default-deny policy", [p.key, p.namespace]),
		"object": lib.policy_object(p),
		"field": "spec.podSelector",
	}
}

deny contains f if {
	some p in input.policies
	some dir, key in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(p.spec, dir, [])
	some j, peer in object.get(rule, key, [])
	lib.is_empty_selector(peer.podSelector)
	field := sprintf("spec.%s[%d].%s[%d].podSelector", [dir, i, key, j])
	f := {
		"msg": sprintf("%s %s has an empty podSelector: it matches every pod %s", [p.key, field, scope(p, peer)]),
		"object": lib.policy_object(p),
		"field": field,
	}
}

has_rules(p) if count(object.get(p.spec, "ingress", [])) > 0

has_rules(p) if count(object.get(p.spec, "egress", [])) > 0

scope(p, peer) := "of the namespaces its namespaceSelector matches" if {
	peer.namespaceSelector
} else := sprintf("in namespace %s", [p.namespace])
