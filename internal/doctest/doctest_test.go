package doctest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = "# Title\n" +
	"\n" +
	"<!-- reachgate:setup\n" +
	"git switch -qc pr\n" +
	"-->\n" +
	"\n" +
	"```console\n" +
	"$ reachgate explain prod a b \\\n" +
	"    --port 1/TCP\n" +
	"DENIED a -> b\n" +
	"\n" +
	"$ ENV=prod\n" +
	"$ reachgate test\n" +
	"ok\n" +
	"```\n" +
	"\n" +
	"1. a list item\n" +
	"\n" +
	"   <!-- reachgate:file overlays/prod/x.yaml -->\n" +
	"   ```yaml\n" +
	"   kind: NetworkPolicy\n" +
	"   ```\n" +
	"\n" +
	"<!-- reachgate:live -->\n" +
	"```sh\n" +
	"kubectl get pods\n" +
	"```\n" +
	"\n" +
	"<!-- reachgate:root -->\n" +
	"```console\n" +
	"$ reachgate verify prod\n" +
	"verify: ok\n" +
	"```\n" +
	"\n" +
	"```sh\n" +
	"reachgate check --base origin/main   # the gate\n" +
	"```\n" +
	"\n" +
	"```yaml\n" +
	"a: b\n" +
	"```\n"

func TestParseFindsEveryKindOfBlock(t *testing.T) {
	d, err := Parse("doc.md", []byte(sample))
	require.NoError(t, err)
	var kinds []Kind
	for _, b := range d.Blocks {
		kinds = append(kinds, b.Kind)
	}
	assert.Equal(t, []Kind{Setup, Console, File, Live, Console, Shell, Other}, kinds)

	setup := d.Blocks[0]
	assert.Equal(t, 3, setup.Line)
	assert.Equal(t, "git switch -qc pr\n", setup.Body)

	s := d.Blocks[1]
	require.Len(t, s.Steps, 3)
	assert.Equal(t, 8, s.Steps[0].Line)
	assert.Equal(t, "reachgate explain prod a b \n    --port 1/TCP", s.Steps[0].Command)
	assert.Equal(t, "DENIED a -> b\n\n", s.Steps[0].Output)
	assert.Equal(t, "ENV=prod", s.Steps[1].Command)
	assert.Equal(t, "", s.Steps[1].Output)
	assert.Equal(t, "ok\n", s.Steps[2].Output)

	f := d.Blocks[2]
	assert.Equal(t, "overlays/prod/x.yaml", f.Path)
	assert.False(t, f.Append)
	assert.Equal(t, "kind: NetworkPolicy\n", f.Body, "the list item's indentation is removed")

	assert.True(t, d.Blocks[4].Root)
	assert.Equal(t, "doc.md:30", d.Location(d.Blocks[4].Line))
}

func TestFileAppend(t *testing.T) {
	d, err := Parse("doc.md", []byte("<!-- reachgate:file bases/app/x.yaml append -->\n```yaml\n---\nkind: A\n```\n"))
	require.NoError(t, err)
	require.Len(t, d.Blocks, 1)
	assert.Equal(t, File, d.Blocks[0].Kind)
	assert.True(t, d.Blocks[0].Append)
	assert.Equal(t, "---\nkind: A\n", d.Blocks[0].Body)
}

func TestRewriteReplacesOnlyTheOutputs(t *testing.T) {
	d, err := Parse("doc.md", []byte(sample))
	require.NoError(t, err)
	assert.Equal(t, sample, string(d.Rewrite(nil)), "nothing to replace: the same bytes")

	s := d.Blocks[1].Steps
	got := string(d.Rewrite(map[*Step]string{
		s[0]:                 "ALLOWED a -> b\n  because\n",
		s[2]:                 "",
		d.Blocks[4].Steps[0]: "verify: 1 mismatch\n",
	}))
	want := "# Title\n\n<!-- reachgate:setup\ngit switch -qc pr\n-->\n\n```console\n" +
		"$ reachgate explain prod a b \\\n    --port 1/TCP\nALLOWED a -> b\n  because\n" +
		"$ ENV=prod\n$ reachgate test\n```\n"
	assert.Equal(t, want, got[:len(want)])
	assert.Contains(t, got, "```console\n$ reachgate verify prod\nverify: 1 mismatch\n```\n")

	// And the rewritten document parses to the new outputs.
	d2, err := Parse("doc.md", []byte(got))
	require.NoError(t, err)
	assert.Equal(t, "ALLOWED a -> b\n  because\n", d2.Blocks[1].Steps[0].Output)
	assert.Equal(t, "", d2.Blocks[1].Steps[2].Output)
}

