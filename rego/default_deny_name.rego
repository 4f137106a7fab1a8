# METADATA
# title: A policy named default-deny denies what its name says
# description: >-
#   Readers, reviewers and runbooks trust a policy's name. A policy named
#   default-deny-ingress must deny ingress, default-deny-egress egress, and
#   any other default-deny* (default-deny, default-deny-all) both: an empty
#   podSelector, the policy type in policyTypes, and no rules for that
#   direction. A name that promises more than the spec delivers hides an
#   open direction; the classic case lists policyTypes [Ingress] in a
#   policy named default-deny-all, leaving every pod's egress open.
# custom:
#   id: NP025
#   severity: error
#   remediation: >-
#     Make the spec match the name (`podSelector: {}`, the missing policy
#     type, no rules for it), or rename the policy after what it does.
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.2.1"
package reachgate.rules.default_deny_name

import data.reachgate.lib
import rego.v1

deny contains f if {
	some p in input.policies
	name := lower(p.name)
	startswith(name, "default-deny")
	missing := [dir | some dir in ["Ingress", "Egress"]; dir in lib.default_deny_promise(name); not lib.default_deny(p, dir)]
	count(missing) > 0
	f := {
		"msg": sprintf("%s is named %s but does not deny %s: %s", [p.key, p.name, concat(" or ", [lower(d) | some d in missing]), concat("; ", sort({why(p, d) | some d in missing}))]),
		"object": lib.policy_object(p),
		"field": field(p, missing),
	}
}

field(p, missing) := "spec.podSelector" if not lib.is_empty_selector(p.spec.podSelector)

else := "spec.policyTypes" if {
	some d in missing
	not d in p.policyTypes
}

else := sprintf("spec.%s", [lower(missing[0])])

why(p, dir) := sprintf("its podSelector selects only %s, so the other pods of %s stay open", [lib.selected_text(p.key), p.namespace]) if {
	not lib.is_empty_selector(p.spec.podSelector)
} else := sprintf("policyTypes %s lacks %s, so the %s traffic of every pod in %s stays allowed", [json.marshal(p.policyTypes), dir, lower(dir), p.namespace]) if {
	not dir in p.policyTypes
} else := sprintf("spec.%s has %d rule(s), which allow traffic", [lower(dir), count(p.spec[lower(dir)])])
