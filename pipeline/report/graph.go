package report

import (
	"slices"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// graph is what the DOT and Mermaid renderers draw: one node per workload,
// grouped by namespace, one node per external endpoint reached the same
// way (its ranges with the same edges, as the text formats group them into
// one row), and edges labelled with ports. Parallel edges of one kind
// merge into one, and so do the two directions between two nodes when they
// allow the same ports.
type graph struct {
	title string
	nodes []*gnode
	byKey map[string]*gnode
	ids   map[string]bool
	edges []*gedge
	byEnd map[gedgeKey]*gedge
	// ranges maps the nodeKey of an external range to its group: the
	// ranges of its endpoint with the same edges.
	ranges map[string]*rangeGroup
	// byPeer remembers the node of each peer drawn (draw's peers live as
	// long as it): a matrix of 5,000 workloads has four million edges, and
	// spelling and hashing both ends' keys for each was most of drawing it.
	byPeer map[*model.Peer]*gnode
	// notes say what the matrix leaves out.
	notes []omittedNote
}

// rangeGroup is the external ranges that one node stands for.
type rangeGroup struct {
	key   string
	peers []model.Peer
}

type gnode struct {
	id        string
	namespace string // "" for external ranges
	name      string // workload name or external endpoint name
	detail    string // kind, or the address range
}

type edgeKind uint8

const (
	edgeAllowed edgeKind = iota
	edgeAdded
	edgeRemoved
	edgeChanged
)

type gedge struct {
	from, to *gnode
	kind     edgeKind
	ports    model.PortSet
	before   model.PortSet // changed edges: the ports before
	addrDep  bool
	// mayDeny marks an edge that invalid policies left out of the matrix
	// could deny (mayDenyText).
	mayDeny string
	// both is set when the edge stands for the same ports in both
	// directions.
	both bool
}

// gedgeKey is an edge's ends (each node has its own id) and kind.
type gedgeKey struct {
	from, to *gnode
	kind     edgeKind
}

func newGraph(title string) *graph {
	return &graph{title: title, byKey: map[string]*gnode{}, ids: map[string]bool{}, byEnd: map[gedgeKey]*gedge{}, ranges: map[string]*rangeGroup{},
		byPeer: map[*model.Peer]*gnode{}}
}

// nodeKey identifies a peer as a node.
func nodeKey(p *model.Peer) string {
	if p.Workload != nil {
		return "w\x00" + p.Workload.Namespace + "\x00" + p.Workload.Name + "\x00" + p.Workload.Kind
	}
	return "r\x00" + p.Range.From.String() + "\x00" + p.Range.To.String() + "\x00" + p.External
}

// sanitizeID keeps letters and digits and turns every run of anything
// else into one underscore.
func sanitizeID(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.Trim(b.String(), "_")
}

// node adds the peer, or returns it when already there (or, for an
// external range, the node of its group). Peers must be added in a stable
// order: ids that collide after sanitising get a numbered suffix in that
// order.
func (g *graph) node(p *model.Peer) *gnode {
	n, ok := g.byPeer[p]
	if !ok {
		n = g.nodeOf(p)
		g.byPeer[p] = n
	}
	return n
}

// nodeOf is node, without byPeer.
func (g *graph) nodeOf(p *model.Peer) *gnode {
	key := nodeKey(p)
	group := g.ranges[key]
	if group != nil {
		key = group.key
	}
	if n := g.byKey[key]; n != nil {
		return n
	}
	n := &gnode{}
	var base string
	if p.Workload != nil {
		n.namespace, n.name, n.detail = p.Workload.Namespace, p.Workload.Name, p.Workload.Kind
		base = sanitizeID(p.Workload.Namespace + "_" + p.Workload.Name)
	} else {
		n.name, n.detail = p.External, p.Range.String()
		if group != nil {
			n.detail = rangesList(group.peers)
		}
		if n.name == "" {
			n.name = "external"
		}
		base = "ext_" + sanitizeID(p.External+"_"+p.Range.String())
	}
	if base == "" {
		base = "node"
	}
	id := base
	for i := 2; g.ids[id]; i++ {
		id = base + "_" + strconv.Itoa(i)
	}
	n.id = id
	g.ids[id] = true
	g.byKey[key] = n
	g.nodes = append(g.nodes, n)
	return n
}

// edge adds an edge, merging it into one of the same kind between the
// same nodes.
func (g *graph) edge(src, dst *model.Peer, kind edgeKind, before, after *model.Allowance) {
	from, to := g.node(src), g.node(dst)
	k := gedgeKey{from, to, kind}
	e := g.byEnd[k]
	if e == nil {
		e = &gedge{from: from, to: to, kind: kind}
		g.byEnd[k] = e
		g.edges = append(g.edges, e)
	}
	if after != nil {
		e.ports = e.ports.Union(after.Ports)
		e.addrDep = e.addrDep || after.AddressDependent
		if m := mayDenyText(*src, *dst); m != "" {
			e.mayDeny = m
		}
	}
	if before != nil {
		if kind == edgeRemoved {
			e.ports = e.ports.Union(before.Ports)
			e.addrDep = e.addrDep || before.AddressDependent
		} else {
			e.before = e.before.Union(before.Ports)
		}
	}
}

func (e *gedge) label() string {
	s := e.ports.String()
	if e.kind == edgeChanged {
		s = e.before.String() + " → " + s
	}
	if e.addrDep {
		s += " (address-dependent)"
	}
	return s + e.mayDeny
}

// groups returns the namespaces in order with their nodes, then the
// external nodes.
func (g *graph) groups() (nss []string, byNS map[string][]*gnode, external []*gnode) {
	byNS = map[string][]*gnode{}
	for _, n := range g.nodes {
		if n.namespace == "" {
			external = append(external, n)
			continue
		}
		if _, ok := byNS[n.namespace]; !ok {
			nss = append(nss, n.namespace)
		}
		byNS[n.namespace] = append(byNS[n.namespace], n)
	}
	slices.Sort(nss)
	return nss, byNS, external
}

// pending is an edge to draw once the ranges are grouped.
type pending struct {
	src, dst      *model.Peer
	kind          edgeKind
	before, after *model.Allowance
}

// groupRanges groups the external ranges of each endpoint that have the
// same edges (same other end, direction, kind and ports), so that one node
// stands for them: "internet" reached on all ports from the frontend is
// one node, not one per range the policies cut the address space into.
func (g *graph) groupRanges(peers []*model.Peer, es []pending) {
	sigs := map[string][]string{}
	add := func(self, other *model.Peer, dir string, e pending) {
		if self.Workload != nil {
			return
		}
		k := nodeKey(self)
		sigs[k] = append(sigs[k], dir+"\x00"+nodeKey(other)+"\x00"+strconv.Itoa(int(e.kind))+"\x00"+portsText(e.before)+"\x00"+portsText(e.after))
	}
	for _, e := range es {
		add(e.src, e.dst, ">", e)
		add(e.dst, e.src, "<", e)
	}
	bySig := map[string]*rangeGroup{}
	for _, p := range peers {
		if p.Workload != nil {
			continue
		}
		k := nodeKey(p)
		if _, done := g.ranges[k]; done {
			continue
		}
		sig := sigs[k]
		slices.Sort(sig)
		gk := "g\x00" + p.External + "\x00" + strings.Join(sig, "\x01")
		grp := bySig[gk]
		if grp == nil {
			grp = &rangeGroup{key: gk}
			bySig[gk] = grp
		}
		grp.peers = append(grp.peers, *p)
		g.ranges[k] = grp
	}
}

// draw groups the ranges, then adds the peers in order and the edges.
func (g *graph) draw(peers []*model.Peer, es []pending) {
	g.groupRanges(peers, es)
	for _, p := range peers {
		g.node(p)
	}
	for _, e := range es {
		g.edge(e.src, e.dst, e.kind, e.before, e.after)
	}
}

// matrixGraph draws the connections of a matrix view.
func matrixGraph(v *matrixView, title string) *graph {
	g := newGraph(title)
	g.notes = omittedNotes(v.m.Omitted)
	es := make([]pending, 0, v.n)
	for c := range v.conns() {
		es = append(es, pending{src: v.src(c), dst: v.dst(c), kind: edgeAllowed, after: c.Allowance})
	}
	g.draw(v.peers, es)
	g.mergeReverse()
	return g
}

// mergeReverse draws a -> b and b -> a that allow the same ports as one
// edge with arrows at both ends.
func (g *graph) mergeReverse() {
	out := g.edges[:0:0]
	gone := map[*gedge]bool{}
	for _, e := range g.edges {
		if gone[e] {
			continue
		}
		r := g.byEnd[gedgeKey{e.to, e.from, e.kind}]
		if r != nil && r != e && !gone[r] && r.ports.Equal(e.ports) && r.addrDep == e.addrDep && r.before.Equal(e.before) && r.mayDeny == e.mayDeny {
			e.both = true
			gone[r] = true
		}
		out = append(out, e)
	}
	g.edges = out
}

// diffGraph draws the changes of a diff: the peers they touch and one
// edge per added, removed or changed flow.
func diffGraph(d *model.Diff) *graph {
	g := newGraph("")
	var peers []model.Peer
	for _, cs := range [][]model.ConnectionChange{d.Added, d.Removed, d.Changed} {
		for _, c := range cs {
			peers = append(peers, c.Src, c.Dst)
		}
	}
	sorted := sortedPeers(peers)
	ps := make([]*model.Peer, len(sorted))
	for i := range sorted {
		ps[i] = &sorted[i]
	}
	var es []pending
	for _, set := range []struct {
		cs   []model.ConnectionChange
		kind edgeKind
	}{{d.Added, edgeAdded}, {d.Removed, edgeRemoved}, {d.Changed, edgeChanged}} {
		cs := sortedChanges(set.cs)
		for i := range cs {
			es = append(es, pending{src: &cs[i].Src, dst: &cs[i].Dst, kind: set.kind, before: cs[i].Before, after: cs[i].After})
		}
	}
	g.draw(ps, es)
	return g
}

// diffEdges counts the edges diffGraph would draw.
func diffEdges(d *model.Diff) int { return len(d.Added) + len(d.Removed) + len(d.Changed) }
