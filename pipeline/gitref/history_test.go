package gitref_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/gitref"
)

// TestBatchMatchesTree: the batch reader reads what Tree reads, restricted
// to the paths asked for, and its digest changes exactly when content
// under them does.
func TestBatchMatchesTree(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	write(t, dir, "bases/app/p.yaml", "kind: NetworkPolicy\n")
	write(t, dir, "docs/readme.md", "docs\n")
	run(t, dir, "add", ".")
	run(t, dir, "commit", "-qm", "more")
	first := run(t, dir, "rev-parse", "HEAD")
	write(t, dir, "docs/readme.md", "changed docs\n")
	run(t, dir, "commit", "-qam", "docs")
	second := run(t, dir, "rev-parse", "HEAD")
	write(t, dir, "bases/app/p.yaml", "kind: NetworkPolicy # changed\n")
	run(t, dir, "commit", "-qam", "policy")
	third := run(t, dir, "rev-parse", "HEAD")

	r, err := gitref.Open(dir)
	require.NoError(t, err)
	b, err := r.OpenBatch(context.Background())
	require.NoError(t, err)
	defer b.Close()

	for _, paths := range [][]string{nil, {"overlays", "bases"}, {"overlays/dev/a.yaml", "missing/dir"}} {
		want, err := r.TreeOf(first, paths...)
		require.NoError(t, err)
		got, err := b.Tree(first, paths...)
		require.NoError(t, err)
		for _, f := range []string{"/overlays/dev/a.yaml", "/overlays/dev/link.yaml", "/overlays/dev/kustomization.yaml", "/bases/app/p.yaml", "/docs/readme.md"} {
			assert.Equal(t, want.Exists(f), got.Exists(f), "%v %s", paths, f)
			if want.Exists(f) {
				w, _ := want.ReadFile(f)
				g, _ := got.ReadFile(f)
				assert.Equal(t, string(w), string(g), "%v %s", paths, f)
			}
		}
	}
	digest := func(c string, paths ...string) string {
		d, err := b.Digest(c, paths...)
		require.NoError(t, err)
		return d
	}
	assert.Equal(t, digest(first, "overlays", "bases"), digest(second, "overlays", "bases"), "only docs changed")
	assert.NotEqual(t, digest(first, "docs"), digest(second, "docs"))
	assert.NotEqual(t, digest(second, "overlays", "bases"), digest(third, "overlays", "bases"))
	assert.NotEqual(t, digest(third, "bases/app/p.yaml"), digest(third, "bases/app/q.yaml"), "a missing path digests as nothing")

	_, err = b.Tree("0123456789abcdef0123456789abcdef01234567")
	assert.ErrorIs(t, err, gitref.ErrMissingCommit)
}

func TestBatchRefusesSymlinkOutOfTree(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	require.NoError(t, os.Symlink("../../../etc/passwd", filepath.Join(dir, "overlays/dev/evil.yaml")))
	run(t, dir, "add", ".")
	run(t, dir, "commit", "-qm", "evil")
	r, err := gitref.Open(dir)
	require.NoError(t, err)
	b, err := r.OpenBatch(context.Background())
	require.NoError(t, err)
	defer b.Close()
	// Refused where it is read, as Repo.Tree has it; the rest is there.
	fs, err := b.Tree("HEAD", "overlays")
	require.NoError(t, err)
	_, err = fs.ReadFile("/overlays/dev/evil.yaml")
	assert.ErrorContains(t, err, "symlink to ../../../etc/passwd")
	assert.ErrorIs(t, err, gitref.ErrOutside)
	_, err = fs.ReadFile("/overlays/dev/kustomization.yaml")
	assert.NoError(t, err)
}

func TestFirstParentLog(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	run(t, dir, "checkout", "-qb", "topic")
	write(t, dir, "bases/x.yaml", "x\n")
	run(t, dir, "add", ".")
	run(t, dir, "commit", "-qm", "on the branch")
	run(t, dir, "checkout", "-q", "main")
	run(t, dir, "merge", "-q", "--no-ff", "-m", "Merge pull request #7 from o/topic", "topic")
	r, err := gitref.Open(dir)
	require.NoError(t, err)
	cs, err := r.FirstParentLog(context.Background(), "HEAD")
	require.NoError(t, err)
	require.Len(t, cs, 2, "the branch's own commit is not on the first-parent line")
	assert.Equal(t, "base", cs[0].Subject)
	assert.Equal(t, "Merge pull request #7 from o/topic", cs[1].Subject)
	assert.Equal(t, []string{"bases/x.yaml"}, cs[1].Files, "a merge lists what it brought in")
	assert.Len(t, cs[1].Parents, 2)
	last, ok, err := r.LastChange(context.Background(), "HEAD", "overlays/dev/a.yaml")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, cs[0].SHA, last.SHA)
	_, ok, err = r.LastChange(context.Background(), "HEAD", "nowhere.yaml")
	require.NoError(t, err)
	assert.False(t, ok)
}
