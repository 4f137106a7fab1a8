package render

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitDocuments(t *testing.T) {
	t.Parallel()
	in := "# head\napiVersion: v1\n---\n\n--- # second\nkind: A\n...\nkind: B\r\n---\nkey: |\n  ---indented\n  text\n---x: not a marker\n"
	docs := splitDocuments([]byte(in))
	var lines []int
	var values []any
	for _, d := range docs {
		require.NoError(t, d.err)
		lines = append(lines, d.line)
		if d.node == nil {
			values = append(values, nil)
			continue
		}
		v, err := toValue(d.node, d.offset)
		require.NoError(t, err)
		values = append(values, v)
	}
	assert.Equal(t, []int{2, 3, 6, 8, 10}, lines)
	assert.Equal(t, []any{
		map[string]any{"apiVersion": "v1"},
		nil, // "---" then a blank line: an empty document
		map[string]any{"kind": "A"},
		map[string]any{"kind": "B"},
		// An indented "---" is block scalar text; "---x" at column 0 is
		// not a marker.
		map[string]any{"key": "---indented\ntext\n", "---x": "not a marker"},
	}, values)
}

func TestToValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     any
		err      string
	}{
		{name: "yaml 1.2 scalars", in: "a: y\nb: on\nc: no\nd: true\ne: 010\nf: 0x1F\ng: 1.5\nh: ~\ni: 2024-01-02\nj: !!binary aGk=\nk: '1'\n",
			want: map[string]any{"a": "y", "b": "on", "c": "no", "d": true, "e": int64(8), "f": int64(31), "g": 1.5, "h": nil, "i": "2024-01-02", "j": "aGk=", "k": "1"}},
		{name: "anchors and merge keys", in: "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b]\n",
			want: map[string]any{"base": map[string]any{"x": int64(1), "y": int64(2)}, "use": map[string]any{"x": int64(1), "y": int64(3)}, "list": []any{map[string]any{"x": int64(1), "y": int64(2)}}}},
		{name: "big integer", in: "a: 18446744073709551615\n", want: map[string]any{"a": float64(18446744073709551615)}},
		{name: "duplicate key", in: "a: 1\nb: 2\na: 3\n", err: "a: duplicate key (first at line 1)"},
		{name: "nan", in: "a: .nan\n", err: "a: .nan cannot be represented in JSON"},
		{name: "complex key", in: "? [a]\n: 1\n", err: "mapping keys must be scalars"},
		{name: "bad merge", in: "a:\n  <<: 1\n", err: "a: merge key needs a mapping or a list of mappings"},
	} {
		docs := splitDocuments([]byte(tc.in))
		require.Len(t, docs, 1, tc.name)
		require.NoError(t, docs[0].err, tc.name)
		v, err := toValue(docs[0].node, docs[0].offset)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, v, tc.name)
	}
}

// A billion-laughs document is refused instead of expanded.
func TestToValueAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	docs := splitDocuments([]byte(b.String()))
	require.Len(t, docs, 1)
	require.NoError(t, docs[0].err)
	_, err := toValue(docs[0].node, docs[0].offset)
	assert.ErrorContains(t, err, "document expands to more than 1048576 values")
}

func TestFieldPath(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "spec.ingress[0].from[1]", fieldPath{"spec", "ingress", 0, "from", 1}.String())
	assert.Equal(t, `metadata.labels["app.kubernetes.io/name"]`, fieldPath{"metadata", "labels", "app.kubernetes.io/name"}.String())
	assert.Equal(t, `["a b"].c`, fieldPath{"a b", "c"}.String())
}

func TestToValueCycles(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a: &a [*a]\n":                  "a[0]: alias *a refers to itself",
		"a: &a {b: *a}\n":               "a.b: alias *a refers to itself",
		"a: &a {<<: *a}\n":              "a: alias *a refers to itself",
		strings.Repeat("[", 600) + "\n": "",
	} {
		docs := splitDocuments([]byte(in))
		require.Len(t, docs, 1)
		if docs[0].err != nil {
			continue // the parser refused it first
		}
		_, err := toValue(docs[0].node, docs[0].offset)
		if want == "" {
			assert.ErrorContains(t, err, "nested more than 500 levels deep")
			continue
		}
		assert.EqualError(t, err, want)
	}
}

// TestDecimalAsYAMLReadsIt: every integer the converter reads without
// yaml.v3's decoder is the integer yaml.v3 decodes from the same text,
// and the spellings it leaves to the decoder include YAML's others.
func TestDecimalAsYAMLReadsIt(t *testing.T) {
	texts := []string{"0", "-0", "7", "-7", "10", "123456789012345678", "-123456789012345678",
		"1234567890123456789", "007", "+5", "0x1F", "0o17", "1_000", "1e3", "", "-", "12a", "--1", " 1"}
	for i := range 2000 {
		texts = append(texts, strings.Repeat("9", i%20+1), "-"+strings.Repeat("1", i%20+1))
	}
	for _, s := range texts {
		got, ok := decimal(s)
		var want int64
		err := yaml.Unmarshal([]byte("!!int "+s), &want)
		if ok {
			require.NoError(t, err, "%q", s)
			assert.Equal(t, want, got, "%q", s)
		}
	}
	for _, s := range []string{"007", "+5", "0x1F", "0o17", "1_000", "1234567890123456789"} {
		_, ok := decimal(s)
		assert.False(t, ok, "%q is left to yaml.v3", s)
	}
}
