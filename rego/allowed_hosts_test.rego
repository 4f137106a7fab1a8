package reachgate.rules.allowed_hosts_test

import data.reachgate.rules.allowed_hosts
import data.reachgate.testing as t
import rego.v1

be := t.workload("app", "payments", {"app": "payments"})

host(name) := {"kind": "external", "name": concat("", ["fqdn:", name]), "fqdn": name, "range": "", "cidrs": []}

cnp_rule := {"policy": "app/payments", "rule": 1, "kind": "CiliumNetworkPolicy", "action": "Allow", "section": "spec"}

to_host(name) := t.xflow(["app/payments"], "", concat("", ["fqdn:", name]), host(name), t.tcp(443), cnp_rule, t.not_isolated)

to_internet := t.xflow(["app/payments"], "", "0.0.0.0/0", t.xpeer("internet", "0.0.0.0/0"), t.tcp(443), {"policy": "app/payments-egress", "rule": 0}, t.not_isolated)

prod(flows, hosts) := t.with_input({"environment": "production", "workloads": [be], "reach": t.reach(flows)}) if hosts != null

params(hosts) := {"allowedHosts": hosts, "allowedHostsEnvironments": ["production"]}

test_listed_hosts_pass if {
	count(allowed_hosts.deny) == 0 with input as prod([to_host("api.stripe.com"), to_host("uploads.github.com")], [])
		with data.reachgate.params as params(["api.stripe.com", "*.github.com"])
}

test_unlisted_host_fails if {
	findings := allowed_hosts.deny with input as prod([to_host("api.evil.example")], [])
		with data.reachgate.params as params(["api.stripe.com"])
	count(findings) == 1
	some f in findings
	f.object.name == "payments"
	contains(f.msg, "api.evil.example")
}

# A pattern endpoint is allowed only by the same pattern.
test_pattern_needs_the_same_pattern if {
	count(allowed_hosts.deny) == 1 with input as prod([to_host("*.example.com")], [])
		with data.reachgate.params as params(["api.example.com"])
	count(allowed_hosts.deny) == 0 with input as prod([to_host("*.example.com")], [])
		with data.reachgate.params as params(["*.example.com"])
}

test_internet_range_fails if {
	findings := allowed_hosts.deny with input as prod([to_internet], [])
		with data.reachgate.params as params(["api.stripe.com"])
	count(findings) == 1
	some f in findings
	contains(f.msg, "reaches the internet")
}

test_off_by_default_and_outside_prod if {
	count(allowed_hosts.deny) == 0 with input as prod([to_internet], [])
	count(allowed_hosts.deny) == 0 with input as t.with_input({"environment": "dev", "workloads": [be], "reach": t.reach([to_internet])})
		with data.reachgate.params as params([])
}
