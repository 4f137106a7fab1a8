# METADATA
# title: Egress to the internet only through named hosts
# description: >-
#   In the environments of params.allowedHostsEnvironments (production by
#   default), workloads reach the internet only through host names
#   (CiliumNetworkPolicy toFQDNs) that params.allowedHosts lists: the
#   "allowed hosts" of the zero-trust brief. A flow to an internet range
#   (an ipBlock, a toCIDR, the world entity, or no egress isolation) and a
#   flow to a host name the list does not hold are both reported. Host
#   names in the list are names or patterns as toFQDNs writes them
#   (api.stripe.com, *.github.com); a pattern of the list covers the names
#   it matches. Off until params.allowedHosts is set. Inventory and
#   hostNetwork workloads are not checked.
# custom:
#   id: NP019
#   inputVersion: 7
#   severity: error
#   remediation: >-
#     Replace the CIDR or entity egress rule by a toFQDNs rule for the host
#     the workload needs, and add the host to rules.params.allowedHosts in
#     reachgate.yaml (a change the platform team reviews).
#   controls:
#     - "PCI DSS v4.0 1.3.2"
#     - "NIST SP 800-207 (zero trust): restrict egress destinations"
package reachgate.rules.allowed_hosts

import data.reachgate.lib
import rego.v1

applies if {
	lib.params.allowedHosts != null
	input.environment in lib.params.allowedHostsEnvironments
}

allowed(host) if host in lib.params.allowedHosts

allowed(host) if {
	some a in lib.params.allowedHosts
	not contains(host, "*")
	glob.match(a, ["."], host)
}

deny contains f if {
	applies
	some d in lib.internet_keys
	some fl in lib.flows_to(d)
	fl.srcKind == "workload"
	some src in fl.srcs
	w := lib.managed_workloads[src]
	f := {
		"msg": sprintf("%s reaches the internet (%s) on %s without a host name: in %s, egress to the internet goes only through toFQDNs rules for the allowed hosts", [src, lib.peer_label(input.reach.peers[d], d), fl.portsText, input.environment]),
		"object": lib.workload_object(w),
	}
}

deny contains f if {
	applies
	some d, p in input.reach.peers
	lib.is_fqdn(p)
	not allowed(p.fqdn)
	some fl in lib.flows_to(d)
	fl.srcKind == "workload"
	some src in fl.srcs
	w := lib.managed_workloads[src]
	f := {
		"msg": sprintf("%s reaches host %s on %s, which rules.params.allowedHosts does not list (allowed: %s)", [src, p.fqdn, fl.portsText, concat(", ", lib.params.allowedHosts)]),
		"object": lib.workload_object(w),
	}
}
