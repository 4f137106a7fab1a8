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

metadata_conns := [c |
	some c in lib.to_external
	lib.is_metadata(c.dstPeer)
	lib.managed_workloads[c.src]
]

# leaks[[src, side]]: src reaches the metadata service through one grant side.
leaks contains [c.src, side] if {
	some c in metadata_conns
	some g in c.allowedBy
	side := lib.grant_side(c, g, "egress")
}

deny contains f if {
	some [src, side] in leaks
	ports := {lib.ports_string(g.ports) |
		some c in metadata_conns
		c.src == src
		some g in c.allowedBy
		lib.grant_side(c, g, "egress") == side
	}
	f := {
		"msg": sprintf("%s can reach the cloud metadata service on %s: %s", [src, concat("; ", sort(ports)), lib.side_reason(side, "egress")]),
		"object": side.object,
		"field": side.field,
	}
}
