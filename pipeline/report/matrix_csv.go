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
// comment="#").
func writeMatrixCSV(w io.Writer, v *matrixView, _ MatrixOptions) error {
	if notes := omittedNotes(v.m.Omitted); len(notes) > 0 {
		ew := newErrWriter(w)
		textNotes(ew, "# ", notes)
		if err := ew.flush(); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"src", "dst", "protocol", "ports", "egress_policy", "ingress_policy"})
	for _, c := range v.conns {
		for _, p := range model.Protocols {
			if len(c.Ports.Ranges(p)) == 0 {
				continue
			}
			var eg, in []string
			seenEg, seenIn := map[string]bool{}, map[string]bool{}
			for _, g := range c.Grants {
				if len(g.Ports.Ranges(p)) == 0 {
					continue
				}
				if s := csvRef(g.Egress); !seenEg[s] {
					seenEg[s] = true
					eg = append(eg, s)
				}
				if s := csvRef(g.Ingress); !seenIn[s] {
					seenIn[s] = true
					in = append(in, s)
				}
			}
			_ = cw.Write([]string{v.src(c).String(), v.dst(c).String(), p.String(), portList(c.Ports, p), strings.Join(eg, ";"), strings.Join(in, ";")})
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRef(r model.RuleRef) string {
	if r.NotIsolated() {
		return "not isolated"
	}
	return r.Policy + "[" + strconv.Itoa(r.Rule) + "]"
}
