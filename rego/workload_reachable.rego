# METADATA
# title: Every serving workload is reachable
# description: >-
#   A workload that serves ports (behind a Service, or declaring container
#   ports) but that no peer, in the cluster or outside it, can reach on
#   any of those ports is stranded: every caller is cut off, and no other
#   rule says so (its own egress findings describe something else).
#   Served ports are the containers' declared ports and the Services'
#   numeric targetPorts. Computed on the reachability matrix: a workload
#   that is not isolated for ingress is reachable. An error when a Service
#   selects the workload, a warning when it only declares ports (a metrics
#   port nobody scrapes). Workloads isolated on purpose are exempt: label
#   the pod template params.isolatedLabel (default reachgate.dev/isolated)
#   "true", or list them in params.isolatedWorkloads ("namespace/name"
#   globs). Inventory and hostNetwork workloads are not checked, nor a
#   workload cut off by a port of its own policy that no pod serves: NP021
#   reports that port.
# custom:
#   id: NP022
#   severity: error
#   inputVersion: 3
#   remediation: >-
#     Allow the workload's callers in an ingress rule on the ports it
#     serves (and their egress, where they are isolated for egress); if it
#     is meant to be unreachable, label its pod template
#     `reachgate.dev/isolated: "true"`.
#   controls:
#     - "PCI DSS v4.0 1.2.7"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.workload_reachable

import data.reachgate.lib
import rego.v1

# [workload, Service name] and [workload, protocol, port] for each Service
# selecting a workload; grouped per workload below with comprehensions over
# tuples, which OPA indexes.
selecting := {[k, s.name] | some s in input.services; some k in s.selects}

service_served := {[k, sp.protocol, port] |
	some s in input.services
	some sp in s.ports
	port := numeric_target(sp)
	some k in s.selects
}

services_of(k) := sort({n | some [k2, n] in selecting; k2 == k})

# stranded[k]: the [protocol, port] pairs workload k serves, for the
# workloads of the repository that are isolated for ingress (the others
# are reachable by everyone) and that no peer reaches on any of them.
# input.workloads is walked directly: building an index of 5,000
# workloads costs more than this whole rule otherwise.
stranded := {k: ports |
	some w in input.workloads
	k := w.key
	lib.ingress_isolated[k]
	not w.inventory
	not w.hostNetwork
	ports := {[p.protocol, p.port] | some p in w.ports} | {[proto, port] | some [k2, proto, port] in service_served; k2 == k}
	count(ports) > 0
	not reachable(k, ports)
}

numeric_target(sp) := sp.port if sp.targetPort == ""

else := to_number(sp.targetPort) if regex.match(`^[0-9]+$`, sp.targetPort)

exempt(w) if w.labels[lib.params.isolatedLabel] == "true"

exempt(w) if {
	some pattern in lib.params.isolatedWorkloads
	glob.match(pattern, ["/"], w.key)
}

# Stops at the first flow into k on a served port.
reachable(k, ports) if {
	some f in input.reach.byDst[k]
	some [proto, port] in ports
	some r in f.ports[proto]
	r.from <= port
	port <= r.to
}

deny contains f if {
	some w in input.workloads
	ports := stranded[w.key]
	k := w.key
	not exempt(w)
	not port_slip(k)
	f := object.union(
		{
			"msg": sprintf("%s serves %s%s but no peer can reach it on any of those ports: %s", [k, ports_text(ports), behind(k), why(k)]),
			"object": lib.workload_object(w),
		},
		severity(k),
	)
}

behind(k) := sprintf(" behind Service %s", [concat(", ", services_of(k))]) if count(services_of(k)) > 0

else := ""

severity(k) := {} if count(services_of(k)) > 0

else := {"severity": "warning"}

ports_text(ports) := concat(", ", sort([sprintf("%s %d", [proto, port]) | some [proto, port] in ports]))

# A policy that selects k allows, on ingress, a port that none of the pods
# it selects declares: NP021 reports that port, the cause of k being cut
# off. Each policy is judged once, and only those isolating a workload
# nobody reaches.
port_slip(k) if {
	some key in isolating_of[k]
	slipped[key]
}

slipped := {key |
	some key in {key | some k, _ in stranded; some key in isolating_of[k]}
	p := lib.policies_by_key[key]
	some rule in object.get(p.spec, "ingress", [])
	some x in object.get(rule, "ports", [])
	x.port
	every t in lib.selection_by_policy[key].selects {
		not_declared(t, x)
	}
}

# Declared container ports, as tuples for set lookups.
declared_names := {[w.key, cp.name, cp.protocol] | some w in input.workloads; some cp in w.ports}

declared_numbers := {[w.key, cp.protocol, cp.port] | some w in input.workloads; some cp in w.ports}

declares_some := {w.key | some w in input.workloads; count(w.ports) > 0}

# A named port no container of k declares; a numeric one (or range) none
# declares, k declaring some (containerPort being informational, a
# workload that declares none is not judged on numbers, as in NP021).
not_declared(k, x) if {
	is_string(x.port)
	not declared_names[[k, x.port, x.protocol]]
}

not_declared(k, x) if {
	is_number(x.port)
	not x.endPort
	declares_some[k]
	not declared_numbers[[k, x.protocol, x.port]]
}

not_declared(k, x) if {
	is_number(x.port)
	x.endPort
	declares_some[k]
	not in_range(lib.workloads_by_key[k], x)
}

in_range(w, x) if {
	some cp in w.ports
	cp.protocol == x.protocol
	x.port <= cp.port
	cp.port <= x.endPort
}

# [workload, policy] for each stranded workload and each policy that
# isolates it for ingress: one pass over the selection, only when some
# workload is stranded.
isolating := {[k, s.policy] |
	some s in input.reach.selection
	"Ingress" in lib.policies_by_key[s.policy].policyTypes
	some k in s.selects
	stranded[k]
}

isolating_of := {k: ps |
	some k, _ in stranded
	ps := sort([p | some [k2, p] in isolating; k2 == k])
}

why(k) := sprintf("the policies selecting it for ingress (%s) allow no peer on them", [lib.summarize(isolating_of[k])])
