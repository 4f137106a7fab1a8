// Package reach computes who can reach whom under Kubernetes
// NetworkPolicy semantics, with the rules behind every allowed flow, and
// compares two such matrices.
//
// The cost grows with workloads x distinct selectors, not with
// workloads^2 x policies: every distinct selector is evaluated once into a
// bitset of peers, sources are grouped by the egress rules that select them,
// and each destination is visited once, touching only the sources some rule
// lets in.
package reach

import (
	"cmp"
	"context"
	"encoding/binary"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/reachgate/reachgate/internal/par"
	"github.com/reachgate/reachgate/pipeline/model"
)

// Compute returns the reachability matrix of the cluster.
func Compute(c *model.Cluster) *model.Matrix {
	m, _ := ComputeContext(context.Background(), c)
	return m
}

// ComputeContext is Compute that stops, with ctx's error, when ctx is
// done: every worker looks at ctx between chunks of destinations.
func ComputeContext(ctx context.Context, c *model.Cluster) (*model.Matrix, error) {
	return newIndex(c, nil).compute(ctx)
}

// ComputeAll returns the matrices of several clusters (the base and head
// of an overlay, or two overlays) with external address ranges split at
// the same boundaries, so that Diff compares them range by range.
func ComputeAll(cs ...*model.Cluster) []*model.Matrix {
	ms, _ := ComputeAllContext(context.Background(), cs...)
	return ms
}

// ComputeAllContext is ComputeAll that stops, with ctx's error, when ctx
// is done: every worker looks at ctx between chunks of destinations.
func ComputeAllContext(ctx context.Context, cs ...*model.Cluster) ([]*model.Matrix, error) {
	all := make([]bool, len(cs))
	for i := range all {
		all[i] = true
	}
	return ComputeSomeContext(ctx, all, cs...)
}

// contrib is one rule's part in one direction of a pair. Before the
// tiers are applied (a rule that matched), addrDep says the rule matched
// only through an address block; after (a rule that let ports through),
// ports are what it lets through and certain the part that does not
// depend on the other peer's unknown address.
type contrib struct {
	rule    *crule // nil for "not isolated"
	pass    *crule // the Pass rule that passed the ports on, or nil
	ports   model.PortSet
	certain model.PortSet
	addrDep bool
}

type egGroup struct {
	rules   ruleList
	iso     bool // isolated for egress by a NetworkPolicy
	members []int
}

// pend is a rule that matched one direction of a pair, before the tiers
// are applied; addrDep says it matched only through an address block.
type pend struct {
	rule    *crule
	addrDep bool
}

// interner gives every distinct list of matching rules one id, and
// applies the tiers to it once; lists that let the same ports through by
// the same rules share one outcome, so identical allowances are computed
// and stored once.
type interner struct {
	ix        *index
	pc        *portCache
	overrides overrideSet
	lists     [][]contrib      // by outcome id
	outcomes  map[string]int32 // outcome key -> outcome id
	ids       map[string]int32 // list key -> list id
	listOut   []int32          // list id -> outcome id
	// listDenies holds, for a list cut short by an Admin rule, the ports
	// each of its Admin Deny rules denies first: what it takes from the
	// NetworkPolicy allows after the cut.
	listDenies [][]contrib
	seenOv     map[[2]int32]struct{} // (list id, rule id) whose overrides are recorded
	buf, obuf  []byte
	cs         []contrib
	side       sideScratch
}

func newInterner(ix *index, pc *portCache) *interner {
	return &interner{ix: ix, pc: pc, overrides: overrideSet{}, outcomes: map[string]int32{},
		ids: map[string]int32{}, seenOv: map[[2]int32]struct{}{}}
}

// portCache holds the ports of rules with named ports towards the
// destination at hand, resolved once per rule: a list key holds them,
// and a rule is in many lists.
type portCache struct {
	dst  *model.Peer
	d    int32 // d+1 of dst
	at   []int32
	sets []model.PortSet
	keys [][]byte
	// While egressBlock interns its classes, pos is the position in the
	// block of the destination at hand, and the named ports of the rules
	// that match in the block are resolved already: class[r.id] is each
	// position's class of resolved ports, classSets and classKeys the
	// ports and key of each class. pos is -1 otherwise.
	pos       int
	class     [][]int32
	classSets [][]model.PortSet
	classKeys [][][]byte
}

func newPortCache(rules int) *portCache {
	return &portCache{at: make([]int32, rules+1), sets: make([]model.PortSet, rules+1), keys: make([][]byte, rules+1), pos: -1,
		class: make([][]int32, rules+1), classSets: make([][]model.PortSet, rules+1), classKeys: make([][][]byte, rules+1)}
}

// of returns r's ports towards the destination, and their key encoding
// when r has named ports.
func (pc *portCache) of(r *crule) (model.PortSet, []byte) {
	if len(r.ports.named) == 0 {
		return r.ports.static, nil
	}
	if pc.pos >= 0 {
		if cls := pc.class[r.id]; cls != nil {
			c := cls[pc.pos]
			return pc.classSets[r.id][c], pc.classKeys[r.id][c]
		}
	}
	if pc.at[r.id] != pc.d {
		pc.at[r.id] = pc.d
		pc.sets[r.id] = r.ports.resolve(pc.dst)
		pc.keys[r.id] = appendPorts(pc.keys[r.id][:0], pc.sets[r.id])
	}
	return pc.sets[r.id], pc.keys[r.id]
}

