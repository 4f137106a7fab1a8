package reach_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// A cancelled computation stops between chunks of destinations: a
// 5,000-workload cluster takes seconds, and stops long before.
func TestComputeAllStopsWhenCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("a time case: skipped with -short")
	}
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ms, err := reach.ComputeAllContext(ctx, c, c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, ms)

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := reach.ComputeAllContext(ctx, c, c)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil { // it may have finished first on a fast machine
			assert.ErrorIs(t, err, context.Canceled)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the computation did not stop when cancelled")
	}
}

// ComputeContext and ComputeFlowsContext give up on a context that has
// ended, with its error and no matrix, and otherwise are Compute and
// ComputeFlows.
func TestComputeContextGivesUp(t *testing.T) {
	c := synth.Cluster(synth.Options{Workloads: 300, Namespaces: 10, Seed: 7})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := reach.ComputeContext(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, m)
	m, flows, err := reach.ComputeFlowsContext(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, m)
	assert.Nil(t, flows)

	m, err = reach.ComputeContext(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, reach.Compute(c).Connections, m.Connections)
	m, flows, err = reach.ComputeFlowsContext(context.Background(), c)
	require.NoError(t, err)
	wantM, wantFlows := reach.ComputeFlows(c)
	assert.Equal(t, wantFlows, flows)
	assert.Len(t, m.Allowances, len(wantM.Allowances))
	assert.NotEmpty(t, flows)
}
