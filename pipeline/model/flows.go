package model

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
)

// Flow is a rectangle of connections of a matrix: every source in Srcs
// reaches every destination in Dsts, allowed by the same Allowance (an
// index into Matrix.Allowances). A synthetic cluster of 5,000 workloads
// has over four million connections and 39,000 flows: machine output and
// the rules' input hold flows, never pairs.
type Flow struct {
	Allowance int32
	// Tag and the classes are what FlowKeys asked the flow to be uniform
	// in; 0 when not asked.
	Tag                int32
	SrcClass, DstClass int32
	// Srcs and Dsts are peer indices, in increasing order.
	Srcs, Dsts []int32
}

// FlowKeys say, beyond the allowance, what the connections of one flow
// share.
type FlowKeys struct {
	// Class, when set, holds one class per peer: a flow's sources share
	// one class and its destinations one (the rules' input tells external
	// endpoints apart by name this way).
	Class []int32
	// Tag, when set, holds one value per connection grouped: a flow's
	// connections share one tag (the promoted overlay's allowance, for
	// promotion flows).
	Tag []int32
}

// GroupFlows groups connections cs of m, sorted by (Src, Dst), into flows
// that partition them. Within a source's row, the destinations with the
// same allowance (and keys) form a group; rows whose groups have the same
// destinations merge into one flow. Connections naming no peer of m are
// left out. Runs of whole rows are grouped on every core and merged; the
// result does not depend on how many. Flows come out ordered by first
// destination, then first source.
func GroupFlows(m *Matrix, cs []Connection, k FlowKeys) []Flow {
	return GroupFlowsIn(min(runtime.GOMAXPROCS(0), 8, max(1, len(cs)/minGroupRun)), m, cs, k)
}

// minGroupRun is the fewest connections worth grouping on another core.
const minGroupRun = 50_000

