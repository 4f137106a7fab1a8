package reach_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// A flow "may be denied by an invalid policy" exactly when a NetworkPolicy
// left out as invalid selects its source, in the source's namespace, and
// declares Egress, or selects its destination there and declares Ingress.
// An unreadable or invalid podSelector counts as selecting every pod of
// the namespace; unevaluated policies mark nothing (nothing is known of
// them).
func TestMayBeDeniedByInvalidPolicy(t *testing.T) {
	t.Parallel()
	wl := func(ns, name string) model.Workload {
		return model.Workload{Namespace: ns, Name: name, Kind: "Deployment", Labels: map[string]string{"app": name}}
	}
	c := &model.Cluster{
		Namespaces: []model.Namespace{{Name: "app"}, {Name: "other"}},
		Workloads:  []model.Workload{wl("app", "api"), wl("app", "web"), wl("other", "api"), wl("other", "job")},
		Omitted: []model.OmittedPolicy{
			{Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "api-ingress"}, Reason: model.OmitInvalid,
				PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, Ingress: true},
			{Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: "other", Name: "unreadable-egress"}, Reason: model.OmitInvalid, Egress: true},
			{Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: "other", Name: "bad-operator"}, Reason: model.OmitInvalid, Ingress: true,
				PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Equals", Values: []string{"x"}}}}},
			{Object: model.ObjectRef{Kind: "CiliumNetworkPolicy", Namespace: "app", Name: "cnp"}, Reason: model.OmitUnevaluated},
		},
	}
	c.Sort()
	m := reach.Compute(c)
	assert.Equal(t, c.Omitted, m.Omitted)
	idx := func(key string) model.Peer {
		i := m.PeerIndex(key)
		if i < 0 {
			t.Fatalf("no peer %s", key)
		}
		return m.Peers[i]
	}
	for _, tc := range []struct {
		src, dst string
		want     []string
	}{
		{"app/web", "app/api", []string{"app/api-ingress"}},
		{"app/api", "app/web", nil}, // api-ingress declares Ingress only
		{"other/api", "app/api", []string{"app/api-ingress", "other/unreadable-egress"}},
		{"app/web", "other/api", []string{"other/bad-operator"}},
		{"app/api", "other/job", []string{"other/bad-operator"}},
		{"other/job", "app/web", []string{"other/unreadable-egress"}},
	} {
		assert.Equal(t, tc.want, model.MayBeDeniedBy(idx(tc.src), idx(tc.dst)), "%s -> %s", tc.src, tc.dst)
		assert.NotNil(t, m.Find(m.PeerIndex(tc.src), m.PeerIndex(tc.dst)), "%s -> %s is in the matrix (nothing isolates)", tc.src, tc.dst)
	}
}
