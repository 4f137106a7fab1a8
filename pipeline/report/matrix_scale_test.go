package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// scaleMatrix is a synthetic cluster's matrix with address ranges at both
// ends of many flows, small enough to check pair by pair.
func scaleMatrix(t *testing.T) *model.Matrix {
	t.Helper()
	m := reach.Compute(synth.Cluster(synth.Options{Workloads: 120, Namespaces: 6, Seed: 4, Small: true}))
	external := 0
	for _, c := range m.Connections {
		if !m.Peers[c.Src].IsWorkload() {
			external++
		}
	}
	require.Greater(t, external, 50, "the cluster tests no flows from address ranges")
	return m
}

var scaleFocuses = []MatrixOptions{{}, {Namespace: "ns-01"}, {Workload: "internet"}, {Workload: "ns-02/w-00002"}, {EveryRange: true}}

// TestMatrixRowsStreamAsTheyGroup: the rows the text formats stream are
// the rows of grouping every connection at once (how they were made
// before they streamed), in the same order.
func TestMatrixRowsStreamAsTheyGroup(t *testing.T) {
	t.Parallel()
	m := scaleMatrix(t)
	for _, opts := range scaleFocuses {
		v, err := newMatrixView(m, opts)
		require.NoError(t, err)
		all := v.list()
		var want []flowRow[viewConn]
		if opts.EveryRange {
			for _, c := range all {
				want = append(want, flowRow[viewConn]{first: c, src: v.src(c).String(), dst: v.dst(c).String(), flows: 1})
			}
		} else {
			want = groupRanges(all,
				func(c viewConn) (model.Peer, model.Peer) { return *v.src(c), *v.dst(c) },
				func(c viewConn) string {
					return portsText(c.Allowance) + "|" + grantsText(c.Allowance) + "|" + mayDenyText(*v.src(c), *v.dst(c))
				})
		}
		got := v.rows(opts)
		require.Equal(t, len(want), len(got), "%+v", opts)
		for i := range want {
			assert.Equal(t, want[i].src, got[i].src, "%+v row %d", opts, i)
			assert.Equal(t, want[i].dst, got[i].dst, "%+v row %d", opts, i)
			assert.Equal(t, want[i].flows, got[i].flows, "%+v row %d", opts, i)
			assert.Equal(t, want[i].first, got[i].first, "%+v row %d", opts, i)
		}
	}
}

// pairsOf expands a JSON matrix's flows into "src -> dst" lines with the
// allowance's ports, sorted.
func pairsOf(t *testing.T, doc jsonMatrix) []string {
	t.Helper()
	var out []string
	for i, f := range doc.Flows {
		require.NotEmpty(t, f.Srcs, "flow %d", i)
		require.NotEmpty(t, f.Dsts, "flow %d", i)
		a := doc.Allowances[f.Allowance]
		require.True(t, a.Ports.Equal(f.Ports.PortSet), "flow %d: its ports are its allowance's", i)
		for _, s := range f.Srcs {
			for _, d := range f.Dsts {
				out = append(out, peerText(doc.Peers[s])+" -> "+peerText(doc.Peers[d])+" "+a.Ports.String())
			}
		}
	}
	slices.Sort(out)
	return out
}

func peerText(p jsonPeer) string {
	switch {
	case p.IPRange != "" && p.External != "":
		return p.External + "(" + p.IPRange + ")"
	case p.IPRange != "":
		return p.IPRange
	}
	return p.Namespace + "/" + p.Name + "[" + p.Kind + "]"
}

// TestMatrixJSONFlowsHoldEveryPair: the flows of the JSON format expand
// to exactly the connections of the matrix (of the focus), each once, and
// the jsonl format lists the same pairs one per line.
func TestMatrixJSONFlowsHoldEveryPair(t *testing.T) {
	t.Parallel()
	m := scaleMatrix(t)
	for _, opts := range scaleFocuses[:4] {
		v, err := newMatrixView(m, opts)
		require.NoError(t, err)
		var want []string
		for c := range v.conns() {
			want = append(want, v.src(c).String()+" -> "+v.dst(c).String()+" "+c.Ports.String())
		}
		slices.Sort(want)

		var doc jsonMatrix
		require.NoError(t, json.Unmarshal([]byte(renderMatrix(t, "json", m, opts)), &doc))
		got := pairsOf(t, doc)
		assert.Equal(t, want, got, "%+v", opts)
		assert.Equal(t, len(want), doc.Connections)
		if opts.Workload == "" && opts.Namespace == "" {
			assert.Less(t, len(doc.Flows), len(want)/3, "flows group the pairs")
		}
		assert.Equal(t, doc.Flows, compactFlows(doc.Flows), "flows are in order")

		sc := bufio.NewScanner(strings.NewReader(renderMatrix(t, "jsonl", m, opts)))
		sc.Buffer(nil, 1<<24)
		require.True(t, sc.Scan())
		var h jsonlHeader
		require.NoError(t, json.Unmarshal(sc.Bytes(), &h))
		assert.Equal(t, len(want), h.Connections)
		var lines []string
		for sc.Scan() {
			var p struct {
				Src, Dst  jsonPeer
				Ports     jsonPorts
				Allowance int
			}
			require.NoError(t, json.Unmarshal(sc.Bytes(), &p))
			require.True(t, h.Allowances[p.Allowance].Ports.Equal(p.Ports.PortSet))
			lines = append(lines, peerText(p.Src)+" -> "+peerText(p.Dst)+" "+p.Ports.String())
		}
		slices.Sort(lines)
		assert.Equal(t, want, lines, "%+v", opts)
	}
}

