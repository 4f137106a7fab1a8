package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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

// failingWriter refuses every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteJSONFails: a value encoding/json refuses and a writer that
// fails are both errors of writeJSON.
func TestWriteJSONFails(t *testing.T) {
	var b bytes.Buffer
	require.Error(t, writeJSON(&b, map[string]any{"x": []any{math.NaN()}}))
	require.Zero(t, b.Len(), "nothing written for a value that does not encode")
	require.EqualError(t, writeJSON(failingWriter{}, map[string]any{"x": 1}), "disk full")
}
