package reachgate.rules.default_namespace_test

import data.reachgate.rules.default_namespace
import data.reachgate.testing as t
import rego.v1

test_app_namespace_passes if {
	count(default_namespace.deny) == 0 with input as t.with_input({"workloads": [t.workload("app", "web", {})]})
}

test_workload_in_default_fails if {
	findings := default_namespace.deny with input as t.with_input({"workloads": [t.workload("default", "web", {})]})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Deployment", "namespace": "default", "name": "web"}
}

test_other_object_in_default_fails if {
	cm := {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "cfg", "source": t.src, "object": {}}
	count(default_namespace.deny) == 1 with input as t.with_input({"objects": [cm]})
}

test_object_and_workload_reported_once if {
	obj := {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web", "source": t.src, "object": {}}
	count(default_namespace.deny) == 1 with input as t.with_input({"objects": [obj], "workloads": [t.workload("default", "web", {})]})
}

test_policy_without_namespace_fails if {
	count(default_namespace.deny) == 1 with input as t.with_input({"policies": [t.policy("", "allow-x", {"podSelector": {}})]})
}