func TestRewriteKeepsTheIndentationOfAListItem(t *testing.T) {
	doc := "1. run it:\n\n   ```console\n   $ reachgate test\n   old\n\n   ```\n"
	d, err := Parse("doc.md", []byte(doc))
	require.NoError(t, err)
	assert.Equal(t, "old\n\n", d.Blocks[0].Steps[0].Output)
	got := string(d.Rewrite(map[*Step]string{d.Blocks[0].Steps[0]: "new\n\nlines\n"}))
	assert.Equal(t, "1. run it:\n\n   ```console\n   $ reachgate test\n   new\n\n   lines\n   ```\n", got)
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"text\n<!-- reachgate:nope -->\n```sh\nx\n```\n", "doc.md:2: unknown marker reachgate:nope"},
		{"<!-- reachgate:live -->\nsome prose\n```sh\nx\n```\n", "doc.md:1: marker reachgate:live is not followed by a fenced block"},
		{"<!-- reachgate:live -->\n", "doc.md:1: marker reachgate:live is not followed by a fenced block"},
		{"<!-- reachgate:file -->\n```yaml\nx\n```\n", "doc.md:1: reachgate:file takes one path"},
		{"<!-- reachgate:file ../../etc/passwd -->\n```yaml\nx\n```\n", "must stay inside the repository"},
		{"<!-- reachgate:file a.yaml prepend -->\n```yaml\nx\n```\n", "doc.md:1: reachgate:file takes one path, and append"},
		{"<!-- reachgate:root -->\n```sh\nx\n```\n", "doc.md:1: reachgate:root does not apply to an sh block"},
		{"<!-- reachgate:run -->\n```yaml\nx\n```\n", `doc.md:1: reachgate:run does not apply to a "yaml" block`},
		{"a\n\n```console\nno prompt\n```\n", "doc.md:3: a console block starts with a command"},
		{"```\n$ reachgate test\nok\n```\n", "doc.md:1: a block of commands needs the info string console"},
		{"```\nreachgate test\n```\n", "doc.md:1: a block of commands needs the info string console"},
		{"x\n```sh\nreachgate test\n", "doc.md:2: the fenced block is not closed"},
		{"<!-- reachgate:setup\ngit init\n", "doc.md:1: reachgate:setup is not closed"},
		{"<!-- reachgate:setup git init -->\n", "doc.md:1: reachgate:setup holds its commands on the lines below it"},
		{"<!-- reachgate:live\n```sh\nx\n```\n", "doc.md:1: marker reachgate:live must end on its line"},
	} {
		_, err := Parse("doc.md", []byte(tc.doc))
		if assert.Error(t, err, tc.doc) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
}

func TestSimpleCommands(t *testing.T) {
	got := SimpleCommands(`ENV=prod
reachgate explain $ENV app/worker "app/postgres" --port 5432/TCP   # why
reachgate render dev > /dev/null 2>&1 && reachgate test
reachgate render $ENV | kubectl diff -f -
POD=$(kubectl -n app get pod -l app=worker -o jsonpath='{.items[0].metadata.name}')
dig +short @<coredns-pod-ip> redis.app.svc.cluster.local
reachgate check \
  --base origin/main
`)
	assert.Equal(t, [][]string{
		{"ENV=prod"},
		{"reachgate", "explain", "$ENV", "app/worker", "app/postgres", "--port", "5432/TCP"},
		{"reachgate", "render", "dev"},
		{"reachgate", "test"},
		{"reachgate", "render", "$ENV"},
		{"kubectl", "diff", "-f", "-"},
		{"POD=$"},
		{"kubectl", "-n", "app", "get", "pod", "-l", "app=worker", "-o", "jsonpath={.items[0].metadata.name}"},
		{"dig", "+short", "@"},
		{"reachgate", "check", "--base", "origin/main"},
	}, got)

	assert.Equal(t, [][]string{{"rules"}, {"test", "--verbose"}},
		Invocations("X=1 reachgate rules\n./bin/reachgate test --verbose\nmake run\n", "reachgate"))
}

