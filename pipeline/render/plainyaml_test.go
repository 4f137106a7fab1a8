package render

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
)

// samePlain checks that whatever parsePlain takes, yaml.v3 parses to the
// same nodes, and says whether parsePlain took it.
func samePlain(t *testing.T, text []byte) bool {
	t.Helper()
	got, ok := parsePlain(text)
	if !ok {
		return false
	}
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		t.Fatalf("parsePlain takes what yaml.v3 refuses (%v):\n%s", err, text)
	}
	require.Equal(t, yaml.DocumentNode, root.Kind)
	require.Len(t, root.Content, 1)
	want := root.Content[0]
	dropComments(want)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("parsePlain and yaml.v3 differ on\n%s\nyaml.v3:  %s\nparsePlain: %s", text, nodeString(want), nodeString(got))
	}
	return true
}

// dropComments clears the comments of a node tree, which parsePlain
// drops.
func dropComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		dropComments(c)
	}
}

func nodeString(n *yaml.Node) string {
	var b strings.Builder
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		fmt.Fprintf(&b, "\n%s%d %s %q style %d at %d:%d, content nil %t", strings.Repeat("  ", depth), n.Kind, n.Tag, n.Value, n.Style, n.Line, n.Column, n.Content == nil)
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// Every document of this repository's YAML files and of a synthetic
// cluster that parsePlain takes, yaml.v3 parses to the same nodes; and
// parsePlain takes every document the synthetic generator writes (it is
// there for them) and most of the reference overlays'.
func TestPlainYAMLAsYAMLv3(t *testing.T) {
	chunksOf := func(root string) (all, taken int) {
		require.NoError(t, filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
				return err
			}
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			for _, c := range splitChunks(b) {
				all++
				if samePlain(t, c.text) {
					taken++
				}
			}
			return nil
		}))
		return all, taken
	}
	dir := t.TempDir()
	c := synth.Cluster(synth.Options{Workloads: 300, Namespaces: 10, PolicyRatio: 0.7, Seed: 3})
	_, err := synth.WriteTree(dir, c, synth.TreeOptions{})
	require.NoError(t, err)
	all, taken := chunksOf(filepath.Join(dir, "bases"))
	assert.Greater(t, all, 800)
	assert.Equal(t, all, taken, "the synthetic cluster's documents")

	all, taken = chunksOf("../..")
	t.Logf("this repository: parsePlain takes %d of %d documents", taken, all)
	assert.Greater(t, all, 500)
	assert.Greater(t, taken, all/3)
}

// plainWords are scalars around the edges of what parsePlain takes.
var plainWords = []string{
	"a", "app", "x y", "v1", "registry.example/app:1.0", "http://a.b/c", "a:b", "a,b", "a]", "a}", "a'b", `a"b`,
	"true", "True", "TRUE", "tRue", "false", "FALSE", "null", "Null", "NULL", "nuLL", "~", "y", "yes", "on", "No", "<<",
	"0", "7", "07", "08", "10", "123456789012345678", "1234567890123456789", "12345678901234567890", "1e3", "1.5", ".5", "-1", "+5",
	"0x1F", "0o17", "1_000", "2006-01-02", "2006-01-02T15:04:05Z", "10.0.0.0/8", "1/2", "0/0", "1:2", "12:30",
	"{}", "[]", "[a]", "{a: b}", "'x'", `"y"`, `"a: b"`, "'a: b'", `""`, "''", "'it''s'", `"a'b"`,
	"a#b", "a #b", "#x", `"a #b"`, "'#'", "-", "-x", "?x", "a: b", "b:", "a :b", "/", "/a/b", "_x", "./a", "../a", ".5/x", "8m", "100m", "128Mi", "1.4.2", "1e", "0b101", "2006-1-2 15:04:05", ".inf", ".NaN", ".nAn", ":x", ",x", "%x", "@x", "=x", "x=", "(x)", "a - b", "a -b",
}

