package reachgate.rules.promotion_subset_test

import data.reachgate.lib
import data.reachgate.rules.promotion_subset
import data.reachgate.testing as t
import rego.v1

pol := t.policy("app", "allow-db", {"podSelector": {"matchLabels": {"app": "postgres"}}, "ingress": [{}]})

via(srcs, d, ports) := t.xflow(srcs, "", d, t.wpeer(d), ports, t.not_isolated, {"policy": "app/allow-db", "rule": 0})

# exceeding(flow, promoted) is a promotion flow: the promoted overlay allows
# only promoted for these pairs.
exceeding(fl, promoted) := object.union(fl, {
	"promoted": promoted,
	"promotedText": lib.ports_string(promoted),
	"extra": fl.ports,
	"extraText": fl.portsText,
})

prod(flows, exceedingFlows) := t.with_input({
	"overlay": "prod",
	"environment": "prod",
	"policies": [pol],
	"reach": t.reach(flows),
	"promotion": {"from": "staging", "flows": exceedingFlows},
})

test_nothing_exceeding_passes if {
	fl := via(["app/backend-api"], "app/postgres", t.tcp(5432))
	count(promotion_subset.deny) == 0 with input as prod([fl], [])
}

test_new_flow_fails if {
	fl := via(["app/worker"], "app/postgres", t.tcp(5432))
	findings := promotion_subset.deny with input as prod([fl], [exceeding(fl, {})])
	count(findings) == 1
	some f in findings
	f.object.name == "allow-db"
	f.field == "spec.ingress[0]"
	contains(f.msg, "app/worker -> app/postgres on TCP 5432 is allowed in prod but not in staging")
}

test_more_ports_fail if {
	fl := via(["app/backend-api"], "app/postgres", {"TCP": [{"from": 5432, "to": 5432}], "UDP": [{"from": 53, "to": 53}]})
	findings := promotion_subset.deny with input as prod([fl], [exceeding(fl, t.tcp(5432))])
	count(findings) == 1
	some f in findings
	contains(f.msg, "allows TCP 5432; UDP 53 in prod but only TCP 5432 in staging")
}

test_grant_within_promoted_ports_not_blamed if {
	both := object.union(via(["app/backend-api"], "app/postgres", {"TCP": [{"from": 5432, "to": 5433}]}), {"allowedBy": [
		{"ports": t.tcp(5432), "portsText": "TCP 5432", "egress": t.not_isolated, "ingress": {"policy": "app/allow-db", "rule": 0}},
		{"ports": t.tcp(5433), "portsText": "TCP 5433", "egress": t.not_isolated, "ingress": {"policy": "app/allow-db", "rule": 1}},
	]})
	findings := promotion_subset.deny with input as prod([both], [exceeding(both, t.tcp(5432))])
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[1]"
}

test_unisolated_destination_blames_egress if {
	fl := t.xflow(["app/a", "app/b", "app/c", "app/d"], "", "8.0.0.0/7", t.xpeer("internet", "8.0.0.0/7"), t.tcp(443), {"policy": "app/allow-db", "rule": 2}, t.not_isolated)
	findings := promotion_subset.deny with input as prod([fl], [exceeding(fl, {})])
	some f in findings
	f.field == "spec.egress[2]"
	contains(f.msg, "app/a, app/b, app/c and 1 more -> internet(8.0.0.0/7)")
}

test_without_promotion_nothing if {
	count(promotion_subset.deny) == 0 with input as t.with_input({"reach": t.reach([via(["app/worker"], "app/postgres", t.tcp(5432))])})
}
