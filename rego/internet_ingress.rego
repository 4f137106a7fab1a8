# METADATA
# title: Only internet-facing workloads are reachable from the internet
# description: >-
#   No workload may be reachable from the internet (an ipBlock such as
#   0.0.0.0/0 or ::/0, or no ingress isolation at all) unless it is
#   labelled params.internetFacingLabel=true (default
#   reachgate.dev/internet-facing). Computed on the reachability matrix:
#   a flow from an external range named after one of
#   params.internetExternals (default "internet"), or from an unnamed public
#   range, to a workload. Traffic from the internet should arrive through
#   the ingress controller, not straight at application pods. Inventory
#   and hostNetwork workloads are outside the repository's policies and
#   not checked.
# custom:
#   id: NP008
#   severity: error
#   remediation: >-
#     Allow ingress from the ingress controller's namespace and pods
#     instead of an ipBlock, or, if the workload really is an edge service,
#     label its pod template `reachgate.dev/internet-facing: "true"`.
#   controls:
#     - "PCI DSS v4.0 1.3.1"
#     - "PCI DSS v4.0 1.4.1"
#     - "PCI DSS v4.0 1.4.2"
#     - "CIS Kubernetes Benchmark 5.3.2"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.internet_ingress

import data.reachgate.lib
import rego.v1

# exposures[[dst, side, source, ports]]: dst is reachable from the
# internet (source, an endpoint name) on ports through one grant side (a
# policy rule, or the lack of ingress isolation). One pass over the flows
# from outside the cluster.
exposures := {[dst, side, source_name(f), g.portsText] |
	some f in input.reach.fromExternal
	count(lib.internet_srcs(f)) > 0
	some dst in f.dsts
	lib.managed_workloads[dst]
	not lib.is_internet_facing(dst)
	some g in f.allowedBy
	side := lib.grant_side("", dst, g, "ingress")
}

exposed := {[dst, side] | some [dst, side, _, _] in exposures}

deny contains f if {
	some [dst, side] in exposed
	sources := {s | some [d, sd, s, _] in exposures; d == dst; sd == side}
	ports := {p | some [d, sd, _, p] in exposures; d == dst; sd == side}
	f := {
		"msg": sprintf("%s is reachable from the internet (%s) on %s: %s; it is not labelled %s=true", [dst, concat(", ", sort(sources)), concat("; ", sort(ports)), lib.side_reason(side, "ingress"), lib.params.internetFacingLabel]),
		"object": side.object,
		"field": side.field,
	}
}

source_name(fl) := fl.srcName if fl.srcName != ""

else := "unnamed public ranges"
