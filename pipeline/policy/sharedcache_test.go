package policy

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheRefs are refs as topdown hands them to a virtual cache: documents,
// prefixes of each other, partial lookups by key, and function calls
// keyed by their arguments, whole objects included.
func cacheRefs() []ast.Ref {
	flow := func(n int) *ast.Term {
		return ast.ObjectTerm(
			ast.Item(ast.StringTerm("srcs"), ast.ArrayTerm(ast.StringTerm("ns/a"), ast.IntNumberTerm(n))),
			ast.Item(ast.StringTerm("allPorts"), ast.BooleanTerm(n%2 == 0)),
		)
	}
	return []ast.Ref{
		ast.MustParseRef("data.reachgate.lib.workloads_by_key"),
		ast.MustParseRef("data.reachgate.lib"),
		ast.MustParseRef(`data.reachgate.rules.x.isolated["ns/a"].egress`),
		ast.MustParseRef(`data.reachgate.rules.x.isolated["ns/a"]`),
		ast.MustParseRef(`data.reachgate.rules.x.isolated["ns/b"].egress`),
		ast.MustParseRef(`data.reachgate.rules.x.f[1]`),
		ast.MustParseRef(`data.reachgate.rules.x.f[2]`),
		append(ast.MustParseRef("data.reachgate.lib.internet_srcs"), flow(1)),
		append(ast.MustParseRef("data.reachgate.lib.internet_srcs"), flow(2)),
		append(ast.MustParseRef("data.reachgate.lib.internet_srcs"), flow(1), flow(2)),
	}
}

// The shared cache answers as OPA's own virtual cache does, over random
// sequences of puts (values and undefined) and gets.
func TestSharedCacheAsOPAs(t *testing.T) {
	t.Parallel()
	refs := cacheRefs()
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))
		ours, theirs := newSharedCache().query(), topdown.NewVirtualCache()
		for range 60 {
			r := refs[rng.IntN(len(refs))]
			// topdown builds refs anew for each call: never the same array.
			get := r.Copy()
			if rng.IntN(3) == 0 {
				var v *ast.Term
				if rng.IntN(4) > 0 {
					v = ast.IntNumberTerm(rng.IntN(5))
				}
				ours.Put(get, v)
				theirs.Put(r.Copy(), v)
				continue
			}
			gv, gu := ours.Get(get)
			wv, wu := theirs.Get(get)
			require.Equal(t, wu, gu, "seed %d: undefined of %v", seed, r)
			require.True(t, (gv == nil && wv == nil) || (gv != nil && wv != nil && gv.Equal(wv)), "seed %d: %v = %v, OPA's cache has %v", seed, r, gv, wv)
		}
		assert.ElementsMatch(t, refStrings(theirs.Keys()), refStrings(ours.Keys()), "seed %d", seed)
	}
}

// A caller that reuses a ref's array after putting it does not change
// what the cache holds.
func TestSharedCacheKeepsItsOwnRef(t *testing.T) {
	t.Parallel()
	c := newSharedCache().query()
	buf := ast.MustParseRef(`data.x.f["a"]`)
	c.Put(buf, ast.IntNumberTerm(1))
	buf[len(buf)-1] = ast.StringTerm("b")
	v, _ := c.Get(ast.MustParseRef(`data.x.f["a"]`))
	assert.Equal(t, ast.IntNumberTerm(1), v)
	v, undefined := c.Get(ast.MustParseRef(`data.x.f["b"]`))
	assert.Nil(t, v)
	assert.False(t, undefined)
}

// Queries on every core share one cache (run under -race).
func TestSharedCacheConcurrent(t *testing.T) {
	t.Parallel()
	refs := cacheRefs()
	s := newSharedCache()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			q := s.query()
			for i := range 2000 {
				r := refs[(i+w)%len(refs)].Copy()
				if v, _ := q.Get(r); v == nil {
					q.Put(r, ast.IntNumberTerm((i+w)%len(refs)))
				}
			}
		})
	}
	wg.Wait()
	q := s.query()
	for _, r := range refs {
		v, undefined := q.Get(r)
		require.False(t, undefined)
		require.NotNil(t, v, "%v", r)
	}
}

func refStrings(refs []ast.Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	return out
}
