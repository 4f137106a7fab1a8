package gitref_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/gitref"
)

// hostile lays out, in dir, what a pull request may hold: symlinks out of
// the repository (absolute, relative, to a device), a symlink to a
// directory, a dangling one, and files for the size limits. outside is a
// directory next to the repository with a secret in it.
func hostile(t *testing.T, dir, outside string) {
	t.Helper()
	write(t, outside, "secret.yaml", "TOPSECRET\n")
	write(t, dir, "ok/a.yaml", "kind: A\n")
	write(t, dir, "ok/sub/b.yaml", "kind: B\n")
	write(t, dir, "big/large.yaml", strings.Repeat("x", 300))
	write(t, dir, "big/one.yaml", strings.Repeat("y", 150))
	write(t, dir, "big/two.yaml", strings.Repeat("z", 150))
	write(t, dir, "docs/notes.txt", strings.Repeat("n", 150))
	link := func(target, name string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.Symlink(target, filepath.Join(dir, name)))
	}
	rel, err := filepath.Rel(filepath.Join(dir, "evil"), filepath.Join(outside, "secret.yaml"))
	require.NoError(t, err)
	link(filepath.Join(outside, "secret.yaml"), "evil/absolute.yaml")
	link(rel, "evil/relative.yaml")
	link("/dev/zero", "evil/zero.yaml")
	link("../ok/a.yaml", "links/inside.yaml")
	link("inside.yaml", "links/chain.yaml")
	link("../ok/sub", "links/dir")
	link("missing.yaml", "links/dangling.yaml")
	link("../big/large.yaml", "links/large.yaml")
}

// limits small enough for the files above: large.yaml is over the limit
// per file, and one.yaml, two.yaml and notes.txt do not fit together.
var small = gitref.Limits{FileBytes: 200, TotalBytes: 330}

type readCase struct {
	path string
	want string // content, or what the error says
	err  error  // the reason, for errors.Is; nil for a read
}

func checkReads(t *testing.T, fsys *gitref.FS, cases []readCase) {
	t.Helper()
	for _, c := range cases {
		p := filepath.Join(fsys.Root(), c.path)
		done := make(chan struct{})
		var b []byte
		var err error
		go func() { b, err = fsys.ReadFile(p); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: read does not return", c.path)
		}
		if c.err == nil && c.want != "" && !strings.HasPrefix(c.want, "!") {
			require.NoError(t, err, c.path)
			assert.Equal(t, c.want, string(b), c.path)
			continue
		}
		require.Error(t, err, c.path)
		assert.NotContains(t, string(b), "TOPSECRET")
		var pe *fs.PathError
		require.ErrorAs(t, err, &pe, c.path)
		assert.Equal(t, c.path, pe.Path, "the error names the file relative to the root")
		if c.err != nil {
			assert.ErrorIs(t, err, c.err, c.path)
		}
		assert.Contains(t, err.Error(), strings.TrimPrefix(c.want, "!"), c.path)
	}
}