// intern returns the outcome id of the rules matching one direction of a
// pair, sorted by id, towards the destination of in.pc.
//
// The key holds isolation and the rule ids of the rules that can change
// the outcome, with the resolved ports of rules with named ports (the one
// case where a rule's ports depend on the destination). Left out are
// Baseline rules of an isolated pod (no traffic reaches them), Admin
// rules whose ports earlier ones took, and everything after an Admin
// Allow or Deny of every port that no Pass precedes: the list is cut
// there. The NetworkPolicy allows after a cut decide nothing, but an
// Admin Deny of the list may override them, which overridden records.
func (in *interner) intern(ms []pend, iso bool) int32 {
	b := append(in.buf[:0], byte(boolBit(iso)))
	cut := -1
	sawPass, adminDone := false, false
	var covered uint64 // the ports Admin rules of every address took
	for i, m := range ms {
		r := m.rule
		if r.tier == model.TierAdmin && adminDone || r.tier == model.TierBaseline && iso {
			continue
		}
		if r.masked {
			if r.portMask&^covered == 0 {
				continue // earlier Admin rules took all its ports
			}
			if !m.addrDep {
				covered |= r.portMask
			}
		}
		b = binary.AppendUvarint(b, uint64(r.id)<<1|boolBit(m.addrDep))
		if _, k := in.pc.of(r); k != nil {
			b = append(b, k...)
		}
		if r.tier != model.TierAdmin {
			continue
		}
		if r.allPorts && !m.addrDep {
			adminDone = true
			if r.action != model.ActionPass && !sawPass && !addrDepAllowIn(ms[i+1:]) {
				cut = i + 1
				break
			}
		}
		if r.action == model.ActionPass {
			sawPass = true
		}
	}
	in.buf = b
	id, ok := in.ids[string(b)]
	if !ok {
		id = int32(len(in.listOut))
		evaluated := ms
		if cut >= 0 {
			evaluated = ms[:cut]
		}
		out, denies := in.evaluate(evaluated, iso, cut >= 0)
		in.listOut = append(in.listOut, out)
		in.listDenies = append(in.listDenies, denies)
		in.ids[string(b)] = id
	}
	if cut >= 0 && in.listDenies[id] != nil {
		in.overridden(id, ms[cut:])
	}
	return in.listOut[id]
}

// adminDenyIn reports whether an ingress rule list holds an Admin Deny,
// which may override the list's NetworkPolicy allows.
func adminDenyIn(rules ruleList) bool {
	for _, r := range rules {
		if r.tier == model.TierAdmin && r.action == model.ActionDeny {
			return true
		}
	}
	return false
}

// addrDepAllowIn reports whether a NetworkPolicy allow matches only
// through an address block: its overrides depend on the address pieces,
// so a list holding one is not cut.
func addrDepAllowIn(ms []pend) bool {
	for _, m := range ms {
		if m.addrDep && m.rule.tier == model.TierNamespace && m.rule.action == model.ActionAllow {
			return true
		}
	}
	return false
}

// probe stands for any NetworkPolicy allow of every port after a cut: what
// Admin Deny rules take from it is what they take from each.
var probe = &crule{id: math.MaxInt32, tier: model.TierNamespace, action: model.ActionAllow, ref: &model.RuleRef{}}

// evaluate applies the tiers to a list and returns its outcome id; for a
// cut list, also the ports each Admin Deny denies first.
func (in *interner) evaluate(ms []pend, iso bool, cut bool) (int32, []contrib) {
	cs := in.cs[:0]
	for _, m := range ms {
		if ports, _ := in.pc.of(m.rule); !ports.IsEmpty() {
			cs = append(cs, contrib{rule: m.rule, ports: ports, addrDep: m.addrDep})
		}
	}
	ov := in.overrides
	if cut {
		all := model.AllPorts()
		cs = append(cs, contrib{rule: probe, ports: all})
		ov = overrideSet{}
	}
	in.cs = cs
	out := in.ix.evalSide(cs, iso, ov, &in.side)
	var denies []contrib
	if cut {
		for k, p := range ov {
			denies = append(denies, contrib{rule: k[1], ports: p})
		}
		out = slices.DeleteFunc(out, func(c contrib) bool { return c.rule == probe })
	}
	k := in.obuf[:0]
	for _, c := range out {
		k = binary.AppendUvarint(k, uint64(c.ruleID())<<1|boolBit(c.addrDep))
		k = binary.AppendUvarint(k, uint64(c.passID()))
		k = appendPorts(k, c.ports)
		k = appendPorts(k, c.certain)
	}
	in.obuf = k
	if id, ok := in.outcomes[string(k)]; ok {
		return id, denies
	}
	id := int32(len(in.lists))
	in.lists = append(in.lists, slices.Clone(out))
	in.outcomes[string(k)] = id
	return id, denies
}

// overridden records what the Admin Deny rules of cut list id take from
// the NetworkPolicy allows after the cut.
func (in *interner) overridden(id int32, after []pend) {
	for _, m := range after {
		r := m.rule
		if r.tier != model.TierNamespace || r.action != model.ActionAllow {
			continue
		}
		if len(r.ports.named) == 0 {
			k := [2]int32{id, int32(r.id)}
			if _, ok := in.seenOv[k]; ok {
				continue
			}
			in.seenOv[k] = struct{}{}
		}
		ports, _ := in.pc.of(r)
		for _, d := range in.listDenies[id] {
			if q := ports.Intersect(d.ports); !q.IsEmpty() {
				k := [2]*crule{r, d.rule}
				in.overrides[k] = in.overrides[k].Union(q)
			}
		}
	}
}

// refIn is the reference of the contributing rule in direction dir,
// with the Pass rule that passed its ports on, as the grants share it.
func (c *contrib) refIn(dir model.Direction, rs *sharedRefs) *model.RuleRef {
	switch {
	case c.pass != nil:
		return rs.passed(c.rule, c.pass, dir)
	case c.rule != nil:
		return c.rule.ref
	}
	return rs.notIsolated[dir]
}

// sharedRefs holds the references grants share besides the rules' own:
// "not isolated" in each direction, and each rule (or "not isolated")
// with the Pass rule that passed its ports on. A grant's references are
// two pointers: at np+anp+cilium the allowances hold 3.2 million grants,
// whose references, as two values each, took 0.8 GB.
type sharedRefs struct {
	notIsolated [2]*model.RuleRef // by direction
	mu          sync.Mutex
	at          map[passedKey]*model.RuleRef
}

func newSharedRefs() *sharedRefs {
	return &sharedRefs{
		notIsolated: [2]*model.RuleRef{model.Ingress: {Direction: model.Ingress}, model.Egress: {Direction: model.Egress}},
		at:          map[passedKey]*model.RuleRef{},
	}
}

