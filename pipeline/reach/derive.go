package reach

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"hash/maphash"
	"math"
	"reflect"
	"slices"

	"github.com/reachgate/reachgate/internal/par"
	"github.com/reachgate/reachgate/pipeline/model"
)

// A pull request that changes a few NetworkPolicies changes the flows
// into a few destinations. derive computes the base's matrix from the
// head's: it recomputes the destinations a changed policy can reach and
// copies the rest. TestDeriveAsCompute holds it to computing in full.

// derivable reports whether the matrix of b may be derived from the
// matrix of a (see index.derive): the two clusters differ in
// NetworkPolicies at most, and hold no cluster-scoped or Cilium policy,
// whose rules reach across destinations in ways derive does not follow.
func derivable(a, b *model.Cluster) bool {
	if a == nil || b == nil || len(a.ClusterPolicies)+len(b.ClusterPolicies)+len(a.CiliumPolicies)+len(b.CiliumPolicies) > 0 {
		return false
	}
	return reflect.DeepEqual(a.Namespaces, b.Namespaces) && reflect.DeepEqual(a.Workloads, b.Workloads) &&
		reflect.DeepEqual(a.Services, b.Services) && reflect.DeepEqual(a.Externals, b.Externals) &&
		reflect.DeepEqual(a.PodCIDRs, b.PodCIDRs) && reflect.DeepEqual(a.ServiceCIDRs, b.ServiceCIDRs) &&
		reflect.DeepEqual(a.Omitted, b.Omitted)
}

// maxDerivedShare is the largest share of destinations derive recomputes;
// past it, computing in full costs about as much.
const maxDerivedShare = 0.5

// derive computes ix's matrix from hm, the matrix of the cluster hx
// indexes, when the two clusters are derivable. The flows into a
// destination depend on the ingress rules that select it and, for each
// source, on the egress rules that select the source and match it. So
// when the peers and every source's egress isolation are the same, only
// destinations that a changed policy selects for ingress, or that a
// changed egress rule matches, in either cluster, can differ: derive
// computes those and takes the others' connections from hm. The
// allowances are numbered as compute numbers them, in the order the
// connections first use them, an allowance of hm and one computed being
// one when they hold the same grants. ok is false when derive cannot tell
// the destinations apart (a policy name twice, unchanged policies in
// another order, other peers or egress isolation) or would recompute
// most of them, as for a changed egress rule open to every peer: compute
// in full then.
func (ix *index) derive(ctx context.Context, hx *index, hm *model.Matrix) (m *model.Matrix, ok bool, err error) {
	n := len(ix.peers)
	if !slices.Equal(ix.egIso, hx.egIso) || !samePeers(ix.peers, hx.peers) {
		return nil, false, nil
	}
	affected := newBitset(n)
	moved := map[string]model.Location{}
	if !changedReach(ix, hx, affected, moved) {
		return nil, false, nil
	}
	dests := make([]int, 0, affected.count())
	affected.each(func(d int) { dests = append(dests, d) })
	if float64(len(dests)) > maxDerivedShare*float64(n) {
		return nil, false, nil
	}
	pl := ix.plan()
	flats, overrides, err := pl.run(ctx, dests)
	if err != nil {
		return nil, false, err
	}
	computed := bySource(flats, n)

	// One numbering for hm's allowances, their references to policies
	// that moved in their files moved too, and the computed ones: hm's
	// first, then those computed that hm does not hold.
	pool := make([]*model.Allowance, len(hm.Allowances))
	rl := newRelocation(moved)
	for i, a := range hm.Allowances {
		pool[i] = rl.allowance(a)
	}
	pool, fromPool := joinAllowances(pool, pl.pool.allowances)
	out := spliced(hm.Connections, computed, affected, fromPool)
	m = &model.Matrix{}
	m.Connections, m.Allowances = numberAllowances(out, pool)
	ix.finish(m, overrides)
	return m, true, nil
}

// keyHash hashes an allowance's grantsKey (a variable for the test that
// makes every key collide).
var keyHash = maphash.Bytes

// spliceRun is the fewest connections of hm worth splicing on their own
// (a variable for the test that splices runs of one).
var spliceRun = 1 << 16

