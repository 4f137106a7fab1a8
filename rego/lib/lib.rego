# Shared helpers for the reachgate rules: parameters with their defaults,
# indexes over the input document, and port, CIDR and naming helpers.
# docs/rules.md describes the input document.
package reachgate.lib

import rego.v1

# Defaults for data.reachgate.params (rules.params in reachgate.yaml). A key
# set in reachgate.yaml replaces the default as a whole.
default_params := {
	# The cluster DNS pods (kube-dns / CoreDNS): their namespace ("" for
	# any) and labels.
	"dnsSelector": {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
	# Workloads labelled <internetFacingLabel>: "true" may be reached from
	# the internet.
	"internetFacingLabel": "reachgate.dev/internet-facing",
	# Names of the external endpoints (reachgate.yaml externals) that stand
	# for the internet. Unnamed public ranges count as internet too.
	"internetExternals": ["internet"],
	# Ranges that are never "the internet".
	"privateCIDRs": [
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128",
	],
	# Cloud instance metadata addresses.
	"metadataAddresses": ["169.254.169.254", "fd00:ec2::254"],
	# NetworkPolicy names must match this regular expression. "" (the
	# default) turns NP015 off: a naming convention is the repository's
	# choice. docs/naming-convention.md has the one this repository uses.
	"namingPattern": "",
	# Databases and their declared clients: {"app/postgres": ["app/backend-api"]}.
	"databases": {},
	# Policies ("namespace/name" globs) whose rules may allow all ports.
	"allPortsAllowed": [],
	# true when the namespace is set at apply time (`kubectl apply -n`,
	# Argo CD's destination namespace): objects that name no namespace are
	# not in default (NP014). An explicit `namespace: default` still is.
	"namespaceSetAtApply": false,
	# Workloads that serve ports on purpose to nobody (NP022): those whose
	# pod template carries this label with value "true", and those matching
	# a "namespace/name" glob of isolatedWorkloads.
	"isolatedLabel": "reachgate.dev/isolated",
	"isolatedWorkloads": [],
	# NP019: the host names (toFQDNs names or patterns) workloads may reach
	# on the internet. null (the default) turns NP019 off.
	"allowedHosts": null,
	# NP019 applies in overlays of these environments.
	"allowedHostsEnvironments": ["production"],
}

default user_params := {}

user_params := data.reachgate.params

# Complete rules are evaluated once per evaluation and cached; looking a
# key up in a partial rule evaluates its body again, which on a big input
# is the difference between milliseconds and minutes. Hence the
# comprehensions throughout this file.
params := {k: object.get(user_params, k, object.get(default_params, k, null)) |
	some k in object.keys(default_params) | object.keys(user_params)
}

# ---- indexes ---------------------------------------------------------------

workloads_by_key := {w.key: w | some w in input.workloads}

policies_by_key := {p.key: p | some p in input.policies}

# Workloads rendered from the repository that NetworkPolicy governs.
managed_workloads := {w.key: w |
	some w in input.workloads
	not w.inventory
	not w.hostNetwork
}

# Pods selected by some policy for ingress / egress (reachgate lists them
# in input.reach.isolated; a comprehension over input.reach.selection
# would cost tens of milliseconds per rule on a big cluster).
ingress_isolated := {k | some k in input.reach.isolated.ingress}

egress_isolated := {k | some k in input.reach.isolated.egress}

# peer_selection[[policy, direction, rule, peer]] is what one rule peer matches.
peer_selection := {[s.policy, p.direction, p.rule, p.peer]: p |
	some s in input.reach.selection
	some p in s.peers
}

dns_keys := {w.key | some w in input.workloads; is_dns(w)}

is_dns(w) if {
	sel := params.dnsSelector
	object.get(sel, "namespace", "") in {"", w.namespace}
	every k, v in object.get(sel, "labels", {}) {
		w.labels[k] == v
	}
}

# The DNS selector as people read it: kube-system/k8s-app=kube-dns.
dns_selector_string := concat("", [dns_namespace_prefix, labels]) if {
	labels := concat(",", [sprintf("%s=%s", [k, v]) | some k, v in object.get(params.dnsSelector, "labels", {})])
}

dns_namespace_prefix := "" if {
	object.get(params.dnsSelector, "namespace", "") == ""
} else := sprintf("%s/", [params.dnsSelector.namespace])

# ---- objects and fields ----------------------------------------------------

workload_object(w) := {"kind": w.kind, "namespace": w.namespace, "name": w.name}

policy_object(p) := {"kind": "NetworkPolicy", "namespace": p.namespace, "name": p.name}

# The object a workload peer of a connection stands for.
peer_object(peer) := {"kind": peer.workloadKind, "namespace": peer.namespace, "name": peer.name}

# Which side of a grant g to blame for the connection src -> dst:
# the policy rule that allowed it on the destination's ingress (dir
# "ingress") or on the source's egress (dir "egress"), or the workload
# itself when that side is not isolated. The rule may be of any tier: a
# NetworkPolicy, an Admin or Baseline rule (AdminNetworkPolicy,
# BaselineAdminNetworkPolicy, ClusterNetworkPolicy: its Allow decided),
# or a Cilium policy (input version 7); the side names its object and
# field either way.
grant_side(_, dst, g, "ingress") := rule_side(g.ingress, "ingress") if {
	g.ingress.policy
} else := {"object": peer_object(input.reach.peers[dst]), "field": "", "notIsolated": true, "key": dst} if {
	input.reach.peers[dst].kind == "workload"
}

grant_side(src, _, g, "egress") := rule_side(g.egress, "egress") if {
	g.egress.policy
} else := {"object": peer_object(input.reach.peers[src]), "field": "", "notIsolated": true, "key": src} if {
	input.reach.peers[src].kind == "workload"
}

# rule_side is the side of a grant that names a policy rule r (a grant's
# egress or ingress), in direction dir: its object and field, the
# direction, text (the rule as people read it) and passedBy (the Pass
# rule that handed the traffic on, "" when none).
rule_side(r, dir) := object.union(side, {"direction": dir, "text": rule_text(r, side), "passedBy": object.get(r, "passedBy", "")}) if {
	side := rule_object_field(r, dir)
}

rule_object_field(r, dir) := {"object": policy_object(policies_by_key[r.policy]), "field": sprintf("spec.%s[%d]", [dir, r.rule])} if {
	object.get(r, "kind", "NetworkPolicy") == "NetworkPolicy"
} else := {"object": cilium_object(cilium_policies[[r.kind, r.policy]]), "field": sprintf("%s.%s[%d]", [r.section, dir, r.rule])} if {
	is_cilium_kind(r.kind)
} else := {"object": {"kind": r.kind, "name": r.policy}, "field": sprintf("spec.%s[%d]", [dir, r.rule])}

is_cilium_kind(kind) if kind in {"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"}

# The rule of a side as people read it: "app/allow-db spec.ingress[0]",
# "AdminNetworkPolicy guardrail spec.ingress[1] (Allow)",
# "CiliumNetworkPolicy app/out spec.egress[0] (L7-filtered: http; allowed at L4)".
rule_text(r, side) := concat("", [object_name(side.object), " ", side.field, rule_suffix(r)])

rule_suffix(r) := sprintf(" (L7-filtered: %s; allowed at L4)", [concat(",", r.l7)]) if {
	count(object.get(r, "l7", [])) > 0
} else := sprintf(" (%s)", [r.action]) if {
	not object.get(r, "kind", "NetworkPolicy") in {"NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"}
	r.action
} else := ""

# An object as people read it: "ns/name" for a NetworkPolicy, "Kind
# ns/name" or "Kind name" for the other kinds of policy.
object_name(o) := sprintf("%s/%s", [o.namespace, o.name]) if {
	o.kind == "NetworkPolicy"
} else := sprintf("%s %s/%s", [o.kind, o.namespace, o.name]) if {
	object.get(o, "namespace", "") != ""
} else := sprintf("%s %s", [o.kind, o.name])

# How a grant side reads in a message.
side_reason(side, dir) := sprintf("%s is not isolated for %s", [side_name(side), dir]) if {
	side.notIsolated
} else := sprintf("allowed by %s after %s", [side.text, side.passedBy]) if {
	side.passedBy != ""
} else := sprintf("allowed by %s", [side.text])

# A workload side reads as its key: "ns/name", or "ns/name[Kind]" where
# workloads of several kinds share the name; a policy side as its object.
side_name(side) := side.key if {
	side.notIsolated
} else := object_name(side.object)

# Field path of a rule peer: spec.ingress[0].from[1].
peer_field("ingress", rule, peer) := sprintf("spec.ingress[%d].from[%d]", [rule, peer])

peer_field("egress", rule, peer) := sprintf("spec.egress[%d].to[%d]", [rule, peer])

# A peer as people read it: "ns/name", "internet(203.0.113.0/24)" or a range.
peer_label(peer, key) := sprintf("%s(%s)", [peer.name, peer.range]) if {
	peer.kind == "external"
	peer.name != ""
} else := key

# ---- selectors ---------------------------------------------------------------

is_empty_selector(s) if {
	count(object.get(s, "matchLabels", {})) == 0
	count(object.get(s, "matchExpressions", [])) == 0
}

# A default-deny policy for a direction: empty podSelector, the policy
# type, and no rules for that direction.
default_deny(p, "Ingress") if {
	is_empty_selector(p.spec.podSelector)
	"Ingress" in p.policyTypes
	count(object.get(p.spec, "ingress", [])) == 0
}

default_deny(p, "Egress") if {
	is_empty_selector(p.spec.podSelector)
	"Egress" in p.policyTypes
	count(object.get(p.spec, "egress", [])) == 0
}

is_default_deny(p) if default_deny(p, "Ingress")

# [namespace, "Ingress" | "Egress"] for each direction a namespace has a
# default-deny policy for.
default_denies := {[p.namespace, dir] |
	some p in input.policies
	some dir in ["Ingress", "Egress"]
	default_deny(p, dir)
}

# [namespace, "ingress" | "egress"] for each direction a namespace with
# workloads of this repository has no default-deny policy for. NP001
# reports each such namespace once, naming its workloads; the rules about
# single workloads (NP002, NP008, NP009) leave to it what follows from it.
open_namespaces := {[ns, lower(dir)] |
	some ns in managed_namespaces
	some dir in ["Ingress", "Egress"]
	not default_denies[[ns, dir]]
}

managed_namespaces := {w.namespace | some w in managed_workloads}

# The keys of the managed workloads of each namespace (a comprehension
# OPA indexes on the namespace).
managed_by_namespace := {ns: keys |
	some ns in managed_namespaces
	keys := sort([k | some k, w in managed_workloads; w.namespace == ns])
}

is_default_deny(p) if default_deny(p, "Egress")

# ---- ports -------------------------------------------------------------------

port_in(ports, proto, n) if {
	some r in ports[proto]
	r.from <= n
	n <= r.to
}

protocols := ["TCP", "UDP", "SCTP"]

range_string(r) := sprintf("%d", [r.from]) if r.from == r.to

else := sprintf("%d-%d", [r.from, r.to])

ports_string(ports) := "all ports" if {
	every p in protocols {
		all_of(ports, p)
	}
} else := s if {
	parts := [part |
		some p in protocols
		ports[p]
		part := proto_string(ports, p)
	]
	count(parts) > 0
	s := concat("; ", parts)
} else := "no ports"

proto_string(ports, p) := sprintf("all %s", [p]) if all_of(ports, p)

else := sprintf("%s %s", [p, concat(",", [range_string(r) | some r in ports[p]])])

all_of(ports, p) if {
	count(ports[p]) == 1
	ports[p][0].from == 1
	ports[p][0].to == 65535
}

# Every port in a is also in b (both are port maps of merged ranges).
ports_subset(a, b) if {
	every p, ranges in a {
		every r in ranges {
			some s in object.get(b, p, [])
			s.from <= r.from
			r.to <= s.to
		}
	}
}

# ---- addresses ---------------------------------------------------------------

private_cidrs := array.concat(array.concat(params.privateCIDRs, input.podCIDRs), input.serviceCIDRs)

is_private_cidr(cidr) if {
	some p in private_cidrs
	net.cidr_contains(p, cidr)
}

# An external peer that stands for the internet: named after one of
# params.internetExternals, or unnamed and holding public addresses.
is_internet(peer) if {
	peer.kind == "external"
	peer.name in params.internetExternals
}

is_internet(peer) if {
	peer.kind == "external"
	peer.name == ""
	some cidr in peer.cidrs
	not is_private_cidr(cidr)
}

# A host-name endpoint of a toFQDNs rule (input version 6).
is_fqdn(peer) if {
	peer.kind == "external"
	object.get(peer, "fqdn", "") != ""
}

# The Cilium policies by kind and key (input version 6).
cilium_policies := {[p.kind, p.key]: p | some p in input.ciliumPolicies}

cilium_object(p) := {"kind": p.kind, "namespace": p.namespace, "name": p.name} if p.namespace != ""

else := {"kind": p.kind, "name": p.name}

is_metadata(peer) if {
	peer.kind == "external"
	some cidr in peer.cidrs
	some a in params.metadataAddresses
	net.cidr_contains(cidr, a)
}

is_internet_facing(key) if {
	workloads_by_key[key].labels[params.internetFacingLabel] == "true"
}

# ---- flows ---------------------------------------------------------------------

# The flows into one peer key (input.reach.byDst, [] when none).
flows_to(key) := fs if {
	fs := input.reach.byDst[key]
} else := []

# Keys of the external peers that stand for the internet, and of those
# holding a cloud metadata address.
internet_keys := {k | some k, p in input.reach.peers; is_internet(p)}

metadata_keys := {k | some k, p in input.reach.peers; is_metadata(p)}

# The sources of a flow from outside the cluster that are the internet.
# Flows group external sources by endpoint name, so only unnamed ranges
# are looked at one by one.
internet_srcs(f) := f.srcs if {
	f.srcName in params.internetExternals
} else := [s | some s in f.srcs; internet_keys[s]] if {
	f.srcName == ""
} else := []

# The directions a policy named default-deny* promises to deny: -ingress,
# -egress, otherwise both (NP025).
default_deny_promise(name) := {"Ingress"} if {
	contains(name, "ingress")
	not contains(name, "egress")
} else := {"Egress"} if {
	contains(name, "egress")
	not contains(name, "ingress")
} else := {"Ingress", "Egress"}

# [namespace, "ingress" | "egress"] where a policy named default-deny*
# promises that direction and does not deny it: NP025 reports the policy,
# NP001 leaves the namespace to it.
broken_default_denies := {[p.namespace, lower(dir)] |
	some p in input.policies
	startswith(lower(p.name), "default-deny")
	some dir in default_deny_promise(lower(p.name))
	not default_deny(p, dir)
}

# Policy names that speak of their own namespace (NP024).
own_namespace_name := `(^|[-_.])((same|intra|own|this|local|in)[-_]?(ns|namespace)|(ns|namespace)[-_]?(only|local|internal|isolation)|other[-_]?(ns|namespaces)|cross[-_]?(ns|namespace))`

# Why peer j of rule i of p, `namespaceSelector: {}` alone, is probably a
# slip for `podSelector: {}` (NP024); undefined when it is not one.
everything_slip(p, rule, peer) := sprintf("the policy's name says it is about its own namespace %s", [p.namespace]) if {
	is_empty_selector(peer.namespaceSelector)
	not peer.podSelector
	regex.match(own_namespace_name, lower(p.name))
} else := sprintf("the policy selects every pod of %s and the rule names no ports", [p.namespace]) if {
	is_empty_selector(peer.namespaceSelector)
	not peer.podSelector
	is_empty_selector(p.spec.podSelector)
	count(object.get(rule, "ports", [])) == 0
}

# [policy key, direction, rule] of the rules NP024 reports: NP005 and NP011
# leave them to it.
everything_slips := {[p.key, dir, i] |
	some p in input.policies
	some dir, key in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(p.spec, dir, [])
	some peer in object.get(rule, key, [])
	peer.namespaceSelector == {}
	everything_slip(p, rule, peer)
}

# ---- who a rule concerns --------------------------------------------------------

selection_by_policy := {s.policy: s | some s in input.reach.selection}

# The pods a policy selects, as people read them.
selected_text(key) := summarize(selection_by_policy[key].selects) if {
	count(selection_by_policy[key].selects) > 0
} else := "no pod"

# The peers of rule i of a policy in direction dir ("ingress" | "egress"),
# as people read them: the workloads its selectors match and its ipBlocks.
rule_peers_text(p, dir, i) := "every source, in the cluster or not" if {
	dir == "ingress"
	count(object.get(p.spec.ingress[i], "from", [])) == 0
} else := "every destination, in the cluster or not" if {
	dir == "egress"
	count(object.get(p.spec.egress[i], "to", [])) == 0
} else := peers_text(p, dir, i)

# One part per peer: its workloads (the first three and how many more;
# each peer's matches come sorted) or its ipBlock. Peers are described one
# by one, not merged: a namespaceSelector may match thousands of workloads,
# and this text is built for every finding of several rules.
peers_text(p, dir, i) := concat("; ", parts) if {
	key := {"ingress": "from", "egress": "to"}[dir]
	parts := [part |
		some j, peer in p.spec[dir][i][key]
		part := peer_text(p.key, dir, i, j, peer)
	]
	count(parts) > 0
} else := "no one (its peers match no workload)"

peer_text(key, dir, i, j, peer) := sprintf("ipBlock %s", [peer.ipBlock.cidr]) if peer.ipBlock

else := summarize(ms) if {
	ms := peer_selection[[key, dir, i, j]].matches
	count(ms) > 0
}

# Who gains what through rule i of policy p: "<peers> reach <selected>" for
# ingress, "<selected> reach <peers>" for egress; the caller says on what.
who_gains(p, "ingress", i) := sprintf("%s reach %s", [rule_peers_text(p, "ingress", i), selected_text(p.key)])

who_gains(p, "egress", i) := sprintf("%s reach %s", [selected_text(p.key), rule_peers_text(p, "egress", i)])

# The flow rule i of policy p is for: "from <peers> to <selected>" for
# ingress, "from <selected> to <peers>" for egress.
flow_text(p, "ingress", i) := sprintf("from %s to %s", [rule_peers_text(p, "ingress", i), selected_text(p.key)])

flow_text(p, "egress", i) := sprintf("from %s to %s", [selected_text(p.key), rule_peers_text(p, "egress", i)])

# Policies whose rules may allow all ports (params.allPortsAllowed).
all_ports_allowed(p) if {
	some pattern in params.allPortsAllowed
	glob.match(pattern, ["/"], p.key)
}

# A list for messages: at most three items, then how many more.
summarize(items) := concat(", ", items) if {
	count(items) <= 3
} else := sprintf("%s and %d more", [concat(", ", array.slice(items, 0, 3)), count(items) - 3])
