package reachgate.rules.workload_reachable_test

import data.reachgate.rules.workload_reachable
import data.reachgate.testing as t
import rego.v1

api := t.serving(t.workload("app", "api", {"app": "api"}), [["http", 8080, "TCP"]])

svc := t.service("app", "api", ["app/api"], [[80, "http", "TCP"]])

deny_all := t.default_deny_all("app")

isolated := {"selection": [t.selection("app/default-deny-all", ["app/api"], [])]}

# A component stranded behind its Service: default deny, and no rule lets
# anyone in.
test_stranded_behind_service_is_an_error if {
	findings := workload_reachable.deny with input as t.with_input({
		"workloads": [api],
		"services": [svc],
		"policies": [deny_all],
		"reach": isolated,
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Deployment", "namespace": "app", "name": "api"}
	not f.severity
	f.msg == "app/api serves TCP 8080 behind Service api but no peer can reach it on any of those ports: the policies selecting it for ingress (app/default-deny-all) allow no peer on them"
}

test_declared_ports_only_is_a_warning if {
	findings := workload_reachable.deny with input as t.with_input({"workloads": [api], "policies": [deny_all], "reach": isolated})
	some f in findings
	f.severity == "warning"
}

test_reached_on_a_served_port_passes if {
	fl := t.xflow(["app/web"], "", "app/api", t.wpeer("app/api"), t.tcp(8080), t.not_isolated, {"policy": "app/allow-api", "rule": 0})
	count(workload_reachable.deny) == 0 with input as t.with_input({
		"workloads": [api],
		"services": [svc],
		"policies": [deny_all],
		"reach": object.union(t.reach([fl]), isolated),
	})
}

# Reachable on some other port only: still stranded.
test_reached_on_another_port_fails if {
	fl := t.xflow(["app/web"], "", "app/api", t.wpeer("app/api"), t.tcp(9090), t.not_isolated, {"policy": "app/allow-api", "rule": 0})
	count(workload_reachable.deny) == 1 with input as t.with_input({
		"workloads": [api],
		"policies": [deny_all],
		"reach": object.union(t.reach([fl]), isolated),
	})
}

# A Service's numeric targetPort counts as served, for a container that
# declares nothing.
test_service_target_port_is_served if {
	bare := t.workload("app", "api", {"app": "api"})
	findings := workload_reachable.deny with input as t.with_input({
		"workloads": [bare],
		"services": [t.service("app", "api", ["app/api"], [[80, "8080", "TCP"]])],
		"policies": [deny_all],
		"reach": isolated,
	})
	some f in findings
	contains(f.msg, "serves TCP 8080 behind Service api")
}

test_not_isolated_passes if {
	count(workload_reachable.deny) == 0 with input as t.with_input({"workloads": [api], "services": [svc]})
}

test_no_ports_no_service_passes if {
	count(workload_reachable.deny) == 0 with input as t.with_input({
		"workloads": [t.workload("app", "api", {"app": "api"})],
		"policies": [deny_all],
		"reach": isolated,
	})
}

test_isolated_label_exempts if {
	lone := object.union(api, {"labels": {"app": "api", "reachgate.dev/isolated": "true"}})
	count(workload_reachable.deny) == 0 with input as t.with_input({"workloads": [lone], "services": [svc], "policies": [deny_all], "reach": isolated})
}

test_isolated_workloads_param_exempts if {
	count(workload_reachable.deny) == 0 with input as t.with_input({"workloads": [api], "services": [svc], "policies": [deny_all], "reach": isolated})
		with data.reachgate.params as {"isolatedWorkloads": ["app/a*"]}
}

test_inventory_not_checked if {
	inv := t.serving(t.inventory_workload("monitoring", "prometheus", {}), [["web", 9090, "TCP"]])
	count(workload_reachable.deny) == 0 with input as t.with_input({
		"workloads": [inv],
		"policies": [deny_all],
		"reach": {"selection": [t.selection("app/default-deny-all", ["monitoring/prometheus"], [])]},
	})
}

# Cut off by its own policy's port that nothing serves: NP021 reports the
# port, and that explains this.
test_port_slip_left_to_np021 if {
	slip := t.policy("app", "allow-api", {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [{"ports": [{"protocol": "TCP", "port": "api-port"}]}]})
	count(workload_reachable.deny) == 0 with input as t.with_input({
		"workloads": [api],
		"services": [svc],
		"policies": [deny_all, slip],
		"reach": {"selection": [t.selection("app/default-deny-all", ["app/api"], []), t.selection("app/allow-api", ["app/api"], [])]},
	})
	numeric := t.policy("app", "allow-api", {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [{"ports": [{"protocol": "TCP", "port": 8081}]}]})
	count(workload_reachable.deny) == 0 with input as t.with_input({
		"workloads": [api],
		"services": [svc],
		"policies": [deny_all, numeric],
		"reach": {"selection": [t.selection("app/default-deny-all", ["app/api"], []), t.selection("app/allow-api", ["app/api"], [])]},
	})
}
