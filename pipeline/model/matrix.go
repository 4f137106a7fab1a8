package model

import (
	"slices"
	"sort"
	"strconv"
)

// Peer is one end of a connection: a workload, or a range of addresses
// outside the cluster (named after the configured external endpoint that
// holds it, when one does).
type Peer struct {
	Workload *Workload `json:"-"`
	Range    IPRange   `json:"-"`
	// External is the name of the most specific configured external
	// endpoint containing Range; empty for workloads and unnamed ranges.
	External string `json:"-"`
	// FQDN is set for a host-name endpoint that a toFQDNs rule names (a
	// name or a pattern); External is then "fqdn:" + FQDN and Range is
	// not set: the addresses the name resolves to are not known.
	FQDN string `json:"-"`
	// MayDeny names the invalid NetworkPolicies, left out of the matrix,
	// that select this workload; nil when none do.
	MayDeny *MayDeny `json:"-"`
}

// IsWorkload reports whether the peer is a workload.
func (p Peer) IsWorkload() bool { return p.Workload != nil }

// String is "ns/name[Kind]" for workloads, "name(cidr)" for named external
// ranges and the range itself otherwise.
func (p Peer) String() string {
	if p.Workload != nil {
		return p.Workload.String()
	}
	if p.FQDN != "" {
		return p.External
	}
	if p.External != "" {
		return p.External + "(" + p.Range.String() + ")"
	}
	return p.Range.String()
}

// Key identifies the peer within its matrix: the workload's Key
// ("ns/name", or "ns/name[Kind]" when another workload shares the name)
// and the range for addresses. Across matrices, match workloads by
// Workload.ID.
func (p Peer) Key() string {
	if p.Workload != nil {
		return p.Workload.Key()
	}
	if p.FQDN != "" {
		return p.External
	}
	return p.Range.String()
}

// Direction is ingress or egress.
type Direction uint8

const (
	Ingress Direction = iota
	Egress
)

func (d Direction) String() string {
	if d == Egress {
		return "egress"
	}
	return "ingress"
}

// RuleRef says which rule allowed one direction of a connection. An empty
// Policy means that no rule decided: no policy isolates the pod for the
// direction (and no Baseline rule matched), so everything is allowed.
type RuleRef struct {
	// Policy is "namespace/name" for a NetworkPolicy and the name of a
	// cluster-scoped policy.
	Policy string `json:"policy,omitempty"`
	// Kind is empty for a NetworkPolicy, the policy's kind otherwise.
	Kind      string    `json:"kind,omitempty"`
	Direction Direction `json:"-"`
	Rule      int       `json:"rule"` // index into spec.ingress or spec.egress
	// Action is the action of a tiered rule (Allow for NetworkPolicies).
	Action Action   `json:"-"`
	Source Location `json:"source"`
	// Section is the part of a Cilium policy holding the rule: "spec" or
	// "specs[i]"; empty for the other kinds.
	Section string `json:"section,omitempty"`
	// L7 lists the L7 rule kinds of a Cilium rule, comma separated
	// ("dns", "http,kafka"): the rule filters at L7, which the matrix
	// treats as allowing at L4.
	L7 string `json:"l7,omitempty"`
	// PassedBy names the Admin rule that passed the traffic on to the
	// rule (or to "not isolated"), empty when none did.
	PassedBy string `json:"passedBy,omitempty"`
}

// NotIsolated reports whether this side allowed everything because no
// policy isolates it.
func (r RuleRef) NotIsolated() bool { return r.Policy == "" }

// PolicyText names the policy: "namespace/name" for a NetworkPolicy,
// "Kind name" for the other kinds.
func (r RuleRef) PolicyText() string {
	if r.Kind == "" || r.Kind == KindNetworkPolicy {
		return r.Policy
	}
	return r.Kind + " " + r.Policy
}

// RuleText is the rule without PassedBy: "ns/name ingress[0]", or
// "AdminNetworkPolicy name ingress[0] (Allow)".
func (r RuleRef) RuleText() string {
	if r.NotIsolated() {
		return "not isolated"
	}
	if IsCilium(r.Kind) {
		dir := r.Direction.String()
		if r.Action == ActionDeny {
			dir += "Deny"
		}
		s := r.PolicyText() + " " + r.Section + "." + dir + "[" + strconv.Itoa(r.Rule) + "]"
		if len(r.L7) > 0 {
			s += " (L7-filtered: " + r.L7 + "; allowed at L4)"
		}
		return s
	}
	s := r.PolicyText() + " " + r.Direction.String() + "[" + strconv.Itoa(r.Rule) + "]"
	if r.Kind != "" && r.Kind != KindNetworkPolicy {
		s += " (" + r.Action.Of(r.Kind) + ")"
	}
	return s
}

func (r RuleRef) String() string {
	if r.PassedBy != "" {
		return r.RuleText() + " after " + r.PassedBy
	}
	return r.RuleText()
}

