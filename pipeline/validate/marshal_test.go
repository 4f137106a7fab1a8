package validate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/render"
)

// TestAppendDocAsMarshal: appendDoc writes what json.Marshal writes, for
// every object rendered from this repository's overlays and for random
// documents with every value the renderer makes (and some it does not),
// strings that need escaping, and numbers at the edges of their formats.
func TestAppendDocAsMarshal(t *testing.T) {
	same := func(t *testing.T, v any) {
		t.Helper()
		want, err := json.Marshal(v)
		require.NoError(t, err)
		got, err := appendDoc([]byte("prefix"), v)
		require.NoError(t, err)
		require.Equal(t, "prefix"+string(want), string(got))
	}
	t.Run("overlays", func(t *testing.T) {
		root, err := filepath.Abs("../..")
		require.NoError(t, err)
		dirs, err := filepath.Glob(filepath.Join(root, "overlays", "*"))
		require.NoError(t, err)
		require.NotEmpty(t, dirs)
		n := 0
		for _, dir := range dirs {
			objs, err := render.OverlayRoot(filesys.MakeFsOnDisk(), root, dir)
			require.NoError(t, err, dir)
			for _, o := range objs {
				same(t, o.Doc)
				n++
			}
		}
		require.Greater(t, n, 100)
	})
	t.Run("random", func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		words := []string{"", "app", "a\"b", `c:\d`, "tab\t", "\n", "\x00\x1f", "<b>&amp;</b>", "\u2028\u2029", "ünï", "\xff", "10.0.0.0/8", "😀"}
		numbers := []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 0.0, math.Copysign(0, -1), 0.1, 1e20, 1e21, 1e-6, 1e-7, -2.5e-300, math.MaxFloat64, float64(1 << 53), 3, uint8(7), json.Number("12")}
		var value func(depth int) any
		value = func(depth int) any {
			switch k := r.IntN(8); {
			case k == 0 || depth > 4 && k < 4:
				return words[r.IntN(len(words))]
			case k == 1:
				return numbers[r.IntN(len(numbers))]
			case k == 2:
				return []bool{true, false}[r.IntN(2)] // a bool
			case k == 3:
				return nil
			case k < 6:
				if r.IntN(8) == 0 {
					return []any(nil)
				}
				l := make([]any, r.IntN(4))
				for i := range l {
					l[i] = value(depth + 1)
				}
				return l
			default:
				if r.IntN(8) == 0 {
					return map[string]any(nil)
				}
				m := map[string]any{}
				for range r.IntN(5) {
					m[words[r.IntN(len(words))]+words[r.IntN(len(words))]] = value(depth + 1)
				}
				return m
			}
		}
		for range 5000 {
			same(t, value(0))
		}
	})
}

// TestAppendDocFailsAsMarshal: a value json.Marshal refuses, however
// deep, fails appendDoc with json.Marshal's error.
func TestAppendDocFailsAsMarshal(t *testing.T) {
	for _, v := range []any{
		math.NaN(),
		map[string]any{"spec": []any{map[string]any{"x": math.Inf(1)}}},
		[]any{"a", make(chan int)},
	} {
		_, want := json.Marshal(v)
		require.Error(t, want)
		_, err := appendDoc(nil, v)
		require.EqualError(t, err, want.Error())
	}
}
