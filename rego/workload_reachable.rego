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
#   inputVersion: 9
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

# The Services selecting workload k (input.servicesOf indexes
# input.services).
services_of(k) := sort({input.services[i].name | some i in input.servicesOf[k]})

# stranded[k]: the [protocol, port] pairs workload k serves, for the
# workloads of the repository that are isolated for ingress (the others
# are reachable by everyone) and that no peer reaches on any of them.
# input.reach.unreached holds them (served ports: the containers' ports
# and the numeric targetPorts of the Services selecting k; reached: some
# flow into k allows one, input.reach.portsByDst): walking every
# workload's ports and Services here cost 0.7 s per input at 5,000
# workloads.
stranded := {w.key: ports |
	some w in input.workloads
	ports := input.reach.unreached[w.key]
	not w.inventory
	not w.hostNetwork
}

exempt(w) if w.labels[lib.params.isolatedLabel] == "true"

exempt(w) if {
	some pattern in lib.params.isolatedWorkloads
	glob.match(pattern, ["/"], w.key)
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
	none_declares(lib.selection_by_policy[key], x)
}

# No pod of the selection entry s declares the named port x; or, all of
# them declaring some ports (containerPort being informational, a workload
# that declares none is not judged on numbers, as in NP021), none declares
# the numeric port or range x. s.declared is the union of their container
# ports, s.undeclared those that declare none.
none_declares(s, x) if {
	is_string(x.port)
	not x.port in object.get(s.declared.names, x.protocol, [])
}

none_declares(s, x) if {
	is_number(x.port)
	not x.endPort
	count(s.undeclared) == 0
	not x.port in object.get(s.declared.numbers, x.protocol, [])
}

none_declares(s, x) if {
	is_number(x.port)
	x.endPort
	count(s.undeclared) == 0
	not in_range(object.get(s.declared.numbers, x.protocol, []), x)
}

in_range(numbers, x) if {
	some n in numbers
	x.port <= n
	n <= x.endPort
}

# The policies that isolate each stranded workload for ingress
# (input.reach.isolatedBy), only when some workload is stranded.
isolating_of := {k: object.get(input.reach.isolatedBy.ingress, k, []) | some k, _ in stranded}

why(k) := sprintf("the policies selecting it for ingress (%s) allow no peer on them", [lib.summarize(isolating_of[k])])
