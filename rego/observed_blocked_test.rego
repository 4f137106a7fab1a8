package reachgate.rules.observed_blocked_test

import data.reachgate.rules.observed_blocked
import data.reachgate.testing as t
import rego.v1

blocked(side, baseAllowed) := {
	"src": "app/frontend", "dst": "app/backend-api",
	"srcLabel": "app/frontend[Deployment]", "dstLabel": "app/backend-api[Deployment]",
	"protocol": "TCP", "port": 8080, "verdict": "FORWARDED", "count": 1245,
	"first": "2026-11-30T10:00:00Z", "last": "2026-11-30T11:00:00Z",
	"baseAllowed": baseAllowed, "side": side, "reason": "no ingress rule of app/backend-api allows it",
}

observed(flows) := t.with_input({
	"workloads": [t.workload("app", "frontend", {"app": "frontend"}), t.workload("app", "backend-api", {"app": "backend-api"})],
	"observed": {"version": "1", "sources": ["flows.json"], "window": {"first": "", "last": ""}, "flows": 1245, "blocked": flows, "unblocked": [], "unknown": []},
})

test_no_observed_flows_pass if {
	count(observed_blocked.deny) == 0 with input as t.with_input({})
}

test_blocked_on_ingress_blames_destination if {
	findings := observed_blocked.deny with input as observed([blocked("ingress", true)])
	count(findings) == 1
	some f in findings
	f.object == {"kind": "Deployment", "namespace": "app", "name": "backend-api"}
	contains(f.msg, "app/frontend[Deployment] -> app/backend-api[Deployment] on 8080/TCP was seen forwarded 1245 time(s), last at 2026-11-30T11:00:00Z")
}

test_blocked_on_egress_blames_source if {
	findings := observed_blocked.deny with input as observed([blocked("egress", true)])
	some f in findings
	f.object.name == "frontend"
}

test_blocked_on_both_sides_blames_both if {
	findings := observed_blocked.deny with input as observed([blocked("egress and ingress", true)])
	count(findings) == 2
}

test_base_denied_too_is_not_this_change if {
	count(observed_blocked.deny) == 0 with input as observed([blocked("ingress", false)])
}
