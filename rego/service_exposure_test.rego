package reachgate.rules.service_exposure_test

import data.reachgate.rules.service_exposure
import data.reachgate.testing as t
import rego.v1

svc(type, ports, ips) := {"namespace": "app", "name": "web", "type": type, "selector": {"app": "web"}, "ports": ports, "externalIPs": ips, "source": t.src}

http := {"name": "http", "port": 80, "targetPort": "8080", "nodePort": 0, "protocol": "TCP"}

test_cluster_ip_passes if {
	count(service_exposure.deny) == 0 with input as t.with_input({"services": [svc("ClusterIP", [http], [])]})
}

test_node_port_fails if {
	findings := service_exposure.deny with input as t.with_input({"services": [svc("NodePort", [object.union(http, {"nodePort": 30080})], [])]})
	count(findings) == 1
	some f in findings
	f.field == "spec.type"
	f.object == {"kind": "Service", "namespace": "app", "name": "web"}
}

test_load_balancer_node_port_fails if {
	findings := service_exposure.deny with input as t.with_input({"services": [svc("LoadBalancer", [object.union(http, {"nodePort": 30080})], [])]})
	some f in findings
	f.field == "spec.ports[0].nodePort"
}

test_external_ips_fail if {
	findings := service_exposure.deny with input as t.with_input({"services": [svc("ClusterIP", [http], ["203.0.113.10"])]})
	some f in findings
	f.field == "spec.externalIPs"
}
