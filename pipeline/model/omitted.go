package model

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OmitReason says why a traffic policy is not in the matrix.
type OmitReason string

const (
	// OmitInvalid is a NetworkPolicy the API server would refuse (or that
	// could not be decoded): it never reaches the cluster as written, and
	// the matrix is computed without it.
	OmitInvalid OmitReason = "invalid"
	// OmitUnevaluated is a policy of a kind the cluster may enforce but
	// reachgate does not evaluate (a Calico or Cilium policy, ...).
	OmitUnevaluated OmitReason = "unevaluated"
)

// OmittedPolicy is a traffic policy the matrix leaves out. What the matrix
// says may not hold in the cluster: an unevaluated policy may deny (or
// allow) flows the matrix shows otherwise, and an invalid NetworkPolicy,
// once fixed, may deny flows of the pods it selects.
type OmittedPolicy struct {
	Object     ObjectRef  `json:"object"`
	APIVersion string     `json:"apiVersion"`
	Source     Location   `json:"source"`
	Reason     OmitReason `json:"reason"`
	// For an invalid NetworkPolicy, what it could have isolated, read
	// leniently from the manifest: its podSelector (nil when even that
	// could not be read: then every pod of its namespace) and the
	// directions it declares (see DeclaredTypes).
	PodSelector     *metav1.LabelSelector `json:"-"`
	Ingress, Egress bool                  `json:"-"`
}

// Key is "namespace/name".
func (o *OmittedPolicy) Key() string { return o.Object.Namespace + "/" + o.Object.Name }

// MayDeny holds, for a workload peer, the invalid NetworkPolicies left out
// of the matrix whose podSelector selects it, by direction: a flow from
// it (Egress) or to it (Ingress) may be denied once they are fixed. Keys
// are "namespace/name", sorted.
type MayDeny struct {
	Egress  []string `json:"egress,omitempty"`
	Ingress []string `json:"ingress,omitempty"`
}

// MayBeDeniedBy lists the invalid NetworkPolicies that could deny the
// flow from src to dst: those selecting src for egress and those selecting
// dst for ingress, sorted, each once; nil when none.
func MayBeDeniedBy(src, dst Peer) []string {
	var out []string
	if src.MayDeny != nil {
		out = append(out, src.MayDeny.Egress...)
	}
	if dst.MayDeny != nil {
		out = append(out, dst.MayDeny.Ingress...)
	}
	if len(out) < 2 {
		return out
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// UnevaluatedPolicyID is the rule id of the finding that names a policy of
// a kind reachgate does not evaluate. It fails the gate unless the base
// waives it.
const UnevaluatedPolicyID = "input/unevaluated-policy"

// Message says what an unevaluated policy means for the matrix. (An
// invalid NetworkPolicy is reported by the validation that refused it.)
func (o *OmittedPolicy) Message() string {
	return "reachgate does not evaluate " + o.APIVersion + " " + o.Object.Kind + ": the matrix ignores this policy, so the cluster may deny flows the matrix shows, and allow flows it does not"
}

// Finding reports an unevaluated policy (UnevaluatedPolicyID).
func (o *OmittedPolicy) Finding() Finding {
	return Finding{
		RuleID:      UnevaluatedPolicyID,
		Title:       "Policy of a kind reachgate does not evaluate",
		Severity:    SeverityError,
		Message:     o.Message(),
		Object:      o.Object,
		Location:    o.Source,
		Controls:    []string{},
		Remediation: "Express the restriction as a Kubernetes NetworkPolicy as well, so the gate can check it; or, if the matrix may ignore this policy, merge a waiver of this finding into the base first.",
	}
}
