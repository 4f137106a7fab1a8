# METADATA
# title: No host networking or host ports
# description: >-
#   A pod with hostNetwork shares the node's network namespace: no
#   NetworkPolicy applies to it, and it can bind any node port and see
#   node traffic. A container hostPort publishes the pod on every node's
#   address, outside any policy on the pod network.
# custom:
#   id: NP012
#   severity: error
#   remediation: >-
#     Remove `hostNetwork: true` and `hostPort` from the pod template; expose
#     the workload through a Service and an Ingress instead.
#   controls:
#     - "CIS Kubernetes Benchmark 5.2.5"
#     - "CIS Kubernetes Benchmark 5.2.13"
#     - "NSA/CISA Kubernetes Hardening Guide: pod security"
#     - "PCI DSS v4.0 1.4.1"
package reachgate.rules.host_exposure

import data.reachgate.lib
import rego.v1

deny contains f if {
	some w in input.workloads
	not w.inventory
	w.hostNetwork
	f := {
		"msg": sprintf("%s runs with hostNetwork: NetworkPolicy does not apply to it", [w.key]),
		"object": lib.workload_object(w),
		"field": "hostNetwork",
	}
}

deny contains f if {
	some w in input.workloads
	not w.inventory
	some port in w.ports
	port.hostPort > 0
	f := {
		"msg": sprintf("%s publishes container port %d/%s on host port %d of every node it runs on", [w.key, port.port, port.protocol, port.hostPort]),
		"object": lib.workload_object(w),
		"field": sprintf("ports[%s].hostPort", [port_name(port)]),
	}
}

port_name(port) := port.name if port.name != ""

else := sprintf("%d", [port.port])