// joinAllowances appends to pool the allowances of more that it does not
// hold (by grantsKey), and returns where each of more is in it. pool's
// keys are hashed on every core; only allowances of the same hash are
// compared.
func joinAllowances(pool, more []*model.Allowance) ([]*model.Allowance, []int32) {
	seed := maphash.MakeSeed()
	hash := func(key []byte) uint64 { return keyHash(seed, key) }
	hashes := make([]uint64, len(pool))
	const run = 4096
	bufs := make([][]byte, par.Workers((len(pool)+run-1)/run))
	par.ForWorkers((len(pool)+run-1)/run, func(w, r int) {
		for i := r * run; i < min(len(pool), (r+1)*run); i++ {
			bufs[w] = grantsKey(bufs[w][:0], pool[i])
			hashes[i] = hash(bufs[w])
		}
	})
	// first[h] is the last allowance of hash h in pool, next[i] the one of
	// i's hash before i (-1 for none).
	first := make(map[uint64]int32, len(pool))
	next := make([]int32, len(pool), len(pool)+len(more))
	for i, h := range hashes {
		j, ok := first[h]
		if !ok {
			j = -1
		}
		next[i], first[h] = j, int32(i)
	}
	at := make([]int32, len(more))
	var key, other []byte
	for k, a := range more {
		key = grantsKey(key[:0], a)
		h := hash(key)
		j, ok := first[h]
		for ok && j >= 0 {
			if other = grantsKey(other[:0], pool[j]); bytes.Equal(key, other) {
				break
			}
			j = next[j]
		}
		if !ok || j < 0 {
			prev, ok := first[h]
			if !ok {
				prev = -1
			}
			j = int32(len(pool))
			pool, next = append(pool, a), append(next, prev)
			first[h] = j
		}
		at[k] = j
	}
	return pool, at
}

// spliced merges hs, without its connections into affected
// destinations, with computed, whose allowances fromPool renumbers: both
// are in (Src, Dst) order, and so is the result. Runs of whole sources
// are spliced on every core, each into its place, counted first.
func spliced(hs, computed []model.Connection, affected bitset, fromPool []int32) []model.Connection {
	parts := max(1, min(64, len(hs)/spliceRun))
	// Part p covers the sources in [cuts[p], cuts[p+1]).
	cuts := make([]int32, parts+1)
	cuts[0], cuts[parts] = math.MinInt32, math.MaxInt32
	for p := 1; p < parts; p++ {
		cuts[p] = max(cuts[p-1], hs[p*len(hs)/parts].Src)
	}
	from := func(cs []model.Connection, src int32) int {
		i, _ := slices.BinarySearchFunc(cs, src, func(c model.Connection, s int32) int { return cmp.Compare(c.Src, s) })
		return i
	}
	type span struct {
		h, c  []model.Connection
		at, n int
	}
	spans := make([]span, parts)
	par.For(parts, func(p int) {
		sp := &spans[p]
		sp.h = hs[from(hs, cuts[p]):from(hs, cuts[p+1])]
		sp.c = computed[from(computed, cuts[p]):from(computed, cuts[p+1])]
		sp.n = len(sp.c)
		for _, x := range sp.h {
			if !affected.has(int(x.Dst)) {
				sp.n++
			}
		}
	})
	total := 0
	for p := range spans {
		spans[p].at = total
		total += spans[p].n
	}
	out := make([]model.Connection, total)
	par.For(parts, func(p int) {
		sp := spans[p]
		o, c := out[sp.at:sp.at:sp.at+sp.n], sp.c
		for _, x := range sp.h {
			if affected.has(int(x.Dst)) {
				continue
			}
			for len(c) > 0 && less(c[0], x) {
				y := c[0]
				y.Allowance = fromPool[y.Allowance]
				o, c = append(o, y), c[1:]
			}
			o = append(o, x)
		}
		for _, y := range c {
			y.Allowance = fromPool[y.Allowance]
			o = append(o, y)
		}
	})
	return out
}

// changedReach marks in affected the destinations whose flows may differ
// between the clusters ix and hx index: those a NetworkPolicy whose
// ingress side differs between them (or that is in one only) selects for
// ingress, and those an egress rule of a policy whose egress side differs
// matches (every peer, for a rule open to all), in either; and in moved,
// the policies in both whose source location differs, with ix's. It reports
// false when it cannot tell: a policy name twice, or the policies in
// both (hence their rules, whose order orders the grants of an
// allowance) in another order.
func changedReach(ix, hx *index, affected bitset, moved map[string]model.Location) bool {
	byKey := func(x *index) (map[string]*cpolicy, bool) {
		m := make(map[string]*cpolicy, len(x.policies))
		for _, p := range x.policies {
			if p.np == nil || m[p.key] != nil {
				return nil, false
			}
			m[p.key] = p
		}
		return m, true
	}
	mine, ok1 := byKey(ix)
	theirs, ok2 := byKey(hx)
	if !ok1 || !ok2 {
		return false
	}
	mark := func(p *cpolicy, in, eg bool) {
		if in && p.ingress {
			affected.or(p.selected)
		}
		if eg && p.egress {
			for _, r := range p.eg {
				affected.or(r.match) // every peer for a rule open to all
			}
		}
	}
	// The policies in both, in each one's order; a policy whose ingress
	// or egress side differs marks that side's destinations in both.
	var common, commonThere []string
	for _, p := range ix.policies {
		q := theirs[p.key]
		if q == nil {
			mark(p, true, true)
			continue
		}
		common = append(common, p.key)
		if p.np.Source != q.np.Source {
			moved[p.key] = p.np.Source
		}
		in, eg := sidesChanged(p, q)
		mark(p, in, eg)
		mark(q, in, eg)
	}
	for _, q := range hx.policies {
		if mine[q.key] == nil {
			mark(q, true, true)
		} else {
			commonThere = append(commonThere, q.key)
		}
	}
	return slices.Equal(common, commonThere)
}

