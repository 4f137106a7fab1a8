# METADATA
# title: No egress to the cloud metadata service
# description: >-
#   No workload may reach the cloud instance metadata service
#   (params.metadataAddresses, default 169.254.169.254 and fd00:ec2::254):
#   it hands out the node's cloud credentials. Computed on the reachability
#   matrix, so a wide ipBlock without an except, or a workload that is not
#   isolated for egress at all, is caught as well as an explicit rule.
#   Inventory and hostNetwork workloads are not checked. Two causes are
#   left to the rule that names them: a workload that no policy isolates
#   for egress in a namespace without a default deny (NP001), and an
#   egress rule for port 53 only that sends DNS to an ipBlock or anywhere
#   (NP004).
# custom:
#   id: NP009
#   severity: error
#   remediation: >-
#     Isolate the workload for egress (default-deny) and add
#     `except: [169.254.169.254/32]` to any ipBlock that contains it.
#   controls:
#     - "PCI DSS v4.0 1.3.2"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
#     - "CIS Kubernetes Benchmark 5.3.2"
package reachgate.rules.cloud_metadata

import data.reachgate.lib
import rego.v1

# leaks[[src, side, ports]]: src reaches the metadata service through one
# grant side on those ports.
leaks contains [src, side, g.portsText] if {
	some d in lib.metadata_keys
	some f in lib.flows_to(d)
	f.srcKind == "workload"
	some src in f.srcs
	w := lib.managed_workloads[src]
	some g in f.allowedBy
	not dns_only(g)
	side := lib.grant_side(src, d, g, "egress")
	not left_to_np001(w, side)
}

left_to_np001(w, side) if {
	side.notIsolated
	lib.open_namespaces[[w.namespace, "egress"]]
}

# A grant of port 53 alone: an egress rule that names port 53 and reaches
# the metadata address sends DNS to an ipBlock or anywhere, which NP004
# reports. (portsText is the grant's ports as reachgate prints them.)
dns_only(g) if g.portsText in {"UDP 53", "TCP 53", "TCP 53; UDP 53"}

deny contains f if {
	some [src, side, _] in leaks
	ports := {p | some [s2, side2, p] in leaks; s2 == src; side2 == side}
	f := {
		"msg": sprintf("%s can reach the cloud metadata service on %s: %s", [src, concat("; ", sort(ports)), lib.side_reason(side, "egress")]),
		"object": side.object,
		"field": side.field,
	}
}
