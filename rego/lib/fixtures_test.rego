# Builders for the input documents the rule tests use. The file ends in
# _test.rego, so rule evaluation never loads it; only the tests do.
package reachgate.testing

import data.reachgate.lib
import rego.v1

src := {"file": "bases/app/manifests.yaml", "line": 1}

workload(ns, name, labels) := {
	"namespace": ns,
	"name": name,
	"kind": "Deployment",
	"key": sprintf("%s/%s", [ns, name]),
	"labels": labels,
	"ports": [],
	"hostNetwork": false,
	"ips": [],
	"source": src,
	"inventory": false,
}

# serving(w, ports) is w with container ports, each [name, port, protocol].
serving(w, ports) := object.union(w, {"ports": [{"name": n, "port": port, "protocol": proto, "hostPort": 0} | some [n, port, proto] in ports]})

# service(ns, name, selects, ports): a ClusterIP Service selecting the
# workload keys selects, each port [port, targetPort, protocol].
service(ns, name, selects, ports) := {
	"namespace": ns,
	"name": name,
	"type": "ClusterIP",
	"selector": {"app": name},
	"ports": [{"name": "", "port": port, "targetPort": tp, "nodePort": 0, "protocol": proto} | some [port, tp, proto] in ports],
	"externalIPs": [],
	"selects": selects,
	"source": src,
}

inventory_workload(ns, name, labels) := object.union(workload(ns, name, labels), {"inventory": true, "source": {"file": "reachgate.yaml", "line": 0}})

dns := inventory_workload("kube-system", "coredns", {"k8s-app": "kube-dns"})

namespace(name) := {"name": name, "labels": {"kubernetes.io/metadata.name": name}, "source": src, "inventory": false}

policy(ns, name, spec) := {
	"namespace": ns,
	"name": name,
	"key": sprintf("%s/%s", [ns, name]),
	"source": src,
	"policyTypes": policy_types(spec),
	"spec": spec,
}

policy_types(spec) := spec.policyTypes if {
	count(object.get(spec, "policyTypes", [])) > 0
} else := ["Ingress", "Egress"] if {
	count(object.get(spec, "egress", [])) > 0
} else := ["Ingress"]

