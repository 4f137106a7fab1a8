# METADATA
# title: Every allowed port is served
# description: >-
#   A port that no pod serves allows nothing: the flow its author wanted is
#   denied and nothing else says so. Every port of an ingress rule is
#   checked against the containers of the pods the policy selects, every
#   port of an egress rule against the containers of the pods its peers
#   match, and every Service targetPort against the pods the Service
#   selects. A named port that no such container declares (by name and
#   protocol) never resolves: an error. A numeric port that no container
#   declares is a warning, because containerPort is informational (a
#   process may listen on a port it does not declare); workloads that
#   declare no ports at all, and inventory workloads without ports, are
#   not judged on numeric ports. Egress rules to an ipBlock or to anywhere
#   are judged on named ports only, against every workload. Rules whose
#   peers match nothing are NP006's and NP007's.
# custom:
#   id: NP021
#   severity: error
#   inputVersion: 9
#   remediation: >-
#     Use the port the container declares (`containerPort`, or its `name`
#     with the same protocol), or declare the port in the container spec
#     if the process listens on it.
#   controls:
#     - "PCI DSS v4.0 1.2.7"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.port_served

import data.reachgate.lib
import rego.v1

# Named ports declared anywhere, for rules that may reach any pod:
# input.declared holds every workload's container ports (a set of them
# built here cost 0.2 s per input at 5,000 workloads).
named_anywhere(name, proto) if name in input.declared.names[proto]

# Named ports are unknown only for inventory workloads that list none.
named_unknown := {w.key | some w in input.workloads; w.inventory; count(w.ports) == 0}

peers_key := {"ingress": "from", "egress": "to"}

# An egress rule to anywhere, or with an ipBlock among its peers, may
# reach any pod.
open_rule(rule, "egress") if count(object.get(rule, "to", [])) == 0

open_rule(rule, "egress") if {
	some peer in rule.to
	peer.ipBlock
}

# The selection entries a rule's ports are checked on: the policy's (its
# selected pods) for ingress, its peers' (the pods they match) for egress.
# Each carries the container ports its workloads declare (declared) and
# those of its workloads that declare none (undeclared), so the checks are
# lookups, not walks over every pod.
checked(p, "ingress", _) := [lib.selection_by_policy[p.key]]

checked(p, "egress", i) := [lib.peer_selection[[p.key, "egress", i, j]] | some j, _ in p.spec.egress[i].to]

# The pods a rule's ports are checked on, for a finding's message.
targets(p, "ingress", _) := lib.selection_by_policy[p.key].selects

targets(p, "egress", i) := sort({k |
	some s in checked(p, "egress", i)
	some k in s.matches
})

# Some pod the rule's ports are checked on.
has_targets(p, "ingress", _) if count(lib.selection_by_policy[p.key].selects) > 0

has_targets(p, "egress", i) if {
	some s in checked(p, "egress", i)
	count(s.matches) > 0
}

# Some target of rule i serves the named port x; or the targets cannot be
# judged (none, or one whose ports are unknown).
served_named(_, dir, _, rule, x) if {
	open_rule(rule, dir)
	named_anywhere(x.port, x.protocol)
}

served_named(p, dir, i, rule, x) if {
	not open_rule(rule, dir)
	some s in checked(p, dir, i)
	x.port in s.declared.names[x.protocol]
}

served_named(p, dir, i, rule, _) if {
	not open_rule(rule, dir)
	some s in checked(p, dir, i)
	some k in s.undeclared
	named_unknown[k]
}

served_named(p, dir, i, rule, _) if {
	not open_rule(rule, dir)
	not has_targets(p, dir, i)
}

checked_on(p, dir, i, rule) := ["any workload"] if open_rule(rule, dir)

else := targets(p, dir, i)

deny contains f if {
	some p in input.policies
	some dir in ["ingress", "egress"]
	some i, rule in object.get(p.spec, dir, [])
	some k, x in object.get(rule, "ports", [])
	is_string(x.port)
	not served_named(p, dir, i, rule, x)
	ts := checked_on(p, dir, i, rule)
	field := sprintf("spec.%s[%d].ports[%d].port", [dir, i, k])
	f := {
		"msg": sprintf("%s %s allows named port `%s`/%s, which no container of %s declares (%s): the flow %s is denied on it", [p.key, field, x.port, x.protocol, lib.summarize(ts), declared_text(ts), lib.flow_text(p, dir, i)]),
		"object": lib.policy_object(p),
		"field": field,
	}
}

