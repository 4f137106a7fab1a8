package model

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Cilium policy kinds (cilium.io/v2).
const (
	KindCiliumNetworkPolicy            = "CiliumNetworkPolicy"
	KindCiliumClusterwideNetworkPolicy = "CiliumClusterwideNetworkPolicy"
)

// IsCilium reports whether kind is one of the Cilium policy kinds.
func IsCilium(kind string) bool {
	return kind == KindCiliumNetworkPolicy || kind == KindCiliumClusterwideNetworkPolicy
}

// FQDNPrefix starts the name of a host-name endpoint: "fqdn:api.stripe.com",
// "fqdn:*.github.com".
const FQDNPrefix = "fqdn:"

// CiliumPolicy is a CiliumNetworkPolicy (Namespace set) or a
// CiliumClusterwideNetworkPolicy, decoded and checked against the CRD
// schema, at L3/L4. It sits in the Namespace tier with the
// NetworkPolicies: a deny of either wins, allows are a union.
type CiliumPolicy struct {
	Kind      string
	Namespace string
	Name      string
	Source    Location
	// Rules are spec (Section "spec") then specs[i] (Section "specs[i]").
	Rules []CiliumRule
}

// Key is "namespace/name" for a CiliumNetworkPolicy and the name of a
// CiliumClusterwideNetworkPolicy.
func (p *CiliumPolicy) Key() string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

// CiliumRule is one api.Rule: a subject and its rules per direction.
type CiliumRule struct {
	Section string
	// EndpointSelector selects the subject pods, as written (label keys
	// may carry the k8s: or any: source prefix). Nil when the rule has a
	// nodeSelector instead: nodes are not in the model.
	EndpointSelector *metav1.LabelSelector
	NodeSelector     *metav1.LabelSelector
	Ingress          []CiliumPeerRule
	IngressDeny      []CiliumPeerRule
	Egress           []CiliumPeerRule
	EgressDeny       []CiliumPeerRule
	// DefaultDenyIngress and DefaultDenyEgress are enableDefaultDeny's
	// fields; nil when unset (then true for a direction with rules).
	DefaultDenyIngress, DefaultDenyEgress *bool
}

// CiliumPeerRule is one ingress, ingressDeny, egress or egressDeny rule.
// Its L3 selectors are alternatives (OR); its ports restrict all of them.
type CiliumPeerRule struct {
	// Endpoints are fromEndpoints/toEndpoints as written; Nil means the
	// field is absent, which with ports alone matches every peer.
	Endpoints []metav1.LabelSelector
	Entities  []string
	// CIDRs is fromCIDR/toCIDR and fromCIDRSet/toCIDRSet (each cidr minus
	// its except); CIDRText how they were written.
	CIDRs    IPSet
	CIDRText string
	HasCIDR  bool
	FQDNs    []FQDNSelector
	// Ports is nil when the rule has no toPorts: every port.
	Ports []CiliumPort
	// L7 names the L7 rule kinds of its toPorts ("dns", "http", ...),
	// which reachgate treats as allowing at L4.
	L7 []string
	// DNSNames are the names and patterns a rules.dns entry allows to be
	// looked up, "*" when any.
	DNSNames []string
}

// HasL3 reports whether the rule names any peer. A rule with ports and
// no peer matches every peer on those ports; a rule with neither
// matches nothing.
func (r *CiliumPeerRule) HasL3() bool {
	return r.Endpoints != nil || len(r.Entities) > 0 || r.HasCIDR || len(r.FQDNs) > 0
}

// FQDNSelector is one toFQDNs entry: exactly one of MatchName and
// MatchPattern.
type FQDNSelector struct {
	MatchName    string
	MatchPattern string
}

// Endpoint is the name of the endpoint the selector names:
// "fqdn:" + the name or pattern, lower case, without a final dot.
func (s FQDNSelector) Endpoint() string {
	if s.MatchName != "" {
		return FQDNPrefix + s.MatchName
	}
	return FQDNPrefix + s.MatchPattern
}

// CiliumPort is one toPorts port: a range of protocols or a named port.
type CiliumPort struct {
	Protocols []Protocol
	From, To  uint16
	Named     string
}
