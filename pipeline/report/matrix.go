package report

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// matrixView is what the matrix renderers print: the connections of a
// matrix that the focus keeps, in peer order, without touching the matrix.
// A matrix of thousands of workloads holds millions of connections: the
// view does not copy them when the matrix is in display order already
// (reach.Compute's are), and the streaming formats read them one at a
// time.
type matrixView struct {
	m *model.Matrix
	// peers are the peers to show, in order: all of them without a focus,
	// else the focused ones and those they connect to.
	peers []*model.Peer
	// order holds the indices in the matrix of peers.
	order []int32
	// unmanaged workloads, in workload order.
	unmanaged []model.Unmanaged
	focused   bool
	// keep marks the focused peers; nil keeps every connection.
	keep []bool
	// sorted holds the kept connections in display order when the
	// matrix's own are not (hand-built matrices); nil otherwise.
	sorted []model.Connection
	// n is how many connections the view keeps.
	n int
}

// viewConn is a connection with its allowance.
type viewConn struct {
	Src, Dst int32
	*model.Allowance
}

func (v *matrixView) src(c viewConn) *model.Peer { return &v.m.Peers[c.Src] }
func (v *matrixView) dst(c viewConn) *model.Peer { return &v.m.Peers[c.Dst] }

func (v *matrixView) kept(c model.Connection) bool {
	return v.keep == nil || v.keep[c.Src] || v.keep[c.Dst]
}

// connections are the kept connections in display order (source, then
// destination), read from the matrix as they are yielded.
func (v *matrixView) connections() []model.Connection {
	if v.sorted != nil {
		return v.sorted
	}
	return v.m.Connections
}

// conns yields the kept connections in display order.
func (v *matrixView) conns() iter.Seq[viewConn] {
	return func(yield func(viewConn) bool) {
		for _, c := range v.connections() {
			if v.sorted == nil && !v.kept(c) {
				continue
			}
			if !yield(viewConn{c.Src, c.Dst, v.m.Of(c)}) {
				return
			}
		}
	}
}

// keptConnections are the kept connections as model connections, for
// grouping into flows: the matrix's own slice when nothing is left out.
func (v *matrixView) keptConnections() []model.Connection {
	if v.sorted != nil || v.keep == nil {
		return v.connections()
	}
	out := make([]model.Connection, 0, v.n)
	for _, c := range v.m.Connections {
		if v.kept(c) {
			out = append(out, c)
		}
	}
	return out
}

// eachRow streams the connections for people: the ranges of one endpoint
// that a workload reaches (or is reached from) the same way are one row,
// unless opts asks for every range. A workload's ranges of one endpoint
// are grouped within its row of connections, which is held until it ends;
// the ranges of an endpoint that reach a workload come from many rows,
// all after the workloads' (peers are ordered workloads first), and only
// those rows are held together.
func (v *matrixView) eachRow(opts MatrixOptions, emit func(flowRow[viewConn])) {
	text := rowTexts{}
	if opts.EveryRange {
		for c := range v.conns() {
			emit(flowRow[viewConn]{first: c, src: text.peer(v.src(c)), dst: text.peer(v.dst(c)), flows: 1})
		}
		return
	}
	key := func(c viewConn) string { return text.key(c.Allowance) + "|" + mayDenyText(*v.src(c), *v.dst(c)) }
	ends := func(c viewConn) (model.Peer, model.Peer) { return *v.src(c), *v.dst(c) }
	var held []viewConn
	flush := func() {
		for _, r := range groupRanges(held, ends, key) {
			emit(r)
		}
		held = held[:0]
	}
	rowSrc := int32(-1)
	for c := range v.conns() {
		s := v.src(c)
		if s.Workload == nil {
			// From here on every source is an address range.
			if rowSrc >= 0 {
				flush()
				rowSrc = -1
			}
			held = append(held, c)
			continue
		}
		if c.Src != rowSrc {
			flush()
			rowSrc = c.Src
		}
		if v.dst(c).Workload != nil {
			// Workload to workload: a row of its own, and no range of
			// this source is held (ranges come after workloads).
			emit(flowRow[viewConn]{first: c, src: text.peer(s), dst: text.peer(v.dst(c)), flows: 1})
			continue
		}
		held = append(held, c)
	}
	flush()
}

// rowTexts renders the parts of rows once: peers, and per allowance its
// ports and rules.
type rowTexts struct {
	peers map[*model.Peer]string
	keys  map[*model.Allowance]string
}

func (t *rowTexts) peer(p *model.Peer) string {
	if s, ok := t.peers[p]; ok {
		return s
	}
	if t.peers == nil {
		t.peers = map[*model.Peer]string{}
	}
	s := p.String()
	t.peers[p] = s
	return s
}

