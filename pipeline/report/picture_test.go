package report

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// fan is a matrix of k workloads (names of the given length) where each
// reaches every one after it on one port: k(k-1)/2 edges in a picture.
func fan(k, nameLen int) *model.Matrix {
	m := &model.Matrix{}
	for i := range k {
		name := strings.Repeat(string(rune('a'+i%26)), nameLen-3) + string(rune('a'+i/26)) + "-w"
		m.Peers = append(m.Peers, model.Peer{Workload: &model.Workload{Namespace: "ns", Name: name, Kind: "Deployment"}})
	}
	a := &model.Allowance{Ports: model.SinglePort(model.TCP, 80, 80)}
	for i := range k {
		for j := i + 1; j < k; j++ {
			m.Connect(int32(i), int32(j), a)
		}
	}
	return m
}

// warnings writes m in format and returns what its Warn was told.
func warnings(t *testing.T, format string, m *model.Matrix) []string {
	t.Helper()
	var got []string
	var b bytes.Buffer
	require.NoError(t, WriteMatrix(&b, format, m, MatrixOptions{Warn: func(s string) { got = append(got, s) }}))
	require.NotZero(t, b.Len(), "the picture is written all the same")
	return got
}

// TestPictureWarnings: reach warns when a picture is past what its reader
// draws: Mermaid's default maxEdges (500) and maxTextSize (50,000), more
// than 1,000 edges for Graphviz, more than 100,000 rows in a page; and
// not below those.
func TestPictureWarnings(t *testing.T) {
	t.Parallel()
	m496, m528, m1035 := fan(32, 8), fan(33, 8), fan(46, 8)
	for _, format := range []string{"dot", "mermaid", "html", "txt", "md", "csv", "json", "jsonl"} {
		assert.Empty(t, warnings(t, format, m496), format)
	}
	got := warnings(t, "mermaid", m528)
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "the Mermaid flowchart has 528 edges; Mermaid draws at most 500 unless whoever renders it raises maxEdges")
	assert.True(t, strings.HasSuffix(got[0], ": focus it with --namespace or --workload"), got[0])
	assert.Empty(t, warnings(t, "dot", m528))
	got = warnings(t, "dot", m1035)
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "the DOT graph has 1,035 edges, more than 1,000")
	assert.Empty(t, warnings(t, "html", m1035))

	// Few edges, long names: the text is past Mermaid's maxTextSize.
	long := fan(10, 600)
	var b bytes.Buffer
	require.NoError(t, WriteMatrix(&b, "mermaid", long, MatrixOptions{}))
	require.Greater(t, b.Len(), 50_000)
	got = warnings(t, "mermaid", long)
	require.Len(t, got, 1, "once, for its length")
	assert.Contains(t, got[0], "the Mermaid flowchart is "+count(utf8.RuneCount(b.Bytes()))+" characters long; Mermaid draws at most 50,000 unless whoever renders it raises maxTextSize")
	assert.Empty(t, warnings(t, "dot", long))

	assert.Empty(t, pictureWarning("html", 0, 100_000, 0))
	assert.Contains(t, pictureWarning("html", 0, 100_001, 0), "the page has 100,001 rows")
	assert.Empty(t, pictureWarning("mermaid", 500, 0, 50_000))
	assert.Empty(t, pictureWarning("dot", 1_000, 0, 0))
	assert.Empty(t, pictureWarning("txt", 1_000_000, 1_000_000, 1<<40))

	// The length is Mermaid's, in UTF-16 code units, not bytes: 30,000
	// two-byte characters (60,000 bytes) are within its limit, and a
	// character past U+FFFF counts two, even split between writes.
	var cw countingWriter
	cw.w = io.Discard
	_, err := cw.Write([]byte(strings.Repeat("é", 30_000)))
	require.NoError(t, err)
	assert.EqualValues(t, 30_000, cw.units)
	assert.Empty(t, pictureWarning("mermaid", 10, 0, cw.units))
	smile := []byte("😀a")
	for _, part := range [][]byte{smile[:1], smile[1:3], smile[3:]} {
		_, err := cw.Write(part)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 30_003, cw.units)
	assert.Contains(t, pictureWarning("mermaid", 10, 0, 50_001), "the Mermaid flowchart is 50,001 characters long")

	// No Warn, no warning (and no panic).
	require.NoError(t, WriteMatrix(&b, "dot", m1035, MatrixOptions{}))
}
