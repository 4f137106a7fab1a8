# lib.grant_side names the rule that allowed one side of a connection,
# whatever its tier: a NetworkPolicy, an AdminNetworkPolicy or
# BaselineAdminNetworkPolicy (or ClusterNetworkPolicy), or a Cilium
# policy. The rules that blame a side (NP008, NP009, NP016, NP017,
# ORG001) see every grant through it.
package reachgate.lib_test

import data.reachgate.lib
import data.reachgate.testing as t
import rego.v1

pg := t.workload("app", "postgres", {"app": "postgres"})

np := t.policy("app", "allow-postgres", {"podSelector": {"matchLabels": {"app": "postgres"}}, "ingress": [{}]})

anp := {"kind": "AdminNetworkPolicy", "name": "db-guardrail", "tier": "Admin", "priority": 10, "rules": 1, "source": {"file": "overlays/prod/guardrails.yaml", "line": 3}}

cnp := {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "allow-api-out", "key": "app/allow-api-out", "rules": [], "source": {"file": "overlays/prod/cilium.yaml", "line": 1}}

ccnp := {"kind": "CiliumClusterwideNetworkPolicy", "namespace": "", "name": "allow-all-out", "key": "allow-all-out", "rules": [], "source": {"file": "overlays/prod/cilium.yaml", "line": 20}}

doc := t.with_input({"workloads": [pg], "policies": [np], "clusterPolicies": [anp], "ciliumPolicies": [cnp, ccnp], "reach": t.reach([t.flow(["app/worker"], "app/postgres", t.tcp(5432))])})

side(g, dir) := s if {
	s := lib.grant_side("app/worker", "app/postgres", g, dir) with input as doc
}

test_networkpolicy_side if {
	s := side({"ingress": {"policy": "app/allow-postgres", "rule": 0}}, "ingress")
	s.object == {"kind": "NetworkPolicy", "namespace": "app", "name": "allow-postgres"}
	s.field == "spec.ingress[0]"
	lib.side_reason(s, "ingress") == "allowed by app/allow-postgres spec.ingress[0]"
}

test_admin_network_policy_side if {
	g := {"ingress": {"policy": "db-guardrail", "rule": 2, "kind": "AdminNetworkPolicy", "action": "Allow"}}
	s := side(g, "ingress")
	s.object == {"kind": "AdminNetworkPolicy", "name": "db-guardrail"}
	s.field == "spec.ingress[2]"
	not s.notIsolated
	lib.side_reason(s, "ingress") == "allowed by AdminNetworkPolicy db-guardrail spec.ingress[2] (Allow)"
	lib.side_name(s) == "AdminNetworkPolicy db-guardrail"
}

test_baseline_side if {
	g := {"egress": {"policy": "default", "rule": 0, "kind": "BaselineAdminNetworkPolicy", "action": "Allow"}}
	s := side(g, "egress")
	s.object == {"kind": "BaselineAdminNetworkPolicy", "name": "default"}
	s.field == "spec.egress[0]"
}

test_cilium_side if {
	g := {"egress": {"policy": "app/allow-api-out", "rule": 1, "kind": "CiliumNetworkPolicy", "action": "Allow", "section": "specs[1]"}}
	s := side(g, "egress")
	s.object == {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "allow-api-out"}
	s.field == "specs[1].egress[1]"
	lib.side_reason(s, "egress") == "allowed by CiliumNetworkPolicy app/allow-api-out specs[1].egress[1]"
}

test_cilium_clusterwide_side_with_l7 if {
	g := {"egress": {"policy": "allow-all-out", "rule": 0, "kind": "CiliumClusterwideNetworkPolicy", "action": "Allow", "section": "spec", "l7": ["http"]}}
	s := side(g, "egress")
	s.object == {"kind": "CiliumClusterwideNetworkPolicy", "name": "allow-all-out"}
	s.field == "spec.egress[0]"
	lib.side_reason(s, "egress") == "allowed by CiliumClusterwideNetworkPolicy allow-all-out spec.egress[0] (L7-filtered: http; allowed at L4)"
}

# A NetworkPolicy rule an Admin Pass handed the traffic to says so.
test_passed_side if {
	g := {"ingress": {"policy": "app/allow-postgres", "rule": 0, "passedBy": "AdminNetworkPolicy db-guardrail ingress[1] (Pass)"}}
	s := side(g, "ingress")
	s.object.kind == "NetworkPolicy"
	lib.side_reason(s, "ingress") == "allowed by app/allow-postgres spec.ingress[0] after AdminNetworkPolicy db-guardrail ingress[1] (Pass)"
}

test_not_isolated_side if {
	s := side({"ingress": {"notIsolated": true}}, "ingress")
	s.notIsolated
	s.object == {"kind": "Deployment", "namespace": "app", "name": "postgres"}
	lib.side_reason(s, "ingress") == "app/postgres is not isolated for ingress"
}
