package reachgate.rules.database_clients_test

import data.reachgate.rules.database_clients
import data.reachgate.testing as t
import rego.v1

pg := t.workload("app", "postgres", {"app": "postgres"})

pol := t.policy("app", "allow-backend-to-database", {"podSelector": {"matchLabels": {"app": "postgres"}}, "ingress": [{}, {}]})

params := {"databases": {"app/postgres": ["app/backend-api", "app/backup-agent"]}}

via(srcs, rule) := t.xflow(srcs, "", "app/postgres", t.wpeer("app/postgres"), t.tcp(5432), t.not_isolated, {"policy": "app/allow-backend-to-database", "rule": rule})

test_declared_clients_pass if {
	count(database_clients.deny) == 0 with input as t.with_input({
		"workloads": [pg],
		"policies": [pol],
		"reach": t.reach([via(["app/backend-api"], 0), via(["app/backup-agent"], 1)]),
	})
		with data.reachgate.params as params
}

test_other_client_fails if {
	findings := database_clients.deny with input as t.with_input({
		"workloads": [pg],
		"policies": [pol],
		"reach": t.reach([via(["app/backend-api"], 0), via(["app/worker"], 1)]),
	})
		with data.reachgate.params as params
	count(findings) == 1
	some f in findings
	f.object.name == "allow-backend-to-database"
	f.field == "spec.ingress[1]"
	contains(f.msg, "reachable from app/worker on TCP 5432")
}

test_unisolated_database_names_workload if {
	findings := database_clients.deny with input as t.with_input({
		"workloads": [pg],
		"reach": t.reach([t.flow(["monitoring/prometheus"], "app/postgres", t.tcp(9090))]),
	})
		with data.reachgate.params as params
	some f in findings
	f.object == {"kind": "Deployment", "namespace": "app", "name": "postgres"}
}

test_no_databases_configured_passes if {
	count(database_clients.deny) == 0 with input as t.with_input({
		"workloads": [pg],
		"reach": t.reach([t.flow(["app/worker"], "app/postgres", t.tcp(5432))]),
	})
}

test_grouped_sources_checked_one_by_one if {
	findings := database_clients.deny with input as t.with_input({
		"workloads": [pg],
		"policies": [pol],
		"reach": t.reach([via(["app/backend-api", "app/worker", "app/debug"], 0)]),
	})
		with data.reachgate.params as params
	count(findings) == 1
	some f in findings
	contains(f.msg, "reachable from app/debug, app/worker on TCP 5432, which are not declared clients")
}

# The ranges an ipBlock cuts the address space into are one source: one
# finding per policy rule.
test_one_finding_per_rule if {
	fl := t.xflow(["0.0.0.0/5", "8.0.0.0/7", "10.0.0.0/8"], "internet", "app/postgres", t.wpeer("app/postgres"), t.tcp(5432), t.not_isolated, {"policy": "app/allow-backend-to-database", "rule": 1})
	findings := database_clients.deny with input as t.with_input({"workloads": [pg], "policies": [pol], "reach": t.reach([fl])})
		with data.reachgate.params as params
	count(findings) == 1
	some f in findings
	contains(f.msg, "reachable from internet on TCP 5432, which is not a declared client")
}

# An AdminNetworkPolicy Allow lets a workload into the database whatever
# the NetworkPolicies say: the finding names the AdminNetworkPolicy rule,
# not the database as "not isolated".
test_admin_allow_names_the_admin_policy if {
	anp := {"kind": "AdminNetworkPolicy", "name": "monitoring-to-db", "tier": "Admin", "priority": 5, "rules": 1, "source": t.src}
	g := {"policy": "monitoring-to-db", "rule": 0, "kind": "AdminNetworkPolicy", "action": "Allow"}
	fl := t.xflow(["monitoring/grafana"], "", "app/postgres", t.wpeer("app/postgres"), t.tcp(5432), t.not_isolated, g)
	findings := database_clients.deny with input as t.with_input({"workloads": [pg], "policies": [pol], "clusterPolicies": [anp], "reach": t.reach([fl])})
		with data.reachgate.params as params
	count(findings) == 1
	some f in findings
	f.object == {"kind": "AdminNetworkPolicy", "name": "monitoring-to-db"}
	f.field == "spec.ingress[0]"
	contains(f.msg, "reachable from monitoring/grafana on TCP 5432, which is not a declared client")
	endswith(f.msg, "allowed by AdminNetworkPolicy monitoring-to-db spec.ingress[0] (Allow)")
}

# A CiliumNetworkPolicy ingress rule is blamed with its section.
test_cilium_allow_names_the_cilium_rule if {
	cnp := {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "db-in", "key": "app/db-in", "rules": [], "source": t.src}
	g := {"policy": "app/db-in", "rule": 1, "kind": "CiliumNetworkPolicy", "action": "Allow", "section": "spec"}
	fl := t.xflow(["app/worker"], "", "app/postgres", t.wpeer("app/postgres"), t.tcp(5432), t.not_isolated, g)
	findings := database_clients.deny with input as t.with_input({"workloads": [pg], "ciliumPolicies": [cnp], "reach": t.reach([fl])})
		with data.reachgate.params as params
	some f in findings
	f.object == {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "db-in"}
	f.field == "spec.ingress[1]"
}
