# METADATA
# title: NetworkPolicy names follow the naming convention
# description: >-
#   Policy names follow params.namingPattern (a regular expression, such as
#   `^(default-deny-(ingress|egress|all)|allow-[a-z0-9-]+)$`), so a reader
#   of `kubectl get netpol` or of a PR comment can tell deny from allow and
#   find the flow a policy is for. A convention is the repository's own
#   choice: the rule is off unless rules.params.namingPattern in
#   reachgate.yaml sets one.
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