type passedKey struct {
	rule, pass *crule
	dir        model.Direction
}

// passed is the reference of rule (nil: not isolated) in direction dir,
// passed on by pass.
func (rs *sharedRefs) passed(rule, pass *crule, dir model.Direction) *model.RuleRef {
	k := passedKey{rule, pass, dir}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.at[k]; ok {
		return r
	}
	r := &model.RuleRef{Direction: dir}
	if rule != nil {
		*r = *rule.ref
	}
	r.PassedBy = pass.text
	rs.at[k] = r
	return r
}

// ruleID is the contributing rule's id, 0 for "not isolated".
func (c *contrib) ruleID() int {
	if c.rule == nil {
		return 0
	}
	return c.rule.id
}

// passID is the id of the Pass rule that passed the ports on, 0 for none.
func (c *contrib) passID() int {
	if c.pass == nil {
		return 0
	}
	return c.pass.id
}

// appendPorts appends a self-delimiting encoding of s to b.
func appendPorts(b []byte, s model.PortSet) []byte {
	for _, p := range model.Protocols {
		rs := s.Ranges(p)
		b = binary.AppendUvarint(b, uint64(len(rs)))
		for _, r := range rs {
			b = binary.AppendUvarint(b, uint64(r.From)<<16|uint64(r.To))
		}
	}
	return b
}

func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// sortPends orders a list by rule id: policies in cluster order, rules
// in spec order.
func sortPends(ms []pend) {
	if len(ms) < 2 {
		return
	}
	slices.SortFunc(ms, func(a, b pend) int { return a.rule.id - b.rule.id })
}

func (ix *index) compute(ctx context.Context) (*model.Matrix, error) {
	pl := ix.plan()
	flats, overrides, err := pl.run(ctx, nil)
	if err != nil {
		return nil, err
	}
	m := &model.Matrix{}
	m.Connections, m.Allowances = numberAllowances(bySource(flats, len(ix.peers)), pl.pool.allowances)
	ix.finish(m, overrides)
	return m, nil
}

// finish fills in what a matrix holds besides its connections.
func (ix *index) finish(m *model.Matrix, overrides []overrideSet) {
	m.Peers = ix.peers
	for i := range ix.c.Workloads {
		if w := &ix.c.Workloads[i]; w.HostNetwork {
			m.Unmanaged = append(m.Unmanaged, model.Unmanaged{Workload: w, Reason: "hostNetwork pods use the node's network namespace; NetworkPolicy does not apply to them"})
		}
	}
	m.Selection = ix.selection()
	m.Omitted = ix.c.Omitted
	m.Overridden = overridden(overrides)
}

// plan works out what the workers share: the groups of sources and the
// egress rules that may reach each destination.
func (ix *index) plan() *plan {
	n := len(ix.peers)
	// Group sources by the egress rules that apply to them; group 0 is
	// every source that is not isolated for egress.
	groupOf := make([]int32, n)
	groups := []egGroup{{}}
	byKey := map[string]int32{}
	for s := 0; s < n; s++ {
		if s >= ix.nw || (!ix.egIso[s] && len(ix.egRules[s]) == 0) {
			groups[0].members = append(groups[0].members, s)
			continue
		}
		rules := ix.egRules[s]
		var b strings.Builder
		if ix.egIso[s] {
			b.WriteByte('i') // isolated, possibly with no rule at all
		} else {
			b.WriteByte('o') // not isolated, with cluster policy rules
		}
		for _, r := range rules {
			b.WriteString(strconv.Itoa(r.id))
			b.WriteByte(',')
		}
		g, ok := byKey[b.String()]
		if !ok {
			g = int32(len(groups))
			groups = append(groups, egGroup{rules: rules, iso: ix.egIso[s]})
			byKey[b.String()] = g
		}
		groupOf[s] = g
		groups[g].members = append(groups[g].members, s)
	}
	// For each group, its egress rules in id order; and for each peer, the
	// egress rules whose peers include it (rules open to everyone kept apart).
	sortedRules := make([]ruleList, len(groups))
	var openRules []*crule
	containing := make([][]*crule, n)
	seen := map[*crule]bool{}
	for g := 1; g < len(groups); g++ {
		sortedRules[g] = slices.SortedFunc(slices.Values(groups[g].rules), func(a, b *crule) int { return a.id - b.id })
		for _, r := range groups[g].rules {
			if seen[r] {
				continue
			}
			seen[r] = true
			if r.open {
				openRules = append(openRules, r)
				continue
			}
			r.match.each(func(d int) { containing[d] = append(containing[d], r) })
		}
	}

	// Rules in id order, so that each group's list is built sorted.
	byID := func(a, b *crule) int { return a.id - b.id }
	slices.SortFunc(openRules, byID)
	for _, rs := range containing {
		if !slices.IsSortedFunc(rs, byID) {
			slices.SortFunc(rs, byID)
		}
	}
	var openGroups []int32
	for g := range groups {
		if !groups[g].iso {
			openGroups = append(openGroups, int32(g))
		}
	}
	return &plan{ix: ix, groups: groups, openGroups: openGroups, groupOf: groupOf, sortedRules: sortedRules, openRules: openRules, containing: containing,
		pool: &allowancePool{byKey: map[string]int32{}}}
}

