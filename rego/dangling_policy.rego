# METADATA
# title: No policy that selects nothing
# description: >-
#   A NetworkPolicy whose podSelector matches no workload protects nothing.
#   It is usually a typo in a label or a policy left behind after a rename,
#   and it gives reviewers a false sense of coverage. Policies with an empty
#   podSelector are exempt: a default-deny in a namespace that is empty for
#   now is still wanted.
# custom:
#   id: NP006
#   severity: warning
#   remediation: >-
#     Fix the podSelector labels to match the workload's pod template
#     labels, or delete the policy.
#   controls:
#     - "PCI DSS v4.0 1.2.7"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.dangling_policy

import data.reachgate.lib
import rego.v1

deny contains f if {
	some s in input.reach.selection
	count(s.selects) == 0
	p := lib.policies_by_key[s.policy]
	not lib.is_empty_selector(p.spec.podSelector)
	f := {
		"msg": sprintf("%s selects no workload: its podSelector %s matches no pod in namespace %s", [p.key, json.marshal(p.spec.podSelector), p.namespace]),
		"object": lib.policy_object(p),
		"field": "spec.podSelector",
	}
}
