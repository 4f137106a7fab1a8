package reachgate.rules.dangling_peer_test

import data.reachgate.rules.dangling_peer
import data.reachgate.testing as t
import rego.v1

p := t.policy("app", "allow-frontend-ingress", {
	"podSelector": {"matchLabels": {"app": "frontend"}},
	"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}]}],
})

test_matching_peer_passes if {
	count(dangling_peer.deny) == 0 with input as t.with_input({
		"policies": [p],
		"reach": {"selection": [t.selection("app/allow-frontend-ingress", ["app/frontend"], [t.peer_sel("ingress", 0, 0, ["ingress-nginx/controller"])])]},
	})
}

test_peer_matching_nothing_fails if {
	findings := dangling_peer.deny with input as t.with_input({
		"policies": [p],
		"reach": {"selection": [t.selection("app/allow-frontend-ingress", ["app/frontend"], [t.peer_sel("ingress", 0, 0, [])])]},
	})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[0].from[0]"
}

test_ipblock_peer_ignored if {
	ipb := object.union(t.peer_sel("egress", 0, 0, []), {"ipBlock": "203.0.113.0/24"})
	count(dangling_peer.deny) == 0 with input as t.with_input({
		"policies": [p],
		"reach": {"selection": [t.selection("app/allow-frontend-ingress", ["app/frontend"], [ipb])]},
	})
}
