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

// TestSeenAllowancesCollide: the cache of allowances by destination,
// egress outcome and ingress mask gives the same connections when every
// entry shares one slot as when few do.
func TestSeenAllowancesCollide(t *testing.T) {
	c := synth.Cluster(synth.Options{Workloads: 500, Namespaces: 6, Seed: 11, AdminPolicies: 40, Baseline: true, CiliumPolicies: 80})
	want := Compute(c)
	defer func(n int) { seenBits = n }(seenBits)
	for _, n := range []int{0, 1} {
		seenBits = n
		if got := Compute(c); !reflect.DeepEqual(got, want) {
			t.Fatalf("%d slots: %s", 1<<n, matrixDifference(got, want))
		}
	}
}

// TestAllowCacheCollides runs the cache of allowances by egress outcome
// and ingress list (allow) with one and two slots: every call then
// replaces what another left there.
func TestAllowCacheCollides(t *testing.T) {
	c := synth.Cluster(synth.Options{Workloads: 500, Namespaces: 6, Seed: 11, AdminPolicies: 40, Baseline: true, CiliumPolicies: 80})
	want := Compute(c)
	defer func(n int) { maxAllowBits = n }(maxAllowBits)
	for _, n := range []int{0, 1} {
		maxAllowBits = n
		if got := Compute(c); !reflect.DeepEqual(got, want) {
			t.Fatalf("%d slots: %s", 1<<n, matrixDifference(got, want))
		}
	}
}
