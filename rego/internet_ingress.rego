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
#   not checked. A workload that no policy isolates for ingress, in a
#   namespace without a default deny, is named by NP001's finding for the
#   namespace instead.
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

# The workloads this rule guards: rendered from the repository, governed
# by NetworkPolicy, and not labelled internet-facing. (Function calls cost
# more than lookups on a big input, hence sets here and below.)
facing := {w.key | some w in input.workloads; w.labels[lib.params.internetFacingLabel] == "true"}

guarded := {k | some k, _ in lib.managed_workloads; not facing[k]}

# exposures[[dst, ingress, source, ports]]: dst is reachable from the
# internet (source, an endpoint name) on ports through the ingress side
# of a grant (a policy rule, or the lack of ingress isolation). One pass
# over the flows from outside the cluster.
exposures := {[dst, g.ingress, source, g.portsText] |
	some f in input.reach.fromExternal
	count(lib.internet_srcs(f)) > 0
	source := source_name(f)
	some dst in f.dsts
	guarded[dst]
	some g in f.allowedBy
}

# An unisolated destination in a namespace without a default-deny ingress
# is NP001's finding, once for the namespace.
exposed := {[dst, ingress] |
	some [dst, ingress, _, _] in exposures
	not left_to_np001(dst, ingress)
}

left_to_np001(dst, ingress) if {
	ingress.notIsolated
	lib.open_namespaces[[lib.managed_workloads[dst].namespace, "ingress"]]
}

# What to blame for each policy rule that lets the internet in, built once
# per rule rather than once per finding.
rule_sides := {ingress: side_with_reason(lib.grant_side("", "", {"ingress": ingress}, "ingress")) |
	some ingress in {ingress | some [_, ingress] in exposed; ingress.policy}
}

side_with_reason(side) := object.union(side, {"reason": lib.side_reason(side, "ingress")})

side_of(dst, ingress) := rule_sides[ingress] if ingress.policy

else := side_with_reason(lib.grant_side("", dst, {"ingress": ingress}, "ingress"))

label := lib.params.internetFacingLabel

deny contains f if {
	some [dst, ingress] in exposed
	sources := {s | some [d, i, s, _] in exposures; d == dst; i == ingress}
	ports := {p | some [d, i, _, p] in exposures; d == dst; i == ingress}
	side := side_of(dst, ingress)
	f := {
		"msg": sprintf("%s is reachable from the internet (%s) on %s: %s; it is not labelled %s=true", [dst, concat(", ", sort(sources)), concat("; ", sort(ports)), side.reason, label]),
		"object": side.object,
		"field": side.field,
	}
}

source_name(fl) := fl.srcName if fl.srcName != ""

else := "unnamed public ranges"
