package validate

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/reachgate/reachgate/internal/par"
	"github.com/reachgate/reachgate/pipeline/model"
)

// `check` validates every object twice, at the head and at the base, and
// a pull request leaves most of them alone. Renderers that share their
// memo (render.Renderer.Share) give the base the head's very objects for
// every file the pull request did not change: the same document, not a
// copy. What validating an object gives depends on nothing but the object
// (its document, apiVersion, id and source), and nothing writes to a
// rendered document or to what validation decoded (render.DecodeTyped
// only reads it), so the base takes what the head's validation made of
// those documents instead of decoding them again.

// Memo remembers what ObjectsDecoded made of objects, by the identity of
// their document and the rest of the object, for the validations that
// share it. It is safe for concurrent use.
type Memo struct {
	mu sync.Mutex
	m  map[memoKey]memoEntry
}

// memoKey is an object, with its document by identity. The pointer keeps
// the document alive, so no other document takes its address.
type memoKey struct {
	doc        unsafe.Pointer
	ref        model.ObjectRef
	apiVersion string
	source     model.Location
}

type memoEntry struct {
	errs  []*model.InputError
	typed any
}

// NewMemo returns an empty memo.
func NewMemo() *Memo { return &Memo{m: map[memoKey]memoEntry{}} }

func keyOf(o *model.Object) (memoKey, bool) {
	if o.Doc == nil {
		return memoKey{}, false
	}
	return memoKey{reflect.ValueOf(o.Doc).UnsafePointer(), o.ObjectRef, o.APIVersion, o.Source}, true
}

// ObjectsDecoded is the package's ObjectsDecoded, taking what m holds for
// objects it validated before and keeping what it makes of the others. A
// nil Memo remembers nothing. Callers own the errors returned: they are
// copies of those remembered.
func (m *Memo) ObjectsDecoded(objs []model.Object) ([]*model.InputError, []any) {
	per := make([][]*model.InputError, len(objs))
	typed := make([]any, len(objs))
	var hit []bool
	if m != nil {
		hit = make([]bool, len(objs))
		m.mu.Lock()
		for i := range objs {
			if k, ok := keyOf(&objs[i]); ok {
				if e, ok := m.m[k]; ok {
					hit[i] = true
					per[i], typed[i] = cloneErrors(e.errs), e.typed
				}
			}
		}
		m.mu.Unlock()
	}
	// Each object on its own, on every core.
	par.For(len(objs), func(i int) {
		if hit == nil || !hit[i] {
			per[i], typed[i] = object(objs[i])
		}
	})
	if m != nil {
		m.mu.Lock()
		for i := range objs {
			if k, ok := keyOf(&objs[i]); ok && !hit[i] {
				m.m[k] = memoEntry{errs: cloneErrors(per[i]), typed: typed[i]}
			}
		}
		m.mu.Unlock()
	}
	var out []*model.InputError
	for _, errs := range per {
		out = append(out, errs...)
	}
	sortErrors(out)
	return out, typed
}

func cloneErrors(es []*model.InputError) []*model.InputError {
	if es == nil {
		return nil
	}
	out := make([]*model.InputError, len(es))
	for i, e := range es {
		c := *e
		out[i] = &c
	}
	return out
}
