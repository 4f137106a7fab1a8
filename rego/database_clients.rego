# METADATA
# title: Databases are reachable only from their declared clients
# description: >-
#   params.databases maps each database workload to the workloads allowed
#   to connect to it, e.g. {"app/postgres": ["app/backend-api",
#   "app/backup-agent"]}. Any other peer that can reach the database, on
#   any port, in the reachability matrix is a finding, naming the policy
#   rule that lets it in.
# custom:
#   id: NP016
#   severity: error
#   remediation: >-
#     Narrow the database's ingress rules to the declared clients (or,
#     when a new client is intended, add it to rules.params.databases in
#     reachgate.yaml in a pull request of its own, merged first: the
#     base's reachgate.yaml judges a pull request).
#   controls:
#     - "PCI DSS v4.0 1.3.1"
#     - "PCI DSS v4.0 7.2.1"
#     - "NSA/CISA Kubernetes Hardening Guide: network separation"
package reachgate.rules.database_clients

import data.reachgate.lib
import rego.v1

# intruders[[db, src, side, ports]]
intruders contains [db, src, side, g.portsText] if {
	some db, clients in lib.params.databases
	some f in lib.flows_to(db)
	some src in f.srcs
	not src in clients
	some g in f.allowedBy
	side := lib.grant_side(src, db, g, "ingress")
}

# One finding per database and policy rule (or unisolated database): an
# ipBlock cuts the address space into many ranges, which are one source
# here.
deny contains f if {
	some [db, side] in {[db, side] | some [db, _, side, _] in intruders}
	srcs := sort({label(src) | some [db2, src, side2, _] in intruders; db2 == db; side2 == side})
	ports := {p | some [db2, _, side2, p] in intruders; db2 == db; side2 == side}
	f := {
		"msg": sprintf("database %s is reachable from %s on %s, which %s (%s): %s", [db, lib.summarize(srcs), concat("; ", sort(ports)), verb(srcs), concat(", ", lib.params.databases[db]), lib.side_reason(side, "ingress")]),
		"object": side.object,
		"field": side.field,
	}
}

# A workload by its key; an external range by its endpoint's name.
label(key) := p.name if {
	p := input.reach.peers[key]
	p.kind == "external"
	p.name != ""
} else := key

verb(srcs) := "is not a declared client" if count(srcs) == 1

else := "are not declared clients"
