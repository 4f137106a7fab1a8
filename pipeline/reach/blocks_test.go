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

// TestChunksAreWholeBlocksAndShrink: the chunks the workers take cover
// every destination once, in order; each is whole blocks of the egress
// side (the last aside), and each is no larger than the one before, so
// that the workers finish close together.
func TestChunksAreWholeBlocksAndShrink(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 600, 6036, 22177} {
		for _, workers := range []int{1, 2, 8} {
			b := chunkBounds(n, workers)
			require.Equal(t, 0, b[0])
			require.Equal(t, n, b[len(b)-1], "n=%d workers=%d", n, workers)
			for c := 1; c < len(b); c++ {
				size := b[c] - b[c-1]
				require.Positive(t, size, "n=%d workers=%d chunk %d", n, workers, c-1)
				if c < len(b)-1 {
					require.Zero(t, size%classBlock, "n=%d workers=%d chunk %d of %d destinations", n, workers, c-1, size)
				}
				if c > 1 {
					require.LessOrEqual(t, size, b[c-1]-b[c-2], "n=%d workers=%d chunk %d", n, workers, c-1)
				}
			}
			if n >= 4*classBlock*workers {
				require.Greater(t, len(b)-1, 2*workers, "n=%d workers=%d: too few chunks to share", n, workers)
				require.Equal(t, classBlock, b[len(b)-2]-b[len(b)-3], "n=%d workers=%d: the last whole chunk", n, workers)
			}
		}
	}
}
