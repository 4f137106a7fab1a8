# METADATA
# title: Every rule names its ports
# description: >-
#   An ingress or egress rule without `ports`, or a port entry with only a
#   protocol, allows every port. Least privilege means naming the ports a
#   flow needs. Policies matching a "namespace/name" glob in
#   params.allPortsAllowed are exempt (for example a monitoring agent that
#   really scrapes arbitrary ports); anything else is a waiver.
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
	not exempt(p)
	some dir in ["ingress", "egress"]
	some i, rule in object.get(p.spec, dir, [])
	count(object.get(rule, "ports", [])) == 0
	field := sprintf("spec.%s[%d]", [dir, i])
	f := {
		"msg": sprintf("%s %s has no ports: it allows every port and protocol", [p.key, field]),
		"object": lib.policy_object(p),
		"field": field,
	}
}

deny contains f if {
	some p in input.policies
	not exempt(p)
	some dir in ["ingress", "egress"]
	some i, rule in object.get(p.spec, dir, [])
	some k, port in object.get(rule, "ports", [])
	not port.port
	field := sprintf("spec.%s[%d].ports[%d]", [dir, i, k])
	f := {
		"msg": sprintf("%s %s names only a protocol: it allows every %s port", [p.key, field, port.protocol]),
		"object": lib.policy_object(p),
		"field": field,
	}
}

exempt(p) if {
	some pattern in lib.params.allPortsAllowed
	glob.match(pattern, ["/"], p.key)
}