// grantsKey appends what tells allowances apart: their grants, each with
// its ports and rules, and whether they depend on addresses. The ports
// of an allowance are its grants' union.
func grantsKey(key []byte, a *model.Allowance) []byte {
	key = append(key, byte(boolBit(a.AddressDependent)))
	key = binary.AppendUvarint(key, uint64(len(a.Grants)))
	for i := range a.Grants {
		g := &a.Grants[i]
		key = appendPorts(key, g.Ports)
		key = appendRef(key, g.Egress)
		key = appendRef(key, g.Ingress)
	}
	return key
}

func appendRef(key []byte, r *model.RuleRef) []byte {
	for _, s := range []string{r.Policy, r.Kind, r.Source.File, r.Section, r.L7, r.PassedBy} {
		key = binary.AppendUvarint(key, uint64(len(s)))
		key = append(key, s...)
	}
	for _, v := range []int{int(r.Direction), r.Rule, int(r.Action), r.Source.Line} {
		key = binary.AppendVarint(key, int64(v))
	}
	return key
}

// sidesChanged reports whether the ingress and the egress side of a
// NetworkPolicy differ between p and q, two versions of it: its
// podSelector, whether it applies to the direction, or the direction's
// rules. (A policy that only moved in its file lets in and out what it
// did; the references to its rules say where it is now.)
func sidesChanged(p, q *cpolicy) (in, eg bool) {
	a, b := p.np, q.np
	if !reflect.DeepEqual(a.Spec.PodSelector, b.Spec.PodSelector) {
		return true, true
	}
	in = p.ingress != q.ingress || !reflect.DeepEqual(a.Spec.Ingress, b.Spec.Ingress)
	eg = p.egress != q.egress || !reflect.DeepEqual(a.Spec.Egress, b.Spec.Egress)
	return in, eg
}

// relocation moves the references of allowances to NetworkPolicies
// that moved in their files (moved: each one's key, and where it is
// now). A moved reference is copied once, and the copy shared, as the
// engine shares references: consumers number them by address first.
type relocation struct {
	moved  map[string]model.Location
	copies map[*model.RuleRef]*model.RuleRef
}

func newRelocation(moved map[string]model.Location) *relocation {
	return &relocation{moved: moved, copies: map[*model.RuleRef]*model.RuleRef{}}
}

// ref is r at its policy's new place, or r when that did not move.
func (rl *relocation) ref(r *model.RuleRef) *model.RuleRef {
	if r.Kind != "" || r.NotIsolated() {
		return r
	}
	l, ok := rl.moved[r.Policy]
	if !ok {
		return r
	}
	c, ok := rl.copies[r]
	if !ok {
		c = new(model.RuleRef)
		*c = *r
		c.Source = l
		rl.copies[r] = c
	}
	return c
}

// allowance is a with its references moved (ref); a itself when none
// is.
func (rl *relocation) allowance(a *model.Allowance) *model.Allowance {
	if len(rl.moved) == 0 {
		return a
	}
	var b *model.Allowance
	for i, g := range a.Grants {
		e, in := rl.ref(g.Egress), rl.ref(g.Ingress)
		if e == g.Egress && in == g.Ingress {
			continue
		}
		if b == nil {
			b = &model.Allowance{Ports: a.Ports, Grants: slices.Clone(a.Grants), AddressDependent: a.AddressDependent}
		}
		b.Grants[i].Egress, b.Grants[i].Ingress = e, in
	}
	if b == nil {
		return a
	}
	return b
}

// samePeers reports whether two derivable clusters' indexes have the same
// peers: the workloads (equal, as derivable checked) at the same places,
// and the same external ranges and host names.
func samePeers(a, b []model.Peer) bool {
	return slices.EqualFunc(a, b, func(x, y model.Peer) bool {
		if (x.Workload == nil) != (y.Workload == nil) || x.Range != y.Range || x.External != y.External || x.FQDN != y.FQDN ||
			!reflect.DeepEqual(x.MayDeny, y.MayDeny) {
			return false
		}
		return x.Workload == nil || x.Workload.Namespace == y.Workload.Namespace && x.Workload.Name == y.Workload.Name && x.Workload.Kind == y.Workload.Kind
	})
}
