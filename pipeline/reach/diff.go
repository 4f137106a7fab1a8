package reach

import (
	"cmp"
	"context"
	"slices"
	"sort"

	"github.com/reachgate/reachgate/pipeline/model"
)

// peerID identifies a peer across matrices; unlike Peer.Key it keeps the
// workload kind, so a Deployment replaced by a StatefulSet of the same name
// shows as one removed and one added workload.
func peerID(p *model.Peer) string {
	if p.Workload != nil {
		return p.Workload.Namespace + "/" + p.Workload.Name + "/" + p.Workload.Kind
	}
	if p.FQDN != "" {
		return "\xfe" + p.FQDN
	}
	return "\xff" + p.Range.From.String() + "-" + p.Range.To.String()
}

// peerLess is the order matrices keep their peers in: workloads by
// namespace, name and kind, then external ranges by address.
func peerLess(a, b *model.Peer) bool {
	switch {
	case a.Workload != nil && b.Workload != nil:
		x, y := a.Workload, b.Workload
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		return x.Kind < y.Kind
	case a.Workload != nil:
		return true
	case b.Workload != nil:
		return false
	case a.FQDN != "" || b.FQDN != "":
		// Host names come after the ranges, by name.
		if (a.FQDN == "") != (b.FQDN == "") {
			return a.FQDN == ""
		}
		return a.FQDN < b.FQDN
	}
	if c := a.Range.From.Compare(b.Range.From); c != 0 {
		return c < 0
	}
	return a.Range.To.Less(b.Range.To)
}

// Diff compares two matrices. Matrices of different refs should be
// computed together with ComputeAll, so that both split the external
// address space at the same boundaries; ranges that still differ show as
// removed and added flows. The result is sorted by source, then
// destination.
func Diff(base, head *model.Matrix) *model.Diff {
	d, _ := DiffContext(context.Background(), base, head)
	return d
}

// diffPoll is how many connections DiffContext compares between two looks
// at its context: at 20,000 workloads a matrix holds 106 million, about a
// second of comparing.
const diffPoll = 1 << 16

// DiffContext is Diff that gives up, with the context's error, when ctx
// ends: a cancelled check does not wait for it.
func DiffContext(ctx context.Context, base, head *model.Matrix) (*model.Diff, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if base == head {
		// One matrix (check gives a base whose model is the head's the
		// head's): nothing changed but what both leave out.
		return &model.Diff{Omitted: omittedOf(base, head)}, nil
	}
	// Number the union of both peer lists in matrix order, so both
	// connection lists stay sorted after renumbering and one merge pass
	// compares them.
	type entry struct {
		peer       *model.Peer
		inB, inH   bool
		bIdx, hIdx int
	}
	byID := map[string]*entry{}
	var all []*entry
	for i := range base.Peers {
		id := peerID(&base.Peers[i])
		e := &entry{peer: &base.Peers[i], inB: true, bIdx: i}
		byID[id] = e
		all = append(all, e)
	}
	for i := range head.Peers {
		id := peerID(&head.Peers[i])
		if e, ok := byID[id]; ok {
			e.inH, e.hIdx, e.peer = true, i, &head.Peers[i]
			continue
		}
		e := &entry{peer: &head.Peers[i], inH: true, hIdx: i}
		byID[id] = e
		all = append(all, e)
	}
	sort.SliceStable(all, func(i, j int) bool { return peerLess(all[i].peer, all[j].peer) })
	bMap := make([]int32, len(base.Peers))
	hMap := make([]int32, len(head.Peers))
	d := &model.Diff{}
	for g, e := range all {
		if e.inB {
			bMap[e.bIdx] = int32(g)
		}
		if e.inH {
			hMap[e.hIdx] = int32(g)
		}
		if e.peer.Workload != nil && e.inB != e.inH {
			if e.inH {
				d.WorkloadsAdded = append(d.WorkloadsAdded, *e.peer)
			} else {
				d.WorkloadsRemoved = append(d.WorkloadsRemoved, *e.peer)
			}
		}
	}
	d.Omitted = omittedOf(base, head)
	bc := renumbered(base.Connections, bMap)
	hc := renumbered(head.Connections, hMap)
	peer := func(g int32) model.Peer { return *all[g].peer }
	i, j := 0, 0
	for n := 0; i < len(bc.cs) || j < len(hc.cs); n++ {
		if n%diffPoll == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var b, h model.Connection
		if i < len(bc.cs) {
			b = bc.at(i)
		}
		if j < len(hc.cs) {
			h = hc.at(j)
		}
		switch {
		case j >= len(hc.cs) || (i < len(bc.cs) && less(b, h)):
			d.Removed = append(d.Removed, model.ConnectionChange{Src: peer(b.Src), Dst: peer(b.Dst), Before: base.Of(b)})
			i++
		case i >= len(bc.cs) || less(h, b):
			d.Added = append(d.Added, model.ConnectionChange{Src: peer(h.Src), Dst: peer(h.Dst), After: head.Of(h)})
			j++
		default:
			// A base derived from its head shares the head's allowances
			// where nothing changed: one pointer, nothing to compare.
			if before, after := base.Of(b), head.Of(h); before != after && (!before.Ports.Equal(after.Ports) || before.AddressDependent != after.AddressDependent) {
				d.Changed = append(d.Changed, model.ConnectionChange{Src: peer(h.Src), Dst: peer(h.Dst), Before: before, After: after})
			}
			i++
			j++
		}
	}
	return d, nil
}

// renumbering is a list of connections with its peers renumbered: in
// place through to, or (to nil) copied.
type renumbering struct {
	cs []model.Connection
	to []int32
}

func (r renumbering) at(i int) model.Connection {
	c := r.cs[i]
	if r.to != nil {
		c.Src, c.Dst = r.to[c.Src], r.to[c.Dst]
	}
	return c
}

// renumbered renumbers cs through to, in (Src, Dst) order. Where cs is
// in order and to keeps it (both matrices list their peers in peerLess
// order, as Compute does), the connections are read in place: a matrix
// of 5,000 workloads holds millions.
func renumbered(cs []model.Connection, to []int32) renumbering {
	if slices.IsSorted(to) && slices.IsSortedFunc(cs, compareConnections) {
		return renumbering{cs: cs, to: to}
	}
	return renumbering{cs: renumber(cs, to)}
}

func compareConnections(a, b model.Connection) int {
	return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst))
}

func renumber(cs []model.Connection, to []int32) []model.Connection {
	out := make([]model.Connection, len(cs))
	for i, c := range cs {
		out[i] = model.Connection{Src: to[c.Src], Dst: to[c.Dst], Allowance: c.Allowance}
	}
	// Renumbering keeps the order when both matrices list peers in peerLess
	// order; sort anyway if a caller built a matrix by hand.
	if !sort.SliceIsSorted(out, func(i, j int) bool { return less(out[i], out[j]) }) {
		sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	}
	return out
}

func less(a, b model.Connection) bool {
	return a.Src < b.Src || (a.Src == b.Src && a.Dst < b.Dst)
}
