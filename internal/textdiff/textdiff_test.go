package textdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEqualTextsHaveNoDiff(t *testing.T) {
	assert.Empty(t, Unified("a", "b", "x\ny\n", "x\ny\n", 3))
}

func TestOneChangedLine(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n"
	b := "1\n2\n3\n4\nfive\n6\n7\n8\n9\n"
	want := `--- a
+++ b
@@ -2,7 +2,7 @@
 2
 3
 4
-5
+five
 6
 7
 8
`
	assert.Equal(t, want, Unified("a", "b", a, b, 3))
}

// TestAgreesWithGit applies each diff with git apply: the hunks must be
// exactly right, line numbers included.
func TestAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	cases := []struct{ a, b string }{
		{"", "new\n"},
		{"old\n", ""},
		{"a\nb\nc\n", "a\nc\n"},
		{"a\nb\nc\n", "x\na\nb\nc\ny\n"},
		{strings.Repeat("same\n", 20) + "x\n" + strings.Repeat("same\n", 20) + "y\n", "z\n" + strings.Repeat("same\n", 20) + "x2\n" + strings.Repeat("same\n", 20)},
		{"overlays:\n  - name: prod\n    path: overlays/prod\n", "overlays:\n  - name: prod\n    path: overlays/prod-v2\n  - name: extra\n    path: x\n"},
	}
	for i, c := range cases {
		dir := t.TempDir()
		f := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(f, []byte(c.a), 0o644))
		d := Unified("a/f", "b/f", c.a, c.b, 3)
		cmd := exec.Command("git", "apply", "-")
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(d)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "case %d: git apply: %s\n%s", i, out, d)
		got, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Equal(t, c.b, string(got), "case %d:\n%s", i, d)
	}
}

func TestHugeTextsAreShownReplaced(t *testing.T) {
	a := strings.Repeat("a\n", 3000)
	b := strings.Repeat("b\n", 3000)
	d := Unified("a", "b", a, b, 3)
	assert.Equal(t, 3000, strings.Count(d, "\n-a"))
	assert.Equal(t, 3000, strings.Count(d, "\n+b"))
}