// genPlain writes a random document in the block style parsePlain reads,
// with its variations: indentation widths, sequences at their key's
// indentation, mappings in sequence items, extra spaces, blank lines and
// a document marker.
func genPlain(r *rand.Rand) string {
	var b strings.Builder
	if r.IntN(4) == 0 {
		b.WriteString("---\n")
	}
	word := func() string {
		if r.IntN(2) == 0 {
			return plainWords[r.IntN(12)] // ordinary words
		}
		return plainWords[r.IntN(len(plainWords))]
	}
	key := func() string {
		if r.IntN(3) == 0 {
			return word()
		}
		return fmt.Sprintf("k%d", r.IntN(5))
	}
	sp := func() string { return strings.Repeat(" ", 1+r.IntN(2)*r.IntN(3)) }
	var mapping func(indent string, depth int, firstPrefix string)
	var sequence func(indent string, depth int)
	comment := func() string {
		switch r.IntN(12) {
		case 0:
			return " # note"
		case 1:
			return strings.Repeat(" ", r.IntN(3)) + "#x"
		case 2:
			return ` # {"$ref": "#/definitions/x"}`
		}
		return ""
	}
	value := func(indent string, depth int) {
		switch n := r.IntN(10); {
		case n < 6 || depth > 4:
			b.WriteString(":" + sp() + word() + strings.Repeat(" ", r.IntN(2)) + comment() + "\n")
		case n < 8:
			b.WriteString(":" + comment() + "\n")
			if r.IntN(4) == 0 {
				b.WriteString(strings.Repeat(" ", r.IntN(6)) + "# a line of its own\n")
			}
			mapping(indent+strings.Repeat(" ", 1+r.IntN(4)), depth+1, "")
		case n < 9:
			b.WriteString(":\n")
			sequence(indent, depth+1)
		default:
			b.WriteString(":\n")
			sequence(indent+strings.Repeat(" ", 1+r.IntN(3)), depth+1)
		}
	}
	mapping = func(indent string, depth int, firstPrefix string) {
		for i := range 1 + r.IntN(4) {
			switch r.IntN(8) {
			case 0:
				b.WriteString(strings.Repeat(" ", r.IntN(3)) + "\n")
			case 1:
				b.WriteString(strings.Repeat(" ", r.IntN(6)) + "#" + comment() + "\n")
			}
			if i == 0 && firstPrefix != "" {
				b.WriteString(firstPrefix)
			} else {
				b.WriteString(indent)
			}
			b.WriteString(key())
			value(indent, depth)
		}
	}
	sequence = func(indent string, depth int) {
		for range 1 + r.IntN(3) {
			dash := indent + "-" + sp()
			if r.IntN(2) == 0 || depth > 4 {
				b.WriteString(dash + word() + comment() + "\n")
				continue
			}
			mapping(strings.Repeat(" ", len(dash)), depth+1, dash)
		}
	}
	mapping("", 0, "")
	return b.String()
}

// breakLine breaks a document a little: a line's indentation, a character
// dropped or doubled.
func breakLine(r *rand.Rand, s string) string {
	lines := strings.Split(s, "\n")
	i := r.IntN(len(lines))
	switch r.IntN(3) {
	case 0:
		lines[i] = " " + lines[i]
	case 1:
		lines[i] = strings.TrimPrefix(lines[i], " ")
	default:
		if l := lines[i]; l != "" {
			j := r.IntN(len(l))
			lines[i] = l[:j] + l[j+1:]
		}
	}
	return strings.Join(lines, "\n")
}

// On generated documents, and the same broken a little, whatever
// parsePlain takes yaml.v3 parses to the same nodes; and parsePlain takes
// most of the generated ones, so that the comparison is not empty.
func TestPlainYAMLOnGeneratedDocuments(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	n := 20000
	if testing.Short() {
		n = 3000
	}
	taken, mutatedTaken := 0, 0
	for range n {
		doc := genPlain(r)
		if samePlain(t, []byte(doc)) {
			taken++
		}
		if samePlain(t, []byte(breakLine(r, doc))) {
			mutatedTaken++
		}
	}
	t.Logf("parsePlain took %d of %d generated documents, %d broken ones", taken, n, mutatedTaken)
	assert.Greater(t, taken, n/10)
	assert.Greater(t, mutatedTaken, n/20)
}

