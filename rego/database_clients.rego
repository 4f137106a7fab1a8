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
#     reachgate.yaml in the same pull request).
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

deny contains f if {
	some [db, src, side, _] in intruders
	ports := {p | some [db2, src2, side2, p] in intruders; db2 == db; src2 == src; side2 == side}
	f := {
		"msg": sprintf("database %s is reachable from %s on %s, which is not a declared client (%s): %s", [db, src, concat("; ", sort(ports)), concat(", ", lib.params.databases[db]), lib.side_reason(side, "ingress")]),
		"object": side.object,
		"field": side.field,
	}
}
