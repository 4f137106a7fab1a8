package render

import (
	"bytes"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/reachgate/reachgate/pipeline/model"
)

// A pull request changes a few files of a tree that `check` renders twice,
// at the head and at the base. On the fast path an object depends on
// nothing but the bytes of its file and the file's path (no kustomization
// of the tree transforms it), so the base's render takes the head's
// objects for every resource file whose bytes are the head's, and parses
// and converts only the others. Everything else is done as before: every
// file is read (the bytes decide, and a recording view sees the same
// reads), the run's budget counts the values of every file, ids are
// checked for duplicates and the objects sorted over the whole tree. Any
// error, and any tree the fast path leaves to krusty, renders again
// without the memo, so errors come out exactly as without it.

// memo holds what renders on the fast path made of resource files, by
// root-relative path, for renderers that share it.
type memo struct {
	// shared is set once renderers share the memo (Share): until then
	// no render would take anything from it, and it records nothing.
	shared bool
	mu     sync.Mutex
	files  map[string][]*memoFile
}

// memoVersions bounds the versions of one path a memo keeps (the head's
// and the base's, and a few more).
const memoVersions = 4

// memoFile is what the fast path made of one resource file.
type memoFile struct {
	data []byte
	// entries is the file's index (sourceIndex.docs).
	entries []docEntry
	// nodes is what the file's documents count against the run's budget.
	nodes int64
	items []memoItem
}

// memoItem is one resource of a file: its id, and its object, unless the
// resource is local configuration, which the render drops.
type memoItem struct {
	id    resid.ResId
	local bool
	obj   model.Object
}

func newMemo() *memo {
	return &memo{files: map[string][]*memoFile{}}
}

// lookup is what the memo holds for the file at p with these bytes.
func (m *memo) lookup(p string, data []byte) *memoFile {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.files[p] {
		if bytes.Equal(f.data, data) {
			return f
		}
	}
	return nil
}

// put records what the fast path made of the file at p.
func (m *memo) put(p string, f *memoFile) {
	if m == nil || !m.shared {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.files[p]
	for _, v := range vs {
		if bytes.Equal(v.data, f.data) {
			return
		}
	}
	if len(vs) == memoVersions {
		vs = vs[1:]
	}
	m.files[p] = append(vs, f)
}

// Share makes r reuse what other's renders on the fast path made of
// resource files whose bytes r reads the same, and other reuse r's: the
// head's and the base's renderers of one check. Renderers with different
// limits share nothing. Call it before either renders: a renderer that
// shares nothing keeps nothing (a single render would only hold on to
// every file's bytes for nothing).
func (r *Renderer) Share(other *Renderer) {
	if r.limits == other.limits {
		r.memo = other.memo
		r.memo.shared = true
	}
}
