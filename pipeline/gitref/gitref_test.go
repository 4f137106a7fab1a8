package gitref_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/gitref"
)

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

func newRepo(t *testing.T) string {
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	write(t, dir, "overlays/dev/kustomization.yaml", "resources: [a.yaml]\n")
	write(t, dir, "overlays/dev/a.yaml", "kind: Namespace\n")
	require.NoError(t, os.Symlink("a.yaml", filepath.Join(dir, "overlays/dev/link.yaml")))
	run(t, dir, "add", ".")
	run(t, dir, "commit", "-qm", "base")
	return dir
}

func TestTreeReadsCommittedContentNotWorkTree(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	base := run(t, dir, "rev-parse", "HEAD")
	write(t, dir, "overlays/dev/a.yaml", "kind: Changed\n")
	run(t, dir, "commit", "-qam", "head")
	write(t, dir, "overlays/dev/a.yaml", "kind: Uncommitted\n")

	r, err := gitref.Open(filepath.Join(dir, "overlays"))
	require.NoError(t, err)
	fs, err := r.Tree(base)
	require.NoError(t, err)
	b, err := fs.ReadFile("/overlays/dev/a.yaml")
	require.NoError(t, err)
	assert.Equal(t, "kind: Namespace\n", string(b))
	link, err := fs.ReadFile("/overlays/dev/link.yaml")
	require.NoError(t, err)
	assert.Equal(t, "kind: Namespace\n", string(link), "a symlink inside the tree is followed")

	head, err := r.Resolve("HEAD")
	require.NoError(t, err)
	fs, err = r.Tree(head)
	require.NoError(t, err)
	b, err = fs.ReadFile("/overlays/dev/a.yaml")
	require.NoError(t, err)
	assert.Equal(t, "kind: Changed\n", string(b))

	cs, err := r.Changes(base, head, "overlays")
	require.NoError(t, err)
	assert.Equal(t, []gitref.Change{{Status: "modified", Path: "overlays/dev/a.yaml"}}, cs)
}

func TestShallowCloneMissingBaseSaysHowToFix(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	base := run(t, dir, "rev-parse", "HEAD")
	write(t, dir, "overlays/dev/a.yaml", "kind: Two\n")
	run(t, dir, "commit", "-qam", "two")
	clone := t.TempDir()
	run(t, clone, "clone", "-q", "--depth", "1", "file://"+dir, ".")
	r, err := gitref.Open(clone)
	require.NoError(t, err)
	_, err = r.Resolve(base)
	require.ErrorIs(t, err, gitref.ErrMissingCommit)
	assert.Contains(t, err.Error(), "fetch-depth: 0")
	_, err = r.MergeBase("HEAD", base)
	require.Error(t, err)
}

func TestDefaultBranchAndMergeBase(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	base := run(t, dir, "rev-parse", "HEAD")
	run(t, dir, "checkout", "-qb", "feature")
	write(t, dir, "overlays/dev/b.yaml", "kind: B\n")
	run(t, dir, "add", ".")
	run(t, dir, "commit", "-qm", "feature")
	r, err := gitref.Open(dir)
	require.NoError(t, err)
	b, err := r.DefaultBranch()
	require.NoError(t, err)
	assert.Equal(t, "main", b)
	mb, err := r.MergeBase("HEAD", b)
	require.NoError(t, err)
	assert.Equal(t, base, mb)
}

// TestUnknownRefSaysWhatToDo: a name that is nothing here says so and
// advises fetching; one a remote has as a branch points at it; a commit id
// not in the object store advises fetching it.
func TestUnknownRefSaysWhatToDo(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	run(t, dir, "branch", "-q", "release")
	clone := t.TempDir()
	run(t, clone, "clone", "-q", "file://"+dir, ".")
	r, err := gitref.Open(clone)
	require.NoError(t, err)

	_, err = r.Resolve("nosuchbranch")
	require.ErrorIs(t, err, gitref.ErrUnknownRef)
	assert.Equal(t, "resolve nosuchbranch: no branch, tag or commit of that name here (git branch -a lists them); if a remote has it, fetch it first (git fetch origin nosuchbranch)", err.Error())

	_, err = r.Resolve("release")
	require.ErrorIs(t, err, gitref.ErrUnknownRef)
	assert.Contains(t, err.Error(), "but origin/release is: use that")

	_, err = r.Resolve("0123456789abcdef0123456789abcdef01234567")
	require.ErrorIs(t, err, gitref.ErrMissingCommit)
	assert.Contains(t, err.Error(), "fetch it first (git fetch origin 0123456789abcdef0123456789abcdef01234567)")

	c, err := r.Resolve("origin/release")
	require.NoError(t, err)
	assert.Len(t, c, 40)
}
