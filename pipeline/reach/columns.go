package reach

import (
	"cmp"
	"context"
	"math/bits"
	"runtime"
	"slices"

	"github.com/reachgate/reachgate/internal/par"
	"github.com/reachgate/reachgate/pipeline/model"
)

// ComputeFlows is Compute for a reader of flows rather than pairs: the
// matrix it returns holds no Connections, and flows partition the
// connections Compute would list. Everything else (peers, allowances,
// numbered alike, selection, overrides) is Compute's.
//
// The engine makes connections a destination at a time, so the flows are
// grouped by column: within a destination, the sources with the same
// allowance form a group, and destinations whose groups have the same
// sources merge into one flow. No list of pairs is ever made, nor sorted
// by source: at 20,000 workloads the matrix has 106 million connections,
// and its blocks and the sorted copy took 2.1 GB (see "The commands at
// scale" in docs/reachability.md).
//
// Flows come out ordered by first source, then first destination, each
// with increasing sources and destinations.
func ComputeFlows(c *model.Cluster) (*model.Matrix, []model.Flow) {
	m, flows, _ := ComputeFlowsContext(context.Background(), c)
	return m, flows
}

// ComputeFlowsContext is ComputeFlows that stops, with ctx's error, when
// ctx is done, as ComputeContext does.
func ComputeFlowsContext(ctx context.Context, c *model.Cluster) (*model.Matrix, []model.Flow, error) {
	ix := newIndex(c, nil)
	pl := ix.plan()
	pl.columns = true
	chunks, overrides, err := pl.run(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	flows := mergeColumns(chunks)
	m := &model.Matrix{}
	m.Allowances = numberFlows(flows, pl.pool.allowances)
	ix.finish(m, overrides)
	return m, flows, nil
}

// colFlow is a flow made from whole columns: allowance a (the pool's
// index) from srcs to each of dsts. hash is of srcs; next chains the flows
// of one key in a flowTable (-1 ends it).
type colFlow struct {
	a          int32
	next       int32
	hash       uint64
	srcs, dsts []int32
}

// flowTable finds flows by allowance and sources. first holds the last
// flow added of each key (colKey), a word: the map then takes its fast
// path, where a key of two fields hashed through the generic one.
type flowTable struct {
	flows []colFlow
	first map[uint64]int32
}

// find returns the index of the flow with allowance a and sources srcs
// (hash h), and true when it adds one, with srcs as they are and no
// destinations.
func (t *flowTable) find(a int32, h uint64, srcs []int32) (int, bool) {
	k := colKey(a, h)
	i, ok := t.first[k]
	if !ok {
		i = -1
	}
	for j := i; j >= 0; j = t.flows[j].next {
		if f := &t.flows[j]; f.a == a && slices.Equal(f.srcs, srcs) {
			return int(j), false
		}
	}
	t.first[k] = int32(len(t.flows))
	t.flows = append(t.flows, colFlow{a: a, next: i, hash: h, srcs: srcs})
	return len(t.flows) - 1, true
}

// colKey is the key of allowance a and sources of hash h; flows of
// different allowances may share one.
func colKey(a int32, h uint64) uint64 {
	return h ^ uint64(uint32(a))*0x9e3779b97f4a7c15
}

// columns groups a worker's connections by column as dest makes them: add
// takes the connections into the destination at hand, close groups them.
type columns struct {
	// The column at hand: its sources, as a bitset, and the allowance of
	// each (valid where the bit is set).
	present []uint64
	lo, hi  int // the words of present in use
	allowOf []int32
	n       int
	// Per allowance (the pool's index): the column's group, valid when
	// stamp is the column's.
	stamp, group []int32
	col          int32
	used         []int32   // allowances of the column, in first-seen order
	srcs         [][]int32 // the sources of each group, in increasing order
	// The worker's flows so far.
	flowTable
}

func newColumns(peers int) *columns {
	words := (peers + 63) / 64
	return &columns{present: make([]uint64, words), lo: words, allowOf: make([]int32, peers), flowTable: flowTable{first: map[uint64]int32{}}}
}

func (c *columns) add(s int, a int32) {
	w := s >> 6
	c.present[w] |= 1 << (uint(s) & 63)
	c.lo, c.hi = min(c.lo, w), max(c.hi, w+1)
	c.allowOf[s] = a
	c.n++
}

// close groups the connections into d added since the last close.
func (c *columns) close(d int) {
	if c.n == 0 {
		return
	}
	c.col++
	c.used = c.used[:0]
	// One pass over the sources in increasing order: each goes to the
	// group of its allowance.
	for w := c.lo; w < c.hi; w++ {
		for word := c.present[w]; word != 0; word &= word - 1 {
			s := w<<6 | bits.TrailingZeros64(word)
			a := c.allowOf[s]
			if int(a) >= len(c.stamp) {
				grow := max(int(a)+1, 2*len(c.stamp))
				c.stamp = append(c.stamp, make([]int32, grow-len(c.stamp))...)
				c.group = append(c.group, make([]int32, grow-len(c.group))...)
			}
			if c.stamp[a] != c.col {
				c.stamp[a], c.group[a] = c.col, int32(len(c.used))
				if len(c.used) == len(c.srcs) {
					c.srcs = append(c.srcs, nil)
				}
				c.srcs[len(c.used)] = c.srcs[len(c.used)][:0]
				c.used = append(c.used, a)
			}
			g := c.group[a]
			c.srcs[g] = append(c.srcs[g], int32(s))
		}
		c.present[w] = 0
	}
	for g, a := range c.used {
		i, added := c.find(a, model.HashInt32s(c.srcs[g]), c.srcs[g])
		f := &c.flows[i]
		if added {
			f.srcs = slices.Clone(f.srcs) // c.srcs[g] is the next column's
		}
		f.dsts = append(f.dsts, int32(d))
	}
	c.lo, c.hi, c.n = len(c.present), 0, 0
}

// mergeColumns merges the workers' flows into one flow per allowance and
// sources, with increasing destinations (each worker's ascend, and no two
// workers share a destination), and sorts them by first source, then
// first destination. Flows are shared out to every core by the hash of
// their sources, so that equal ones meet on one.
func mergeColumns(workers []chunkOut) []model.Flow {
	if len(workers) == 1 {
		return sortedFlows(workers[0].flows)
	}
	shards := make([][]colFlow, runtime.GOMAXPROCS(0))
	par.For(len(shards), func(p int) {
		t := flowTable{first: map[uint64]int32{}}
		for _, wk := range workers {
			for _, f := range wk.flows {
				if f.hash%uint64(len(shards)) != uint64(p) {
					continue
				}
				i, added := t.find(f.a, f.hash, f.srcs)
				if into := &t.flows[i]; added {
					into.dsts = f.dsts
				} else {
					into.dsts = mergeAscending(into.dsts, f.dsts)
				}
			}
		}
		shards[p] = t.flows
	})
	return sortedFlows(slices.Concat(shards...))
}

// sortedFlows is merged as flows, sorted by first source, then first
// destination (a connection belongs to one flow, so no two flows share
// both): by a key of the two, without reaching into every flow's lists
// on each comparison.
func sortedFlows(merged []colFlow) []model.Flow {
	type order struct {
		key uint64
		i   int32
	}
	keys := make([]order, len(merged))
	for i, f := range merged {
		keys[i] = order{uint64(f.srcs[0])<<32 | uint64(f.dsts[0]), int32(i)}
	}
	slices.SortFunc(keys, func(a, b order) int { return cmp.Compare(a.key, b.key) })
	flows := make([]model.Flow, len(merged))
	for k, o := range keys {
		f := &merged[o.i]
		flows[k] = model.Flow{Allowance: f.a, Srcs: f.srcs, Dsts: f.dsts}
	}
	return flows
}

// mergeAscending merges two ascending lists with no element in common.
func mergeAscending(a, b []int32) []int32 {
	if len(a) == 0 || len(b) == 0 || a[len(a)-1] < b[0] {
		return append(a, b...)
	}
	out := make([]int32, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// numberFlows numbers the allowances of pool that flows use as
// numberAllowances does for connections, in the order the connections
// in (Src, Dst) order first use them, and rewrites flows to the new
// numbers. The first connection of an allowance is the least of its
// flows' first ones, each flow's first source with its first
// destination, so it is the allowance's first flow in flows' order.
func numberFlows(flows []model.Flow, pool []*model.Allowance) []*model.Allowance {
	renumber := make([]int32, len(pool))
	for i := range renumber {
		renumber[i] = -1
	}
	allowances := []*model.Allowance{}
	for i := range flows {
		f := &flows[i]
		if renumber[f.Allowance] < 0 {
			renumber[f.Allowance] = int32(len(allowances))
			allowances = append(allowances, pool[f.Allowance])
		}
		f.Allowance = renumber[f.Allowance]
	}
	return allowances
}