// run computes the connections into dests (every peer when nil, none
// when empty; in ascending order), as chunks of segments, and the
// overrides each worker found. Destinations are shared out in chunks to
// one worker per core; each chunk's connections come out sorted by
// destination, and a counting sort (bySource) then puts all of them in
// (Src, Dst) order.
func (pl *plan) run(ctx context.Context, dests []int) ([]chunkOut, []overrideSet, error) {
	n := len(pl.ix.peers)
	if dests != nil {
		n = len(dests)
	}
	dest := func(i int) int {
		if dests != nil {
			return dests[i]
		}
		return i
	}
	workers := min(runtime.GOMAXPROCS(0), 8)
	bounds := chunkBounds(n, workers)
	nChunks := len(bounds) - 1
	flats := make([]chunkOut, nChunks)
	// Grouping columns, a worker's flows span its chunks, which it takes
	// in ascending order (next), so each flow's destinations ascend.
	perWorker := make([]chunkOut, workers)
	overrides := make([]overrideSet, 0, 2*workers)
	var overridesMu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wk := pl.newWorker()
			for {
				c := int(next.Add(1) - 1)
				if c >= nChunks || ctx.Err() != nil {
					break
				}
				for lo := bounds[c]; lo < bounds[c+1]; lo += classBlock {
					hi := min(bounds[c+1], lo+classBlock)
					block := wk.blockBuf[:0]
					for i := lo; i < hi; i++ {
						block = append(block, dest(i))
					}
					wk.blockBuf = block
					wk.egressBlock(block)
					for j, d := range block {
						wk.destRun(d, j)
					}
				}
				flats[c] = wk.cut()
			}
			if wk.col != nil {
				perWorker[w] = chunkOut{flows: wk.col.flows}
			}
			overridesMu.Lock()
			overrides = append(overrides, wk.eg.overrides, wk.ing.overrides)
			overridesMu.Unlock()
		}(w)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if pl.columns {
		return perWorker, overrides, nil
	}
	return flats, overrides, nil
}

// chunkBounds cuts n destinations into chunks, [bounds[c],
// bounds[c+1]), for workers that each take the next chunk as they finish
// one. A chunk is whole blocks of classBlock, the egress side's unit, and
// a share of the destinations left, so chunks shrink towards the end and
// the workers finish close together: chunks of one size left a core
// idle for the engine's last second at 20,000 workloads, and smaller
// ones cut blocks.
func chunkBounds(n, workers int) []int {
	bounds := []int{0}
	for lo := 0; lo < n; {
		size := max(classBlock, (n-lo)/(2*workers)/classBlock*classBlock)
		lo = min(n, lo+size)
		bounds = append(bounds, lo)
	}
	return bounds
}

// plan is what every worker shares, read-only.
type plan struct {
	ix         *index
	groups     []egGroup
	openGroups []int32 // groups not isolated for egress
	groupOf    []int32
	// sortedRules are each group's egress rules in id order.
	sortedRules []ruleList
	openRules   []*crule
	containing  [][]*crule
	pool        *allowancePool
	// columns: workers group each destination's connections into flows
	// (ComputeFlows) rather than keep them.
	columns bool
}

// allowancePool holds the matrix's allowances, each once whichever worker
// computed it: consumers group connections by allowance, and must group
// the same way on every run.
type allowancePool struct {
	mu         sync.Mutex
	byKey      map[string]int32
	allowances []*model.Allowance
}

// index returns the index of the allowance with key, made by make if it
// is the first. Workers find most allowances already there: they make
// theirs outside the lock.
func (p *allowancePool) index(key []byte, make func() *model.Allowance) int32 {
	p.mu.Lock()
	i, ok := p.byKey[string(key)]
	p.mu.Unlock()
	if ok {
		return i
	}
	a := make()
	p.mu.Lock()
	defer p.mu.Unlock()
	if i, ok := p.byKey[string(key)]; ok {
		return i
	}
	i = int32(len(p.allowances))
	p.allowances = append(p.allowances, a)
	p.byKey[string(key)] = i
	return i
}

// worker computes the flows into a run of destinations. It owns its
// scratch space, interners and allowances.
type worker struct {
	*plan
	eg, ing            *interner
	ports              *portCache
	notIsoEg, notIsoIn int32
	allowances         map[[2]int32]int32 // index in the pool, -1 for none
	allowCache         []allowEntry       // in front of allowances
	allowBits          int
	key                []byte // scratch for allowance keys
	// The connections go into blocks of blockSize, and a chunk's are
	// segments of them (cut): copying each chunk's out of a growing
	// buffer at its exact size cost a copy of every connection, and
	// growing each chunk's from empty about two. A block holds each
	// connection's source and allowance; runs, its destination, noted
	// once per destination (destRun: dest emits a destination's
	// connections together), not per connection.
	block  []emitted
	segs   [][]emitted // the chunk's so far, before block[start:]
	inSegs int         // the connections in segs
	start  int
	runs   []run // the chunk's so far

	baseEID []int32 // the egress outcome of a group no rule matches
	stamp   []int32 // stamp[s] == d+1: some ingress rule of d matched s
	// The egress side of the block of destinations at hand (egress.go):
	// table[j*nv+slot[g]] is the outcome of group g towards the block's
	// j-th destination, for the varying groups, those with a rule that
	// matches a destination of the block.
	blk         []int
	blkStamp    int32
	localAt     []int32 // by rule id: blkStamp when local holds the rule's positions
	local       []uint64
	namedBuf    [][]int32
	activeNamed []int
	activeRules []*crule
	portClass   map[string]int32
	// namedChild's table (or map, for large passes) of the classes made
	// in the pass at hand; kidsAt holds each entry's pass.
	kids, kidsAt []int32
	kidStride    int
	namedKids    map[[3]int32]int32
	slot         []int32
	varying      []int32
	nv           int
	table        []int32
	classOf      []int32
	nodes        []enode
	pass         int32
	blockBuf     []int
	// Ingress scratch: per source, the bitmask of the destination's ingress
	// rules that let it in (and the address-dependent subset).
	masks, depMasks []uint64
	touched         []int
	perMask         map[[2]uint64]int32
	cache           []groupCache
	seen            []seenAllowance
	prune           pruner // the masks pruned, and their lists (ingress_prune.go)
	// The same for destinations with more than maxMaskRules ingress
	// rules: wideStride words per source, certain then address-dependent,
	// made when a destination first needs them.
	wide      []uint64
	perWide   map[wideKey]int32
	wideCache []wideCache
	// scratch for the contributions of one side before they are interned
	scratch []pend
	// col groups the connections by column, instead of the blocks
	// (ComputeFlows).
	col *columns
}

// maxWideRules is how many ingress rules of one destination the wide
// masks tell apart; destinations with more take the slower exact path.
const (
	wideWords    = 4
	wideStride   = 2 * wideWords
	maxWideRules = 64 * wideWords
)