func FuzzPlainYAML(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		f.Add([]byte(genPlain(r)))
	}
	f.Add([]byte("a:\n- b\nc: d\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		samePlain(t, text)
	})
}

// Every kustomization of this repository and a synthetic tree render to
// the same objects, with the same source lines, and the same errors,
// whether parsePlain parses what it can or yaml.v3 parses everything.
func TestPlainParsingRendersAsYAMLv3(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dirs := kustomizationDirs(t, root)
	synthetic := t.TempDir()
	c := synth.Cluster(synth.Options{Workloads: 300, Namespaces: 10, PolicyRatio: 0.7, Seed: 5})
	_, err = synth.WriteTree(synthetic, c, synth.TreeOptions{})
	require.NoError(t, err)
	dirs = append(dirs, filepath.Join(synthetic, "overlays", "prod"))
	require.GreaterOrEqual(t, len(dirs), 10)
	render := func(dir string, plain bool) ([]model.Object, string) {
		defer func(old bool) { plainParsing = old }(plainParsing)
		plainParsing = plain
		objs, err := NewRenderer(filesys.MakeFsOnDisk(), "/", DefaultLimits).Overlay(context.Background(), dir)
		if err != nil {
			return objs, err.Error()
		}
		return objs, ""
	}
	rendered := 0
	for _, dir := range dirs {
		objs, msg := render(dir, true)
		wantObjs, wantMsg := render(dir, false)
		require.Equal(t, wantMsg, msg, dir)
		require.Equal(t, wantObjs, objs, dir)
		if len(objs) > 0 {
			rendered++
		}
	}
	assert.GreaterOrEqual(t, rendered, 10)
}

// Comments that may hold field metadata for kyaml's merges are left to
// yaml.v3, which keeps them on the nodes; other comments are dropped.
func TestPlainYAMLLeavesJSONCommentsToYAMLv3(t *testing.T) {
	for _, doc := range []string{
		"a: b # {\"$ref\": \"#/definitions/io.k8s.api.core.v1.Container\"}\n",
		"# {\"$openapi\": \"image\"}\na: b\n",
		"a:\n  ## {\"$openapi\": \"x\"}\n  b: c\n",
	} {
		_, ok := parsePlain([]byte(doc))
		assert.False(t, ok, doc)
	}
	n, ok := parsePlain([]byte("# a note\na: b # why\n"))
	require.True(t, ok)
	assert.Equal(t, "", n.HeadComment+n.Content[0].HeadComment+n.Content[1].LineComment)
}

// Nesting deeper than maxPlainDepth goes to yaml.v3 (and its limits),
// through indented blocks and through sequences of mappings alike.
func TestPlainYAMLLeavesDeepNestingToYAMLv3(t *testing.T) {
	var blocks, items strings.Builder
	for i := range maxPlainDepth + 2 {
		fmt.Fprintf(&blocks, "%sk:\n", strings.Repeat(" ", i))
		fmt.Fprintf(&items, "%s- k:\n", strings.Repeat("  ", i))
	}
	blocks.WriteString(strings.Repeat(" ", maxPlainDepth+2) + "v: 1\n")
	items.WriteString(strings.Repeat("  ", maxPlainDepth+2) + "- v\n")
	for _, doc := range []string{blocks.String(), items.String()} {
		_, ok := parsePlain([]byte(doc))
		assert.False(t, ok)
		var n yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(doc), &n), "yaml.v3 reads it")
	}
	shallow := "a:\n- k:\n  - v\n"
	_, ok := parsePlain([]byte(shallow))
	assert.True(t, ok)
}
