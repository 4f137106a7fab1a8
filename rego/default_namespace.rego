# METADATA
# title: Nothing in the default namespace
# description: >-
#   The default namespace has no owner, usually no default-deny policies,
#   and is where `kubectl apply` without `-n` lands. Workloads, Services,
#   NetworkPolicies and any other namespaced object belong in a namespace
#   of their own. Objects without a namespace at all land in default too.
# custom:
#   id: NP014
#   severity: error
#   remediation: >-
#     Set `metadata.namespace`, or `namespace:` in the overlay's
#     kustomization.yaml.
#   controls:
#     - "CIS Kubernetes Benchmark 5.7.4"
#     - "NSA/CISA Kubernetes Hardening Guide: namespaces"
package reachgate.rules.default_namespace

import data.reachgate.lib
import rego.v1

in_default(ns) if ns == "default"

in_default(ns) if ns == ""

deny contains f if {
	some o in input.objects
	o.namespace == "default"
	f := finding({"kind": o.kind, "namespace": o.namespace, "name": o.name})
}

deny contains f if {
	some w in input.workloads
	not w.inventory
	in_default(w.namespace)
	f := finding(lib.workload_object(w))
}

deny contains f if {
	some s in input.services
	in_default(s.namespace)
	f := finding({"kind": "Service", "namespace": s.namespace, "name": s.name})
}

deny contains f if {
	some p in input.policies
	in_default(p.namespace)
	f := finding(lib.policy_object(p))
}

finding(obj) := {
	"msg": sprintf("%s %s is in the default namespace", [obj.kind, obj.name]),
	"object": obj,
	"field": "metadata.namespace",
}