type wideKey [wideStride]uint64

type wideCache struct {
	d   int
	key wideKey
	a   int32
}

// seenAllowance is an entry of the worker's cache of allowances by
// destination, egress outcome and ingress mask.
type seenAllowance struct {
	d, e, a int32
	mask    [2]uint64
}

// seenBits is the log2 of the cache's size.
var seenBits = 12

func (w *worker) seenSlot(e int32, mk [2]uint64) int {
	h := uint64(e)*0x9e3779b97f4a7c15 ^ mk[0]*0xc2b2ae3d27d4eb4f ^ mk[1]*0x165667b19e3779f9
	return int(h >> 1 >> (63 - seenBits))
}

type groupCache struct {
	d    int
	mask [2]uint64
	a    int32
}

func (pl *plan) newWorker() *worker {
	n := len(pl.ix.peers)
	w := &worker{
		plan:       pl,
		ports:      newPortCache(pl.ix.nextRule),
		allowances: map[[2]int32]int32{},
		allowBits:  allowCacheBits(n),
		baseEID:    make([]int32, len(pl.groups)),
		stamp:      make([]int32, n),
		masks:      make([]uint64, n),
		depMasks:   make([]uint64, n),
		perMask:    map[[2]uint64]int32{},
		cache:      make([]groupCache, len(pl.groups)),
		seen:       make([]seenAllowance, 1<<seenBits),
		localAt:    make([]int32, pl.ix.nextRule+1),
		namedBuf:   make([][]int32, pl.ix.nextRule+1),
		portClass:  map[string]int32{},
		namedKids:  map[[3]int32]int32{},
	}
	w.allowCache = make([]allowEntry, 1<<w.allowBits)
	if pl.columns {
		w.col = newColumns(n)
	}
	w.eg = newInterner(pl.ix, w.ports)
	w.ing = newInterner(pl.ix, w.ports)
	w.notIsoEg = w.eg.intern(nil, false)
	w.notIsoIn = w.ing.intern(nil, false)
	for g := range w.baseEID {
		w.baseEID[g] = -1
		if !pl.groups[g].iso {
			w.baseEID[g] = w.notIsoEg
		}
		w.cache[g].d = -1
	}
	for i := range w.seen {
		w.seen[i].d = -1
	}
	return w
}

// allow is the pool index of the allowance that egress outcome e and
// ingress list i make (-1 for none). The direct-mapped cache answers most
// calls before the map: at 20,000 workloads the map holds about a million
// pairs per worker, and a lookup in it missed the processor's caches
// (85 % of 20.7 million calls hit a cache of 16 k entries).
func (w *worker) allow(e, i int32) int32 {
	c := &w.allowCache[allowSlot(e, i, w.allowBits)]
	if c.e1 == e+1 && c.i == i {
		return c.a
	}
	k := [2]int32{e, i}
	idx, ok := w.allowances[k]
	if !ok {
		eg, in := w.eg.lists[e], w.ing.lists[i]
		var allows bool
		w.key, allows = allowanceKey(eg, in, w.key[:0])
		idx = -1
		if allows {
			key := w.key
			idx = w.pool.index(key, func() *model.Allowance { return combine(eg, in, key[len(key)-1] == 1, w.ix.refs) })
		}
		w.allowances[k] = idx
	}
	*c = allowEntry{e1: e + 1, i: i, a: idx}
	return idx
}

// allowEntry is a slot of the worker's cache of allow: e1 is the egress
// outcome plus one, so that the zero entry holds nothing.
type allowEntry struct{ e1, i, a int32 }

func allowSlot(e, i int32, bits int) uint32 {
	return (uint32(e)*0x9e3779b1 ^ uint32(i)*0x85ebca77) >> (32 - bits)
}

// allowCacheBits sizes a worker's allow cache: two slots per peer, from
// 2^8 to 2^maxAllowBits (192 KiB, which stays in the processor's
// second-level cache).
func allowCacheBits(peers int) int {
	return min(maxAllowBits, max(8, bits.Len(uint(2*peers))))
}

// maxAllowBits bounds the log2 of an allow cache's size (tests make it
// one slot).
var maxAllowBits = 14

func (w *worker) emit(s, d int, a int32) {
	// Self-traffic is left out, and so is traffic between two external
	// ranges, which never crosses the cluster.
	if a >= 0 && s != d && (s < w.ix.nw || d < w.ix.nw) {
		if w.col != nil {
			w.col.add(s, a)
			return
		}
		if len(w.block) == cap(w.block) {
			w.grow()
		}
		w.block = append(w.block, emitted{src: int32(s), allowance: a})
	}
}

// destRun is dest, with the run of d's connections noted for the chunk.
func (w *worker) destRun(d, j int) {
	if w.col != nil {
		w.dest(d, j)
		w.col.close(d)
		return
	}
	before := w.chunkLen()
	w.dest(d, j)
	if n := w.chunkLen() - before; n > 0 {
		w.runs = append(w.runs, run{dst: int32(d), n: int32(n)})
	}
}

// chunkLen is how many connections the chunk at hand holds so far.
func (w *worker) chunkLen() int { return w.inSegs + len(w.block) - w.start }

// emitted is a connection in a worker's block: its destination is its
// run's. Eight bytes where a model.Connection takes twelve: at 20,000
// workloads the blocks hold 106 million connections, alive until
// bySource has copied them.
type emitted struct{ src, allowance int32 }

// run is n consecutive connections of a chunk into dst.
type run struct{ dst, n int32 }

// chunkOut is the connections of a chunk of destinations, in destination
// order: segments of blocks, and their destinations as runs.
type chunkOut struct {
	segs [][]emitted
	runs []run
	// flows, instead, when the plan groups columns (ComputeFlows): a
	// worker's, from all its chunks.
	flows []colFlow
}

// blockSize is how many connections a block holds (256 KiB).
var blockSize = 1 << 15

// grow starts a new block, the current one full.
func (w *worker) grow() {
	if len(w.block) > w.start {
		w.segs = append(w.segs, w.block[w.start:])
		w.inSegs += len(w.block) - w.start
	}
	w.block, w.start = make([]emitted, 0, blockSize), 0
}

