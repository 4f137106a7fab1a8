package policy

import (
	"reflect"
	"slices"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/reachgate/reachgate/pipeline/model"
)

// shared is what inputs built together (EvaluatePair) share: the terms
// of the object documents they share, the sections built from parts of
// the model they hold the same (all but the policies, when a pull request
// changes a policy), and, when every input has the same model and the
// same matrix (check gives a base whose model is the head's the head's
// matrix: a pull request that moved an image tag), input.reach. A nil
// *shared shares nothing.
type shared struct {
	objects *objectTerms
	// flows holds the flow terms of input.reach, for inputs whose
	// matrices have the same peers (nil otherwise): check derives the
	// base's matrix from the head's, sharing the allowances of the flows
	// a pull request left alone.
	flows *flowTermCache
	// sections holds the model sections the inputs share (same: their
	// clusters hold the same values for it).
	sections []sharedSection
	// sameReach: every input has the same model and the same matrix.
	sameReach bool
	reachOnce sync.Once
	reach     *ast.Term
}

type sharedSection struct {
	same  bool
	once  sync.Once
	items [][2]*ast.Term
}

// newShared is what ins, built together, share.
func newShared(ins []Input) *shared {
	sh := &shared{objects: newObjectTerms(), sections: make([]sharedSection, len(modelSections)), sameReach: len(ins) > 1}
	empty := &model.Cluster{}
	cluster := func(in Input) *model.Cluster {
		if in.Cluster == nil {
			return empty
		}
		return in.Cluster
	}
	for i, s := range modelSections {
		from := s.from(cluster(ins[0]))
		same := len(ins) > 1
		for _, in := range ins[1:] {
			same = same && reflect.DeepEqual(from, s.from(cluster(in)))
		}
		sh.sections[i].same = same
	}
	for _, in := range ins[1:] {
		sh.sameReach = sh.sameReach && in.Matrix == ins[0].Matrix && model.SameModel(in.Cluster, ins[0].Cluster)
	}
	if len(ins) > 1 && !sh.sameReach && samePeerKeys(ins) {
		sh.flows = &flowTermCache{m: map[uint64][]cachedFlow{}, hash: flowHash}
	}
	return sh
}

// samePeerKeys reports whether the inputs' matrices list the same peers,
// by key and external endpoint name (which makes a peer's class), in the
// same order.
func samePeerKeys(ins []Input) bool {
	for _, in := range ins {
		if in.Matrix == nil || len(in.Matrix.Peers) != len(ins[0].Matrix.Peers) {
			return false
		}
	}
	for i := range ins[0].Matrix.Peers {
		p := &ins[0].Matrix.Peers[i]
		k := p.Key()
		for _, in := range ins[1:] {
			if q := &in.Matrix.Peers[i]; q.Key() != k || q.External != p.External {
				return false
			}
		}
	}
	return true
}

// flowTermCache shares flow terms between inputs whose matrices have the
// same peers: a flow's term is a function of its allowance (a pointer,
// which the matrices share where one was derived from the other) and its
// peers. Flows are found by a hash of the three and compared in full:
// keys spelling out every flow's peers took about 40 MB at 20,000
// workloads, and hashing them was most of the cost of a look-up.
type flowTermCache struct {
	mu sync.Mutex
	m  map[uint64][]cachedFlow
	// hash is flowHash (tests make every flow collide).
	hash func(*flow) uint64
}

// cachedFlow is a flow whose term is cached: its allowance and peers,
// which belong to the flow the term was built for, and are only read.
type cachedFlow struct {
	a          *model.Allowance
	srcs, dsts []int32
	term       *ast.Term
}

// term returns the term cached for f, or build's, cached. The matrices,
// whose allowances the cache holds, and the flows, whose peers it holds,
// outlive it.
func (c *flowTermCache) term(f *flow, build func() *ast.Term) *ast.Term {
	h := c.hash(f)
	c.mu.Lock()
	t := c.find(h, f)
	c.mu.Unlock()
	if t != nil {
		return t
	}
	t = build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.find(h, f); old != nil {
		return old
	}
	c.m[h] = append(c.m[h], cachedFlow{a: f.a, srcs: f.srcs, dsts: f.dsts, term: t})
	return t
}

// find is the term cached for f, whose hash is h, or nil.
func (c *flowTermCache) find(h uint64, f *flow) *ast.Term {
	for _, e := range c.m[h] {
		if e.a == f.a && slices.Equal(e.srcs, f.srcs) && slices.Equal(e.dsts, f.dsts) {
			return e.term
		}
	}
	return nil
}

// flowHash hashes what makes f's term: its allowance and its peers
// (whose classes, the same in matrices with the same peers, are its
// classes).
func flowHash(f *flow) uint64 {
	h := uint64(uintptr(unsafe.Pointer(f.a)))
	for _, ps := range [][]int32{f.srcs, f.dsts} {
		h = (h ^ model.HashInt32s(ps)) * 1099511628211
		h ^= uint64(len(ps))
	}
	return h
}

// section is model section i of c, built by the first input that needs it
// where the inputs share it.
func (sh *shared) section(i int, c *model.Cluster) [][2]*ast.Term {
	if sh == nil || i >= len(sh.sections) || !sh.sections[i].same {
		return modelSections[i].build(c)
	}
	s := &sh.sections[i]
	s.once.Do(func() { s.items = modelSections[i].build(c) })
	return s.items
}

func (sh *shared) flowTerms() *flowTermCache {
	if sh == nil {
		return nil
	}
	return sh.flows
}

func (sh *shared) objectTerms() *objectTerms {
	if sh == nil {
		return nil
	}
	return sh.objects
}

// reachTerm is build's input.reach, built by the first input that needs
// it where the inputs share it.
func (sh *shared) reachTerm(build func() *ast.Term) *ast.Term {
	if sh == nil || !sh.sameReach {
		return build()
	}
	sh.reachOnce.Do(func() { sh.reach = build() })
	return sh.reach
}

// objectTerms converts each rendered object's document into a term once
// for the inputs built together (EvaluatePair). check's base render takes
// the head's documents for the files a pull request left alone
// (render.Renderer.Share), so the head's and the base's input documents
// share those objects' terms, and comparing the two (comparison) finds
// them identical at a glance.
type objectTerms struct {
	mu sync.Mutex
	m  map[unsafe.Pointer]*objectTerm
}

type objectTerm struct {
	once sync.Once
	t    *ast.Term
	err  error
}

func newObjectTerms() *objectTerms {
	return &objectTerms{m: map[unsafe.Pointer]*objectTerm{}}
}

// term is doc as a term, converted by whichever input meets it first. The
// documents outlive the cache (the inputs hold them), so no other map
// takes a key's address while it is in use.
func (c *objectTerms) term(doc map[string]any) (*ast.Term, error) {
	if c == nil {
		return docTerm(doc)
	}
	k := reflect.ValueOf(doc).UnsafePointer()
	c.mu.Lock()
	e, ok := c.m[k]
	if !ok {
		e = &objectTerm{}
		c.m[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.t, e.err = docTerm(doc) })
	return e.t, e.err
}

func docTerm(doc map[string]any) (*ast.Term, error) {
	v, err := ast.InterfaceToValue(doc)
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(v), nil
}
