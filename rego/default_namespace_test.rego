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

obj(kind, ns, name) := {"apiVersion": "v1", "kind": kind, "namespace": ns, "name": name, "source": t.src, "object": {}}

# Rendering places objects without a namespace in default.
unset_input := t.with_input({
	"objects": [obj("Deployment", "", "argocd-server"), obj("Service", "", "argocd-server"), obj("NetworkPolicy", "", "argocd-server-network-policy")],
	"workloads": [t.workload("default", "argocd-server", {})],
	"services": [{"namespace": "default", "name": "argocd-server", "type": "ClusterIP", "selector": {}, "ports": [], "externalIPs": [], "selects": [], "source": t.src}],
	"policies": [t.policy("default", "argocd-server-network-policy", {"podSelector": {}})],
})

test_unset_namespace_fails_by_default if {
	count(default_namespace.deny) == 3 with input as unset_input
}

# Argo CD's install manifests leave the namespace to `kubectl apply -n`.
test_namespace_set_at_apply if {
	count(default_namespace.deny) == 0 with input as unset_input
		with data.reachgate.params as {"namespaceSetAtApply": true}
}

test_explicit_default_still_fails_when_set_at_apply if {
	findings := default_namespace.deny with input as t.with_input({
		"objects": [obj("Deployment", "default", "web")],
		"workloads": [t.workload("default", "web", {})],
	})
		with data.reachgate.params as {"namespaceSetAtApply": true}
	count(findings) == 1
	some f in findings
	contains(f.msg, "Deployment web is in the default namespace")
}
