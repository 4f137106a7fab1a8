# METADATA
# title: Nothing in the default namespace
# description: >-
#   The default namespace has no owner, usually no default-deny policies,
#   and is where `kubectl apply` without `-n` lands. Workloads, Services,
#   NetworkPolicies and any other namespaced object belong in a namespace
#   of their own. Objects without a namespace at all land in default too,
#   unless the repository sets the namespace at apply time (`kubectl apply
#   -n`, Argo CD's destination namespace, as Argo CD's own install
#   manifests expect): then set params.namespaceSetAtApply to true, and
#   only an explicit `namespace: default` is reported.
# custom:
#   id: NP014
#   severity: error
#   remediation: >-
#     Set `metadata.namespace`, or `namespace:` in the overlay's
#     kustomization.yaml; if the namespace is chosen when the manifests are
#     applied, set rules.params.namespaceSetAtApply to true.
#   controls:
#     - "CIS Kubernetes Benchmark 5.7.4"
#     - "NSA/CISA Kubernetes Hardening Guide: namespaces"
package reachgate.rules.default_namespace

import data.reachgate.lib
import rego.v1

# Objects written without metadata.namespace, as [kind, name]; rendering
# places the namespaced ones in default.
unset := {[o.kind, o.name] | some o in input.objects; o.namespace == ""}

# An object in default: written there, or written without a namespace that
# nothing sets later.
in_default(kind, name, ns) if {
	ns in {"default", ""}
	not placed_at_apply(kind, name)
}

placed_at_apply(kind, name) if {
	lib.params.namespaceSetAtApply == true
	unset[[kind, name]]
}

deny contains f if {
	some o in input.objects
	o.namespace == "default"
	f := finding({"kind": o.kind, "namespace": o.namespace, "name": o.name})
}

deny contains f if {
	some w in input.workloads
	not w.inventory
	in_default(w.kind, w.name, w.namespace)
	f := finding(lib.workload_object(w))
}

deny contains f if {
	some s in input.services
	in_default("Service", s.name, s.namespace)
	f := finding({"kind": "Service", "namespace": s.namespace, "name": s.name})
}

deny contains f if {
	some p in input.policies
	in_default("NetworkPolicy", p.name, p.namespace)
	f := finding(lib.policy_object(p))
}

finding(obj) := {
	"msg": sprintf("%s %s is in the default namespace: it shares it with whatever else lands there without a namespace, usually without a default deny", [obj.kind, obj.name]),
	"object": obj,
	"field": "metadata.namespace",
}
