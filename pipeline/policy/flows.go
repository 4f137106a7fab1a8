package policy

import (
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Reachability reaches the rules as flows. A flow {srcs, dsts, ports,
// allowedBy, ...} says that every source in srcs can reach every
// destination in dsts on the same ports, allowed by the same rules: the
// connections of the matrix grouped into rectangles. A synthetic cluster of
// 5,000 workloads has over four million connections, 32,000 distinct
// allowances and 39,000 flows, whose allowance terms (ports, the rules
// behind them) are shared. Connection objects would need gigabytes; flows
// fit in tens of megabytes, and the byDst index lets rules look up
// destinations instead of scanning.

var (
	kAddressDependentIdx = ast.StringTerm("addressDependent")
	kByDst               = ast.StringTerm("byDst")
	kPortsByDst          = ast.StringTerm("portsByDst")
	kDstKind             = ast.StringTerm("dstKind")
	kDstName             = ast.StringTerm("dstName")
	kDsts                = ast.StringTerm("dsts")
	kExtra               = ast.StringTerm("extra")
	kExtraText           = ast.StringTerm("extraText")
	kFlows               = ast.StringTerm("flows")
	kFromExternal        = ast.StringTerm("fromExternal")
	kPortsText           = ast.StringTerm("portsText")
	kPromoted            = ast.StringTerm("promoted")
	kPromotedText        = ast.StringTerm("promotedText")
	kSrcKind             = ast.StringTerm("srcKind")
	kSrcName             = ast.StringTerm("srcName")
	kSrcs                = ast.StringTerm("srcs")
)

// allowanceTerms are the parts of a flow that come from its allowance.
type allowanceTerms struct {
	ports, portsText, allPorts, addressDependent, allowedBy *ast.Term
}

func (b *inputBuilder) allowance(a *model.Allowance) *allowanceTerms {
	if t, ok := b.allowances[a]; ok {
		return t
	}
	grants := make([]*ast.Term, len(a.Grants))
	for j := range a.Grants {
		grants[j] = b.grantTerm(&a.Grants[j])
	}
	t := &allowanceTerms{
		ports:            b.portsTerm(a.Ports),
		portsText:        b.portsText(a.Ports),
		allPorts:         boolTerm(a.Ports.IsAll()),
		addressDependent: boolTerm(a.AddressDependent),
		allowedBy:        ast.ArrayTerm(grants...),
	}
	b.allowances[a] = t
	return t
}

// grantKey identifies a grant by its ports and its rules' numbers
// (ruleRef): many allowances share the same rule pairs.
type grantKey struct {
	ports           string
	egress, ingress int32
}

func (b *inputBuilder) grantTerm(g *model.Grant) *ast.Term {
	var buf [64]byte
	k := grantKey{ports: string(portsKey(buf[:0], g.Ports)), egress: b.ruleRef(g.Egress), ingress: b.ruleRef(g.Ingress)}
	if t, ok := b.grants[k]; ok {
		return t
	}
	t := ast.ObjectTerm(
		item(kPorts, b.portsTerm(g.Ports)),
		item(kPortsText, b.portsText(g.Ports)),
		item(kEgress, b.refTerms[k.egress]),
		item(kIngress, b.refTerms[k.ingress]),
	)
	b.grants[k] = t
	return t
}

// ruleRef numbers rule reference r, its source left out, and builds its
// term (refTerms) the first time. A matrix's grants share their
// references, so they are looked up by address first: at 20,000
// workloads a side's 507,000 allowances hold 1.8 million grants, and
// hashing the values of their references took about half a CPU-second
// per input (a profile: grantTerm 2.1 -> 1.6 CPU-s).
func (b *inputBuilder) ruleRef(r *model.RuleRef) int32 {
	if id, ok := b.refAt[r]; ok {
		return id
	}
	k := *r
	k.Source = model.Location{}
	id, ok := b.ruleRefs[k]
	if !ok {
		id = int32(len(b.refTerms))
		b.refTerms = append(b.refTerms, ruleRefTerm(k))
		b.ruleRefs[k] = id
	}
	b.refAt[r] = id
	return id
}

func ruleRefTerm(r model.RuleRef) *ast.Term {
	var items [][2]*ast.Term
	if r.NotIsolated() {
		items = append(items, item(kNotIsolated, vTrue))
	} else {
		items = append(items, item(kPolicy, str(r.Policy)), item(kRule, num(r.Rule)))
		if r.Kind != "" {
			items = append(items, item(str("kind"), str(r.Kind)), item(str("action"), str(r.Action.String())))
		}
		if r.Section != "" {
			items = append(items, item(str("section"), str(r.Section)))
		}
		if r.L7 != "" {
			items = append(items, item(str("l7"), strings2(strings.Split(r.L7, ","))))
		}
	}
	if r.PassedBy != "" {
		items = append(items, item(str("passedBy"), str(r.PassedBy)))
	}
	return ast.ObjectTerm(items...)
}

// matrixTerms are the per-peer terms of one matrix.
type matrixTerms struct {
	keys, peers []*ast.Term
	byKey       map[string]*ast.Term
}

func newMatrixTerms(m *model.Matrix) *matrixTerms {
	t := &matrixTerms{keys: make([]*ast.Term, len(m.Peers)), peers: make([]*ast.Term, len(m.Peers)), byKey: make(map[string]*ast.Term, len(m.Peers))}
	for i := range m.Peers {
		k := m.Peers[i].Key()
		t.keys[i] = str(k)
		t.byKey[k] = t.keys[i]
		t.peers[i] = peerTerm(&m.Peers[i])
	}
	return t
}

// key renders a workload key, sharing the peer's key term.
func (t *matrixTerms) key(k string) *ast.Term {
	if x, ok := t.byKey[k]; ok {
		return x
	}
	return str(k)
}

// keyList renders workload keys, sharing the peers' key terms.
func (t *matrixTerms) keyList(keys []string) *ast.Term {
	ts := make([]*ast.Term, len(keys))
	for i, k := range keys {
		ts[i] = t.key(k)
	}
	return ast.ArrayTerm(ts...)
}

func peerTerm(p *model.Peer) *ast.Term {
	if w := p.Workload; w != nil {
		return ast.ObjectTerm(
			item(kKind, vWorkload),
			item(kNamespace, str(w.Namespace)),
			item(kName, str(w.Name)),
			item(kWorkloadKind, str(w.Kind)),
			item(kID, str(w.ID())),
		)
	}
	if p.FQDN != "" {
		return ast.ObjectTerm(
			item(kKind, vExternal),
			item(kName, str(p.External)),
			item(str("fqdn"), str(p.FQDN)),
			item(kRange, str("")),
			item(kCIDRs, strings2(nil)),
		)
	}
	var cidrs []string
	for _, pr := range p.Range.Prefixes() {
		cidrs = append(cidrs, pr.String())
	}
	return ast.ObjectTerm(
		item(kKind, vExternal),
		item(kName, str(p.External)),
		item(kRange, str(p.Range.String())),
		item(kCIDRs, strings2(cidrs)),
	)
}

// peerClass tells peers apart for grouping: 0 for workloads, 1+i for
// external ranges of the i-th distinct endpoint name ("" included).
type peerClasses struct {
	class []int32
	names []*ast.Term
}

func newPeerClasses(m *model.Matrix) *peerClasses {
	pc := &peerClasses{class: make([]int32, len(m.Peers))}
	idx := map[string]int32{}
	for i := range m.Peers {
		p := &m.Peers[i]
		if p.Workload != nil {
			continue
		}
		j, ok := idx[p.External]
		if !ok {
			j = int32(len(pc.names))
			idx[p.External] = j
			pc.names = append(pc.names, str(p.External))
		}
		pc.class[i] = j + 1
	}
	return pc
}

// flow is one rectangle of connections: srcs x dsts, all with allowance a
// (and, for promotion flows, the promoted overlay's allowance promo).
type flow struct {
	a, promo           *model.Allowance
	srcClass, dstClass int32
	srcs, dsts         []int32
}

// groupFlows groups connections cs of m, sorted by (Src, Dst), into flows
// (model.GroupFlows), uniform in their peers' classes; promo, when not
// nil, holds the promoted allowance of each connection, for promotion
// flows, which are uniform in it too. Flows come out ordered by first
// destination, then first source, in matrix peer order.
func groupFlows(m *model.Matrix, pc *peerClasses, cs []model.Connection, promo []*model.Allowance) []*flow {
	return groupFlowsIn(min(runtime.GOMAXPROCS(0), maxWorkers, max(1, len(cs)/minGroupRun)), m, pc, cs, promo)
}

// minGroupRun is the fewest connections worth grouping on another core.
const minGroupRun = 50_000

// groupFlowsIn is groupFlows with cs cut into at most parts runs.
func groupFlowsIn(parts int, m *model.Matrix, pc *peerClasses, cs []model.Connection, promo []*model.Allowance) []*flow {
	keys := model.FlowKeys{Class: pc.class}
	// Dense ids for promoted allowances, which come from another matrix
	// (0 stands for none).
	promoted := []*model.Allowance{nil}
	if promo != nil {
		ids := map[*model.Allowance]int32{nil: 0}
		keys.Tag = make([]int32, len(promo))
		for i, a := range promo {
			id, ok := ids[a]
			if !ok {
				id = int32(len(promoted))
				ids[a] = id
				promoted = append(promoted, a)
			}
			keys.Tag[i] = id
		}
	}
	fs := model.GroupFlowsIn(parts, m, cs, keys)
	out := make([]*flow, len(fs))
	for i := range fs {
		f := &fs[i]
		out[i] = &flow{a: m.Allowances[f.Allowance], promo: promoted[f.Tag], srcClass: f.SrcClass, dstClass: f.DstClass, srcs: f.Srcs, dsts: f.Dsts}
	}
	return out
}

// keysTerm is the array of the keys of peers idx. Flows with the same
// peers share one: at 20,000 workloads 628,000 flows hold 78,000 distinct
// lists of sources and 150,000 of destinations, 16 million keys in all
// and 7 million in the distinct lists, each key an element and a hash.
func (b *inputBuilder) keysTerm(mt *matrixTerms, idx []int32) *ast.Term {
	h := b.peersHash(idx)
	for _, l := range b.keyLists[h] {
		if slices.Equal(l.idx, idx) {
			return l.term
		}
	}
	ts := make([]*ast.Term, len(idx))
	for i, j := range idx {
		ts[i] = mt.keys[j]
	}
	t := ast.ArrayTerm(ts...)
	b.keyLists[h] = append(b.keyLists[h], keyList{idx, t})
	return t
}

// keyList is a list of peers whose keys' array keysTerm built; idx is
// the flow's, only read.
type keyList struct {
	idx  []int32
	term *ast.Term
}

var vEmpty = ast.StringTerm("")

func classTerms(pc *peerClasses, class int32) (kind, name *ast.Term) {
	if class == 0 {
		return vWorkload, vEmpty
	}
	return vExternal, pc.names[class-1]
}

func (b *inputBuilder) flowTerm(mt *matrixTerms, pc *peerClasses, f *flow, extra ...[2]*ast.Term) *ast.Term {
	a := b.allowance(f.a)
	srcKind, srcName := classTerms(pc, f.srcClass)
	dstKind, dstName := classTerms(pc, f.dstClass)
	items := append([][2]*ast.Term{
		item(kSrcs, b.keysTerm(mt, f.srcs)),
		item(kDsts, b.keysTerm(mt, f.dsts)),
		item(kSrcKind, srcKind),
		item(kSrcName, srcName),
		item(kDstKind, dstKind),
		item(kDstName, dstName),
		item(kPorts, a.ports),
		item(kPortsText, a.portsText),
		item(kAllPorts, a.allPorts),
		item(kAddressDependent, a.addressDependent),
		item(kAllowedBy, a.allowedBy),
	}, extra...)
	return ast.ObjectTerm(items...)
}

// flowTerms renders flows on every core, b's caches serving the first.
// Flows are shared out by allowance, so that each allowance's terms are
// built once.
func (b *inputBuilder) flowTerms(mt *matrixTerms, pc *peerClasses, all []*flow) []*ast.Term {
	return b.flowTermsIn(min(runtime.GOMAXPROCS(0), maxWorkers, 1+len(all)/minFlowsPerWorker), mt, pc, all)
}

// minFlowsPerWorker is the fewest flows worth rendering on another core.
const minFlowsPerWorker = 2000

// flowTermsIn is flowTerms on that many workers.
func (b *inputBuilder) flowTermsIn(workers int, mt *matrixTerms, pc *peerClasses, all []*flow) []*ast.Term {
	terms := make([]*ast.Term, len(all))
	owner := make(map[*model.Allowance]int, len(all))
	for _, f := range all {
		if _, ok := owner[f.a]; !ok {
			owner[f.a] = len(owner) % workers
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wb := b
		if w > 0 {
			wb = newInputBuilder()
			wb.flows = b.flows
		}
		wg.Go(func() {
			for i, f := range all {
				if owner[f.a] != w {
					continue
				}
				if wb.flows == nil {
					terms[i] = wb.flowTerm(mt, pc, f)
					continue
				}
				terms[i] = wb.flows.term(f, func() *ast.Term { return wb.flowTerm(mt, pc, f) })
			}
		})
	}
	wg.Wait()
	return terms
}

// reachTerm builds input.reach.
// isolatedIn holds the workloads some NetworkPolicy isolates for ingress
// (isolation).
func (b *inputBuilder) reachTerm(m *model.Matrix, mt *matrixTerms, c *model.Cluster, isolatedIn map[string][]string) *ast.Term {
	pc := newPeerClasses(m)
	peers := make([][2]*ast.Term, len(m.Peers))
	for i := range m.Peers {
		peers[i] = item(mt.keys[i], mt.peers[i])
	}

	all := groupFlows(m, pc, m.Connections, nil)
	flows := b.flowTerms(mt, pc, all)
	var fromExternal, addrDep []*ast.Term
	byDst := byDestination(len(m.Peers), all, func(i int) *ast.Term { return flows[i] })
	for i, f := range all {
		t := flows[i]
		if f.srcClass != 0 {
			fromExternal = append(fromExternal, t)
		}
		if f.a.AddressDependent {
			addrDep = append(addrDep, t)
		}
	}
	unreached := newUnreached(c, m, isolatedIn)
	portsByDst := b.portsByDst(m, all, unreached.reached)
	dsts := make([][2]*ast.Term, 0, len(m.Peers))
	dstPorts := make([][2]*ast.Term, 0, len(m.Peers))
	for d, ts := range byDst {
		if len(ts) > 0 {
			dsts = append(dsts, item(mt.keys[d], ast.ArrayTerm(ts...)))
			dstPorts = append(dstPorts, item(mt.keys[d], portsByDst[d]))
		}
	}

	unmanaged := make([]*ast.Term, len(m.Unmanaged))
	for i, u := range m.Unmanaged {
		key := ""
		if u.Workload != nil {
			key = u.Workload.Key()
		}
		unmanaged[i] = ast.ObjectTerm(item(kWorkload, str(key)), item(kReason, str(u.Reason)))
	}
	declared := newDeclaredIndex(c)
	// Peers with the same selectors share their list of matches
	// (model.PeerSelection), and so the list's term.
	matches := map[*string]*ast.Term{}
	selection := make([]*ast.Term, len(m.Selection))
	for i := range m.Selection {
		s := &m.Selection[i]
		ps := make([]*ast.Term, len(s.Peers))
		for j, p := range s.Peers {
			d, u := declared.terms(p.Matches, mt)
			ps[j] = ast.ObjectTerm(
				item(kDirection, str(p.Direction.String())),
				item(kRule, num(p.Rule)),
				item(kPeer, num(p.Peer)),
				item(kMatches, sharedKeyList(matches, mt, p.Matches)),
				item(kIPBlock, str(p.IPBlock)),
				item(kDeclared, d),
				item(kUndeclared, u),
			)
		}
		d, u := declared.terms(s.Selects, mt)
		selection[i] = ast.ObjectTerm(
			item(kPolicy, str(s.Policy)),
			item(kSource, locTerm(s.Source)),
			item(kSelects, mt.keyList(s.Selects)),
			item(kPeers, ast.ArrayTerm(ps...)),
			item(kDeclared, d),
			item(kUndeclared, u),
		)
	}
	return ast.ObjectTerm(
		item(kPeers, ast.ObjectTerm(peers...)),
		item(kFlows, ast.ArrayTerm(flows...)),
		item(kByDst, ast.ObjectTerm(dsts...)),
		item(kPortsByDst, ast.ObjectTerm(dstPorts...)),
		item(str("unreached"), unreached.term()),
		item(kFromExternal, ast.ArrayTerm(fromExternal...)),
		item(kAddressDependentIdx, ast.ArrayTerm(addrDep...)),
		item(str("addressSides"), addressSidesTerm(m, c, mt, all)),
		item(str("unmanaged"), ast.ArrayTerm(unmanaged...)),
		item(str("selection"), ast.ArrayTerm(selection...)),
	)
}

// sharedKeyList is mt.keyList(keys), one term for each list of keys,
// told apart by address: lists shared by the matrix share their term.
func sharedKeyList(terms map[*string]*ast.Term, mt *matrixTerms, keys []string) *ast.Term {
	if len(keys) == 0 {
		return mt.keyList(keys)
	}
	first := unsafe.SliceData(keys)
	if t, ok := terms[first]; ok && t.Value.(*ast.Array).Len() == len(keys) {
		return t
	}
	t := mt.keyList(keys)
	terms[first] = t
	return t
}

// byDestination lists, for each of peers, value(i) of every flow all[i]
// into it, in the order of all: the lists are parts of one array, counted
// first (at 20,000 workloads 628,000 flows go to 8.5 million
// destinations, and growing a list per peer cost more than filling them).
func byDestination[T any](peers int, all []*flow, value func(i int) T) [][]T {
	at := make([]int, peers+1)
	for _, f := range all {
		for _, d := range f.dsts {
			at[d+1]++
		}
	}
	for d := range peers {
		at[d+1] += at[d]
	}
	backing := make([]T, at[peers])
	next := slices.Clone(at[:peers])
	for i, f := range all {
		v := value(i)
		for _, d := range f.dsts {
			backing[next[d]] = v
			next[d]++
		}
	}
	out := make([][]T, peers)
	for d := range out {
		out[d] = backing[at[d]:at[d+1]:at[d+1]]
	}
	return out
}

func validPeer(m *model.Matrix, i int32) bool { return i >= 0 && int(i) < len(m.Peers) }

// promotionTerm builds input.promotion: the flows of m that the promoted
// overlay does not allow, or allows on fewer ports. Workloads are matched
// by ID, external ranges by address. Each flow carries promoted (the ports
// the promoted overlay allows for its pairs, {} when none) and extra (the
// ports only m allows).
func (b *inputBuilder) promotionTerm(m *model.Matrix, mt *matrixTerms, p *Promotion) *ast.Term {
	pm := p.Matrix
	if pm == nil {
		pm = &model.Matrix{}
	}
	// Workloads match by ID (kind included: a workload's key names its
	// kind only where another shares its name, which may differ between
	// the overlays). An external range of m stands for every
	// external range of pm that overlaps it: each overlay's ipBlocks cut
	// the address space its own way, and a flow to a range was promoted
	// only if pm allows it to every part of that range.
	pidx := make(map[string]int32, len(pm.Peers))
	pranges := map[model.IPRange]int32{}
	var pmExternal []int32
	for i := range pm.Peers {
		if w := pm.Peers[i].Workload; w != nil {
			pidx[w.ID()] = int32(i)
		} else if f := pm.Peers[i].FQDN; f != "" {
			pidx[model.FQDNPrefix+f] = int32(i) // host names match by name
		} else {
			pmExternal = append(pmExternal, int32(i))
			pranges[pm.Peers[i].Range] = int32(i)
		}
	}
	// mapped is the peer of pm a peer of m is: the workload with its key,
	// or the external range cut the same way (pm's ranges do not overlap,
	// so that one stands for all of it); -1 for none. cover holds the
	// ranges of pm that together make up an external range of m cut
	// differently.
	mapped := make([]int32, len(m.Peers))
	cover := make([][]int32, len(m.Peers))
	for i := range m.Peers {
		mapped[i] = -1
		p := &m.Peers[i]
		if p.Workload != nil {
			if j, ok := pidx[p.Workload.ID()]; ok {
				mapped[i] = j
			}
			continue
		}
		if p.FQDN != "" {
			if j, ok := pidx[model.FQDNPrefix+p.FQDN]; ok {
				mapped[i] = j
			}
			continue
		}
		if j, ok := pranges[p.Range]; ok {
			mapped[i] = j
			continue
		}
		var parts []int32
		var over []model.IPRange
		for _, j := range pmExternal {
			if r := pm.Peers[j].Range; r.Overlaps(p.Range) {
				parts = append(parts, j)
				over = append(over, r)
			}
		}
		if model.IPSetOfRanges(over...).ContainsRange(p.Range) {
			cover[i] = parts
		}
	}
	// Mapped pairs: when m's peers map into pm in the same order (the usual
	// case: two overlays of one repository), m's connections, sorted by
	// (Src, Dst), meet pm's in order too and one cursor walks pm once;
	// otherwise each lookup is a binary search.
	monotone, prev := true, int32(-1)
	for _, j := range mapped {
		if j < 0 {
			continue
		}
		if j <= prev {
			monotone = false
			break
		}
		prev = j
	}
	pcs := pm.Connections
	less := func(c *model.Connection, s, d int32) bool { return c.Src < s || (c.Src == s && c.Dst < d) }
	search := func(s, d int32) *model.Allowance {
		i := sort.Search(len(pcs), func(i int) bool { return !less(&pcs[i], s, d) })
		if i < len(pcs) && pcs[i].Src == s && pcs[i].Dst == d {
			return pm.Of(pcs[i])
		}
		return nil
	}
	cursor := 0
	pairOf := func(s, d int32) *model.Allowance {
		if !monotone {
			return search(s, d)
		}
		for cursor < len(pcs) && less(&pcs[cursor], s, d) {
			cursor++
		}
		if cursor < len(pcs) && pcs[cursor].Src == s && pcs[cursor].Dst == d {
			return pm.Of(pcs[cursor])
		}
		return nil
	}
	// Ports promoted to every part of an external range, as one allowance
	// per distinct port set so flows can group by it.
	synthetic := map[string]*model.Allowance{}
	spread := func(src, dst int32) *model.Allowance {
		side := func(i int32) []int32 {
			if mapped[i] >= 0 {
				return []int32{mapped[i]}
			}
			return cover[i]
		}
		ss, ds := side(src), side(dst)
		if len(ss) == 0 || len(ds) == 0 {
			return nil
		}
		var ports model.PortSet
		first := true
		for _, s := range ss {
			for _, d := range ds {
				a := search(s, d)
				if a == nil {
					return nil
				}
				if len(ss)*len(ds) == 1 {
					return a
				}
				if first {
					ports, first = a.Ports, false
				} else {
					ports = ports.Intersect(a.Ports)
				}
			}
		}
		if ports.IsEmpty() {
			return nil
		}
		var buf [64]byte
		k := string(portsKey(buf[:0], ports))
		a, ok := synthetic[k]
		if !ok {
			a = &model.Allowance{Ports: ports}
			synthetic[k] = a
		}
		return a
	}
	// The connections of m that pm does not allow, or allows on fewer
	// ports, with what pm allows.
	type pair [2]*model.Allowance
	exceeds := map[pair]bool{}
	var kept []model.Connection
	var promo []*model.Allowance
	for i := range m.Connections {
		c := &m.Connections[i]
		if !validPeer(m, c.Src) || !validPeer(m, c.Dst) {
			continue
		}
		a := m.Of(*c)
		var pa *model.Allowance
		if s, d := mapped[c.Src], mapped[c.Dst]; s >= 0 && d >= 0 {
			pa = pairOf(s, d)
		} else {
			pa = spread(c.Src, c.Dst)
		}
		if pa != nil {
			if pa.Ports.Equal(a.Ports) {
				continue
			}
			k := pair{a, pa}
			ex, seen := exceeds[k]
			if !seen {
				ex = !a.Ports.Subtract(pa.Ports).IsEmpty()
				exceeds[k] = ex
			}
			if !ex {
				continue
			}
		}
		kept = append(kept, *c)
		promo = append(promo, pa)
	}
	pc := newPeerClasses(m)
	all := groupFlows(m, pc, kept, promo)
	flows := make([]*ast.Term, len(all))
	for i, f := range all {
		var promoted model.PortSet
		extra := f.a.Ports
		if f.promo != nil {
			promoted = f.promo.Ports
			extra = extra.Subtract(promoted)
		}
		flows[i] = b.flowTerm(mt, pc, f,
			item(kPromoted, b.portsTerm(promoted)), item(kPromotedText, b.portsText(promoted)),
			item(kExtra, b.portsTerm(extra)), item(kExtraText, b.portsText(extra)))
	}
	return ast.ObjectTerm(
		item(kFrom, str(p.From)),
		item(kFlows, ast.ArrayTerm(flows...)),
	)
}

// portsTerm renders a port set, once per distinct set.
func (b *inputBuilder) portsTerm(s model.PortSet) *ast.Term {
	var buf [64]byte
	k := portsKey(buf[:0], s)
	if t, ok := b.ports[string(k)]; ok {
		return t
	}
	t := portsTerm(s)
	b.ports[string(k)] = t
	return t
}

// portsText is the port set as people read it ("TCP 80,443; UDP 53",
// "all ports"), once per distinct set.
func (b *inputBuilder) portsText(s model.PortSet) *ast.Term {
	var buf [64]byte
	k := portsKey(buf[:0], s)
	if t, ok := b.portTexts[string(k)]; ok {
		return t
	}
	t := str(s.String())
	b.portTexts[string(k)] = t
	return t
}

func portsKey(key []byte, s model.PortSet) []byte {
	return rangesKey(key, rangesOf(s))
}

// rangeSet holds the ranges of a port set by protocol.
type rangeSet [len(model.Protocols)][]model.PortRange

func rangesOf(s model.PortSet) rangeSet {
	var rs rangeSet
	for _, p := range model.Protocols {
		rs[p] = s.Ranges(p)
	}
	return rs
}

func rangesKey(key []byte, rs rangeSet) []byte {
	for _, p := range model.Protocols {
		key = append(key, byte(p), 0xff)
		for _, r := range rs[p] {
			key = append(key, byte(r.From>>8), byte(r.From), byte(r.To>>8), byte(r.To))
		}
	}
	return key
}