// Grant is one reason a set of ports is allowed: an egress side and an
// ingress side that both allow them. The sides point to rule references
// that many grants share (the 5,000-workload tiered benchmark's matrix
// holds 3.2 million grants naming about 10,000 rules): they are never
// nil, and never changed once made; copy one to change it.
type Grant struct {
	Ports   PortSet  `json:"ports"`
	Egress  *RuleRef `json:"egress"`
	Ingress *RuleRef `json:"ingress"`
}

// Allowance is what one ordered pair of peers may do. Grants overlap when
// several rules allow the same ports; Ports is their union.
type Allowance struct {
	Ports  PortSet `json:"ports"`
	Grants []Grant `json:"allowedBy"`
	// AddressDependent is set when some grant relies on an ipBlock that
	// overlaps the pod CIDR for a pod whose address is not known, so the
	// flow exists only if the pod happens to get such an address.
	AddressDependent bool `json:"addressDependent,omitempty"`
}

// Connection is an allowed flow between two peers of a Matrix, allowed as
// the matrix's Allowances[Allowance] says. A connection holds no pointer:
// a matrix of 5,000 workloads holds millions, which the garbage collector
// then need not scan.
type Connection struct {
	Src, Dst  int32
	Allowance int32
}

// Unmanaged is a workload that NetworkPolicy does not govern.
type Unmanaged struct {
	Workload *Workload
	Reason   string
}

// Matrix is who can reach whom. Connections are sorted by (Src, Dst) and
// never include a workload talking to itself: traffic between replicas of
// one workload is outside the report.
type Matrix struct {
	Peers []Peer
	// Allowances are the distinct allowances of the connections, each
	// once.
	Allowances  []*Allowance
	Connections []Connection
	Unmanaged   []Unmanaged
	Selection   []PolicySelection
	// Omitted are the traffic policies of the cluster the matrix leaves
	// out, in source order: invalid NetworkPolicies and policies of kinds
	// reachgate does not evaluate.
	Omitted []OmittedPolicy
	// Overridden are the NetworkPolicy rules that allow ports an Admin
	// tier Deny rule denies first for some pair: the guardrail holds, and
	// the NetworkPolicy rule has no effect there.
	Overridden []Override
}

// Override is one NetworkPolicy rule (Rule) that an Admin Deny rule (By)
// overrides on Ports.
type Override struct {
	Rule  RuleRef `json:"rule"`
	By    RuleRef `json:"by"`
	Ports PortSet `json:"ports"`
}

// Of returns what connection c of m allows.
func (m *Matrix) Of(c Connection) *Allowance { return m.Allowances[c.Allowance] }

// Connect appends a connection from src to dst allowed by a, adding a to
// the allowances unless it is there. It is for building small matrices by
// hand: each call looks a up among the allowances.
func (m *Matrix) Connect(src, dst int32, a *Allowance) {
	i := slices.Index(m.Allowances, a)
	if i < 0 {
		i = len(m.Allowances)
		m.Allowances = append(m.Allowances, a)
	}
	m.Connections = append(m.Connections, Connection{Src: src, Dst: dst, Allowance: int32(i)})
}

// Find returns the allowance from src to dst, or nil when nothing is
// allowed.
func (m *Matrix) Find(src, dst int32) *Allowance {
	cs := m.Connections
	i := sort.Search(len(cs), func(i int) bool {
		return cs[i].Src > src || (cs[i].Src == src && cs[i].Dst >= dst)
	})
	if i < len(cs) && cs[i].Src == src && cs[i].Dst == dst {
		return m.Allowances[cs[i].Allowance]
	}
	return nil
}

// PeerIndex finds a peer by Key, or -1.
func (m *Matrix) PeerIndex(key string) int32 {
	for i := range m.Peers {
		if m.Peers[i].Key() == key {
			return int32(i)
		}
	}
	return -1
}

// PolicySelection records what a policy and each of its rule peers select,
// so rules can find dangling policies and peers that match nothing.
type PolicySelection struct {
	Policy  string          `json:"policy"` // namespace/name
	Source  Location        `json:"source"`
	Selects []string        `json:"selects"` // workload keys the podSelector selects
	Peers   []PeerSelection `json:"peers"`
}

// PeerSelection is one peer of one rule of a policy and what it matches.
type PeerSelection struct {
	Direction Direction `json:"-"`
	Rule      int       `json:"rule"`
	Peer      int       `json:"peer"`
	// Matches lists the workload keys the peer's selectors match; empty for
	// a pure ipBlock peer. Peers with the same selectors share one list:
	// it is only read.
	Matches []string `json:"matches"`
	// IPBlock is the peer's ipBlock CIDR minus its excepts, "" if none.
	IPBlock string `json:"ipBlock,omitempty"`
}
