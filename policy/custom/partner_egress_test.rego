# Tests of the example rule, run by `reachgate test` and by go test
# (pipeline/run's TestCustomRulesExample). data.reachgate.testing is the
# built-in pack's fixture library.
package reachgate.rules.custom.partner_egress_test

import data.reachgate.rules.custom.partner_egress
import data.reachgate.testing as t
import rego.v1

params := {"partnerClients": {"partner-payments": ["app/backend-api"]}}

be := t.workload("app", "backend-api", {"app": "backend-api"})

worker := t.workload("app", "worker", {"app": "worker"})

wide := t.policy("app", "allow-egress-https", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]})

to_payments(srcs, egress) := t.xflow(srcs, "", "203.0.113.0/24", t.xpeer("partner-payments", "203.0.113.0/24"), t.tcp(443), egress, t.not_isolated)

test_other_workload_fails if {
	findings := partner_egress.deny with input as t.with_input({
		"workloads": [be, worker],
		"policies": [wide],
		"reach": t.reach([to_payments(["app/backend-api", "app/worker"], {"policy": "app/allow-egress-https", "rule": 0})]),
	})
		with data.reachgate.params as params
	count(findings) == 1
	some f in findings
	f.object.name == "allow-egress-https"
	f.field == "spec.egress[0]"
	startswith(f.msg, "app/worker can reach partner partner-payments")
}

test_integrating_workload_passes if {
	count(partner_egress.deny) == 0 with input as t.with_input({
		"workloads": [be],
		"policies": [wide],
		"reach": t.reach([to_payments(["app/backend-api"], {"policy": "app/allow-egress-https", "rule": 0})]),
	})
		with data.reachgate.params as params
}

test_partner_not_listed_is_not_judged if {
	count(partner_egress.deny) == 0 with input as t.with_input({
		"workloads": [worker],
		"reach": t.reach([to_payments(["app/worker"], t.not_isolated)]),
	})
		with data.reachgate.params as {}
}
