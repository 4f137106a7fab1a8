package reachgate.rules.cloud_metadata_test

import data.reachgate.rules.cloud_metadata
import data.reachgate.testing as t
import rego.v1

be := t.workload("app", "backend-api", {"app": "backend-api"})

pol := t.policy("app", "allow-egress", {"podSelector": {"matchLabels": {"app": "backend-api"}}, "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})

to(cidr, name, egress) := t.xflow(["app/backend-api"], "", cidr, t.xpeer(name, cidr), t.tcp(80), egress, t.not_isolated)

test_metadata_reachable_fails if {
	findings := cloud_metadata.deny with input as t.with_input({
		"workloads": [be],
		"policies": [pol],
		"reach": t.reach([to("169.254.169.254/32", "cloud-metadata", {"policy": "app/allow-egress", "rule": 0})]),
	})
	count(findings) == 1
	some f in findings
	f.object.name == "allow-egress"
	f.field == "spec.egress[0]"
	contains(f.msg, "on TCP 80")
}

rule0 := {"policy": "app/allow-egress", "rule": 0}

test_metadata_inside_wider_range_fails if {
	count(cloud_metadata.deny) == 1 with input as t.with_input({
		"workloads": [be],
		"policies": [pol],
		"reach": t.reach([to("169.254.0.0/16", "", rule0)]),
	})
}

# An unisolated workload in a namespace without a default-deny egress is
# NP001's finding for the namespace.
test_not_isolated_left_to_np001 if {
	count(cloud_metadata.deny) == 0 with input as t.with_input({
		"workloads": [be],
		"reach": t.reach([to("169.254.169.254/32", "cloud-metadata", t.not_isolated)]),
	})
}

# Where the namespace has a default deny and the workload still is not
# isolated (its policy was dropped as invalid), the workload is named.
test_not_isolated_names_workload if {
	findings := cloud_metadata.deny with input as t.with_input({
		"workloads": [be],
		"policies": [t.default_deny_all("app")],
		"reach": t.reach([to("169.254.169.254/32", "cloud-metadata", t.not_isolated)]),
	})
	some f in findings
	f.object == {"kind": "Deployment", "namespace": "app", "name": "backend-api"}
	contains(f.msg, "not isolated for egress")
}

# DNS to anywhere is NP004's finding, not one more here; other ports of the
# same rule still are.
test_dns_only_left_to_np004 if {
	dns := object.union(to("169.254.169.254/32", "cloud-metadata", rule0), {"ports": t.udp(53), "allowedBy": [{"ports": t.udp(53), "portsText": "UDP 53", "egress": rule0, "ingress": t.not_isolated}]})
	count(cloud_metadata.deny) == 0 with input as t.with_input({"workloads": [be], "policies": [pol], "reach": t.reach([dns])})
	more := object.union(dns, {"allowedBy": [{"ports": {"UDP": [{"from": 53, "to": 53}], "TCP": [{"from": 443, "to": 443}]}, "portsText": "TCP 443; UDP 53", "egress": rule0, "ingress": t.not_isolated}]})
	count(cloud_metadata.deny) == 1 with input as t.with_input({"workloads": [be], "policies": [pol], "reach": t.reach([more])})
}

test_ports_of_both_address_families_merged if {
	v6 := t.xflow(["app/backend-api"], "", "fd00:ec2::254/128", t.xpeer("cloud-metadata", "fd00:ec2::254/128"), t.tcp(443), rule0, t.not_isolated)
	findings := cloud_metadata.deny with input as t.with_input({
		"workloads": [be],
		"policies": [pol],
		"reach": t.reach([to("169.254.169.254/32", "cloud-metadata", rule0), v6]),
	})
	count(findings) == 1
	some f in findings
	contains(f.msg, "on TCP 443; TCP 80")
}

test_other_external_passes if {
	count(cloud_metadata.deny) == 0 with input as t.with_input({
		"workloads": [be],
		"reach": t.reach([to("8.0.0.0/7", "internet", t.not_isolated)]),
	})
}

test_inventory_workload_ignored if {
	fl := t.xflow(["kube-system/coredns"], "", "169.254.169.254/32", t.xpeer("cloud-metadata", "169.254.169.254/32"), t.tcp(80), t.not_isolated, t.not_isolated)
	count(cloud_metadata.deny) == 0 with input as t.with_input({"workloads": [t.dns], "reach": t.reach([fl])})
}

# A Cilium egress rule (toCIDR, toEntities: world) that reaches the
# metadata service is blamed by its section and rule; it is not left to
# NP001 as an unisolated workload would be.
test_cilium_egress_to_metadata_fails if {
	cnp := {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "api-out", "key": "app/api-out", "rules": [], "source": t.src}
	g := {"policy": "app/api-out", "rule": 0, "kind": "CiliumNetworkPolicy", "action": "Allow", "section": "specs[1]"}
	findings := cloud_metadata.deny with input as t.with_input({
		"workloads": [be],
		"ciliumPolicies": [cnp],
		"reach": t.reach([to("169.254.169.254/32", "cloud-metadata", g)]),
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "CiliumNetworkPolicy", "namespace": "app", "name": "api-out"}
	f.field == "specs[1].egress[0]"
	contains(f.msg, "allowed by CiliumNetworkPolicy app/api-out specs[1].egress[0]")
}

# A BaselineAdminNetworkPolicy Allow of egress is blamed as well.
test_baseline_egress_to_metadata_fails if {
	g := {"policy": "default", "rule": 2, "kind": "BaselineAdminNetworkPolicy", "action": "Allow"}
	findings := cloud_metadata.deny with input as t.with_input({
		"workloads": [be],
		"reach": t.reach([to("169.254.169.254/32", "cloud-metadata", g)]),
	})
	count(findings) == 1
	some f in findings
	f.object == {"kind": "BaselineAdminNetworkPolicy", "name": "default"}
	f.field == "spec.egress[2]"
}
