package reach

import (
	"context"
	"encoding/binary"
	"reflect"
	"slices"

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
	for i, a := range hm.Allowances {
		pool[i] = relocated(a, moved)
	}
	held := make(map[string]int32, len(pool))
	var key []byte
	for i, a := range pool {
		key = grantsKey(key[:0], a)
		held[string(key)] = int32(i)
	}
	fromPool := make([]int32, len(pl.pool.allowances))
	for i, a := range pl.pool.allowances {
		key = grantsKey(key[:0], a)
		j, ok := held[string(key)]
		if !ok {
			j = int32(len(pool))
			pool = append(pool, a)
			held[string(key)] = j
		}
		fromPool[i] = j
	}
	// Merge hm's connections into untouched destinations with the
	// computed ones, both in (Src, Dst) order.
	out := make([]model.Connection, 0, len(hm.Connections)+len(computed))
	hs := hm.Connections
	for len(hs) > 0 || len(computed) > 0 {
		if len(hs) > 0 && affected.has(int(hs[0].Dst)) {
			hs = hs[1:]
			continue
		}
		if len(computed) == 0 || len(hs) > 0 && less(hs[0], computed[0]) {
			out = append(out, hs[0])
			hs = hs[1:]
			continue
		}
		c := computed[0]
		c.Allowance = fromPool[c.Allowance]
		out = append(out, c)
		computed = computed[1:]
	}
	m = &model.Matrix{}
	m.Connections, m.Allowances = numberAllowances(out, pool)
	ix.finish(m, overrides)
	return m, true, nil
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
		key = appendRef(key, &g.Egress)
		key = appendRef(key, &g.Ingress)
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

// relocated is a with the source locations of its references to the
// NetworkPolicies in moved set to theirs there; a itself when none is.
func relocated(a *model.Allowance, moved map[string]model.Location) *model.Allowance {
	if len(moved) == 0 {
		return a
	}
	at := func(r model.RuleRef) (model.Location, bool) {
		if r.Kind != "" || r.NotIsolated() {
			return model.Location{}, false
		}
		l, ok := moved[r.Policy]
		return l, ok
	}
	var b *model.Allowance
	for i, g := range a.Grants {
		e, eok := at(g.Egress)
		in, iok := at(g.Ingress)
		if !eok && !iok {
			continue
		}
		if b == nil {
			b = &model.Allowance{Ports: a.Ports, Grants: slices.Clone(a.Grants), AddressDependent: a.AddressDependent}
		}
		if eok {
			b.Grants[i].Egress.Source = e
		}
		if iok {
			b.Grants[i].Ingress.Source = in
		}
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
