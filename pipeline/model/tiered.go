package model

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Policy kinds as provenance names them. A RuleRef with an empty Kind is a
// NetworkPolicy rule.
const (
	KindNetworkPolicy              = "NetworkPolicy"
	KindAdminNetworkPolicy         = "AdminNetworkPolicy"
	KindBaselineAdminNetworkPolicy = "BaselineAdminNetworkPolicy"
	KindClusterNetworkPolicy       = "ClusterNetworkPolicy"
)

// Tier is where a policy sits in the order of evaluation: every Admin
// rule is checked first, in priority order; then NetworkPolicies; then
// Baseline rules, which only see traffic that no NetworkPolicy isolates.
type Tier uint8

const (
	TierAdmin Tier = iota
	TierNamespace
	TierBaseline
)

func (t Tier) String() string {
	switch t {
	case TierAdmin:
		return "Admin"
	case TierBaseline:
		return "Baseline"
	}
	return "Namespace"
}

// Action is what a tiered rule does with the traffic it matches.
type Action uint8

const (
	ActionAllow Action = iota
	ActionDeny
	// ActionPass skips the remaining Admin rules: the NetworkPolicies
	// (then the Baseline tier) decide.
	ActionPass
)

func (a Action) String() string {
	switch a {
	case ActionDeny:
		return "Deny"
	case ActionPass:
		return "Pass"
	}
	return "Allow"
}

// Verb is what a rule of the action does to its ports, as explain says
// it: "allows TCP 80", "denies TCP 80", "passes TCP 80".
func (a Action) Verb() string {
	switch a {
	case ActionDeny:
		return "denies"
	case ActionPass:
		return "passes"
	}
	return "allows"
}

// Of names the action as a policy of that kind spells it: a
// ClusterNetworkPolicy says Accept where the others say Allow.
func (a Action) Of(kind string) string {
	if a == ActionAllow && kind == KindClusterNetworkPolicy {
		return "Accept"
	}
	return a.String()
}

// ClusterPolicy is a cluster-scoped, tiered policy: an
// AdminNetworkPolicy, a BaselineAdminNetworkPolicy or a
// ClusterNetworkPolicy (policy.networking.k8s.io), decoded from the
// upstream types into the one shape the engine evaluates.
type ClusterPolicy struct {
	Kind     string
	Name     string
	Tier     Tier
	Priority int32
	Subject  ClusterSubject
	Ingress  []ClusterRule
	Egress   []ClusterRule
	Source   Location
}

// Key is "Kind/name": cluster policies have no namespace.
func (p *ClusterPolicy) Key() string { return p.Kind + "/" + p.Name }

// ClusterSubject selects the pods a cluster policy applies to: exactly one
// of Namespaces (every pod of the matching namespaces) or Pods.
type ClusterSubject struct {
	Namespaces *metav1.LabelSelector
	Pods       *NamespacedPods
}

// NamespacedPods selects pods by label in namespaces selected by label.
type NamespacedPods struct {
	NamespaceSelector metav1.LabelSelector
	PodSelector       metav1.LabelSelector
}

// ClusterRule is one rule of a cluster policy. Rules are evaluated in
// order; the first whose peers and ports match decides.
type ClusterRule struct {
	Name   string
	Action Action
	Peers  []ClusterPeer
	// Ports is nil when the rule matches every port.
	Ports []ClusterPort
}

// ClusterPeer is one peer of a cluster rule; exactly one field is set.
type ClusterPeer struct {
	Namespaces *metav1.LabelSelector
	Pods       *NamespacedPods
	// Nodes selects nodes, which the model does not hold: the peer
	// matches none of its peers, and decoding says so.
	Nodes *metav1.LabelSelector
	// Networks are CIDRs; they match addresses outside the cluster and
	// pods whose address they may hold, as ipBlocks do.
	Networks IPSet
	// NetworksText is Networks as written, for provenance.
	NetworksText string
	// DomainNames are host names (egress only).
	DomainNames []string
}

// ClusterPort is one port entry: a range of one protocol, or a named
// container port of the destination.
type ClusterPort struct {
	Protocol Protocol
	From, To uint16
	Named    string
}
