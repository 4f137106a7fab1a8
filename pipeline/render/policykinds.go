package render

import (
	"encoding/json"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// PolicyKind is a traffic-policy kind of one API group.
type PolicyKind struct {
	Group, Kind string
	// Of says whose it is, for messages: "Calico", "Cilium", ...
	Of string
}

// UnevaluatedPolicyKinds are the traffic-policy kinds, by API group, that
// a cluster may enforce and reachgate does not evaluate: the matrix cannot
// tell what they deny or allow. Decode keeps each such object out of the
// model and lists it in Cluster.Omitted (model.OmitUnevaluated), and every
// output says the matrix ignores it. Objects of other unknown kinds stay
// silently out of the model. When reachgate learns to evaluate a kind,
// remove it from this table (it is the only list of them). Any version of
// the group matches.
var UnevaluatedPolicyKinds = []PolicyKind{
	{"crd.projectcalico.org", "NetworkPolicy", "Calico"},
	{"crd.projectcalico.org", "GlobalNetworkPolicy", "Calico"},
	{"projectcalico.org", "NetworkPolicy", "Calico"},
	{"projectcalico.org", "GlobalNetworkPolicy", "Calico"},
	{"crd.antrea.io", "NetworkPolicy", "Antrea"},
	{"crd.antrea.io", "ClusterNetworkPolicy", "Antrea"},
}

// unevaluatedKind finds group and kind in UnevaluatedPolicyKinds.
func unevaluatedKind(group, kind string) (PolicyKind, bool) {
	for _, k := range UnevaluatedPolicyKinds {
		if k.Group == group && k.Kind == kind {
			return k, true
		}
	}
	return PolicyKind{}, false
}

// isNetworkPolicy reports whether an object claims to be a Kubernetes
// NetworkPolicy (of the current or a former API group).
func isNetworkPolicy(group, kind string) bool {
	return kind == "NetworkPolicy" && (group == "networking.k8s.io" || group == "extensions")
}

// InvalidPolicy describes a NetworkPolicy that is left out of the model
// because the API server would refuse it, reading as much of it as it
// can: the namespace (default when none), the podSelector (nil when it
// cannot be read) and the directions it declares — the strings Ingress
// and Egress in spec.policyTypes, or, when it names neither, the API
// default (Ingress, plus Egress when spec.egress is set). ok is false for
// objects that are not NetworkPolicies.
func InvalidPolicy(obj model.Object) (o model.OmittedPolicy, ok bool) {
	it := objectIdentity(&obj)
	if !isNetworkPolicy(it.group, it.ref.Kind) {
		return o, false
	}
	if it.ref.Namespace == "" {
		it.ref.Namespace = DefaultNamespace
	}
	o = model.OmittedPolicy{Object: it.ref, APIVersion: it.apiVersion, Source: obj.Source, Reason: model.OmitInvalid}
	spec, _ := obj.Doc["spec"].(map[string]any)
	if raw, ok := spec["podSelector"]; ok {
		var sel metav1.LabelSelector
		if b, err := json.Marshal(raw); err == nil && json.Unmarshal(b, &sel) == nil {
			o.PodSelector = &sel
		}
	}
	types, _ := spec["policyTypes"].([]any)
	for _, t := range types {
		switch t {
		case "Ingress":
			o.Ingress = true
		case "Egress":
			o.Egress = true
		}
	}
	if !o.Ingress && !o.Egress {
		_, hasEgress := spec["egress"]
		o.Ingress, o.Egress = true, hasEgress
	}
	return o, true
}

// SortOmitted puts omitted policies in source order.
func SortOmitted(os []model.OmittedPolicy) {
	sort.SliceStable(os, func(i, j int) bool {
		a, b := os[i].Source, os[j].Source
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}
