package model

import "strconv"

// PortQuery is one protocol and port asked about.
type PortQuery struct {
	Protocol Protocol
	Port     uint16
}

func (q PortQuery) String() string { return strconv.Itoa(int(q.Port)) + "/" + q.Protocol.String() }

// Explanation says whether Src may reach Dst (on Port, when given) and why.
type Explanation struct {
	Src, Dst Peer
	Port     *PortQuery
	Allowed  bool
	// Ports is everything allowed from Src to Dst.
	Ports PortSet
	// Grants are the rule pairs that allow the queried port (or any port).
	Grants  []Grant
	Egress  SideExplanation
	Ingress SideExplanation
	// Omitted are the traffic policies of the cluster the answer leaves
	// out (see Matrix.Omitted).
	Omitted []OmittedPolicy
}

// SideExplanation is one direction: the source's egress or the
// destination's ingress.
type SideExplanation struct {
	Direction Direction
	// Isolated is false when no policy selects the pod for this direction
	// (or the peer is outside the cluster), so everything is allowed.
	Isolated bool
	Note     string
	// Allows is what this side alone lets through towards the other peer.
	Allows   PortSet
	Policies []PolicyVerdict
}

// PolicyVerdict is one policy that selects the pod for the direction.
// Policies are listed in the order they are evaluated: Admin tier by
// priority, NetworkPolicies, Baseline tier.
type PolicyVerdict struct {
	Policy string
	// Kind is empty for a NetworkPolicy.
	Kind     string
	Tier     Tier
	Priority int32
	Source   Location
	// NoRules is set when the policy has no rule for the direction: it
	// isolates and allows nothing (a default deny).
	NoRules bool
	Rules   []RuleVerdict
}

// RuleVerdict is how one rule judged the pair.
type RuleVerdict struct {
	Rule int
	// Name and Action are those of a tiered rule.
	Name   string
	Action Action
	// Section ("spec", "specs[i]") and L7 (the L7 rule kinds, comma
	// separated) are those of a Cilium rule.
	Section string
	L7      string
	// Decides is, for a tiered rule, the part of Ports it is the first
	// matching rule for: the ports whose fate it decides.
	Decides PortSet
	// NotReached is set for a Baseline rule of a pod that a
	// NetworkPolicy isolates: the Baseline tier never sees its traffic.
	NotReached bool
	// PeerMatch reports whether the other peer is among the rule's peers;
	// PeerReason says which peer matched or why none did.
	PeerMatch  bool
	PeerReason string
	// Ports is what the rule allows towards the destination; PortReason
	// explains a port miss, such as a named port the destination lacks.
	Ports      PortSet
	PortReason string
	// Matched is set when the rule lets the queried traffic through.
	Matched bool
	// Denies is set for a Cilium deny rule that matches the queried
	// traffic: it wins over every allow of its tier.
	Denies bool
	// AddressDependent marks a peer match that relies on an ipBlock
	// overlapping the pod CIDR for a pod of unknown address.
	AddressDependent bool
}
