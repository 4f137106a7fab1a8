package reach

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
)

// TestOverriddenAsIfNoListWereCut checks the lists the interner cuts
// short after an Admin rule deciding every port: the overrides it
// records must be those of applying the tiers to every pair's whole list
// of matching rules, as evalSide does with nothing interned.
func TestOverriddenAsIfNoListWereCut(t *testing.T) {
	t.Parallel()
	cases := 300
	if testing.Short() {
		cases = 20
	}
	cuts, overrides := 0, 0
	for seed := 1; seed <= cases; seed++ {
		o := synth.Options{
			Workloads:      6 + seed%13,
			Namespaces:     1 + seed%4,
			PolicyRatio:    0.3 + float64(seed%4)*0.4,
			Seed:           uint64(5000 + seed),
			Small:          true,
			AdminPolicies:  3 + seed%11,
			Baseline:       seed%2 == 0,
			CiliumPolicies: seed % 3,
		}
		c := synth.Cluster(o)
		if seed%3 == 0 {
			c.PodCIDRs = model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16"))
		}
		got := Compute(c).Overridden
		overrides += len(got)
		want, n := wholeListOverrides(newIndex(c, nil))
		cuts += n
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: overridden\n%v\nwant\n%v", seed, got, want)
		}
	}
	if cuts == 0 || overrides == 0 {
		t.Fatalf("%d lists with an Admin rule of every port, %d overrides: the test checks nothing", cuts, overrides)
	}
}

// wholeListOverrides applies the tiers to the whole list of both
// directions of every pair: egress for every source towards every peer,
// ingress for every source into every workload, whether or not its egress
// lets anything through (an Admin Deny overrides the ingress allows all
// the same). It also counts the lists holding an Admin Allow or Deny of
// every port.
func wholeListOverrides(ix *index) ([]model.Override, int) {
	ov := overrideSet{}
	cuts := 0
	list := func(rules ruleList, other int, dst *model.Peer) []contrib {
		var cs []contrib
		for _, r := range rules {
			if !r.open && !r.match.has(other) {
				continue
			}
			if p := r.ports.resolve(dst); !p.IsEmpty() {
				cs = append(cs, contrib{rule: r, ports: p, addrDep: r.addrDep != nil && r.addrDep.has(other)})
				if r.allPorts && r.action != model.ActionPass {
					cuts++
				}
			}
		}
		return cs
	}
	for d := range ix.peers {
		dst := &ix.peers[d]
		for s := range ix.peers {
			if s < ix.nw {
				if eg := list(ix.egRules[s], d, dst); len(eg) > 0 {
					ix.evalSide(eg, ix.egIso[s], ov, nil)
				}
			}
			if d >= ix.nw || s == d {
				continue
			}
			if in := list(ix.inRules[d], s, dst); len(in) > 0 {
				ix.evalSide(in, ix.inIso[d], ov, nil)
			}
		}
	}
	return overridden([]overrideSet{ov}), cuts
}
