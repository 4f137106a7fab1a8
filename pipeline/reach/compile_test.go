package reach

import (
	"testing"

	"github.com/reachgate/reachgate/internal/synth"
)

// TestRulesNumberedInClusterOrder holds the NetworkPolicies, compiled on
// every core, to the numbering of compiling them one by one: after the
// Admin-tier rules, policy by policy in the cluster's order, each
// policy's ingress rules then its egress rules. Rule numbers order the
// rules of a list, and with them the grants of an allowance.
func TestRulesNumberedInClusterOrder(t *testing.T) {
	c := synth.Cluster(synth.Options{Workloads: 600, Namespaces: 8, Seed: 5, AdminPolicies: 30, Baseline: true, CiliumPolicies: 40})
	ix := newIndex(c, nil)
	next, seen := 0, 0
	for _, p := range ix.policies {
		if p.np == nil {
			continue
		}
		if want := &c.Policies[seen]; p.np != want {
			t.Fatalf("policy %d of the index is %s, want %s", seen, p.key, want.Key())
		}
		seen++
		for _, rules := range [][]*crule{p.in, p.eg} {
			for _, r := range rules {
				if next == 0 {
					next = r.id // after the Admin-tier rules
				}
				if r.id != next {
					t.Fatalf("%s rule %s has number %d, want %d", p.key, r.ref.RuleText(), r.id, next)
				}
				next++
			}
		}
	}
	if seen != len(c.Policies) || seen == 0 {
		t.Fatalf("the index holds %d NetworkPolicies, want %d", seen, len(c.Policies))
	}
}

// TestEqualPeersShareTheirSet checks that a selector or address block is
// evaluated into one set however many rules name it, including when
// policies compile side by side, and that a rule of one peer shares its
// peer's set: at 20,000 workloads each set is 2.8 KB.
func TestEqualPeersShareTheirSet(t *testing.T) {
	c := synth.Cluster(synth.Options{Workloads: 800, Namespaces: 10, Seed: 9})
	ix := newIndex(c, nil)
	first := map[string]*uint64{}
	shared, single := 0, 0
	for _, p := range ix.policies {
		for _, rules := range [][]*crule{p.in, p.eg} {
			for _, r := range rules {
				if len(r.peers) == 1 {
					single++
					if &r.match[0] != &r.peers[0].match[0] {
						t.Errorf("%s rule %s: one peer, but a set of its own", p.key, r.ref.RuleText())
					}
				}
				for _, peer := range r.peers {
					var key string
					switch {
					case peer.ipBlock != nil:
						key = "ipBlock " + peer.ipBlock.String()
					case peer.nsSel != nil:
						key = "namespaces " + peer.nsSel.key + " pods " + peer.podSel.key
					case peer.podSel != nil:
						key = "namespace " + p.np.Namespace + " pods " + peer.podSel.key
					default:
						continue
					}
					if at, ok := first[key]; !ok {
						first[key] = &peer.match[0]
					} else if at != &peer.match[0] {
						t.Errorf("%s rule %s: peer %s has a set of its own", p.key, r.ref.RuleText(), key)
					} else {
						shared++
					}
				}
			}
		}
	}
	if shared == 0 || single == 0 {
		t.Fatalf("the cluster has %d peers repeating another and %d rules of one peer: it tests nothing", shared, single)
	}
}
