package reachgate.rules.host_exposure_test

import data.reachgate.rules.host_exposure
import data.reachgate.testing as t
import rego.v1

w := t.workload("app", "agent", {"app": "agent"})

test_plain_workload_passes if {
	count(host_exposure.deny) == 0 with input as t.with_input({"workloads": [object.union(w, {"ports": [{"name": "http", "port": 80, "protocol": "TCP", "hostPort": 0}]})]})
}

test_host_network_fails if {
	findings := host_exposure.deny with input as t.with_input({"workloads": [object.union(w, {"hostNetwork": true})]})
	count(findings) == 1
	some f in findings
	f.field == "hostNetwork"
}

test_host_port_fails if {
	findings := host_exposure.deny with input as t.with_input({"workloads": [object.union(w, {"ports": [{"name": "http", "port": 80, "protocol": "TCP", "hostPort": 8080}]})]})
	count(findings) == 1
	some f in findings
	f.field == "ports[http].hostPort"
	contains(f.msg, "host port 8080")
}

test_inventory_ignored if {
	inv := object.union(t.inventory_workload("kube-system", "kube-proxy", {}), {"hostNetwork": true})
	count(host_exposure.deny) == 0 with input as t.with_input({"workloads": [inv]})
}