func TestWorkTreeReadsOnlyRegularFilesInsideTheRoot(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir, outside := filepath.Join(base, "repo"), filepath.Join(base, "outside")
	hostile(t, dir, outside)
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "evil/fifo.yaml"), 0o644))
	fsys, err := gitref.WorkTree(dir, small)
	require.NoError(t, err)
	var limit *gitref.LimitError
	checkReads(t, fsys, []readCase{
		{path: "ok/a.yaml", want: "kind: A\n"},
		{path: "links/inside.yaml", want: "kind: A\n"},
		{path: "links/chain.yaml", want: "kind: A\n"},
		{path: "evil/absolute.yaml", want: "!symlink resolves to " + filepath.Join(outside, "secret.yaml"), err: gitref.ErrOutside},
		{path: "evil/relative.yaml", want: "!outside the repository", err: gitref.ErrOutside},
		{path: "evil/zero.yaml", want: "!symlink resolves to /dev/zero, outside the repository", err: gitref.ErrOutside},
		{path: "evil/fifo.yaml", want: "!not a regular file", err: gitref.ErrNotRegular},
		{path: "ok/sub", want: "!not a regular file", err: gitref.ErrNotRegular},
		{path: "links/dangling.yaml", want: "!does not exist", err: fs.ErrNotExist},
		{path: "big/large.yaml", want: "!file is 300 bytes, more than the 200 bytes limit per file"},
		{path: "links/large.yaml", want: "!limit per file"},
		{path: "big/one.yaml", want: strings.Repeat("y", 150)},
		{path: "big/two.yaml", want: strings.Repeat("z", 150)},
		{path: "docs/notes.txt", want: "!would exceed 330 bytes, the limit per run"},
		{path: "big/one.yaml", want: strings.Repeat("y", 150)}, // counted once
	})
	_, err = fsys.ReadFile(filepath.Join(dir, "big/large.yaml"))
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, int64(200), limit.Limit)

	// The root itself, spelt through a symlink, is still the root.
	alias := filepath.Join(base, "alias")
	require.NoError(t, os.Symlink(dir, alias))
	viaAlias, err := gitref.WorkTree(alias, gitref.DefaultLimits)
	require.NoError(t, err)
	b, err := viaAlias.ReadFile(filepath.Join(dir, "ok/a.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "kind: A\n", string(b))
	_, err = viaAlias.ReadFile(filepath.Join(outside, "secret.yaml"))
	assert.ErrorIs(t, err, gitref.ErrOutside, "an absolute path outside the root")

	assert.ErrorIs(t, fsys.WriteFile(filepath.Join(dir, "ok/a.yaml"), nil), gitref.ErrReadOnly)
	_, err = fsys.Create(filepath.Join(dir, "new.yaml"))
	assert.ErrorIs(t, err, gitref.ErrReadOnly)
	var _ filesys.FileSystem = fsys
}

func TestTreeRefusesWhatLeavesTheTreeOrTheLimits(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir, outside := filepath.Join(base, "repo"), filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	run(t, dir, "init", "-q", "-b", "main")
	hostile(t, dir, outside)
	run(t, dir, "add", ".")
	run(t, dir, "commit", "-qm", "hostile")
	r, err := gitref.Open(dir)
	require.NoError(t, err)
	fsys, err := r.TreeWithin("HEAD", small)
	require.NoError(t, err, "a bad path does not take the whole tree down")
	checkReads(t, fsys, []readCase{
		{path: "ok/a.yaml", want: "kind: A\n"},
		{path: "links/inside.yaml", want: "kind: A\n"},
		{path: "links/chain.yaml", want: "kind: A\n"},
		{path: "evil/absolute.yaml", want: "!symlink to " + filepath.Join(outside, "secret.yaml") + ", outside the repository", err: gitref.ErrOutside},
		{path: "evil/relative.yaml", want: "!outside the repository", err: gitref.ErrOutside},
		{path: "evil/zero.yaml", want: "!symlink to /dev/zero, outside the repository", err: gitref.ErrOutside},
		{path: "links/dir", want: "!directory symlinks are not followed"},
		{path: "links/dangling.yaml", want: "!leads to nothing in the tree"},
		{path: "big/large.yaml", want: "!file is 300 bytes, more than the 200 bytes limit per file"},
		{path: "links/large.yaml", want: "!symlink to ../big/large.yaml: file is 300 bytes"},
		// Manifests are loaded first: notes.txt is the file left out.
		{path: "big/one.yaml", want: strings.Repeat("y", 150)},
		{path: "big/two.yaml", want: strings.Repeat("z", 150)},
		{path: "docs/notes.txt", want: "!would exceed 330 bytes, the limit per run"},
	})
	assert.True(t, fsys.Exists("/evil/absolute.yaml"), "a refused path exists, so that reading it says why")
	assert.False(t, fsys.IsDir("/links/dir"))
	var limit *gitref.LimitError
	_, err = fsys.ReadFile("/docs/notes.txt")
	require.True(t, errors.As(err, &limit) && limit.PerRun, "%v", err)
}
