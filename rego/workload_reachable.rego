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

# served[k]: [protocol, port] pairs workload k serves.
served := {k: ports |
	some k, w in lib.managed_workloads
	ports := {[p.protocol, p.port] | some p in w.ports} | {[proto, port] | some [k2, proto, port] in service_served; k2 == k}
	count(ports) > 0
}

numeric_target(sp) := sp.port if sp.targetPort == ""

else := to_number(sp.targetPort) if regex.match(`^[0-9]+$`, sp.targetPort)

exempt(w) if w.labels[lib.params.isolatedLabel] == "true"

exempt(w) if {
	some pattern in lib.params.isolatedWorkloads
	glob.match(pattern, ["/"], w.key)
}

reachable(k, _) if not lib.ingress_isolated[k]

reachable(k, ports) if {
	some f in lib.flows_to(k)
	some [proto, port] in ports
	lib.port_in(f.ports, proto, port)
}

deny contains f if {
	some k, ports in served
	w := lib.managed_workloads[k]
	not exempt(w)
	not reachable(k, ports)
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
# it selects serves: NP021 reports that port, the cause of k being cut off.
port_slip(k) if {
	some [k2, key] in isolating
	k2 == k
	p := lib.policies_by_key[key]
	some rule in object.get(p.spec, "ingress", [])
	some x in object.get(rule, "ports", [])
	unserved(lib.selection_by_policy[key].selects, x)
}

unserved(ts, x) if {
	is_string(x.port)
	every t in ts {
		not names(lib.workloads_by_key[t], x)
	}
}

unserved(ts, x) if {
	is_number(x.port)
	every t in ts {
		count(lib.workloads_by_key[t].ports) > 0
		not numbers(lib.workloads_by_key[t], x)
	}
}

names(w, x) if {
	some cp in w.ports
	cp.name == x.port
	cp.protocol == x.protocol
}

numbers(w, x) if {
	some cp in w.ports
	cp.protocol == x.protocol
	x.port <= cp.port
	cp.port <= object.get(x, "endPort", x.port)
}

# The policies that isolate the workload for ingress.
isolating := {[k, s.policy] |
	some s in input.reach.selection
	"Ingress" in lib.policies_by_key[s.policy].policyTypes
	some k in s.selects
}

why(k) := sprintf("the policies selecting it for ingress (%s) allow no peer on them", [lib.summarize(sort({p | some [k2, p] in isolating; k2 == k}))])
