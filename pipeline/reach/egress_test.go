package reach

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
)

// TestEgressBlocksAreOneDestination holds the egress classes to the lists
// they replace: with blocks of one destination, every (group,
// destination) list is interned on its own, as before the classes; blocks
// of any other size, which chunks and the last block cut short, must give
// the same matrices, allowances, their numbering and overrides included.
// One cluster has Admin and Baseline policies and Cilium policies with
// named ports; the other has NetworkPolicies only, so that the base's
// matrix is derived, from destinations that are not contiguous.
func TestEgressBlocksAreOneDestination(t *testing.T) {
	defer func(n int) { classBlock = n }(classBlock)
	tiered := synth.Cluster(synth.Options{Workloads: 500, Namespaces: 6, Seed: 11, AdminPolicies: 40, Baseline: true, CiliumPolicies: 80})
	head := synth.Cluster(synth.Options{Workloads: 500, Namespaces: 8, Seed: 12})
	base := *head
	base.Policies = slices.Clone(head.Policies)
	// A policy in every other namespace loses its ingress rules.
	changed := map[string]bool{}
	for i := range base.Policies {
		p := &base.Policies[i]
		if len(p.Spec.Ingress) > 0 && !changed[p.Namespace] && len(changed)%2 == 0 {
			p.NetworkPolicy = p.DeepCopy()
			p.Spec.Ingress = nil
		}
		changed[p.Namespace] = true
	}
	run := func(n int) []*model.Matrix {
		classBlock = n
		return append(ComputeAll(tiered), ComputeAll(head, &base)...)
	}
	want := run(1)
	if len(want[0].Overridden) == 0 || len(want[0].Connections) < 10000 || reflect.DeepEqual(want[1].Connections, want[2].Connections) {
		t.Fatalf("%d connections, %d overrides, base and head alike: the clusters test little", len(want[0].Connections), len(want[0].Overridden))
	}
	hx := newIndex(head, []*model.Cluster{&base})
	if _, ok, _ := newIndex(&base, []*model.Cluster{head}).derive(context.Background(), hx, want[1]); !ok {
		t.Fatal("derive gave up: its subsets of destinations go untested")
	}
	for _, n := range []int{3, 64, 200, 256, 4096} {
		got := run(n)
		for i, name := range []string{"tiered", "head", "derived base"} {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("blocks of %d, %s: %s", n, name, matrixDifference(got[i], want[i]))
			}
		}
	}
	// Named ports' classes found in namedChild's map, not its table.
	defer func(n int) { maxKidTable = n }(maxKidTable)
	maxKidTable = 0
	if got := run(256); !reflect.DeepEqual(got[0], want[0]) {
		t.Fatalf("named classes in a map: %s", matrixDifference(got[0], want[0]))
	}
}
