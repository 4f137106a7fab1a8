package policy

import (
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
type sharedCache struct {
	mu   sync.RWMutex
	base topdown.VirtualCache
}

func newSharedCache() *sharedCache { return &sharedCache{base: topdown.NewVirtualCache()} }

// query returns the virtual cache of one query.
func (s *sharedCache) query() topdown.VirtualCache { return &queryCache{shared: s} }

// queryCache is one query's view: the shared base frame, and its own
// frames above it while a `with` is in force.
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
	c.shared.mu.RLock()
	defer c.shared.mu.RUnlock()
	return c.shared.base.Get(ref)
}

func (c *queryCache) Put(ref ast.Ref, value *ast.Term) {
	if c.depth > 0 {
		c.frames.Put(ref, value)
		return
	}
	c.shared.mu.Lock()
	defer c.shared.mu.Unlock()
	c.shared.base.Put(ref, value)
}

func (c *queryCache) Keys() []ast.Ref {
	if c.depth > 0 {
		return c.frames.Keys()
	}
	c.shared.mu.RLock()
	defer c.shared.mu.RUnlock()
	return c.shared.base.Keys()
}
