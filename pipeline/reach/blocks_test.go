package reach

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
)

// TestBlocksAreOneBuffer: the connections come out the same whether each
// worker's fit in one block or take thousands of blocks that chunks
// begin and end in the middle of.
func TestBlocksAreOneBuffer(t *testing.T) {
	c := synth.Cluster(synth.Options{Workloads: 600, Namespaces: 6, Seed: 9})
	want := Compute(c)
	require.Greater(t, len(want.Connections), 10000)
	defer func(n int) { blockSize = n }(blockSize)
	for _, n := range []int{1, 7, 1000} {
		blockSize = n
		got := Compute(c)
		require.Equal(t, want.Connections, got.Connections, "blocks of %d", n)
		require.Equal(t, want.Allowances, got.Allowances, "blocks of %d", n)
	}
}

// TestCachesCollide runs the engine's two direct-mapped caches of
// allowances with one and two slots, where every entry replaces what
// another left there: the cache by destination, egress outcome and
// ingress mask (seen), and the one by egress outcome and ingress list
// (allow). The connections must be the same as when few collide.
func TestCachesCollide(t *testing.T) {
	c := synth.Cluster(synth.Options{Workloads: 500, Namespaces: 6, Seed: 11, AdminPolicies: 40, Baseline: true, CiliumPolicies: 80})
	want := Compute(c)
	for _, cache := range []struct {
		name string
		bits *int
	}{{"seen", &seenBits}, {"allow", &maxAllowBits}} {
		before := *cache.bits
		for _, n := range []int{0, 1} {
			*cache.bits = n
			got := Compute(c)
			*cache.bits = before
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, %d slots: %s", cache.name, 1<<n, matrixDifference(got, want))
			}
		}
	}
}
