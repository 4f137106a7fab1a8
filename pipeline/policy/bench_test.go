package policy

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// BenchmarkEvaluate5000 evaluates every rule of rego/ on a synthetic
// cluster of 5,000 workloads in 50 namespaces (3,000 policies, over four
// million connections) with its promotion source computed separately, as
// check does for prod and staging, input building included. It measured
// 1.7–2.4 s per evaluation on the 2-core development machine; what a
// user waits for is BenchmarkScaleCheck's (cmd/reachgate).
func BenchmarkEvaluate5000(b *testing.B) {
	c := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})
	m := reach.Compute(c)
	staging := reach.Compute(c)
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{Params: seedParams, Now: pinned})
	require.NoError(b, err)
	in := Input{Overlay: "prod", Environment: "prod", Cluster: c, Matrix: m, Promotion: &Promotion{From: "staging", Matrix: staging}}
	b.ReportMetric(float64(len(m.Connections)), "connections")
	var n int
	b.ResetTimer()
	for b.Loop() {
		fs, err := e.Evaluate(context.Background(), in)
		require.NoError(b, err)
		n = len(fs)
	}
	b.ReportMetric(float64(n), "findings")
}

// BenchmarkBuildInput5000 is the input-building part of the above.
func BenchmarkBuildInput5000(b *testing.B) {
	c := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})
	m := reach.Compute(c)
	staging := reach.Compute(c)
	in := Input{Cluster: c, Matrix: m, Promotion: &Promotion{From: "staging", Matrix: staging}}
	b.ResetTimer()
	for b.Loop() {
		_, _, err := buildInput(in)
		require.NoError(b, err)
	}
}

// BenchmarkCompareInputs5000 compares two input documents of the same
// 5,000-workload cluster, built separately as check builds the head's and
// the base's, at the footprint of every rule of rego/: what EvaluatePair
// pays when a pull request changes nothing the rules read.
func BenchmarkCompareInputs5000(b *testing.B) {
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{Params: seedParams, Now: pinned})
	require.NoError(b, err)
	docs := make([]ast.Value, 2)
	for i := range docs {
		c := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})
		docs[i], _, err = buildInput(Input{Cluster: c, Matrix: reach.Compute(c)})
		require.NoError(b, err)
	}
	b.ResetTimer()
	for b.Loop() {
		c := newComparison(docs[0], docs[1])
		for _, fp := range e.footprints {
			require.True(b, c.same(fp))
		}
	}
}

// BenchmarkGroupFlows5000 groups the connections of the same 5,000-workload
// matrix into the flows of the rules' input: once per input built, so
// twice in a check.
func BenchmarkGroupFlows5000(b *testing.B) {
	c := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})
	m := reach.Compute(c)
	pc := newPeerClasses(m)
	var n int
	b.ResetTimer()
	for b.Loop() {
		n = len(groupFlows(m, pc, m.Connections, nil))
	}
	b.ReportMetric(float64(n), "flows")
}
