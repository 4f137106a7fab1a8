package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeMatrixCSV writes one row per connection and protocol:
//
//	src,dst,protocol,ports,egress_policy,ingress_policy
//
// ports is "80,443", "8000-8080" or "all"; the policy columns name the
// rules ("app/allow-x[0]") whose grants cover that protocol, or
// "not isolated", separated by semicolons.
//
// When the matrix leaves policies out, comment lines starting with "#"
// say so before the header (readers such as pandas skip them with
// comment="#"). Rows are written as the connections are read: memory
// does not grow with the output.
func writeMatrixCSV(w io.Writer, v *matrixView, _ MatrixOptions) error {
	ew := newErrWriter(w)
	textNotes(ew, "# ", omittedNotes(v.m.Omitted))
	cw := csv.NewWriter(ew.w)
	_ = cw.Write([]string{"src", "dst", "protocol", "ports", "egress_policy", "ingress_policy"})
	// Per allowance, its cells (protocol, ports and rules) for each
	// protocol it allows; per peer, its name.
	cells := map[*model.Allowance][][4]string{}
	names := make([]string, len(v.m.Peers))
	name := func(i int32) string {
		if names[i] == "" {
			names[i] = v.m.Peers[i].String()
		}
		return names[i]
	}
	for c := range v.conns() {
		rows, ok := cells[c.Allowance]
		if !ok {
			rows = csvCells(c.Allowance)
			cells[c.Allowance] = rows
		}
		for _, r := range rows {
			if err := cw.Write([]string{name(c.Src), name(c.Dst), r[0], r[1], r[2], r[3]}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return ew.flush()
}

// csvCells are the protocol, ports, egress and ingress cells of an
// allowance, one row per protocol it allows.
func csvCells(a *model.Allowance) [][4]string {
	var out [][4]string
	for _, p := range model.Protocols {
		if len(a.Ports.Ranges(p)) == 0 {
			continue
		}
		var eg, in []string
		seenEg, seenIn := map[string]bool{}, map[string]bool{}
		for _, g := range a.Grants {
			if len(g.Ports.Ranges(p)) == 0 {
				continue
			}
			if s := csvRef(*g.Egress); !seenEg[s] {
				seenEg[s] = true
				eg = append(eg, s)
			}
			if s := csvRef(*g.Ingress); !seenIn[s] {
				seenIn[s] = true
				in = append(in, s)
			}
		}
		out = append(out, [4]string{p.String(), portList(a.Ports, p), strings.Join(eg, ";"), strings.Join(in, ";")})
	}
	return out
}

func csvRef(r model.RuleRef) string {
	if r.NotIsolated() {
		return "not isolated"
	}
	return r.Policy + "[" + strconv.Itoa(r.Rule) + "]"
}