// compactFlows is flows sorted by first source, then first destination.
func compactFlows(fs []jsonFlow) []jsonFlow {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b jsonFlow) int {
		if a.Srcs[0] != b.Srcs[0] {
			return int(a.Srcs[0] - b.Srcs[0])
		}
		return int(a.Dsts[0] - b.Dsts[0])
	})
	return out
}

// TestMatrixInAnyOrderRendersTheSame: a hand-built matrix whose peers and
// connections are in no particular order renders as the same matrix in
// display order does.
func TestMatrixInAnyOrderRendersTheSame(t *testing.T) {
	t.Parallel()
	m := scaleMatrix(t)
	r := rand.New(rand.NewPCG(1, 2))
	perm := r.Perm(len(m.Peers))
	shuffled := *m
	shuffled.Peers = make([]model.Peer, len(m.Peers))
	for i, p := range perm {
		shuffled.Peers[p] = m.Peers[i]
	}
	shuffled.Connections = nil
	for _, c := range m.Connections {
		shuffled.Connections = append(shuffled.Connections, model.Connection{Src: int32(perm[c.Src]), Dst: int32(perm[c.Dst]), Allowance: c.Allowance})
	}
	r.Shuffle(len(shuffled.Connections), func(i, j int) {
		shuffled.Connections[i], shuffled.Connections[j] = shuffled.Connections[j], shuffled.Connections[i]
	})
	require.False(t, inDisplayOrder(&shuffled))
	for _, opts := range scaleFocuses {
		for _, f := range []string{"txt", "csv", "json", "jsonl", "md"} {
			assert.Equal(t, renderMatrix(t, f, m, opts), renderMatrix(t, f, &shuffled, opts), "%s %+v", f, opts)
		}
	}
}

// TestMatrixFlowsAsJSON: the document WriteMatrixFlows writes from the
// engine's flows by column (reach.ComputeFlows) is the json format's of
// the same matrix, pair for pair, but for how the flows cut the pairs:
// the same peers, rules, grants, allowances (numbered alike),
// connections and unmanaged workloads, and its flows in order.
func TestMatrixFlowsAsJSON(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 120, Namespaces: 6, Seed: 4, Small: true, AdminPolicies: 6, Baseline: true, CiliumPolicies: 8})
	var want jsonMatrix
	require.NoError(t, json.Unmarshal([]byte(renderMatrix(t, "json", reach.Compute(c), MatrixOptions{Title: "prod"})), &want))
	m, flows := reach.ComputeFlows(c)
	var b bytes.Buffer
	require.NoError(t, WriteMatrixFlows(&b, m, flows, MatrixOptions{Title: "prod"}))
	var got jsonMatrix
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))

	assert.Equal(t, pairsOf(t, want), pairsOf(t, got))
	assert.Equal(t, got.Flows, compactFlows(got.Flows), "flows are in order")
	assert.NotEqual(t, want.Flows, got.Flows, "the cluster tells rows from columns")
	got.Flows, want.Flows = nil, nil
	assert.Equal(t, want, got)
}

// TestFromFlows: only the json format of the whole matrix is written
// from flows; a focus needs the connections, and WriteMatrixFlows says so.
func TestFromFlows(t *testing.T) {
	t.Parallel()
	assert.True(t, FromFlows("json", MatrixOptions{Title: "prod", EveryRange: true}))
	assert.True(t, FromFlows("json", MatrixOptions{Workload: "  "}), "a blank focus is none")
	assert.False(t, FromFlows("json", MatrixOptions{Workload: "ns-01/w-00001"}))
	assert.False(t, FromFlows("json", MatrixOptions{Namespace: "ns-01"}))
	assert.False(t, FromFlows("jsonl", MatrixOptions{}))
	assert.False(t, FromFlows("txt", MatrixOptions{}))
	m, flows := reach.ComputeFlows(synth.Cluster(synth.Options{Workloads: 20, Namespaces: 2, Seed: 1, Small: true}))
	assert.ErrorContains(t, WriteMatrixFlows(io.Discard, m, flows, MatrixOptions{Namespace: "ns-01"}), "focused")
}

// rows collects eachRow's rows.
func (v *matrixView) rows(opts MatrixOptions) []flowRow[viewConn] {
	var out []flowRow[viewConn]
	v.eachRow(opts, func(r flowRow[viewConn]) { out = append(out, r) })
	return out
}

// list collects conns' connections.
func (v *matrixView) list() []viewConn {
	out := make([]viewConn, 0, v.n)
	for c := range v.conns() {
		out = append(out, c)
	}
	return out
}
