package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// footprintDepth is how deep below input a footprint path goes:
// input.reach.fromExternal, not input.reach.fromExternal[0].
const footprintDepth = 2

// footprint lists the parts of the input document one rule can read: the
// paths (keys below input, at most footprintDepth deep) of every input
// reference in its deny/violation rules and in every rule and function
// they reach, however indirectly. nil means the whole input: a reference
// to input itself (object.get(input, ...) is one: the compiler binds input
// to a local first), or to input[x] with x not a constant string, or a
// `with` that replaces part of input.
//
// Evaluation is deterministic (rules cannot call what is random or
// reaches out, and time is pinned by Evaluate), so a rule whose footprint
// holds identical values in two input documents returns the same results
// on both.
type footprint [][]string

// ruleFootprint works out the footprint of a rule package's sets.
func ruleFootprint(c *ast.Compiler, sets []ast.Ref) footprint {
	seen := map[*ast.Rule]bool{}
	var queue []*ast.Rule
	visit := func(ref ast.Ref) {
		for _, r := range c.GetRulesDynamicWithOpts(ref, ast.RulesOptions{IncludeHiddenModules: true}) {
			if !seen[r] {
				seen[r] = true
				queue = append(queue, r)
			}
		}
	}
	for _, s := range sets {
		visit(s)
	}
	fp := footprint{}
	whole := false
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case ast.Var:
			// input as a value, not through a reference.
			if x.Equal(ast.InputRootDocument.Value) {
				whole = true
			}
		case ast.Ref:
			switch {
			case x.HasPrefix(ast.InputRootRef):
				if p, ok := inputPath(x); ok {
					fp = fp.add(p)
				} else {
					whole = true
				}
			case x.HasPrefix(ast.DefaultRootRef):
				visit(x)
			default:
				return false
			}
			// The terms after the root may hold references too.
			for _, t := range x[1:] {
				vis.Walk(t)
			}
			return true
		case *ast.With:
			if t, ok := x.Target.Value.(ast.Ref); ok && t.HasPrefix(ast.InputRootRef) {
				whole = true
			}
		}
		return false
	})
	for len(queue) > 0 && !whole {
		r := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		vis.Walk(r)
	}
	if whole {
		return nil
	}
	return fp
}

// inputPath is the constant string keys a reference to input starts
// with, up to footprintDepth; false when there is none.
func inputPath(ref ast.Ref) ([]string, bool) {
	var p []string
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok || len(p) == footprintDepth {
			break
		}
		p = append(p, string(s))
	}
	return p, len(p) > 0
}

// add puts p into fp unless a prefix of it is there already, and drops
// the paths p is a prefix of.
func (fp footprint) add(p []string) footprint {
	for _, q := range fp {
		if len(q) <= len(p) && slices.Equal(q, p[:len(q)]) {
			return fp
		}
	}
	fp = slices.DeleteFunc(fp, func(q []string) bool {
		return len(p) <= len(q) && slices.Equal(p, q[:len(p)])
	})
	return append(fp, p)
}

// comparison compares two input documents path by path, remembering
// what it found.
type comparison struct {
	a, b  ast.Value
	paths map[string]bool
	id    identity
}

func newComparison(a, b ast.Value) *comparison {
	return &comparison{a: a, b: b, paths: map[string]bool{}, id: identity{same: map[*ast.Term]*ast.Term{}}}
}

// same reports whether the two documents hold identical values (or both
// none) at every path of fp.
func (c *comparison) same(fp footprint) bool {
	if fp == nil {
		fp = topKeys(c.a, c.b)
	}
	for _, p := range fp {
		k := strings.Join(p, "\x00")
		same, ok := c.paths[k]
		if !ok {
			same = c.at(p)
			c.paths[k] = same
		}
		if !same {
			return false
		}
	}
	return true
}

// at compares the documents' values at path p.
func (c *comparison) at(p []string) bool {
	a, b := c.a, c.b
	for _, s := range p {
		a, b = child(a, s), child(b, s)
		if a == nil || b == nil {
			return a == nil && b == nil
		}
	}
	return a.Hash() == b.Hash() && c.id.values(a, b)
}

// topKeys lists the keys of two documents, as paths: the footprint of a
// rule that reads the whole input.
func topKeys(a, b ast.Value) footprint {
	fp := footprint{}
	for _, v := range []ast.Value{a, b} {
		if o, ok := v.(ast.Object); ok {
			o.Foreach(func(k, _ *ast.Term) {
				if s, ok := k.Value.(ast.String); ok {
					fp = fp.add([]string{string(s)})
				}
			})
		}
	}
	return fp
}

// identity tells whether two values are the same, down to how their
// numbers are spelt: ast.Compare (and Rego's ==) takes 1 and 1.0 for
// equal, but sprintf prints them differently, so a rule could tell them
// apart. An input document shares terms (a flow is listed under each of
// its destinations in input.reach.byDst, and in fromExternal), so the
// objects found identical are remembered: without that, comparing byDst
// alone at 5,000 workloads took 3 s.
type identity struct {
	// same maps an object of one document to the object of the other it
	// was last found identical to. Objects are what documents share most
	// (flows, grants); remembering every array and set as well, by both
	// terms, cost more than it saved (BenchmarkCompareInputs5000).
	same map[*ast.Term]*ast.Term
}

func (x *identity) terms(a, b *ast.Term) bool {
	if a == b {
		return true // one term, shared by both documents
	}
	if _, ok := a.Value.(ast.Object); !ok {
		return x.values(a.Value, b.Value)
	}
	if x.same[a] == b {
		return true
	}
	if !x.values(a.Value, b.Value) {
		return false
	}
	x.same[a] = b
	return true
}

func (x *identity) values(a, b ast.Value) bool {
	switch a := a.(type) {
	case ast.Number:
		b, ok := b.(ast.Number)
		return ok && a == b
	case ast.String:
		b, ok := b.(ast.String)
		return ok && a == b
	case ast.Boolean:
		b, ok := b.(ast.Boolean)
		return ok && a == b
	case ast.Null:
		_, ok := b.(ast.Null)
		return ok
	case *ast.Array:
		b, ok := b.(*ast.Array)
		if !ok || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !x.terms(a.Elem(i), b.Elem(i)) {
				return false
			}
		}
		return true
	case ast.Object:
		b, ok := b.(ast.Object)
		if !ok || a.Len() != b.Len() {
			return false
		}
		differ, stringKeys := false, true
		a.Until(func(k, v *ast.Term) bool {
			if _, ok := k.Value.(ast.String); !ok {
				stringKeys = false
				return true
			}
			w := b.Get(k)
			differ = w == nil || !x.terms(v, w)
			return differ
		})
		if stringKeys {
			return !differ
		}
		// A key that is not a string may be spelt otherwise in b: keys
		// come sorted, so equal objects list them in step.
		ka, kb := a.Keys(), b.Keys()
		for i := range ka {
			if !x.terms(ka[i], kb[i]) || !x.terms(a.Get(ka[i]), b.Get(kb[i])) {
				return false
			}
		}
		return true
	case ast.Set:
		b, ok := b.(ast.Set)
		return ok && a.Len() == b.Len() && x.values(a.Sorted(), b.Sorted())
	}
	// No other kind of value is in an input document.
	return ast.Compare(a, b) == 0 && a.String() == b.String()
}

func child(v ast.Value, key string) ast.Value {
	o, ok := v.(ast.Object)
	if !ok {
		return nil
	}
	t := o.Get(ast.StringTerm(key))
	if t == nil {
		return nil
	}
	return t.Value
}
