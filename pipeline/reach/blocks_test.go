package reach

import (
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
