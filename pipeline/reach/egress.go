package reach

import (
	"math/bits"
	"slices"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The egress side of a block of destinations.
//
// What a group of sources may send to destination d depends on d only
// through the group's rules: which of them match d, whether each matches
// only through an address block, and what its named ports resolve to on
// d. Destinations that agree on all three for a group's rules get the
// same outcome from that group. egressBlock sorts the destinations of a
// block into those classes, group by group, by applying the group's
// rules in id order to every destination at once: each rule moves the
// destinations it matches from their class to a child class, the list so
// far plus that rule, unless the rule can no longer change the class's
// outcome (listState.skips). Every class is then interned once, where the
// rule list of every (group, destination) used to be built and interned
// on its own.

// classBlock is how many destinations egressBlock classifies at once.
var classBlock = 256

// enode is a class of destinations for one group: the list of its parent
// plus one matching rule. Node 0 is the root, the empty list.
type enode struct {
	parent int32
	m      pend
	stamp  int32    // the pass whose children child holds
	child  [2]int32 // by addrDep: the classes this node's destinations move to
	eid    int32    // the interned outcome, valid when eidAt is the group's pass
	eidAt  int32
	listState
	skip bool // skips' answer for the pass at stamp
}

// listState is what intern's key filter knows after a list so far (see
// skips): the ports Admin rules of every address took; whether one took
// all of them, so that no later Admin rule decides anything; whether an
// Admin Pass came first; and whether such a rule decided every port with
// no Pass before it, so that only the NetworkPolicy allows after it still
// count (for the overrides). The egress classes and the ingress pruner
// both walk lists with it.
type listState struct {
	covered                     uint64
	adminDone, sawPass, decided bool
}

// egressBlock works out every group's egress outcome towards each
// destination of block; eid reads them.
func (w *worker) egressBlock(block []int) {
	ix := w.ix
	b := len(block)
	words := (b + 63) / 64
	w.blk = block
	w.blkStamp++
	stamp := w.blkStamp
	if len(w.local) < (ix.nextRule+1)*words {
		w.local = make([]uint64, (ix.nextRule+1)*words)
	}
	// local[r] holds the positions in the block of the destinations
	// rule r matches and lets some port through to.
	localOf := func(r *crule) []uint64 { return w.local[r.id*words : (r.id+1)*words] }
	w.activeRules = w.activeRules[:0]
	activate := func(r *crule) []uint64 {
		l := localOf(r)
		if w.localAt[r.id] != stamp {
			w.localAt[r.id] = stamp
			w.activeRules = append(w.activeRules, r)
			clear(l)
		}
		return l
	}
	for j, d := range block {
		for _, r := range w.containing[d] {
			activate(r)[j>>6] |= 1 << (uint(j) & 63)
		}
	}
	for _, r := range w.openRules {
		l := activate(r)
		for i := range l {
			l[i] = ^uint64(0)
		}
		if b&63 != 0 {
			l[words-1] = 1<<(uint(b)&63) - 1
		}
	}
	// Rules without ports let nothing through; named ports resolve per
	// destination and sort them further: the port cache's class[r.id]
	// holds each position's class of resolved ports.
	pc := w.ports
	for _, id := range w.activeNamed {
		pc.class[id] = nil
	}
	w.activeNamed = w.activeNamed[:0]
	for _, r := range w.activeRules {
		if len(r.ports.named) == 0 {
			if r.noPorts {
				clear(localOf(r))
			}
			continue
		}
		w.namedClasses(r, localOf(r), block)
	}

	// Classify the block's destinations for every group with a rule that
	// matches one of them; the others keep their base outcome.
	if len(w.slot) < len(w.groups) {
		w.slot = make([]int32, len(w.groups))
	}
	w.varying = w.varying[:0]
	for g := range w.groups {
		w.slot[g] = -1
		rules := w.sortedRules[g]
		active := false
		for _, r := range rules {
			if w.localAt[r.id] == stamp {
				active = true
				break
			}
		}
		if active {
			w.slot[g] = int32(len(w.varying))
			w.varying = append(w.varying, int32(g))
		}
	}
	nv := len(w.varying)
	if cap(w.table) < nv*b {
		w.table = make([]int32, nv*b)
	}
	w.table = w.table[:nv*b]
	w.nv = nv
	if cap(w.classOf) < b {
		w.classOf = make([]int32, b)
	}
	classOf := w.classOf[:b]
	for slot, g := range w.varying {
		w.classify(int(g), classOf, words)
		iso := w.groups[g].iso
		w.pass++
		for j, c := range classOf {
			n := &w.nodes[c]
			if n.eidAt != w.pass {
				n.eidAt = w.pass
				if c == 0 {
					n.eid = w.baseEID[g]
				} else {
					n.eid = w.internClass(c, j, iso)
				}
			}
			w.table[j*nv+slot] = n.eid
		}
	}
	w.ports.pos = -1
}

// classify sorts the block's destinations into classes for group g:
// classOf[j] is the node of the j-th.
func (w *worker) classify(g int, classOf []int32, words int) {
	for j := range classOf {
		classOf[j] = 0
	}
	w.nodes = append(w.nodes[:0], enode{parent: -1})
	iso := w.groups[g].iso
	for _, r := range w.sortedRules[g] {
		if w.localAt[r.id] != w.blkStamp {
			continue
		}
		l := w.local[r.id*words : (r.id+1)*words]
		w.pass++
		pass := w.pass
		named := w.ports.class[r.id]
		if named != nil {
			w.namedPrepare(r)
		}
		for wi, word := range l {
			for word != 0 {
				j := wi<<6 | bits.TrailingZeros64(word)
				word &= word - 1
				c := classOf[j]
				n := &w.nodes[c]
				if n.stamp != pass {
					n.stamp, n.child = pass, [2]int32{-1, -1}
					n.skip = n.skips(r, iso)
				}
				if n.skip {
					continue
				}
				dep := r.addrDep != nil && r.addrDep.has(w.blk[j])
				if named != nil {
					classOf[j] = w.namedChild(c, r, dep, named[j])
					continue
				}
				k := boolBit(dep)
				if n.child[k] < 0 {
					kid := w.newNode(c, r, dep) // may move n
					w.nodes[c].child[k] = kid
				}
				classOf[j] = w.nodes[c].child[k]
			}
		}
	}
}

// maxKidTable is the most entries namedChild's table takes for one pass;
// passes that would need more use a map.
var maxKidTable = 1 << 16

// namedPrepare sets namedChild up for a pass of rule r, which has named
// ports: the classes its destinations move to are found in a table by
// (class, port class, addrDep), each class from before the pass having a
// row of two entries per port class of r.
func (w *worker) namedPrepare(r *crule) {
	stride := 2 * len(w.ports.classSets[r.id])
	n := len(w.nodes) * stride
	if n > maxKidTable {
		w.kidStride = 0
		clear(w.namedKids)
		return
	}
	w.kidStride = stride
	if len(w.kids) < n {
		w.kids = make([]int32, max(n, 2*len(w.kids)))
		w.kidsAt = make([]int32, len(w.kids))
	}
}

// namedChild is the class destinations of class c move to when rule r,
// with named ports resolving to port class pc, matches them.
func (w *worker) namedChild(c int32, r *crule, dep bool, pc int32) int32 {
	if w.kidStride == 0 {
		k := [3]int32{c, pc, int32(boolBit(dep))}
		if n, ok := w.namedKids[k]; ok {
			return n
		}
		n := w.newNode(c, r, dep)
		w.namedKids[k] = n
		return n
	}
	i := int(c)*w.kidStride + int(pc)*2 + int(boolBit(dep))
	if w.kidsAt[i] == w.pass {
		return w.kids[i]
	}
	n := w.newNode(c, r, dep)
	w.kids[i], w.kidsAt[i] = n, w.pass
	return n
}

// newNode adds the class of parent c's destinations that rule r matches.
func (w *worker) newNode(c int32, r *crule, dep bool) int32 {
	kid := enode{parent: c, m: pend{rule: r, addrDep: dep}, listState: w.nodes[c].listState}
	kid.follow(r, dep)
	n := int32(len(w.nodes))
	w.nodes = append(w.nodes, kid)
	return n
}

// follow updates n for a list that goes on with rule r, matched only
// through an address block when dep is set.
func (n *listState) follow(r *crule, dep bool) {
	if r.tier != model.TierAdmin {
		return
	}
	if r.masked && !dep {
		n.covered |= r.portMask
	}
	if r.allPorts && !dep {
		n.adminDone = true
		n.decided = n.decided || r.action != model.ActionPass && !n.sawPass
	}
	n.sawPass = n.sawPass || r.action == model.ActionPass
}

// skips reports whether rule r, matching the destinations of a class
// whose list is in state n, changes neither the outcome of their lists
// (their group is isolated when iso is set) nor the overrides it records: an Admin rule after one of every
// port, or whose ports earlier Admin rules took, which intern's key
// leaves out too; a Baseline rule of an isolated group, or after an Admin
// rule decided every port. The destinations then stay in class n: fewer
// classes, and shorter lists to intern. NetworkPolicy rules are never
// skipped: a cut list's allows record its overrides.
func (n *listState) skips(r *crule, iso bool) bool {
	switch r.tier {
	case model.TierAdmin:
		return n.adminDone || r.masked && r.portMask&^n.covered == 0
	case model.TierBaseline:
		return iso || n.decided
	}
	return false
}

// namedClasses resolves the named ports of r on each destination of the
// block it matches, dropping those it lets nothing through to, and
// numbers the distinct results for the port cache.
func (w *worker) namedClasses(r *crule, l []uint64, block []int) {
	pc := w.ports
	cls := w.namedBuf[r.id]
	if len(cls) < len(block) {
		cls = make([]int32, len(block))
		w.namedBuf[r.id] = cls
	}
	pc.class[r.id] = cls
	pc.classSets[r.id] = pc.classSets[r.id][:0]
	pc.classKeys[r.id] = pc.classKeys[r.id][:0]
	w.activeNamed = append(w.activeNamed, r.id)
	clear(w.portClass)
	for wi := range l {
		word := l[wi]
		for word != 0 {
			t := bits.TrailingZeros64(word)
			word &= word - 1
			j := wi<<6 | t
			ps := r.ports.resolve(&w.ix.peers[block[j]])
			if ps.IsEmpty() {
				l[wi] &^= 1 << uint(t)
				continue
			}
			w.key = appendPorts(w.key[:0], ps)
			id, ok := w.portClass[string(w.key)]
			if !ok {
				id = int32(len(pc.classSets[r.id]))
				w.portClass[string(w.key)] = id
				pc.classSets[r.id] = append(pc.classSets[r.id], ps)
				pc.classKeys[r.id] = append(pc.classKeys[r.id], slices.Clone(w.key))
			}
			cls[j] = id
		}
	}
}

// internClass interns the list of class c, whose destinations include
// the block's j-th.
func (w *worker) internClass(c int32, j int, iso bool) int32 {
	ms := w.scratch[:0]
	for ; c > 0; c = w.nodes[c].parent {
		ms = append(ms, w.nodes[c].m)
	}
	slices.Reverse(ms) // the walk went from the leaf up
	w.scratch = ms
	w.ports.pos = j
	return w.eg.intern(ms, iso)
}

// eid is the egress outcome of group g towards the block's j-th
// destination.
func (w *worker) eid(g int32, j int) int32 {
	if s := w.slot[g]; s >= 0 {
		return w.table[j*w.nv+int(s)]
	}
	return w.baseEID[g]
}
