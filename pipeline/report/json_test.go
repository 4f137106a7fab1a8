package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/reach"
)

// TestWriteJSONAsEncoder: writeJSON writes what an Encoder with
// SetEscapeHTML(false) and SetIndent("", "  ") writes, for random values
// with empty and nested containers and strings holding the characters
// the indenter must not take for structure (quotes, escapes, brackets,
// commas, colons).
func TestWriteJSONAsEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"", "a", `"`, `\`, `\"`, `"\`, "{}", "[],:", "<a&b>", "line\nbreak", "\x00", "ü", "\u2028"}
	var value func(depth int) any
	value = func(depth int) any {
		switch k := r.IntN(9); {
		case k == 0 || depth > 4 && k < 5:
			return words[r.IntN(len(words))]
		case k == 1:
			return []any{-1.5e-9, 0, 12345678, 1e21}[r.IntN(4)]
		case k == 2:
			return r.IntN(2) == 0
		case k == 3:
			return nil
		case k == 4:
			return jsonPorts{} // a MarshalJSON value
		case k < 7:
			l := make([]any, r.IntN(4))
			for i := range l {
				l[i] = value(depth + 1)
			}
			return l
		default:
			m := map[string]any{}
			for range r.IntN(4) {
				m[words[r.IntN(len(words))]] = value(depth + 1)
			}
			return m
		}
	}
	for range 3000 {
		v := value(0)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		require.NoError(t, enc.Encode(v))
		var got bytes.Buffer
		require.NoError(t, writeJSON(&got, v))
		require.Equal(t, want.String(), got.String())
	}
}

// TestMarshalEachInOrder: marshalEach writes every element once, in
// order, across batches and workers, elements of any length (a worker's
// buffer grows under the elements it already encoded), and stops at the
// first element that fails.
func TestMarshalEachInOrder(t *testing.T) {
	const n = 10000
	elem := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), i%300) + strconv.Itoa(i) }
	var got []string
	require.NoError(t, marshalEach(n, func(b []byte, i int) ([]byte, error) { return append(b, elem(i)...), nil }, func(i int, b []byte) {
		require.Equal(t, len(got), i)
		got = append(got, string(b))
	}))
	require.Len(t, got, n)
	for i, s := range got {
		require.Equal(t, elem(i), s)
	}
	written := 0
	err := marshalEach(n, func(b []byte, i int) ([]byte, error) {
		if i == 5000 {
			return nil, errors.New("element 5000")
		}
		return append(b, 'x'), nil
	}, func(int, []byte) { written++ })
	require.EqualError(t, err, "element 5000")
	require.Equal(t, 5000, written, "the elements before the failing one")
}

// TestWriteJSONFails: a value encoding/json refuses and a writer that
// fails are both errors of writeJSON.
func TestWriteJSONFails(t *testing.T) {
	var b bytes.Buffer
	require.Error(t, writeJSON(&b, map[string]any{"x": []any{math.NaN()}}))
	require.Zero(t, b.Len(), "nothing written for a value that does not encode")
	require.EqualError(t, writeJSON(&failsAfter{}, map[string]any{"x": 1}), "disk full")
}

// failsAfter takes n bytes, then refuses every write (the zero value
// refuses the first).
type failsAfter struct{ n int }

func (w *failsAfter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	return k, errors.New("disk full")
}

// TestEveryFormatReportsAFailingWriter: every check report, matrix and
// diff format, streamed or not, returns the writer's error when it fails,
// at its first byte or later in the document; none reports success.
func TestEveryFormatReportsAFailingWriter(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	ms := reach.ComputeAll(shop(), shopHead())
	d := reach.Diff(ms[0], ms[1])
	type doc struct {
		name  string
		write func(io.Writer) error
	}
	var docs []doc
	for _, f := range Formats() {
		docs = append(docs, doc{"check " + f, func(w io.Writer) error { return Write(w, f, r, Options{}) }})
	}
	for _, f := range MatrixFormats() {
		docs = append(docs, doc{"reach " + f, func(w io.Writer) error { return WriteMatrix(w, f, ms[1], MatrixOptions{}) }})
	}
	for _, f := range DiffFormats() {
		docs = append(docs, doc{"diff " + f, func(w io.Writer) error { return WriteDiff(w, f, "dev", d) }})
	}
	for _, dc := range docs {
		var whole bytes.Buffer
		require.NoError(t, dc.write(&whole), dc.name)
		require.NotZero(t, whole.Len(), dc.name)
		for _, n := range []int{0, 1, whole.Len() / 2, whole.Len() - 1} {
			require.EqualError(t, dc.write(&failsAfter{n: n}), "disk full", "%s, failing after %d of %d bytes", dc.name, n, whole.Len())
		}
	}
}

// TestJSONStreamStopsAtAValueThatDoesNotEncode: once a piece fails to
// encode, the stream writes nothing more and close returns the error.
func TestJSONStreamStopsAtAValueThatDoesNotEncode(t *testing.T) {
	t.Parallel()
	for _, failing := range []string{"object", "each", "rest"} {
		var b bytes.Buffer
		s := newJSONStream(&b)
		bad := map[string]any{"x": math.NaN()}
		pick := func(name string, good any) any {
			if name == failing {
				return bad
			}
			return good
		}
		s.object(pick("object", struct{ A int }{1}), "list", "[")
		s.each(3, func(b []byte, i int) ([]byte, error) {
			if failing == "each" && i == 1 {
				return nil, errors.New("element 1")
			}
			return strconv.AppendInt(b, int64(i), 10), nil
		})
		s.raw("]")
		s.rest(pick("rest", struct{ Z int }{2}))
		s.raw(`,"after":true}`)
		err := s.close()
		require.Error(t, err, failing)
		if failing == "each" {
			require.EqualError(t, err, "element 1")
		}
		require.NotContains(t, b.String(), "after", "%s: nothing past the failure reaches the writer", failing)
	}
}