default_deny_all(ns) := policy(ns, "default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})

# selection(policy, selects, peers) is one input.reach.selection entry.
selection(p, selects, peers) := {"policy": p, "source": src, "selects": selects, "peers": peers}

peer_sel(direction, rule, peer, matches) := {"direction": direction, "rule": rule, "peer": peer, "matches": matches, "ipBlock": ""}

wpeer(key) := {"kind": "workload", "namespace": parts[0], "name": parts[1], "workloadKind": "Deployment"} if {
	parts := split(key, "/")
}

xpeer(name, cidr) := {"kind": "external", "name": name, "range": cidr, "cidrs": [cidr]}

not_isolated := {"notIsolated": true}

tcp(n) := {"TCP": [{"from": n, "to": n}]}

udp(n) := {"UDP": [{"from": n, "to": n}]}

all_ports := {
	"TCP": [{"from": 1, "to": 65535}],
	"UDP": [{"from": 1, "to": 65535}],
	"SCTP": [{"from": 1, "to": 65535}],
}

# flow(srcs, dst, ports): workload sources to a workload destination, both
# sides not isolated.
flow(srcs, dst, ports) := xflow(srcs, "", dst, wpeer(dst), ports, not_isolated, not_isolated)

# xflow is a flow to one destination with explicit grant sides. srcName ""
# means workload sources; otherwise the sources are CIDRs of the external
# endpoint srcName ("-" for unnamed ranges). fixturePeers feeds
# input.reach.peers; real flows have no such field.
xflow(srcs, srcName, dst, dstPeer, ports, egress, ingress) := {
	"srcs": srcs,
	"dsts": [dst],
	"srcKind": kind_of(srcName),
	"srcName": trim(srcName, "-"),
	"dstKind": dstPeer.kind,
	"dstName": dst_name(dstPeer),
	"ports": ports,
	"portsText": lib.ports_string(ports),
	"allPorts": ports == all_ports,
	"addressDependent": false,
	"allowedBy": [{"ports": ports, "portsText": lib.ports_string(ports), "egress": egress, "ingress": ingress}],
	"fixturePeers": object.union({s: src_peer(srcName, s) | some s in srcs}, {dst: dstPeer}),
}

dst_name(p) := p.name if p.kind == "external"

else := ""

kind_of("") := "workload"

kind_of(name) := "external" if name != ""

src_peer("", s) := wpeer(s)

src_peer(name, s) := xpeer(trim(name, "-"), s) if name != ""

# reach(flows) is input.reach for those flows, with its indexes.
reach(flows) := {
	"peers": {k: p | some f in flows; some k, p in f.fixturePeers},
	"flows": flows,
	"byDst": {d: [f | some f in flows; d in f.dsts] | some f0 in flows; some d in f0.dsts},
	"fromExternal": [f | some f in flows; f.srcKind == "external"],
	"addressDependent": [f | some f in flows; f.addressDependent],
	"unmanaged": [],
	"selection": [],
}

base_input := {
	"overlay": "dev",
	"environment": "dev",
	"objects": [],
	"namespaces": [namespace("app")],
	"workloads": [dns],
	"services": [],
	"policies": [],
	"externals": [
		{"name": "internet", "cidrs": ["0.0.0.0/0", "::/0"], "description": ""},
		{"name": "cloud-metadata", "cidrs": ["169.254.169.254/32"], "description": ""},
	],
	"podCIDRs": ["10.244.0.0/16"],
	"serviceCIDRs": ["10.96.0.0/12"],
	"reach": reach([]),
}

# with_input(overrides) is base_input with some keys replaced, and the
# indexes reachgate builds (input.reach.isolated, isolatedBy, portsByDst,
# addressSides, unreached, the declared ports of the selection and of the
# Services, input.declared, input.servicesOf) derived from the rest as
# reachgate derives them, unless the overrides give them.
with_input(overrides) := with_indexes(object.union(base_input, overrides))

with_indexes(doc) := object.union(doc, {
	"servicesOf": object.get(doc, "servicesOf", services_of(doc)),
	"services": [with_service_declared(doc, s) | some s in doc.services],
	"declared": object.get(doc, "declared", declared_of(doc, [w.key | some w in doc.workloads]).declared),
	"reach": {
		"isolated": object.get(doc.reach, "isolated", {
			"ingress": isolated_for(doc, "Ingress"),
			"egress": isolated_for(doc, "Egress"),
		}),
		"isolatedBy": object.get(doc.reach, "isolatedBy", {
			"ingress": isolated_by(doc, "Ingress"),
			"egress": isolated_by(doc, "Egress"),
		}),
		"portsByDst": object.get(doc.reach, "portsByDst", ports_by_dst(doc.reach)),
		"addressSides": object.get(doc.reach, "addressSides", address_sides(doc)),
		"unreached": object.get(doc.reach, "unreached", unreached(doc)),
		"selection": [with_declared(doc, s) | some s in object.get(doc.reach, "selection", [])],
	},
})

isolated_for(doc, policy_type) := sort({k |
	some s in object.get(doc.reach, "selection", [])
	some p in doc.policies
	p.key == s.policy
	policy_type in p.policyTypes
	some k in s.selects
})

isolated_by(doc, policy_type) := {k: sort({s.policy |
	some s in object.get(doc.reach, "selection", [])
	k in s.selects
	some p in doc.policies
	p.key == s.policy
	policy_type in p.policyTypes
}) |
	some k in isolated_for(doc, policy_type)
}

# The ports of the flows into each destination (not merged: rules look a
# port up in some range).
ports_by_dst(reach) := {d: {proto: [r | some f in fs; some r in object.get(f.ports, proto, [])] |
	some f in fs
	some proto, _ in f.ports
} |
	some d, fs in reach.byDst
}

# address_sides(doc) is input.reach.addressSides as reachgate builds it
# (TestAddressSidesAsFixtures holds the two alike): for each
# address-dependent flow, judged on its first source and first
# destination, the NetworkPolicy rules of its grants that match the other
# end (the source for ingress, the destination for egress) only through an
# ipBlock.
address_sides(doc) := [{"direction": dir, "policy": key, "rule": rule, "src": src, "dst": dst} |
	some f in doc.reach.addressDependent
	src := f.srcs[0]
	dst := f.dsts[0]
	some g in f.allowedBy
	some [dir, other] in [["ingress", src], ["egress", dst]]
	not g[dir].kind
	key := g[dir].policy
	rule := g[dir].rule
	only_by_address(doc, key, dir, rule, other)
]

only_by_address(doc, key, dir, i, other) if {
	doc.reach.peers[other].kind == "workload"
	some p in doc.policies
	p.key == key
	peers := p.spec[dir][i][{"ingress": "from", "egress": "to"}[dir]]
	some peer in peers
	peer.ipBlock
	not selected_by_peer(doc, key, dir, i, peers, other)
}

selected_by_peer(doc, key, dir, i, peers, other) if {
	some j, _ in peers
	some s in object.get(doc.reach, "selection", [])
	s.policy == key
	some p in s.peers
	p.direction == dir
	p.rule == i
	p.peer == j
	other in p.matches
}

# unreached(doc) is input.reach.unreached as reachgate builds it
# (TestServedIndexesAsFixtures holds the two alike): the workloads isolated for
# ingress that serve ports (their container ports, and the numeric
# targetPorts of the Services selecting them) none of which a flow into
# them allows, with those ports.
unreached(doc) := {w.key: ports |
	iso := object.get(doc.reach, "isolated", {"ingress": isolated_for(doc, "Ingress")}).ingress
	into := object.get(doc.reach, "portsByDst", ports_by_dst(doc.reach))
	of := object.get(doc, "servicesOf", services_of(doc))
	some w in doc.workloads
	w.key in iso
	ports := sort({[p.protocol, p.port] | some p in w.ports} | {[sp.protocol, port] |
		some i in object.get(of, w.key, [])
		some sp in doc.services[i].ports
		port := numeric_target(sp)
	})
	count(ports) > 0
	not reached(object.get(into, w.key, {}), ports)
}

numeric_target(sp) := sp.port if sp.targetPort == ""

else := to_number(sp.targetPort) if regex.match(`^[0-9]+$`, sp.targetPort)

reached(into, ports) if {
	some [proto, port] in ports
	lib.port_in(into, proto, port)
}

# A Service with the ports its selected workloads declare.
with_service_declared(doc, s) := s if {
	s.declared
} else := object.union(s, declared_of(doc, object.get(s, "selects", [])))

services_of(doc) := {k: [i | some i, s in doc.services; k in s.selects] |
	some s in doc.services
	some k in s.selects
}

# A selection entry, and its peers, with the ports their workloads declare.
with_declared(doc, s) := s if {
	s.declared
} else := object.union(object.union(s, declared_of(doc, s.selects)), {"peers": [object.union(p, declared_of(doc, p.matches)) | some p in s.peers]})

declared_of(doc, keys) := {
	"declared": {
		"names": {proto: sort({cp.name | some cp in ports; cp.protocol == proto; cp.name != ""}) |
			some cp0 in ports
			cp0.name != ""
			proto := cp0.protocol
		},
		"numbers": {proto: sort({cp.port | some cp in ports; cp.protocol == proto}) |
			some cp0 in ports
			proto := cp0.protocol
		},
	},
	"undeclared": [k | some k in keys; count(ports_of(doc, k)) == 0],
} if {
	ports := [cp | some k in keys; some cp in ports_of(doc, k)]
}

ports_of(doc, k) := [cp | some w in doc.workloads; w.key == k; some cp in w.ports]
