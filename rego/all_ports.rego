# METADATA
# title: Every rule names its ports
# description: >-
#   An ingress or egress rule without `ports` allows every port and
#   protocol to its peers. Least privilege means naming the ports a flow
#   needs. A warning: often deliberate (`egress: [{}]`, a namespace-wide
#   allow). A port entry with only a protocol, which opens every port of
#   that protocol and is usually a list-item slip, is NP023. Policies
#   matching a "namespace/name" glob in params.allPortsAllowed are exempt
#   (for example a monitoring agent that really scrapes arbitrary ports);
#   anything else is a waiver. A rule NP024 reports (`namespaceSelector:
#   {}` where the namespace was meant) is left to it.
# custom:
#   id: NP011
#   severity: warning
#   remediation: >-
#     Add `ports:` with protocol and port (or port and endPort) to the rule.
#   controls:
#     - "PCI DSS v4.0 1.2.5"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.all_ports

import data.reachgate.lib
import rego.v1

deny contains f if {
	some p in input.policies
	not lib.all_ports_allowed(p)
	some dir in ["ingress", "egress"]
	some i, rule in object.get(p.spec, dir, [])
	count(object.get(rule, "ports", [])) == 0
	not lib.everything_slips[[p.key, dir, i]]
	field := sprintf("spec.%s[%d]", [dir, i])
	f := {
		"msg": sprintf("%s %s has no ports: %s on every port and protocol", [p.key, field, lib.who_gains(p, dir, i)]),
		"object": lib.policy_object(p),
		"field": field,
	}
}