// GroupFlowsIn is GroupFlows with cs cut into at most parts runs.
func GroupFlowsIn(parts int, m *Matrix, cs []Connection, k FlowKeys) []Flow {
	// Cut cs into runs of about equal size at row boundaries.
	cuts := []int{0}
	for p := 1; p < parts; p++ {
		c := max(cuts[len(cuts)-1], len(cs)*p/parts)
		for c > 0 && c < len(cs) && cs[c].Src == cs[c-1].Src {
			c++
		}
		cuts = append(cuts, c)
	}
	cuts = append(cuts, len(cs))
	runs := make([][]*Flow, len(cuts)-1)
	var wg sync.WaitGroup
	for r := range runs {
		lo, hi := cuts[r], cuts[r+1]
		var tags []int32
		if k.Tag != nil {
			tags = k.Tag[lo:hi]
		}
		wg.Go(func() { runs[r] = groupRows(m, cs[lo:hi], k.Class, tags) })
	}
	wg.Wait()
	flows := runs[0]
	if len(runs) > 1 {
		// Runs hold increasing sources, so merging keeps sources in order.
		merged := flowIndex{}
		flows = nil
		for _, run := range runs {
			for _, f := range run {
				key := keyOf(f)
				if into := merged.get(key, f.Dsts); into != nil {
					into.Srcs = append(into.Srcs, f.Srcs...)
					continue
				}
				merged.add(key, f)
				flows = append(flows, f)
			}
		}
	}
	// A connection belongs to one flow, so no two flows share their first
	// destination and first source.
	slices.SortFunc(flows, func(a, b *Flow) int {
		if c := cmp.Compare(a.Dsts[0], b.Dsts[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.Srcs[0], b.Srcs[0])
	})
	out := make([]Flow, len(flows))
	for i, f := range flows {
		out[i] = *f
	}
	return out
}

func validPeer(m *Matrix, i int32) bool { return i >= 0 && int(i) < len(m.Peers) }

// groupRows groups a run of whole rows of connections in one pass, in
// memory order.
func groupRows(m *Matrix, cs []Connection, class, tags []int32) []*Flow {
	classOf := func(p int32) int32 {
		if class == nil {
			return 0
		}
		return class[p]
	}
	// Per row, group by (allowance, tag, destination class) without
	// hashing: head[allowance] chains the groups with that allowance,
	// valid when stamp[allowance] is the current row.
	head, stamp := make([]int32, len(m.Allowances)), make([]int32, len(m.Allowances))
	for i := range stamp {
		stamp[i] = -1
	}
	type group struct {
		aid, tag, class, next, count, fill int32
	}
	type entry struct{ dst, group int32 }
	var (
		groups []group
		row    []entry
		arena  []int32 // the current row's groups' destinations
		merged = flowIndex{}
		flows  []*Flow
	)
	for lo := 0; lo < len(cs); {
		src := cs[lo].Src
		hi := lo + 1
		for hi < len(cs) && cs[hi].Src == src {
			hi++
		}
		if !validPeer(m, src) {
			lo = hi
			continue
		}
		groups, row = groups[:0], row[:0]
		for i := lo; i < hi; i++ {
			c := &cs[i]
			if !validPeer(m, c.Dst) || c.Allowance < 0 || int(c.Allowance) >= len(m.Allowances) {
				continue
			}
			a, t, cl := c.Allowance, int32(0), classOf(c.Dst)
			if tags != nil {
				t = tags[i]
			}
			if stamp[a] != src {
				stamp[a], head[a] = src, -1
			}
			gi := head[a]
			for gi >= 0 && (groups[gi].tag != t || groups[gi].class != cl) {
				gi = groups[gi].next
			}
			if gi < 0 {
				gi = int32(len(groups))
				groups = append(groups, group{aid: a, tag: t, class: cl, next: head[a]})
				head[a] = gi
			}
			groups[gi].count++
			row = append(row, entry{c.Dst, gi})
		}
		lo = hi
		if len(row) == 0 {
			continue
		}
		// Lay the groups' destinations out in the arena, in row order.
		off := int32(0)
		arena = slices.Grow(arena[:0], len(row))[:len(row)]
		for i := range groups {
			groups[i].fill = off
			off += groups[i].count
		}
		for _, en := range row {
			g := &groups[en.group]
			arena[g.fill] = en.dst
			g.fill++
		}
		srcClass := classOf(src)
		for i := range groups {
			g := &groups[i]
			dsts := arena[g.fill-g.count : g.fill : g.fill]
			key := flowKey{g.aid, g.tag, srcClass, g.class, HashInt32s(dsts)}
			into := merged.get(key, dsts)
			if into == nil {
				// Made only here: most rows' groups join a flow, and
				// the arena is the next row's.
				into = &Flow{Allowance: g.aid, Tag: g.tag, SrcClass: srcClass, DstClass: g.class, Dsts: slices.Clone(dsts)}
				merged.add(key, into)
				flows = append(flows, into)
			}
			into.Srcs = append(into.Srcs, src)
		}
	}
	return flows
}

// flowIndex finds the flow with given allowance, tag, peer classes and
// destinations: flows that share them merge.
type flowIndex map[flowKey][]*Flow

type flowKey struct {
	allowance, tag     int32
	srcClass, dstClass int32
	hash               uint64 // of the destinations
}

func keyOf(f *Flow) flowKey {
	return flowKey{f.Allowance, f.Tag, f.SrcClass, f.DstClass, HashInt32s(f.Dsts)}
}

func (x flowIndex) get(k flowKey, dsts []int32) *Flow {
	for _, f := range x[k] {
		if slices.Equal(f.Dsts, dsts) {
			return f
		}
	}
	return nil
}

func (x flowIndex) add(k flowKey, f *Flow) { x[k] = append(x[k], f) }

// HashInt32s is the FNV-1a hash of xs, a word at a time: flows are found
// by a hash of their peers.
func HashInt32s(xs []int32) uint64 {
	h := uint64(14695981039346656037)
	for _, x := range xs {
		h ^= uint64(uint32(x))
		h *= 1099511628211
	}
	return h
}
