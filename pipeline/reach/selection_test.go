package reach_test

import (
	"net/netip"
	"slices"
	"testing"
	"unsafe"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// TestSelectionAsNaive checks every selector peer's matches in the
// matrix's selection against the naive evaluator's reading of the peer,
// on random clusters, and that peers with the same selectors share their
// list of matches.
func TestSelectionAsNaive(t *testing.T) {
	t.Parallel()
	shared, peers := 0, 0
	for seed := range uint64(8) {
		c := synth.Cluster(synth.Options{Workloads: 150 + 40*int(seed), Namespaces: 3 + int(seed%4), Seed: seed + 100})
		n := newNaive(t, c)
		m := reach.Compute(c)
		policies := map[string]*model.Policy{}
		for i := range c.Policies {
			policies[c.Policies[i].Key()] = &c.Policies[i]
		}
		lists := map[*string]bool{}
		for _, s := range m.Selection {
			p := policies[s.Policy]
			if p == nil {
				t.Fatalf("seed %d: selection of %s, which the cluster does not hold", seed, s.Policy)
			}
			for _, ps := range s.Peers {
				if ps.IPBlock != "" {
					continue
				}
				var peer networkingv1.NetworkPolicyPeer
				if ps.Direction == model.Ingress {
					peer = p.Spec.Ingress[ps.Rule].From[ps.Peer]
				} else {
					peer = p.Spec.Egress[ps.Rule].To[ps.Peer]
				}
				if peer.IPBlock != nil {
					continue
				}
				want := []string{}
				for i := range c.Workloads {
					w := &c.Workloads[i]
					if n.npPeerMatch([]networkingv1.NetworkPolicyPeer{peer}, p.Namespace, model.Peer{Workload: w}, netip.Addr{}) {
						want = append(want, w.Key())
					}
				}
				slices.Sort(want)
				if !slices.Equal(want, ps.Matches) {
					t.Fatalf("seed %d: %s %v rule %d peer %d matches %v, want %v", seed, s.Policy, ps.Direction, ps.Rule, ps.Peer, ps.Matches, want)
				}
				if len(ps.Matches) > 0 {
					peers++
					first := unsafe.SliceData(ps.Matches)
					if lists[first] {
						shared++
					}
					lists[first] = true
				}
			}
		}
	}
	if shared == 0 {
		t.Fatalf("none of %d peers shares its list of matches", peers)
	}
	t.Logf("%d of %d peers share their list of matches", shared, peers)
}
