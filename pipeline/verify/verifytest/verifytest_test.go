package verifytest_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/verify/verifytest"
)

// TestSynthetic50 is the lab's reference size: 50 workloads in 5
// namespaces. The figures it logs are the ones docs/verify.md quotes.
func TestSynthetic50(t *testing.T) {
	c := verifytest.Cluster(t, synth.Cluster(synth.Options{Workloads: 50, Namespaces: 5, Seed: 1}))
	res := verifytest.Check(t, c, reach.Compute(c))
	assert.GreaterOrEqual(t, res.Workloads, 50)
	total := res.Timings.Setup + res.Timings.Rules + res.Timings.Probe + res.Timings.Teardown
	t.Logf("50 workloads: setup %s, rules %s, probes %s, teardown %s, total %s",
		res.Timings.Setup, res.Timings.Rules, res.Timings.Probe, res.Timings.Teardown, total)
}

// TestRandomClusters checks the engine on random clusters, large ones and
// small-alphabet ones where labels, ports and CIDRs collide often.
func TestRandomClusters(t *testing.T) {
	for seed := uint64(10); seed < 16; seed++ {
		for _, small := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed%d-small=%v", seed, small), func(t *testing.T) {
				c := verifytest.Cluster(t, synth.Cluster(synth.Options{Workloads: 24, Namespaces: 3, Seed: seed, Small: small}))
				res := verifytest.Check(t, c, reach.Compute(c))
				assert.NotZero(t, res.Probes)
			})
		}
	}
}

// recorder keeps the errors Check reports instead of failing the test.
type recorder struct {
	*testing.T
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheckReportsMismatches(t *testing.T) {
	c := verifytest.Cluster(t, synth.Cluster(synth.Options{Workloads: 8, Namespaces: 2, Seed: 3}))
	m := reach.Compute(c)
	// Claim that nothing is allowed: every flow the kernel lets through
	// must come back as an error.
	empty := *m
	empty.Connections = nil
	rec := &recorder{T: t}
	res := verifytest.Check(rec, c, &empty)
	require.NotZero(t, res.Allowed, "the cluster must allow something for this test to mean anything")
	assert.Len(t, rec.errors, res.Allowed)
	for _, e := range rec.errors {
		assert.Contains(t, e, "engine says deny, kernel says allow")
	}
}
