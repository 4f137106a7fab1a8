package policy

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"
)

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
