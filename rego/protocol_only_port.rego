# METADATA
# title: Every port entry names a port
# description: >-
#   A port entry with a protocol and no port (`- protocol: TCP`) allows
#   every port of that protocol to the rule's peers. It is rarely meant:
#   most often a `port:` went missing, or a list item was split in two
#   (`- protocol: TCP` then `- port: 8080`). Unlike a rule without ports
#   (NP011, a warning), the rule looks restricted to a reader, so it is an
#   error. Policies matching a "namespace/name" glob in
#   params.allPortsAllowed are exempt.
# custom:
#   id: NP023
#   severity: error
#   remediation: >-
#     Give the entry its port (`port: 8080`, or `port` and `endPort` for a
#     range), in the same list item as its protocol.
#   controls:
#     - "PCI DSS v4.0 1.2.5"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.protocol_only_port

import data.reachgate.lib
import rego.v1

deny contains f if {
	some p in input.policies
	some dir in ["ingress", "egress"]
	some i, rule in object.get(p.spec, dir, [])
	some k, port in object.get(rule, "ports", [])
	not port.port
	not lib.all_ports_allowed(p)
	field := sprintf("spec.%s[%d].ports[%d]", [dir, i, k])
	f := {
		"msg": sprintf("%s %s names only the protocol %s: %s on every %s port", [p.key, field, port.protocol, lib.who_gains(p, dir, i), port.protocol]),
		"object": lib.policy_object(p),
		"field": field,
	}
}
