# METADATA
# title: No empty podSelector outside default-deny policies
# description: >-
#   An empty podSelector selects every pod. In a default-deny policy (no
#   rules) that is the point; anywhere else it grants the rule to, or from,
#   every pod of a namespace, including pods added later. Both the policy's
#   own podSelector and the podSelector of each rule peer are checked. Not
#   reported: a policy whose rules only let its pods resolve names (egress
#   to the DNS pods on port 53, the usual allow-dns policy), and a peer
#   `podSelector: {}` next to a namespaceSelector, which says the same as
#   the namespaceSelector alone (its `{}` sibling is NP024's), and a
#   policy with a rule NP024 reports.
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
	not dns_only(p)
	not slip(p)
	f := {
		"msg": sprintf("%s applies its rules to every pod in namespace %s (empty podSelector), including pods added later, but is not a default-deny policy: %s", [p.key, p.namespace, lib.summarize([sprintf("%s %s", [lib.who_gains(p, dir, i), ports_text(rule)]) | some dir in ["ingress", "egress"]; some i, rule in object.get(p.spec, dir, [])])]),
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
	not peer.namespaceSelector
	field := sprintf("spec.%s[%d].%s[%d].podSelector", [dir, i, key, j])
	f := {
		"msg": sprintf("%s %s has an empty podSelector: it matches every pod in namespace %s, including pods added later, and %s", [p.key, field, p.namespace, gains(p, dir, i)]),
		"object": lib.policy_object(p),
		"field": field,
	}
}

ports_text(rule) := "on every port" if {
	count(object.get(rule, "ports", [])) == 0
} else := sprintf("on %s", [concat(", ", [sprintf("%s %v", [x.protocol, object.get(x, "port", "(all)")]) | some x in rule.ports])])

# Every rule is egress to the DNS pods (a pod selector that the DNS
# selector's labels satisfy) on port 53 only.
dns_only(p) if {
	count(object.get(p.spec, "ingress", [])) == 0
	every rule in p.spec.egress {
		count(object.get(rule, "to", [])) > 0
		every peer in rule.to {
			to_dns(peer)
		}
		count(object.get(rule, "ports", [])) > 0
		every port in rule.ports {
			port.port == 53
		}
	}
}

to_dns(peer) if {
	not peer.ipBlock
	labels := object.get(peer, ["podSelector", "matchLabels"], {})
	count(labels) > 0
	every k, v in labels {
		lib.params.dnsSelector.labels[k] == v
	}
}

# A policy with a rule NP024 reports is left to it.
slipped := {key | some [key, _, _] in lib.everything_slips}

slip(p) if slipped[p.key]

has_rules(p) if count(object.get(p.spec, "ingress", [])) > 0

has_rules(p) if count(object.get(p.spec, "egress", [])) > 0

gains(p, "ingress", i) := sprintf("they all reach %s through it", [lib.selected_text(p.key)])

gains(p, "egress", i) := sprintf("%s reach them all through it", [lib.selected_text(p.key)])
