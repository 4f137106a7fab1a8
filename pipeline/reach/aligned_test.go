package reach_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// TestComputeSomeIsComputeAll: the matrices asked for are those
// ComputeAll computes, split at the boundaries of every cluster, and
// differ from a cluster computed alone (so the alignment is exercised).
func TestComputeSomeIsComputeAll(t *testing.T) {
	t.Parallel()
	var cs []*model.Cluster
	for seed := range uint64(4) {
		cs = append(cs, synth.Cluster(synth.Options{Workloads: 60, Namespaces: 4, Seed: seed + 1, Small: true}))
	}
	all, err := reach.ComputeAllContext(context.Background(), cs...)
	require.NoError(t, err)
	want := []bool{false, true, false, true}
	some, err := reach.ComputeSomeContext(context.Background(), want, cs...)
	require.NoError(t, err)
	require.Len(t, some, len(cs))
	for i := range cs {
		if !want[i] {
			assert.Nil(t, some[i], "cluster %d was not asked for", i)
			continue
		}
		assert.True(t, reflect.DeepEqual(all[i], some[i]), "cluster %d: ComputeSome differs from ComputeAll", i)
	}
	alone := reach.Compute(cs[1])
	assert.False(t, reflect.DeepEqual(all[1], alone), "the clusters' address blocks split each other's ranges")
}
