# METADATA
# title: No NodePort Services or Service external IPs
# description: >-
#   A NodePort Service (or any Service port with a nodePort) opens the
#   workload on every node's address; Service externalIPs make kube-proxy
#   capture traffic to arbitrary addresses (CVE-2020-8554). Both route
#   around the ingress controller and the network perimeter.
# custom:
#   id: NP013
#   severity: error
#   remediation: >-
#     Use a ClusterIP Service behind the ingress controller; if a load
#     balancer is needed, set `allocateLoadBalancerNodePorts: false`. Remove
#     `externalIPs`.
#   controls:
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "PCI DSS v4.0 1.4.1"
package reachgate.rules.service_exposure

import rego.v1

service_object(s) := {"kind": "Service", "namespace": s.namespace, "name": s.name}

deny contains f if {
	some s in input.services
	s.type == "NodePort"
	f := {
		"msg": sprintf("Service %s/%s is of type NodePort: it is reachable on every node's address", [s.namespace, s.name]),
		"object": service_object(s),
		"field": "spec.type",
	}
}

deny contains f if {
	some s in input.services
	s.type != "NodePort"
	some i, port in s.ports
	port.nodePort > 0
	f := {
		"msg": sprintf("Service %s/%s port %d allocates node port %d", [s.namespace, s.name, port.port, port.nodePort]),
		"object": service_object(s),
		"field": sprintf("spec.ports[%d].nodePort", [i]),
	}
}

deny contains f if {
	some s in input.services
	count(s.externalIPs) > 0
	f := {
		"msg": sprintf("Service %s/%s sets externalIPs %s", [s.namespace, s.name, concat(", ", s.externalIPs)]),
		"object": service_object(s),
		"field": "spec.externalIPs",
	}
}
