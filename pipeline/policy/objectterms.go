package policy

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/reachgate/reachgate/pipeline/model"
)

// shared is what inputs built together (EvaluatePair) share: the terms
// of the object documents they share and, when every input has the same
// model (a pull request that moved an image tag), the sections built from
// it, and with the same matrix too (check gives such a base the head's),
// input.reach. A nil *shared shares nothing.
type shared struct {
	objects *objectTerms
	// sameModel: every input has the same model, whose sections are
	// built once (modelOnce); sameReach: and the same matrix.
	sameModel, sameReach bool
	modelOnce, reachOnce sync.Once
	model                [][2]*ast.Term
	reach                *ast.Term
}

// newShared is what ins, built together, share.
func newShared(ins []Input) *shared {
	sh := &shared{objects: newObjectTerms(), sameModel: len(ins) > 1, sameReach: len(ins) > 1}
	for _, in := range ins[1:] {
		sh.sameModel = sh.sameModel && model.SameModel(in.Cluster, ins[0].Cluster)
		sh.sameReach = sh.sameReach && in.Matrix == ins[0].Matrix
	}
	sh.sameReach = sh.sameReach && sh.sameModel
	return sh
}

// modelTerms is build's model sections, built by the first input that
// needs them where the inputs share them.
func (sh *shared) modelTerms(build func() [][2]*ast.Term) [][2]*ast.Term {
	if sh == nil || !sh.sameModel {
		return build()
	}
	sh.modelOnce.Do(func() { sh.model = build() })
	return sh.model
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
