package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// comparePeers orders peers the way matrices list them: workloads by
// namespace, name and kind, then address ranges by address.
func comparePeers(a, b *model.Peer) int {
	switch {
	case a.Workload != nil && b.Workload != nil:
		x, y := a.Workload, b.Workload
		if c := strings.Compare(x.Namespace, y.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.Kind, y.Kind)
	case a.Workload != nil:
		return -1
	case b.Workload != nil:
		return 1
	}
	if c := a.Range.From.Compare(b.Range.From); c != 0 {
		return c
	}
	if c := a.Range.To.Compare(b.Range.To); c != 0 {
		return c
	}
	return strings.Compare(a.External, b.External)
}

// compareChanges orders connection changes by source, then destination.
func compareChanges(a, b *model.ConnectionChange) int {
	if c := comparePeers(&a.Src, &b.Src); c != 0 {
		return c
	}
	return comparePeers(&a.Dst, &b.Dst)
}

// refText names one side of a grant: "app/allow-x egress[0]", or
// "egress not isolated".
//
// Rules of other kinds name the kind and the action, and a rule that an
// Admin Pass handed the traffic to says so: "AdminNetworkPolicy guard
// ingress[0] (Allow)", "app/b ingress[1] after AdminNetworkPolicy guard
// ingress[0] (Pass)".
func refText(r model.RuleRef, dir model.Direction) string {
	s := dir.String() + " not isolated"
	if !r.NotIsolated() {
		r.Direction = dir
		s = r.RuleText()
	}
	if r.PassedBy != "" {
		s += " after " + r.PassedBy
	}
	return s
}

// grantsText lists the rule pairs behind an allowance:
// "app/a egress[0] + app/b ingress[1]", with the ports of each pair when
// pairs allow different ports.
func grantsText(a *model.Allowance) string {
	if a == nil || len(a.Grants) == 0 {
		return ""
	}
	parts := make([]string, len(a.Grants))
	for i, g := range a.Grants {
		s := refText(*g.Egress, model.Egress) + " + " + refText(*g.Ingress, model.Ingress)
		if len(a.Grants) > 1 && !g.Ports.Equal(a.Ports) {
			s += " (" + g.Ports.String() + ")"
		}
		parts[i] = s
	}
	return strings.Join(parts, "; ")
}

// sideRefs lists the distinct rules of one side of an allowance's grants,
// in grant order.
func sideRefs(a *model.Allowance, dir model.Direction) []model.RuleRef {
	if a == nil {
		return nil
	}
	var out []model.RuleRef
	seen := map[model.RuleRef]bool{}
	for _, g := range a.Grants {
		r := *g.Ingress // a copy: grants share their references
		if dir == model.Egress {
			r = *g.Egress
		}
		r.Direction = dir
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// portsText is PortSet.String with the address-dependent mark.
func portsText(a *model.Allowance) string {
	if a == nil {
		return "none"
	}
	s := a.Ports.String()
	if a.AddressDependent {
		s += " (address-dependent)"
	}
	return s
}

// portList renders the ports of one protocol: "80,443", "8000-8080" or
// "all".
func portList(s model.PortSet, p model.Protocol) string {
	if s.IsAllOf(p) {
		return "all"
	}
	rs := s.Ranges(p)
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// count renders n with thousands separators: 1,234.
func count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plural is "1 flow" or "2 flows".
func plural(n int, one, many string) string {
	if n == 1 {
		return count(n) + " " + one
	}
	return count(n) + " " + many
}

// errWriter remembers the first write error so renderers can write
// freely and check once.
type errWriter struct {
	w   *bufio.Writer
	err error
}

func newErrWriter(w io.Writer) *errWriter { return &errWriter{w: bufio.NewWriter(w)} }

func (e *errWriter) print(ss ...string) {
	for _, s := range ss {
		if e.err != nil {
			return
		}
		_, e.err = e.w.WriteString(s)
	}
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *errWriter) line(ss ...string) {
	e.print(ss...)
	e.print("\n")
}

func (e *errWriter) flush() error {
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}