func (t *rowTexts) key(a *model.Allowance) string {
	if s, ok := t.keys[a]; ok {
		return s
	}
	if t.keys == nil {
		t.keys = map[*model.Allowance]string{}
	}
	s := portsText(a) + "|" + grantsText(a)
	t.keys[a] = s
	return s
}

// focus says which peers a MatrixOptions keeps; nil keeps everything.
func focus(opts MatrixOptions) func(p *model.Peer) bool {
	ws, ns := strings.TrimSpace(opts.Workload), strings.TrimSpace(opts.Namespace)
	kind := ""
	if n, name, k, ok := model.ParseWorkloadRef(ws); ok {
		ns, ws, kind = n, name, k
	}
	switch {
	case ws != "" && ns != "":
		return func(p *model.Peer) bool {
			return p.Workload != nil && p.Workload.Namespace == ns && p.Workload.Name == ws && (kind == "" || p.Workload.Kind == kind)
		}
	case ws != "":
		return func(p *model.Peer) bool {
			if p.Workload == nil {
				return p.External == ws
			}
			return p.Workload.Name == ws
		}
	case ns != "":
		return func(p *model.Peer) bool { return p.Workload != nil && p.Workload.Namespace == ns }
	}
	return nil
}

func focusName(opts MatrixOptions) string {
	ws, ns := strings.TrimSpace(opts.Workload), strings.TrimSpace(opts.Namespace)
	switch {
	case ws != "" && ns != "" && !strings.Contains(ws, "/"):
		return "workload " + ns + "/" + ws
	case ws != "":
		return "workload " + ws
	}
	return "namespace " + ns
}

func newMatrixView(m *model.Matrix, opts MatrixOptions) (*matrixView, error) {
	v := &matrixView{m: m}
	keep := focus(opts)
	v.focused = keep != nil
	matched := false
	if keep != nil {
		v.keep = make([]bool, len(m.Peers))
		for i := range m.Peers {
			if keep(&m.Peers[i]) {
				v.keep[i] = true
				matched = true
			}
		}
	}
	// show marks the peers to list: the focused ones and those they
	// connect to.
	show := make([]bool, len(m.Peers))
	if v.keep != nil {
		copy(show, v.keep)
	}
	for _, c := range m.Connections {
		if v.kept(c) {
			v.n++
			show[c.Src], show[c.Dst] = true, true
		}
	}
	if keep == nil {
		for i := range show {
			show[i] = true
		}
	}
	for _, u := range m.Unmanaged {
		if keep == nil || keep(&model.Peer{Workload: u.Workload}) {
			v.unmanaged = append(v.unmanaged, u)
			matched = true
		}
	}
	if keep != nil && !matched {
		return nil, fmt.Errorf("focus: no %s in the matrix", focusName(opts))
	}
	for i := range m.Peers {
		if show[i] {
			v.order = append(v.order, int32(i))
		}
	}
	slices.SortStableFunc(v.order, func(a, b int32) int { return comparePeers(&m.Peers[a], &m.Peers[b]) })
	v.peers = make([]*model.Peer, len(v.order))
	for i, p := range v.order {
		v.peers[i] = &m.Peers[p]
	}
	// Matrices keep their connections sorted by peer index and their
	// peers in display order already; hand-built ones may not.
	if !inDisplayOrder(m) {
		for _, c := range m.Connections {
			if v.kept(c) {
				v.sorted = append(v.sorted, c)
			}
		}
		slices.SortStableFunc(v.sorted, func(a, b model.Connection) int {
			if c := comparePeers(&m.Peers[a.Src], &m.Peers[b.Src]); c != 0 {
				return c
			}
			return comparePeers(&m.Peers[a.Dst], &m.Peers[b.Dst])
		})
		if v.sorted == nil {
			v.sorted = []model.Connection{}
		}
	}
	slices.SortStableFunc(v.unmanaged, func(a, b model.Unmanaged) int {
		return comparePeers(&model.Peer{Workload: a.Workload}, &model.Peer{Workload: b.Workload})
	})
	return v, nil
}

// inDisplayOrder reports whether m's peers are in display order and its
// connections sorted by (Src, Dst), so that index order is display order.
func inDisplayOrder(m *model.Matrix) bool {
	for i := 1; i < len(m.Peers); i++ {
		if comparePeers(&m.Peers[i-1], &m.Peers[i]) > 0 {
			return false
		}
	}
	return slices.IsSortedFunc(m.Connections, func(a, b model.Connection) int {
		if c := cmp.Compare(a.Src, b.Src); c != 0 {
			return c
		}
		return cmp.Compare(a.Dst, b.Dst)
	})
}
