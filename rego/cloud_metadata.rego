# METADATA
# title: No egress to the cloud metadata service
# description: >-
#   No workload may reach the cloud instance metadata service
#   (params.metadataAddresses, default 169.254.169.254 and fd00:ec2::254):
#   it hands out the node's cloud credentials. Computed on the reachability
#   matrix, so a wide ipBlock without an except, or a workload that is not
#   isolated for egress at all, is caught as well as an explicit rule.
#   Inventory and hostNetwork workloads are not checked.
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
	lib.managed_workloads[src]
	some g in f.allowedBy
	side := lib.grant_side(src, d, g, "egress")
}

deny contains f if {
	some [src, side, _] in leaks
	ports := {p | some [s2, side2, p] in leaks; s2 == src; side2 == side}
	f := {
		"msg": sprintf("%s can reach the cloud metadata service on %s: %s", [src, concat("; ", sort(ports)), lib.side_reason(side, "egress")]),
		"object": side.object,
		"field": side.field,
	}
}
