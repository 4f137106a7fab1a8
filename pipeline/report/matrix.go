package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// matrixView is what the matrix renderers print: the connections of a
// matrix that the focus keeps, in peer order, without touching the matrix.
type matrixView struct {
	m *model.Matrix
	// peers are the peers to show, in order: all of them without a focus,
	// else the focused ones and those they connect to.
	peers []*model.Peer
	conns []viewConn
	// unmanaged workloads, in workload order.
	unmanaged []model.Unmanaged
	focused   bool
}

// viewConn is a connection with its allowance.
type viewConn struct {
	Src, Dst int32
	*model.Allowance
}

func (v *matrixView) src(c viewConn) *model.Peer { return &v.m.Peers[c.Src] }
func (v *matrixView) dst(c viewConn) *model.Peer { return &v.m.Peers[c.Dst] }

// rows are the connections for people: the ranges of one endpoint that a
// workload reaches (or is reached from) the same way are one row, unless
// opts asks for every range.
func (v *matrixView) rows(opts MatrixOptions) []flowRow[viewConn] {
	if opts.EveryRange {
		rows := make([]flowRow[viewConn], len(v.conns))
		for i, c := range v.conns {
			rows[i] = flowRow[viewConn]{first: c, src: v.src(c).String(), dst: v.dst(c).String(), flows: 1}
		}
		return rows
	}
	return groupRanges(v.conns,
		func(c viewConn) (model.Peer, model.Peer) { return *v.src(c), *v.dst(c) },
		func(c viewConn) string {
			return portsText(c.Allowance) + "|" + grantsText(c.Allowance) + "|" + mayDenyText(*v.src(c), *v.dst(c))
		})
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
	show := make([]bool, len(m.Peers))
	matched := false
	for i := range m.Peers {
		if keep == nil || keep(&m.Peers[i]) {
			show[i] = true
			matched = true
		}
	}
	// show marks the focused peers now; peers they connect to join below.
	for _, c := range m.Connections {
		if keep == nil || show[c.Src] || show[c.Dst] {
			v.conns = append(v.conns, viewConn{c.Src, c.Dst, m.Of(c)})
		}
	}
	for _, c := range v.conns {
		show[c.Src], show[c.Dst] = true, true
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
			v.peers = append(v.peers, &m.Peers[i])
		}
	}
	slices.SortStableFunc(v.peers, comparePeers)
	// Matrices keep their connections sorted by peer index and their
	// peers in this order already; sort anyway for hand-built ones.
	slices.SortStableFunc(v.conns, func(a, b viewConn) int {
		if c := comparePeers(&m.Peers[a.Src], &m.Peers[b.Src]); c != 0 {
			return c
		}
		return comparePeers(&m.Peers[a.Dst], &m.Peers[b.Dst])
	})
	slices.SortStableFunc(v.unmanaged, func(a, b model.Unmanaged) int {
		return comparePeers(&model.Peer{Workload: a.Workload}, &model.Peer{Workload: b.Workload})
	})
	return v, nil
}
