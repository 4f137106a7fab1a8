package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
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