// cut returns the connections emitted since the last cut.
func (w *worker) cut() chunkOut {
	if w.col != nil {
		return chunkOut{} // the worker's flows span its chunks
	}
	if len(w.block) > w.start {
		w.segs = append(w.segs, w.block[w.start:len(w.block):len(w.block)])
		w.start = len(w.block)
	}
	out := chunkOut{segs: w.segs, runs: w.runs}
	w.segs, w.runs, w.inSegs = nil, nil, 0
	return out
}

// dest computes every flow into destination d, the j-th of the block
// egressBlock classified last.
func (w *worker) dest(d, j int) {
	ix := w.ix
	w.ports.dst, w.ports.d = &ix.peers[d], int32(d+1)
	var rules ruleList
	iso := false
	if d < ix.nw {
		rules, iso = ix.inRules[d], ix.inIso[d]
	}
	stamp := int32(d + 1)
	// A source whose egress lets nothing reach d makes no flow, but an
	// Admin Deny of d's ingress still overrides the NetworkPolicy allows
	// of d that let it in: its ingress list is interned for that alone.
	shadows := adminDenyIn(rules)
	switch {
	case len(rules) > maxMaskRules && len(rules) <= maxWideRules:
		if w.wide == nil {
			w.wide = make([]uint64, len(ix.peers)*wideStride)
			w.perWide = map[wideKey]int32{}
			w.wideCache = make([]wideCache, len(w.groups))
			for g := range w.wideCache {
				w.wideCache[g].d = -1
			}
		}
		ix.ingressWide(d, rules, w.wide, w.stamp, stamp, &w.touched)
		clear(w.perWide)
		w.prune.reset(rules, iso)
		for _, s := range w.touched {
			m := w.wide[s*wideStride : (s+1)*wideStride]
			mk := wideKey(m)
			clear(m)
			g := w.groupOf[s]
			e := w.eid(g, j)
			if s == d || e < 0 && !shadows {
				continue
			}
			if c := &w.wideCache[g]; e >= 0 && c.d == d && c.key == mk {
				w.emit(s, d, c.a)
				continue
			}
			iid, ok := w.perWide[mk]
			if !ok {
				iid = w.ingressWideList(rules, mk, iso)
				w.perWide[mk] = iid
			}
			if e < 0 {
				continue
			}
			a := w.allow(e, iid)
			w.wideCache[g] = wideCache{d: d, key: mk, a: a}
			w.emit(s, d, a)
		}
		w.touched = w.touched[:0]
		if !iso {
			w.emitUntouched(d, j, stamp)
		}
	case len(rules) > maxWideRules:
		ix.ingressMany(d, rules, w.masks, &w.touched)
		for _, s := range w.touched {
			w.masks[s] = 0
			w.stamp[s] = stamp
			e := w.eid(w.groupOf[s], j)
			if s == d || e < 0 && !shadows {
				continue
			}
			w.scratch = ix.ingressContribsOf(d, rules, s, w.scratch[:0])
			iid := w.ing.intern(w.scratch, iso)
			if e >= 0 {
				w.emit(s, d, w.allow(e, iid))
			}
		}
		w.touched = w.touched[:0]
		if !iso {
			w.emitUntouched(d, j, stamp)
		}
	case len(rules) > 0 || iso:
		ix.ingressFor(d, rules, w.masks, w.depMasks, &w.touched)
		clear(w.perMask)
		w.prune.reset(rules, iso)
		for _, s := range w.touched {
			mk := [2]uint64{w.masks[s], w.depMasks[s]}
			w.masks[s], w.depMasks[s] = 0, 0
			w.stamp[s] = stamp
			g := w.groupOf[s]
			e := w.eid(g, j)
			if s == d || e < 0 && !shadows {
				continue
			}
			// Sources of one group let in by the same rules share an
			// allowance: remember the last one per group.
			if c := &w.cache[g]; e >= 0 && c.d == d && c.mask == mk {
				w.emit(s, d, c.a)
				continue
			}
			// Groups with the same outcome, let in by the same rules,
			// share it too.
			h := &w.seen[w.seenSlot(e, mk)]
			if e >= 0 && h.d == int32(d) && h.e == e && h.mask == mk {
				w.cache[g] = groupCache{d: d, mask: mk, a: h.a}
				w.emit(s, d, h.a)
				continue
			}
			iid, ok := w.perMask[mk]
			if !ok {
				iid = w.ingressList(rules, mk, iso)
				w.perMask[mk] = iid
			}
			if e < 0 {
				continue
			}
			a := w.allow(e, iid)
			w.cache[g] = groupCache{d: d, mask: mk, a: a}
			*h = seenAllowance{d: int32(d), e: e, mask: mk, a: a}
			w.emit(s, d, a)
		}
		w.touched = w.touched[:0]
		if !iso {
			w.emitUntouched(d, j, stamp)
		}
	default:
		for _, g := range w.openGroups {
			a := w.allow(w.eid(g, j), w.notIsoIn)
			for _, s := range w.groups[g].members {
				w.emit(s, d, a)
			}
		}
		// Isolated groups reach d only through a rule that matches it.
		for _, g := range w.varying {
			e := w.eid(g, j)
			if !w.groups[g].iso || e < 0 {
				continue
			}
			a := w.allow(e, w.notIsoIn)
			for _, s := range w.groups[g].members {
				w.emit(s, d, a)
			}
		}
	}
}

// ingressList is the interned ingress list of d's rules in mask mk, which
// perMask has not seen: pruned first, when d has cluster policy rules, so
// that masks differing only in rules that change nothing share a list.
func (w *worker) ingressList(rules ruleList, mk [2]uint64, iso bool) int32 {
	on := w.prune.active()
	if on {
		mk = w.prune.narrow(rules, mk)
		if iid, ok := w.prune.narrowIDs[mk]; ok {
			return iid
		}
	}
	w.scratch = w.ix.ingressContribs(rules, mk, w.scratch[:0])
	iid := w.ing.intern(w.scratch, iso)
	if on {
		w.prune.narrowIDs[mk] = iid
	}
	return iid
}

