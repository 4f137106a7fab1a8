package reachgate.rules.protocol_only_port_test

import data.reachgate.rules.protocol_only_port
import data.reachgate.testing as t
import rego.v1

# The identity provider's policy with a list-item slip: `- protocol: TCP`
# and `port: 8443` in two items.
idp(ports) := t.policy("auth", "allow-idp", {"podSelector": {"matchLabels": {"app": "keycloak"}}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "web"}}}], "ports": ports}]})

sel := {"selection": [t.selection("auth/allow-idp", ["auth/keycloak"], [t.peer_sel("ingress", 0, 0, ["web/frontend"])])]}

test_protocol_only_fails if {
	findings := protocol_only_port.deny with input as t.with_input({"policies": [idp([{"protocol": "TCP"}, {"protocol": "TCP", "port": 8443}])], "reach": sel})
	count(findings) == 1
	some f in findings
	f.field == "spec.ingress[0].ports[0]"
	f.object == {"kind": "NetworkPolicy", "namespace": "auth", "name": "allow-idp"}
	f.msg == "auth/allow-idp spec.ingress[0].ports[0] names only the protocol TCP: web/frontend reach auth/keycloak on every TCP port"
}

test_egress_says_who_gains_what if {
	p := t.policy("app", "allow-out", {"podSelector": {"matchLabels": {"app": "be"}}, "egress": [{"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"protocol": "UDP"}]}]})
	findings := protocol_only_port.deny with input as t.with_input({"policies": [p], "reach": {"selection": [t.selection("app/allow-out", ["app/be"], [])]}})
	some f in findings
	f.msg == "app/allow-out spec.egress[0].ports[0] names only the protocol UDP: app/be reach ipBlock 203.0.113.0/24 on every UDP port"
}

test_ports_named_pass if {
	count(protocol_only_port.deny) == 0 with input as t.with_input({"policies": [idp([{"protocol": "TCP", "port": 8443}, {"protocol": "TCP", "port": 8000, "endPort": 8100}, {"protocol": "TCP", "port": "http"}])]})
}

# No ports at all is NP011's, a warning.
test_rule_without_ports_not_here if {
	count(protocol_only_port.deny) == 0 with input as t.with_input({"policies": [idp([])]})
}

test_exempt_by_params if {
	count(protocol_only_port.deny) == 0 with input as t.with_input({"policies": [idp([{"protocol": "TCP"}])]})
		with data.reachgate.params as {"allPortsAllowed": ["auth/allow-*"]}
}
