# METADATA
# title: Observed traffic is not blocked
# description: >-
#   Only with observed flows (reachgate check --flows FILE): a flow that
#   was seen forwarded in the cluster, that the base allows and that the
#   head denies is traffic this change would block. The finding names the
#   workload whose side now denies it, how often the flow was seen and
#   when last. Flows the base denies too are not this change's doing
#   (reachgate observe lists them as unenforced).
# custom:
#   id: NP018
#   severity: error
#   inputVersion: 5
#   remediation: >-
#     If the traffic is legitimate, keep a rule that allows it; if it must
#     stop, waive this finding (rule NP018, object Kind/namespace/name of
#     the workload) with the owner who accepts the outage.
#   controls:
#     - "PCI DSS v4.0 1.2.2"
#     - "PCI DSS v4.0 6.5.1"
package reachgate.rules.observed_blocked

import data.reachgate.lib
import rego.v1

deny contains f if {
	some fl in input.observed.blocked
	fl.baseAllowed
	some w in blamed(fl)
	f := {
		"msg": sprintf("%s -> %s on %s/%s was seen forwarded %d time(s), last at %s, and this change blocks it on %s's %s: %s", [
			fl.srcLabel, fl.dstLabel, format_int(fl.port, 10), fl.protocol, fl.count, fl.last,
			w.key, fl.side, fl.reason,
		]),
		"object": lib.workload_object(w),
	}
}

# blamed(fl) is the workload whose side denies the flow: the destination
# for ingress, the source for egress, both when both deny.
blamed(fl) := {w |
	some key in keys(fl)
	w := lib.workloads_by_key[key]
}

keys(fl) := {fl.dst} if fl.side == "ingress"

else := {fl.src} if fl.side == "egress"

else := {fl.src, fl.dst}