// ingressWideList is ingressList for a wide mask.
func (w *worker) ingressWideList(rules ruleList, mk wideKey, iso bool) int32 {
	on := w.prune.active()
	if on {
		mk = w.prune.wide(rules, mk)
		if iid, ok := w.prune.wideIDs[mk]; ok {
			return iid
		}
	}
	w.scratch = w.ix.ingressContribsWide(rules, &mk, w.scratch[:0])
	iid := w.ing.intern(w.scratch, iso)
	if on {
		w.prune.wideIDs[mk] = iid
	}
	return iid
}

// emitUntouched emits the flows into d, which no NetworkPolicy isolates
// for ingress, from the sources none of d's cluster policy rules matched.
func (w *worker) emitUntouched(d, j int, stamp int32) {
	for g := range w.groups {
		e := w.eid(int32(g), j)
		if e < 0 {
			continue
		}
		a := int32(-2)
		for _, s := range w.groups[g].members {
			if w.stamp[s] == stamp {
				continue
			}
			if a == -2 {
				a = w.allow(e, w.notIsoIn)
			}
			w.emit(s, d, a)
		}
	}
}

// maxMaskRules is how many ingress rules of one destination are told apart
// by a bitmask; destinations with more take the slower exact path.
const maxMaskRules = 64

// ingressFor marks, for every source some ingress rule of d lets in, which
// rules do: bit k of masks (certain) or depMasks (address-dependent).
func (ix *index) ingressFor(d int, rules ruleList, masks, depMasks []uint64, touched *[]int) {
	dst := &ix.peers[d]
	for k, r := range rules {
		if r.ports.resolve(dst).IsEmpty() {
			continue
		}
		bit := uint64(1) << uint(k)
		r.match.each(func(s int) {
			if masks[s] == 0 && depMasks[s] == 0 {
				*touched = append(*touched, s)
			}
			if r.addrDep != nil && r.addrDep.has(s) {
				depMasks[s] |= bit
			} else {
				masks[s] |= bit
			}
		})
	}
}

// ingressWide is ingressFor for up to maxWideRules rules: bit k of the
// source's first wideWords words (certain) or of the next ones
// (address-dependent). It stamps every source it touches.
func (ix *index) ingressWide(d int, rules ruleList, wide []uint64, stamps []int32, stamp int32, touched *[]int) {
	dst := &ix.peers[d]
	for k, r := range rules {
		if r.ports.resolve(dst).IsEmpty() {
			continue
		}
		word, bit := k>>6, uint64(1)<<(uint(k)&63)
		r.match.each(func(s int) {
			if stamps[s] != stamp {
				stamps[s] = stamp
				*touched = append(*touched, s)
			}
			if r.addrDep != nil && r.addrDep.has(s) {
				wide[s*wideStride+wideWords+word] |= bit
			} else {
				wide[s*wideStride+word] |= bit
			}
		})
	}
}

// ingressContribsWide is ingressContribs for a wide mask.
func (ix *index) ingressContribsWide(rules ruleList, mk *wideKey, out []pend) []pend {
	for k, r := range rules {
		word, bit := k>>6, uint64(1)<<(uint(k)&63)
		certain := mk[word]&bit != 0
		if !certain && mk[wideWords+word]&bit == 0 {
			continue
		}
		out = append(out, pend{rule: r, addrDep: !certain})
	}
	sortPends(out)
	return out
}

// ingressMany only collects the sources some rule of d lets in.
func (ix *index) ingressMany(d int, rules ruleList, mark []uint64, touched *[]int) {
	for _, r := range rules {
		r.match.each(func(s int) {
			if mark[s] == 0 {
				mark[s] = 1
				*touched = append(*touched, s)
			}
		})
	}
}

// ingressContribs lists the ingress contributions of d's rules named by a
// mask pair. A rule matched both with and without address dependence counts
// as certain.
func (ix *index) ingressContribs(rules ruleList, mk [2]uint64, out []pend) []pend {
	for k, r := range rules {
		bit := uint64(1) << uint(k)
		certain := mk[0]&bit != 0
		if !certain && mk[1]&bit == 0 {
			continue
		}
		out = append(out, pend{rule: r, addrDep: !certain})
	}
	sortPends(out)
	return out
}

// ingressContribsOf lists the ingress contributions of d's rules for one
// source, testing each rule.
func (ix *index) ingressContribsOf(d int, rules ruleList, s int, out []pend) []pend {
	dst := &ix.peers[d]
	for _, r := range rules {
		if !r.match.has(s) {
			continue
		}
		if !r.ports.resolve(dst).IsEmpty() {
			out = append(out, pend{rule: r, addrDep: r.addrDep != nil && r.addrDep.has(s)})
		}
	}
	sortPends(out)
	return out
}

// allowanceKey is the key of the allowance of an egress and an ingress
// outcome: every pair of contributions that shares ports, and whether the
// ports depend on an unknown address, in the last byte. It reports false
// when no port gets through.
func allowanceKey(eg, in []contrib, key []byte) ([]byte, bool) {
	var ports, certain model.PortSet
	grants := false
	for _, e := range eg {
		for _, i := range in {
			p := e.ports.Intersect(i.ports)
			if p.IsEmpty() {
				continue
			}
			grants = true
			key = binary.AppendUvarint(key, uint64(e.ruleID()))
			key = binary.AppendUvarint(key, uint64(e.passID()))
			key = binary.AppendUvarint(key, uint64(i.ruleID()))
			key = binary.AppendUvarint(key, uint64(i.passID()))
			key = appendPorts(key, p)
			ports = ports.Union(p)
			if !e.addrDep && !i.addrDep {
				// Both sides are certain of their ports.
				certain = certain.Union(p)
			} else {
				certain = certain.Union(e.certain.Intersect(i.certain))
			}
		}
	}
	if !grants {
		return key, false
	}
	return append(key, byte(boolBit(!ports.Subtract(certain).IsEmpty()))), true
}

