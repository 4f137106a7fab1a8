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
		var merged flowIndex
		for _, run := range runs {
			for _, f := range run {
				key := keyOf(f)
				if into, at := merged.get(key, f.Dsts); into != nil {
					into.Srcs = append(into.Srcs, f.Srcs...)
				} else {
					merged.add(at, key, f)
				}
			}
		}
		flows = merged.flows
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
		merged flowIndex
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
			into, at := merged.get(key, dsts)
			if into == nil {
				// Made only here: most rows' groups join a flow, and
				// the arena is the next row's.
				into = &Flow{Allowance: g.aid, Tag: g.tag, SrcClass: srcClass, DstClass: g.class, Dsts: slices.Clone(dsts)}
				merged.add(at, key, into)
			}
			into.Srcs = append(into.Srcs, src)
		}
	}
	return merged.flows
}

// flowIndex finds the flow with given allowance, tag, peer classes and
// destinations (flows that share them merge), and lists the flows in the
// order they were added. It is a table of open addressing over the flows'
// positions: at 20,000 workloads each run holds over a million flows, and
// a Go map of them spent more on growing and probing than the grouping
// itself.
type flowIndex struct {
	flows  []*Flow
	hashes []uint64 // of each flow's key
	slots  []int32  // 1 + a position in flows; 0 is empty
}

type flowKey struct {
	allowance, tag     int32
	srcClass, dstClass int32
	hash               uint64 // of the destinations
}

func keyOf(f *Flow) flowKey {
	return flowKey{f.Allowance, f.Tag, f.SrcClass, f.DstClass, HashInt32s(f.Dsts)}
}

func (k flowKey) sum() uint64 {
	h := k.hash
	for _, x := range [...]int32{k.allowance, k.tag, k.srcClass, k.dstClass} {
		h ^= uint64(uint32(x))
		h *= 1099511628211
	}
	return h ^ h>>29
}

// get returns the flow with key k and destinations dsts, or nil and the
// slot where add puts it.
func (x *flowIndex) get(k flowKey, dsts []int32) (*Flow, int) {
	if len(x.slots) == 0 {
		return nil, -1
	}
	h := k.sum()
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return nil, i
		}
		if x.hashes[s-1] != h {
			continue
		}
		if f := x.flows[s-1]; f.Allowance == k.allowance && f.Tag == k.tag && f.SrcClass == k.srcClass && f.DstClass == k.dstClass && slices.Equal(f.Dsts, dsts) {
			return f, i
		}
	}
}

// add adds f, with key k, at the slot get returned for it.
func (x *flowIndex) add(at int, k flowKey, f *Flow) {
	if 4*(len(x.flows)+1) > 3*len(x.slots) {
		x.grow()
		_, at = x.get(k, f.Dsts)
	}
	x.flows = append(x.flows, f)
	x.hashes = append(x.hashes, k.sum())
	x.slots[at] = int32(len(x.flows))
}

// grow doubles the table (at least 1,024 slots) and places every flow
// again.
func (x *flowIndex) grow() {
	x.slots = make([]int32, max(1024, 2*len(x.slots)))
	mask := len(x.slots) - 1
	for j, h := range x.hashes {
		i := int(h) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = int32(j + 1)
	}
}

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
