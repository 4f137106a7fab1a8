package reachgate.rules.port_served_test

import data.reachgate.rules.port_served
import data.reachgate.testing as t
import rego.v1

api := t.serving(t.workload("default", "apiserver", {"app": "apiserver"}), [["http", 5000, "TCP"]])

web := t.serving(t.workload("default", "web", {"app": "web"}), [["http", 8080, "TCP"]])

bare := t.workload("default", "bare", {"app": "bare"})

ingress_pol(ports) := t.policy("default", "allow-api", {
	"podSelector": {"matchLabels": {"app": "apiserver"}},
	"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": ports}],
})

ingress_in(ports) := t.with_input({
	"workloads": [api, web, bare],
	"policies": [ingress_pol(ports)],
	"reach": {"selection": [t.selection("default/allow-api", ["default/apiserver"], [t.peer_sel("ingress", 0, 0, ["default/web"])])]},
})

test_served_ports_pass if {
	count(port_served.deny) == 0 with input as ingress_in([{"protocol": "TCP", "port": "http"}, {"protocol": "TCP", "port": 5000}, {"protocol": "TCP", "port": 4000, "endPort": 6000}])
}

# The issue's example: `api-port` where the container calls it `http`.
test_named_port_resolving_nowhere_is_an_error if {
	findings := port_served.deny with input as ingress_in([{"protocol": "TCP", "port": "api-port"}])
	count(findings) == 1
	some f in findings
	f.object == {"kind": "NetworkPolicy", "namespace": "default", "name": "allow-api"}
	f.field == "spec.ingress[0].ports[0].port"
	not f.severity
	f.msg == "default/allow-api spec.ingress[0].ports[0].port allows named port `api-port`/TCP, which no container of default/apiserver declares (they declare http/TCP 5000): the flow from default/web to default/apiserver is denied on it"
}

# The name must match with the protocol.
test_named_port_other_protocol_is_an_error if {
	count(port_served.deny) == 1 with input as ingress_in([{"protocol": "UDP", "port": "http"}])
}

# 5001 where the pod listens on 5000: a warning, containerPort being
# informational.
test_undeclared_number_is_a_warning if {
	findings := port_served.deny with input as ingress_in([{"protocol": "TCP", "port": 5001}])
	count(findings) == 1
	some f in findings
	f.severity == "warning"
	contains(f.msg, "allows TCP 5001, which no container of default/apiserver declares (they declare http/TCP 5000): unless a process listens on a port it does not declare, the flow from default/web to default/apiserver is denied on it")
}

test_range_missing_every_port_is_a_warning if {
	count(port_served.deny) == 1 with input as ingress_in([{"protocol": "TCP", "port": 6000, "endPort": 7000}])
}

# A workload that declares no ports is not judged on numbers, but cannot
# resolve a name.
test_pods_declaring_nothing if {
	pol := t.policy("default", "allow-bare", {"podSelector": {"matchLabels": {"app": "bare"}}, "ingress": [{"ports": [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": "http"}]}]})
	findings := port_served.deny with input as t.with_input({
		"workloads": [bare],
		"policies": [pol],
		"reach": {"selection": [t.selection("default/allow-bare", ["default/bare"], [])]},
	})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[0].ports[1].port"
	contains(f.msg, "they declare no ports")
}

# Egress ports are checked on the pods the peers match.
test_egress_checked_on_peers if {
	pol := t.policy("default", "allow-web-out", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"], "egress": [{
		"to": [{"podSelector": {"matchLabels": {"app": "apiserver"}}}],
		"ports": [{"protocol": "TCP", "port": "grpc"}, {"protocol": "TCP", "port": 5000}, {"protocol": "TCP", "port": 8080}],
	}]})
	findings := port_served.deny with input as t.with_input({
		"workloads": [api, web],
		"policies": [pol],
		"reach": {"selection": [t.selection("default/allow-web-out", ["default/web"], [t.peer_sel("egress", 0, 0, ["default/apiserver"])])]},
	})
	count(findings) == 2
	some f in findings
	f.field == "spec.egress[0].ports[0].port"
	contains(f.msg, "the flow from default/web to default/apiserver is denied on it")
	some g in findings
	g.field == "spec.egress[0].ports[2].port"
	g.severity == "warning"
}

# To an ipBlock or anywhere: named ports against every workload, numbers
# not at all.
test_open_egress_named_only if {
	pol := t.policy("default", "allow-out", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"], "egress": [
		{"ports": [{"protocol": "TCP", "port": "http"}, {"protocol": "TCP", "port": 443}]},
		{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": "https"}]},
	]})
	findings := port_served.deny with input as t.with_input({
		"workloads": [api, web],
		"policies": [pol],
		"reach": {"selection": [t.selection("default/allow-out", ["default/web"], [])]},
	})
	count(findings) == 1
	some f in findings
	f.field == "spec.egress[1].ports[0].port"
	contains(f.msg, "which no container of any workload declares (no workload declares it)")
}

# Inventory workloads that list no ports are not judged.
test_inventory_without_ports_not_judged if {
	prom := t.inventory_workload("monitoring", "prometheus", {"app": "prometheus"})
	pol := t.policy("default", "allow-out", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": "web"}]}]})
	count(port_served.deny) == 0 with input as t.with_input({
		"workloads": [web, prom],
		"policies": [pol],
		"reach": {"selection": [t.selection("default/allow-out", ["default/web"], [t.peer_sel("egress", 0, 0, ["monitoring/prometheus"])])]},
	})
}

svc_in(ports) := t.with_input({"workloads": [api], "services": [t.service("default", "apiserver", ["default/apiserver"], ports)]})

test_service_target_ports_served_pass if {
	count(port_served.deny) == 0 with input as svc_in([[80, "http", "TCP"], [5000, "", "TCP"], [81, "5000", "TCP"]])
}

test_service_named_target_port_resolving_nowhere_is_an_error if {
	findings := port_served.deny with input as svc_in([[80, "api-port", "TCP"]])
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Service", "namespace": "default", "name": "apiserver"}
	f.field == "spec.ports[0].targetPort"
	not f.severity
	contains(f.msg, "Service default/apiserver port 80 targets port `api-port`/TCP, which no container of default/apiserver declares")
}

test_service_undeclared_number_is_a_warning if {
	findings := port_served.deny with input as svc_in([[80, "5001", "TCP"], [5001, "", "TCP"]])
	count(findings) == 2
	every f in findings {
		f.severity == "warning"
	}
}

test_service_selecting_nothing_not_judged if {
	count(port_served.deny) == 0 with input as t.with_input({"services": [t.service("default", "gone", [], [[80, "http", "TCP"]])]})
}