// combine is the allowance allowanceKey describes: every egress
// contribution intersected with every ingress one.
func combine(eg, in []contrib, addressDependent bool, rs *sharedRefs) *model.Allowance {
	n := 0
	for _, e := range eg {
		for _, i := range in {
			if e.ports.Overlaps(i.ports) {
				n++
			}
		}
	}
	a := &model.Allowance{AddressDependent: addressDependent, Grants: make([]model.Grant, 0, n)}
	for _, e := range eg {
		for _, i := range in {
			p := e.ports.Intersect(i.ports)
			if p.IsEmpty() {
				continue
			}
			a.Grants = append(a.Grants, model.Grant{Ports: p, Egress: e.refIn(model.Egress, rs), Ingress: i.refIn(model.Ingress, rs)})
			a.Ports = a.Ports.Union(p)
		}
	}
	return a
}

// selection describes what each NetworkPolicy selects and each of its
// rule peers matches; the policies on every core.
func (ix *index) selection() []model.PolicySelection {
	out := make([]model.PolicySelection, 0, len(ix.policies))
	// Each workload's key is made once, and shared by every list.
	wkeys := make([]string, ix.nw)
	for i := range wkeys {
		wkeys[i] = ix.peers[i].Workload.Key()
	}
	keys := func(bs bitset) []string {
		ks := []string{}
		bs.each(func(i int) {
			if i < ix.nw {
				ks = append(ks, wkeys[i])
			}
		})
		sort.Strings(ks)
		return ks
	}
	// Peers with the same selectors share their bitset (peerBS, podSel),
	// and so their list: at 20,000 workloads 16,500 peers hold 3,200
	// distinct bitsets, 2.6 million keys against 160,000.
	type bitsetID struct {
		first *uint64
		words int
	}
	var mu sync.Mutex
	lists := map[bitsetID][]string{}
	shared := func(bs bitset) []string {
		if len(bs) == 0 {
			return keys(bs)
		}
		id := bitsetID{&bs[0], len(bs)}
		mu.Lock()
		ks, ok := lists[id]
		mu.Unlock()
		if ok {
			return ks
		}
		ks = keys(bs)
		mu.Lock()
		defer mu.Unlock()
		if old, ok := lists[id]; ok {
			return old
		}
		lists[id] = ks
		return ks
	}
	var nps []*cpolicy // PolicySelection describes NetworkPolicies
	for _, p := range ix.policies {
		if p.np != nil {
			nps = append(nps, p)
		}
	}
	out = out[:len(nps)]
	par.For(len(nps), func(i int) {
		p := nps[i]
		ps := model.PolicySelection{Policy: p.key, Source: p.source, Selects: keys(p.selected), Peers: []model.PeerSelection{}}
		for _, rules := range [][]*crule{p.in, p.eg} {
			for _, r := range rules {
				for pi, peer := range r.peers {
					sel := model.PeerSelection{Direction: r.ref.Direction, Rule: r.ref.Rule, Peer: pi, IPBlock: peer.ipBlockText, Matches: []string{}}
					if peer.ipBlock == nil {
						sel.Matches = shared(peer.match)
					}
					ps.Peers = append(ps.Peers, sel)
				}
			}
		}
		out[i] = ps
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Policy < out[j].Policy })
	return out
}

// bySource puts the connections of every chunk (each in destination
// order, the chunks in ascending order) in (Src, Dst) order, with a
// counting sort on every core: the connections of a source come chunk by
// chunk, so in destination order. n is the number of peers.
func bySource(flats []chunkOut, n int) []model.Connection {
	// at[c][s] is where chunk c's first connection from s goes.
	at := make([][]int32, len(flats))
	par.For(len(flats), func(c int) {
		counts := make([]int32, n)
		for _, seg := range flats[c].segs {
			for _, x := range seg {
				counts[x.src]++
			}
		}
		at[c] = counts
	})
	total := int32(0)
	for s := range n {
		for c := range flats {
			k := at[c][s]
			at[c][s] = total
			total += k
		}
	}
	out := make([]model.Connection, total)
	par.For(len(flats), func(c int) {
		next := at[c]
		runs := flats[c].runs
		r, left := -1, int32(0)
		for _, seg := range flats[c].segs {
			for _, x := range seg {
				for left == 0 {
					r++
					left = runs[r].n
				}
				left--
				out[next[x.src]] = model.Connection{Src: x.src, Dst: runs[r].dst, Allowance: x.allowance}
				next[x.src]++
			}
		}
	})
	return out
}

// numberAllowances numbers the allowances of pool that the connections
// of out use, in the order out first uses them, and rewrites out to the
// new numbers; it leaves out those none uses. The matrix is then the same
// whichever worker found which allowance first: consumers group
// connections by allowance, and must group the same way on every run.
func numberAllowances(out []model.Connection, pool []*model.Allowance) ([]model.Connection, []*model.Allowance) {
	// The first connection of each allowance, found on every core.
	parts := min(runtime.GOMAXPROCS(0), max(1, len(out)/(1<<16)))
	firsts := make([][]int32, parts)
	par.For(parts, func(p int) {
		first := make([]int32, len(pool))
		for i := range first {
			first[i] = math.MaxInt32
		}
		lo, hi := p*len(out)/parts, (p+1)*len(out)/parts
		for i := hi - 1; i >= lo; i-- {
			first[out[i].Allowance] = int32(i)
		}
		firsts[p] = first
	})
	order := make([]int32, 0, len(pool))
	first := firsts[0]
	for a := range pool {
		for _, f := range firsts[1:] {
			first[a] = min(first[a], f[a])
		}
		if first[a] < math.MaxInt32 {
			order = append(order, int32(a))
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(first[a], first[b]) })
	renumber := make([]int32, len(pool))
	allowances := make([]*model.Allowance, len(order))
	for i, a := range order {
		renumber[a] = int32(i)
		allowances[i] = pool[a]
	}
	par.For(parts, func(p int) {
		for i := p * len(out) / parts; i < (p+1)*len(out)/parts; i++ {
			out[i].Allowance = renumber[out[i].Allowance]
		}
	})
	return out, allowances
}
