package reach_test

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// TestFlowsHoldComputesConnections holds ComputeFlows to Compute: the
// same matrix but for its connections, which the flows partition, each
// flow in columns (no two with the same allowance and sources), on the
// many-tiers clusters of the naive evaluator's test, clusters big enough
// for several chunks per worker (whose flows the workers share), one of
// them tiered with Cilium policies, and an empty one.
func TestFlowsHoldComputesConnections(t *testing.T) {
	t.Parallel()
	var cs []*model.Cluster
	for seed := 1; seed <= 60; seed++ {
		cs = append(cs, manyTiersCluster(seed))
	}
	cs = append(cs,
		synth.Cluster(synth.Options{Workloads: 1500, Namespaces: 20, Seed: 7}),
		synth.Cluster(synth.Options{Workloads: 700, Namespaces: 9, Seed: 11, AdminPolicies: 40, Baseline: true, CiliumPolicies: 80}),
		&model.Cluster{})
	for i, c := range cs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want := reach.Compute(c)
			got, flows := reach.ComputeFlows(c)
			checkFlows(t, want, got, flows)
		})
	}
}

func checkFlows(t *testing.T, want, got *model.Matrix, flows []model.Flow) {
	t.Helper()
	if got.Connections != nil {
		t.Fatalf("ComputeFlows listed %d connections", len(got.Connections))
	}
	rest := *want
	rest.Connections = nil
	if !reflect.DeepEqual(got, &rest) {
		for _, f := range []struct {
			name      string
			got, want any
		}{{"peers", got.Peers, want.Peers}, {"allowances", got.Allowances, want.Allowances}, {"unmanaged", got.Unmanaged, want.Unmanaged},
			{"selection", got.Selection, want.Selection}, {"omitted", got.Omitted, want.Omitted}, {"overridden", got.Overridden, want.Overridden}} {
			if !reflect.DeepEqual(f.got, f.want) {
				t.Errorf("%s differ from Compute's", f.name)
			}
		}
		t.FailNow()
	}
	var pairs []model.Connection
	type key struct {
		a    int32
		srcs string
	}
	seen := map[key]bool{}
	for i, f := range flows {
		if len(f.Srcs) == 0 || len(f.Dsts) == 0 {
			t.Fatalf("flow %d is empty: %+v", i, f)
		}
		if !increasing(f.Srcs) || !increasing(f.Dsts) {
			t.Fatalf("flow %d: sources or destinations not increasing: %+v", i, f)
		}
		if i > 0 && cmp.Or(cmp.Compare(flows[i-1].Srcs[0], f.Srcs[0]), cmp.Compare(flows[i-1].Dsts[0], f.Dsts[0])) >= 0 {
			t.Fatalf("flows %d and %d are out of order", i-1, i)
		}
		k := key{f.Allowance, fmt.Sprint(f.Srcs)}
		if seen[k] {
			t.Fatalf("flow %d: another flow has its allowance and sources", i)
		}
		seen[k] = true
		for _, s := range f.Srcs {
			for _, d := range f.Dsts {
				pairs = append(pairs, model.Connection{Src: s, Dst: d, Allowance: f.Allowance})
			}
		}
	}
	slices.SortFunc(pairs, func(a, b model.Connection) int {
		return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst))
	})
	if !slices.Equal(pairs, want.Connections) {
		t.Fatalf("the flows hold %d pairs, Compute %d connections, or the same number of others", len(pairs), len(want.Connections))
	}
}

func increasing(xs []int32) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] <= xs[i-1] {
			return false
		}
	}
	return true
}
