package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// TestMatrixDocumentReadsBack: the rules, grants and allowances of a
// matrix document, read back, are the allowances of the matrix, every
// field of every rule reference included (kinds, actions, Pass rules,
// Cilium sections and L7 rules), and each rule and grant is listed once.
func TestMatrixDocumentReadsBack(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 80, Namespaces: 4, Seed: 7, AdminPolicies: 8, Baseline: true, CiliumPolicies: 30})
	m := reach.Compute(c)
	var b bytes.Buffer
	require.NoError(t, WriteMatrix(&b, "json", m, MatrixOptions{}))
	var doc jsonMatrix
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&doc))
	require.NoError(t, doc.check())

	text := func(a *model.Allowance) string {
		var s []string
		for _, g := range a.Grants {
			s = append(s, fmt.Sprintf("%s|%+v|%+v", g.Ports, g.Egress, g.Ingress))
		}
		return fmt.Sprintf("%s %v %s", a.Ports, a.AddressDependent, strings.Join(s, "; "))
	}
	var want, got []string
	for _, a := range m.Allowances {
		want = append(want, text(a))
	}
	for i := range doc.Allowances {
		got = append(got, text(doc.allowance(int32(i))))
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got)

	seen := map[string]bool{}
	fields := map[string]bool{}
	for _, r := range doc.Rules {
		k := string(r.appendJSON(nil))
		require.False(t, seen[k], "rule %s listed twice", k)
		seen[k] = true
		fields["kind"] = fields["kind"] || r.Kind != ""
		fields["section"] = fields["section"] || r.Section != ""
		fields["l7"] = fields["l7"] || r.L7 != ""
		fields["passedBy"] = fields["passedBy"] || r.PassedBy != ""
	}
	require.Equal(t, map[string]bool{"kind": true, "section": true, "l7": true, "passedBy": true}, fields, "the cluster must exercise every field")
	for _, g := range doc.Grants {
		k := string(g.appendJSON(nil))
		require.False(t, seen[k], "grant %s listed twice", k)
		seen[k] = true
	}
}

// TestMatrixDocumentBadIndices: a document read back whose flows,
// allowances or grants name what it does not hold is refused, with the
// path of the bad index.
func TestMatrixDocumentBadIndices(t *testing.T) {
	t.Parallel()
	doc := func() *jsonMatrix {
		var b bytes.Buffer
		require.NoError(t, WriteMatrix(&b, "json", reach.Compute(shopHead()), MatrixOptions{}))
		var d jsonMatrix
		require.NoError(t, json.Unmarshal(b.Bytes(), &d))
		require.NoError(t, d.check())
		return &d
	}
	for _, c := range []struct {
		spoil func(d *jsonMatrix)
		want  string
	}{
		{func(d *jsonMatrix) { d.Flows[0].Allowance = 99 }, "flows[0].allowance: 99 of 7"},
		{func(d *jsonMatrix) { d.Allowances[2].Grants[0] = 7 }, "allowances[2].grants[0]: grant 7 of 7"},
		{func(d *jsonMatrix) { d.Allowances[1].Grants[0] = -1 }, "allowances[1].grants[0]: grant -1 of 7"},
		{func(d *jsonMatrix) { d.Allowances[3] = nil }, "allowances[3]: null"},
		{func(d *jsonMatrix) { d.Grants[4].Egress = 8 }, "grants[4].egress: rule 8 of 8"},
		{func(d *jsonMatrix) { d.Grants[0].Ingress = -2 }, "grants[0].ingress: rule -2 of 8"},
	} {
		d := doc()
		c.spoil(d)
		require.EqualError(t, d.check(), c.want)
	}
}

// TestEvidenceOfVersion2Reads: an evidence document written by the
// reachgate before formatVersion 3 (testdata/evidence-v2.json, the
// golden evidence as that version wrote it) reads as the same document
// written today, matrices and their provenance included, with the digest
// of its own bytes.
func TestEvidenceOfVersion2Reads(t *testing.T) {
	t.Parallel()
	read := func(file string) *Evidence {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		e, err := ReadEvidence(file, data)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		require.Equal(t, hex.EncodeToString(sum[:]), e.SHA256)
		return e
	}
	old, now := read("testdata/evidence-v2.json"), read("testdata/golden/check.evidence.json")
	matrices := 0
	for _, o := range now.doc.Overlays {
		if o.Reachability != nil && len(o.Reachability.Grants) > 0 {
			matrices++
		}
		require.Equal(t, flowsOf(now, o.Name), flowsOf(old, o.Name), o.Name)
	}
	require.NotZero(t, matrices, "no overlay has a matrix: the test tests nothing")
	require.Equal(t, now.doc, old.doc)
	require.Equal(t, "2", old.version, "the predicate names the file's version")

	// Version 2 documents that are not what version 2 wrote.
	for _, c := range []struct{ doc, want string }{
		{`{"formatVersion":"2","kind":"ReachgateEvidence","overlays":[{"name":"dev","reachability":{"allowances":[{"grants":[0]}]}}]}`,
			`old.json: formatVersion 2: overlays[0].reachability.allowances: json: unknown field "grants"`},
		{`{"formatVersion":"2","kind":"ReachgateEvidence","overlays":[{"name":"dev","reachability":null},{"name":"prod","reachability":{"allowances":[null]}}]}`,
			`old.json: formatVersion 2: overlays[1].reachability.allowances[0]: null`},
		{`{"formatVersion":"2","kind":"ReachgateEvidence","overlays":{"name":"dev"}}`,
			`old.json: formatVersion 2: overlays: json: cannot unmarshal object`},
	} {
		_, err := ReadEvidence("old.json", []byte(c.doc))
		require.ErrorContains(t, err, c.want)
	}
}

// TestProvenanceInRuns holds the provenance read in runs of one to seven
// allowances, their tables joined, to the provenance read in one run: the
// same rules and grants, numbered alike. It is not parallel: it sets the
// run.
func TestProvenanceInRuns(t *testing.T) {
	defer func(run int) { provenanceRun = run }(provenanceRun)
	c := synth.Cluster(synth.Options{Workloads: 80, Namespaces: 4, Seed: 7, AdminPolicies: 8, Baseline: true, CiliumPolicies: 30})
	m := reach.Compute(c)
	used := make([]int32, len(m.Allowances))
	for i := range used {
		used[i] = int32(len(used) - 1 - i) // not the matrix's order
	}
	provenanceRun = len(used)
	want := provenanceOf(m.Allowances, used)
	require.Greater(t, len(want.Rules), 10)
	require.Greater(t, len(want.Grants), 10)
	for run := 1; run <= 7; run++ {
		provenanceRun = run
		if got := provenanceOf(m.Allowances, used); !reflect.DeepEqual(got, want) {
			t.Fatalf("runs of %d: the provenance differs from one run's", run)
		}
	}
}