func TestAssignment(t *testing.T) {
	n, v, ok := Assignment("ENV=prod")
	assert.True(t, ok)
	assert.Equal(t, "ENV", n)
	assert.Equal(t, "prod", v)
	for _, s := range []string{"reachgate test", "X=$(date)", "X='a b'", "=x", "1X=2", "X=a;b"} {
		_, _, ok := Assignment(s)
		assert.False(t, ok, s)
	}
}

func TestNormalise(t *testing.T) {
	a := "reachgate check: base origin/main (f71b44a) -> head work tree; rules from base\nkeep (abcdef1)\ntimings: setup 73ms, total 312ms\n"
	b := "reachgate check: base origin/main (0123456789) -> head work tree; rules from base\nkeep (abcdef1)\ntimings: setup 80ms, total 1.2s\n"
	assert.Equal(t, Normalise(a, ""), Normalise(b, ""))
	assert.NotEqual(t, Normalise(a, ""), Normalise("reachgate check: base origin/main (f71b44a) -> head work tree; rules from head\nkeep (abcdef1)\ntimings: x\n", ""))
	assert.NotEqual(t, Normalise(a, ""), Normalise(a+"more\n", ""), "never a prefix or a 'contains'")
	assert.Contains(t, Normalise(a, ""), "keep (abcdef1)", "a commit elsewhere stays as it is")
	assert.Equal(t, "open REPO/x\n", Normalise("open /tmp/w/repo/x\n", "/tmp/w/repo"))
	w := "  x.yaml:44: error NP017: m [waived by team-a until 2026-12-10: INC-1]\n"
	assert.Equal(t, Normalise(w, ""), Normalise(strings.Replace(w, "2026-12-10", "2027-01-02", 1), ""), "the waiver's date")
	assert.NotEqual(t, Normalise(w, ""), Normalise(strings.Replace(w, "team-a", "team-b", 1), ""), "only the date")
	assert.Contains(t, Normalise("expires 2026-12-10\n", ""), "2026-12-10", "a date elsewhere stays as it is")
	assert.Equal(t, "x\n", Output("x"))
	assert.Equal(t, "", Output(""))
}

// TestMismatchNamesTheDocumentAndLine is what a reader sees when one
// documented output drifts: the document, the command's line, and a diff
// whose "-" side is the document from the output's first line.
func TestMismatchNamesTheDocumentAndLine(t *testing.T) {
	doc := "# Runbook\n\ntext\n\n```console\n$ reachgate explain prod a/b c/d\nALLOWED a/b -> c/d\n  by p\n$ true\n```\n"
	d, err := Parse("docs/runbooks/x.md", []byte(doc))
	require.NoError(t, err)
	s := d.Blocks[0].Steps[0]

	_, differs := Mismatch(d, s, "ALLOWED a/b -> c/d\n  by p\n", "/tmp/repo")
	assert.False(t, differs, "the documented output itself")

	msg, differs := Mismatch(d, s, "DENIED a/b -> c/d\n  by p\n", "/tmp/repo")
	require.True(t, differs, "a changed verdict")
	assert.Contains(t, msg, "docs/runbooks/x.md:6: $ reachgate explain prod a/b c/d\n")
	assert.Contains(t, msg, "--- docs/runbooks/x.md:7\n+++ actual\n")
	assert.Contains(t, msg, "-ALLOWED a/b -> c/d\n+DENIED a/b -> c/d\n")

	_, differs = Mismatch(d, s, "ALLOWED a/b -> c/d\n  by p\nmore\n", "")
	assert.True(t, differs, "an extra line is a difference")
	_, differs = Mismatch(d, d.Blocks[0].Steps[1], "", "")
	assert.False(t, differs, "a command documented without output prints nothing")
}
