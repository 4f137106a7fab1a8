package reachgate.rules.promotion_subset_test

import data.reachgate.rules.promotion_subset
import data.reachgate.testing as t
import rego.v1

pol := t.policy("app", "allow-db", {"podSelector": {"matchLabels": {"app": "postgres"}}, "ingress": [{}]})

via(s, d, ports) := t.xconn(s, t.wpeer(s), d, t.wpeer(d), ports, t.not_isolated, {"policy": "app/allow-db", "rule": 0})

prod(conns, staging) := t.with_input({
	"overlay": "prod",
	"environment": "prod",
	"policies": [pol],
	"reach": {"connections": conns},
	"promotion": {"from": "staging", "connections": staging},
})

test_same_flows_pass if {
	c := via("app/backend-api", "app/postgres", t.tcp(5432))
	count(promotion_subset.deny) == 0 with input as prod([c], [c])
}

test_fewer_ports_pass if {
	staging := via("app/backend-api", "app/postgres", {"TCP": [{"from": 5432, "to": 5433}]})
	count(promotion_subset.deny) == 0 with input as prod([via("app/backend-api", "app/postgres", t.tcp(5432))], [staging])
}

test_new_flow_fails if {
	findings := promotion_subset.deny with input as prod(
		[via("app/backend-api", "app/postgres", t.tcp(5432)), via("app/worker", "app/postgres", t.tcp(5432))],
		[via("app/backend-api", "app/postgres", t.tcp(5432))],
	)
	count(findings) == 1
	some f in findings
	f.object.name == "allow-db"
	f.field == "spec.ingress[0]"
	contains(f.msg, "app/worker -> app/postgres on TCP 5432 is allowed in prod but not in staging")
}

test_more_ports_fail if {
	findings := promotion_subset.deny with input as prod(
		[via("app/backend-api", "app/postgres", {"TCP": [{"from": 5432, "to": 5432}], "UDP": [{"from": 53, "to": 53}]})],
		[via("app/backend-api", "app/postgres", t.tcp(5432))],
	)
	count(findings) == 1
	some f in findings
	contains(f.msg, "allows TCP 5432; UDP 53 in prod but only TCP 5432 in staging")
}

test_unisolated_destination_blames_egress if {
	c := t.xconn("app/a", t.wpeer("app/a"), "8.0.0.0/7", t.xpeer("internet", "8.0.0.0/7"), t.tcp(443), {"policy": "app/allow-db", "rule": 2}, t.not_isolated)
	findings := promotion_subset.deny with input as prod([c], [])
	some f in findings
	f.field == "spec.egress[2]"
	contains(f.msg, "app/a -> internet(8.0.0.0/7)")
}

test_without_promotion_nothing if {
	count(promotion_subset.deny) == 0 with input as t.with_input({"reach": {"connections": [via("app/worker", "app/postgres", t.tcp(5432))]}})
}
