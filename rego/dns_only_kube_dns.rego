# METADATA
# title: DNS egress goes to the cluster DNS only
# description: >-
#   An egress rule that names port 53 must send it to the cluster DNS pods
#   (params.dnsSelector) and nowhere else. Port 53 open to other pods, to an
#   ipBlock or to any destination is a classic exfiltration channel (DNS
#   tunnelling) and bypasses DNS logging.
# custom:
#   id: NP004
#   severity: error
#   remediation: >-
#     Restrict the rule's `to` to `namespaceSelector` + `podSelector`
#     matching the DNS pods (k8s-app: kube-dns in kube-system); put other
#     ports in a separate rule.
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.3.2"
package reachgate.rules.dns_only_kube_dns

import data.reachgate.lib
import rego.v1

deny contains f if {
	some p in input.policies
	some i, rule in object.get(p.spec, "egress", [])
	names_port_53(rule)
	some reason in leaks(p, i, rule)
	f := {
		"msg": sprintf("%s egress rule %d allows port 53 %s; DNS egress must go only to the DNS pods (%s)", [p.key, i, reason, lib.dns_selector_string]),
		"object": lib.policy_object(p),
		"field": sprintf("spec.egress[%d]", [i]),
	}
}

names_port_53(rule) if {
	some port in rule.ports
	covers_53(port)
}

covers_53(port) if port.port == 53

covers_53(port) if {
	is_number(port.port)
	port.port <= 53
	53 <= port.endPort
}

leaks(p, i, rule) := {"to any destination"} if {
	count(object.get(rule, "to", [])) == 0
} else := {r |
	some j, peer in rule.to
	r := peer_leak(p, i, j, peer)
}

peer_leak(p, i, j, peer) := sprintf("to ipBlock %s (to[%d])", [peer.ipBlock.cidr, j]) if {
	peer.ipBlock
} else := sprintf("to %s (to[%d])", [lib.summarize(others), j]) if {
	sel := lib.peer_selection[[p.key, "egress", i, j]]
	others := [k | some k in sel.matches; not lib.dns_keys[k]]
	count(others) > 0
}
