package policy

import (
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Rules are separate queries over one input, and most of them build the
// same indexes of data.reachgate.lib (the policies by key, what each rule
// peer matches, ...): on 5,000 workloads each costs milliseconds to tens
// of milliseconds, once per rule. A sharedCache lets the rules of one
// evaluation share the values of virtual documents computed without a
// `with` in force: those depend only on the input and the data, which the
// rules share. Values computed under a `with` (which pushes a frame) stay
// in the query's own frames.
//
// Rules evaluate on every core and call the cache hundreds of thousands
// of times, function results included (keyed by their arguments, which
// can be whole flows), so it is striped: a ref's hash picks one of
// cacheStripes maps, each with its own lock, held only for a lookup.
// One lock over OPA's own cache kept two workers to about one and a half
// cores.
type sharedCache struct {
	stripes [cacheStripes]cacheStripe
}

const cacheStripes = 64

type cacheStripe struct {
	mu sync.Mutex
	m  map[int][]cached // by ref hash
	_  [64 - 16]byte    // a cache line of its own
}

// cached is one ref's value. As in OPA's cache, a ref once put as
// undefined (a nil value) stays undefined.
type cached struct {
	ref       ast.Ref
	value     *ast.Term
	undefined bool
}

func newSharedCache() *sharedCache { return &sharedCache{} }

// get is topdown.VirtualCache's Get: the value, or true when the ref is
// known to be undefined; (nil, false) when it is not cached.
func (s *sharedCache) get(ref ast.Ref) (*ast.Term, bool) {
	h := ref.Hash()
	st := &s.stripes[uint(h)%cacheStripes]
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range st.m[h] {
		if c.ref.Equal(ref) {
			if c.undefined {
				return nil, true
			}
			return c.value, false
		}
	}
	return nil, false
}

func (s *sharedCache) put(ref ast.Ref, value *ast.Term) {
	h := ref.Hash()
	st := &s.stripes[uint(h)%cacheStripes]
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m == nil {
		st.m = make(map[int][]cached)
	}
	cs := st.m[h]
	i := slices.IndexFunc(cs, func(c cached) bool { return c.ref.Equal(ref) })
	if i < 0 {
		// The caller may reuse the ref's array; its terms it does not change.
		cs = append(cs, cached{ref: slices.Clone(ref)})
		st.m[h], i = cs, len(cs)-1
	}
	if value == nil {
		cs[i].undefined = true
	} else {
		cs[i].value = value
	}
}

func (s *sharedCache) keys() []ast.Ref {
	var keys []ast.Ref
	for i := range s.stripes {
		st := &s.stripes[i]
		st.mu.Lock()
		for _, cs := range st.m {
			for _, c := range cs {
				if c.value != nil {
					keys = append(keys, c.ref)
				}
			}
		}
		st.mu.Unlock()
	}
	return keys
}

// query returns the virtual cache of one query.
func (s *sharedCache) query() topdown.VirtualCache { return &queryCache{shared: s} }

// queryCache is one query's view: the shared values, and its own frames
// above them while a `with` is in force.
type queryCache struct {
	shared *sharedCache
	frames topdown.VirtualCache // nil until the first Push
	depth  int
}

func (c *queryCache) Push() {
	if c.frames == nil {
		c.frames = topdown.NewVirtualCache() // its base frame stays unused
	}
	c.frames.Push()
	c.depth++
}

func (c *queryCache) Pop() {
	if c.depth == 0 {
		return
	}
	c.frames.Pop()
	c.depth--
}

func (c *queryCache) Get(ref ast.Ref) (*ast.Term, bool) {
	if c.depth > 0 {
		return c.frames.Get(ref)
	}
	return c.shared.get(ref)
}

func (c *queryCache) Put(ref ast.Ref, value *ast.Term) {
	if c.depth > 0 {
		c.frames.Put(ref, value)
		return
	}
	c.shared.put(ref, value)
}

func (c *queryCache) Keys() []ast.Ref {
	if c.depth > 0 {
		return c.frames.Keys()
	}
	return c.shared.keys()
}