# Some target serves the numeric port (or range) x.
served_number(p, dir, i, x) if {
	some s in checked(p, dir, i)
	declares_number(s.declared, x)
}

declares_number(d, x) if {
	not x.endPort
	x.port in d.numbers[x.protocol]
}

declares_number(d, x) if {
	x.endPort
	some n in d.numbers[x.protocol]
	x.port <= n
	n <= x.endPort
}

# Every target declares some port: containerPort is informational, and a
# workload that declares none is not judged on numbers.
all_declare(p, dir, i) if {
	every s in checked(p, dir, i) {
		count(s.undeclared) == 0
	}
}

deny contains f if {
	some p in input.policies
	some dir in ["ingress", "egress"]
	some i, rule in object.get(p.spec, dir, [])
	not open_rule(rule, dir)
	some k, x in object.get(rule, "ports", [])
	is_number(x.port)
	not served_number(p, dir, i, x)
	all_declare(p, dir, i)
	has_targets(p, dir, i)
	ts := targets(p, dir, i)
	field := sprintf("spec.%s[%d].ports[%d].port", [dir, i, k])
	f := {
		"msg": sprintf("%s %s allows %s %s, which no container of %s declares (%s): unless a process listens on a port it does not declare, the flow %s is denied on it", [p.key, field, x.protocol, range_text(x), lib.summarize(ts), declared_text(ts), lib.flow_text(p, dir, i)]),
		"object": lib.policy_object(p),
		"field": field,
		"severity": "warning",
	}
}

range_text(x) := sprintf("%d-%d", [x.port, x.endPort]) if x.endPort

else := sprintf("%d", [x.port])

# What the first few targets declare, for the message.
declared_text(ts) := "no workload declares it" if {
	ts == ["any workload"]
} else := sprintf("they declare %s", [concat(", ", ps)]) if {
	ps := sort({port_text(cp) | some t in array.slice(ts, 0, 3); some cp in lib.workloads_by_key[t].ports})
	count(ps) > 0
} else := "they declare no ports"

port_text(cp) := sprintf("%s/%s %d", [cp.name, cp.protocol, cp.port]) if cp.name != ""

else := sprintf("%s %d", [cp.protocol, cp.port])

# ---- Services ----------------------------------------------------------------

service_object(s) := {"kind": "Service", "namespace": s.namespace, "name": s.name}

# The targetPort of a Service port: its number, or its name.
target(sp) := sp.port if sp.targetPort == ""

else := to_number(sp.targetPort) if regex.match(`^[0-9]+$`, sp.targetPort)

else := sp.targetPort

deny contains f if {
	some s in input.services
	some i, sp in s.ports
	tp := target(sp)
	is_string(tp)
	not service_named(s, tp, sp.protocol)
	count(s.selects) > 0
	field := sprintf("spec.ports[%d].targetPort", [i])
	f := {
		"msg": sprintf("Service %s/%s port %d targets port `%s`/%s, which no container of %s declares (%s): connections to the Service on port %d go nowhere", [s.namespace, s.name, sp.port, tp, sp.protocol, lib.summarize(s.selects), declared_text(s.selects), sp.port]),
		"object": service_object(s),
		"field": field,
	}
}

# Some workload the Service selects declares the named port (s.declared:
# the container ports of those workloads), or lists none and is one whose
# named ports are unknown.
service_named(s, tp, proto) if tp in s.declared.names[proto]

service_named(s, _, _) if {
	some k in s.undeclared
	named_unknown[k]
}

deny contains f if {
	some s in input.services
	some i, sp in s.ports
	tp := target(sp)
	is_number(tp)
	not tp in object.get(s.declared.numbers, sp.protocol, [])
	count(s.selects) > 0
	count(s.undeclared) == 0
	field := sprintf("spec.ports[%d].targetPort", [i])
	f := {
		"msg": sprintf("Service %s/%s port %d targets %s %d, which no container of %s declares (%s): unless a process listens on a port it does not declare, connections to the Service on port %d go nowhere", [s.namespace, s.name, sp.port, sp.protocol, tp, lib.summarize(s.selects), declared_text(s.selects), sp.port]),
		"object": service_object(s),
		"field": field,
		"severity": "warning",
	}
}
