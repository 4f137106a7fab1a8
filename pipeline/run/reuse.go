package run

import (
	"context"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/gitref"
)

// recordingFS remembers every path a render looked at, so that a base
// whose inputs did not change can reuse the head's render.
type recordingFS struct {
	filesys.FileSystem
	mu   sync.Mutex
	seen map[string]bool
}

func newRecordingFS(fs filesys.FileSystem) *recordingFS {
	return &recordingFS{FileSystem: fs, seen: map[string]bool{}}
}

func (r *recordingFS) note(p string) {
	r.mu.Lock()
	r.seen[p] = true
	r.mu.Unlock()
}

func (r *recordingFS) Open(p string) (filesys.File, error) { r.note(p); return r.FileSystem.Open(p) }
func (r *recordingFS) IsDir(p string) bool                 { r.note(p); return r.FileSystem.IsDir(p) }
func (r *recordingFS) Exists(p string) bool                { r.note(p); return r.FileSystem.Exists(p) }
func (r *recordingFS) ReadFile(p string) ([]byte, error)   { r.note(p); return r.FileSystem.ReadFile(p) }
func (r *recordingFS) ReadDir(p string) ([]string, error)  { r.note(p); return r.FileSystem.ReadDir(p) }
func (r *recordingFS) Glob(pattern string) ([]string, error) {
	r.note(filepath.Dir(pattern))
	return r.FileSystem.Glob(pattern)
}
func (r *recordingFS) Walk(p string, fn filepath.WalkFunc) error {
	r.note(p)
	return r.FileSystem.Walk(p, fn)
}

// paths returns what was looked at, relative to the repository root.
func (r *recordingFS) paths(root string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for p := range r.seen {
		rel, err := filepath.Rel(root, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

// loadRecorded loads an overlay of ws and returns the repository paths its
// render looked at.
func (ws *Workspace) loadRecorded(ctx context.Context, arg string) (*Overlay, []string) {
	rec := newRecordingFS(ws.FS)
	o := ws.view(rec).Load(ctx, arg)
	return o, rec.paths(ws.Root)
}

// changedPaths lists the repository paths that differ between the base
// commit and the head (a commit, or "" for the work tree, untracked files
// included). ok is false when git could not tell.
func changedPaths(repo *gitref.Repo, base, head string) (changed []string, ok bool) {
	changes, err := repo.Changes(base, head)
	if err != nil {
		return nil, false
	}
	for _, c := range changes {
		changed = append(changed, c.Path)
	}
	if head == "" {
		untracked, err := repo.Untracked()
		if err != nil {
			return nil, false
		}
		changed = append(changed, untracked...)
	}
	return changed, true
}

// untouched reports whether none of the paths (files or directories) is
// among the changed ones, and the configuration did not change.
func untouched(changed, paths []string) bool {
	for _, c := range changed {
		if c == config.FileName {
			return false
		}
		for _, p := range paths {
			if p == "." || c == p || strings.HasPrefix(c, strings.TrimSuffix(p, "/")+"/") || path.Dir(c) == p {
				return false
			}
		}
	}
	return true
}
