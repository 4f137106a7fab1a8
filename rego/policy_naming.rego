# METADATA
# title: NetworkPolicy names follow the naming convention
# description: >-
#   Policy names follow params.namingPattern (a regular expression; by
#   default `default-deny-{ingress,egress,all}` or `allow-<what>`), so a
#   reader of `kubectl get netpol` or of a PR comment can tell deny from
#   allow and find the flow a policy is for.
# custom:
#   id: NP015
#   severity: info
#   remediation: >-
#     Rename the policy, e.g. allow-frontend-to-backend or
#     default-deny-egress.
#   controls:
#     - "PCI DSS v4.0 1.2.1"
package reachgate.rules.policy_naming

import data.reachgate.lib
import rego.v1

deny contains f if {
	pattern := lib.params.namingPattern
	pattern != ""
	some p in input.policies
	not regex.match(pattern, p.name)
	f := {
		"msg": sprintf("NetworkPolicy name %q does not match the naming pattern %s", [p.name, pattern]),
		"object": lib.policy_object(p),
		"field": "metadata.name",
	}
}
