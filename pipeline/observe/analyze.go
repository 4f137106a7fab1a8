package observe

import (
	"slices"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Mapped is a capture mapped onto one overlay: flows between matrix peers,
// aggregated, and the endpoints that could not be mapped.
type Mapped struct {
	Flows   []model.ObservedFlow
	Unknown []model.UnknownEndpoint
	// Self counts flows of a workload to itself (not in the matrix).
	Self int64
}

type peerKey struct {
	src, dst   int32
	proto      model.Protocol
	port       uint16
	verdict    string
	dropReason string
}

// MapCapture maps every record of c onto the matrix m of cluster cl.
func MapCapture(c *Capture, cl *model.Cluster, m *model.Matrix) *Mapped {
	mp := NewMapper(cl, m)
	out := &Mapped{}
	flows := map[peerKey]int{}
	unknown := map[[2]string]int{}
	for i := range c.Records {
		r := &c.Records[i]
		s, sWhy := mp.Map(r.Src)
		d, dWhy := mp.Map(r.Dst)
		if s < 0 || d < 0 {
			for _, u := range []struct {
				e   Endpoint
				p   int32
				why string
			}{{r.Src, s, sWhy}, {r.Dst, d, dWhy}} {
				if u.p >= 0 {
					continue
				}
				k := [2]string{u.e.String(), u.why}
				j, ok := unknown[k]
				if !ok {
					j = len(out.Unknown)
					unknown[k] = j
					out.Unknown = append(out.Unknown, model.UnknownEndpoint{Endpoint: k[0], Reason: k[1]})
				}
				addUnknown(&out.Unknown[j], r)
			}
			continue
		}
		if s == d {
			out.Self += r.Count
			continue
		}
		k := peerKey{s, d, r.Protocol, r.Port, r.Verdict, r.DropReason}
		j, ok := flows[k]
		if !ok {
			j = len(out.Flows)
			flows[k] = j
			sp, dp := &m.Peers[s], &m.Peers[d]
			out.Flows = append(out.Flows, model.ObservedFlow{
				Src: sp.Key(), Dst: dp.Key(), SrcLabel: sp.String(), DstLabel: dp.String(),
				SrcPeer: s, DstPeer: d, Protocol: r.Protocol, Port: r.Port, Verdict: r.Verdict, DropReason: r.DropReason,
			})
		}
		f := &out.Flows[j]
		f.Count += r.Count
		if !r.First.IsZero() && (f.First.IsZero() || r.First.Before(f.First)) {
			f.First = r.First
		}
		if r.Last.After(f.Last) {
			f.Last = r.Last
		}
	}
	slices.SortFunc(out.Flows, compareFlows)
	slices.SortFunc(out.Unknown, func(a, b model.UnknownEndpoint) int {
		if c := strings.Compare(a.Endpoint, b.Endpoint); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}

func addUnknown(u *model.UnknownEndpoint, r *Record) {
	u.Count += r.Count
	if !r.First.IsZero() && (u.First.IsZero() || r.First.Before(u.First)) {
		u.First = r.First
	}
	if r.Last.After(u.Last) {
		u.Last = r.Last
	}
}

func compareFlows(a, b model.ObservedFlow) int {
	if c := strings.Compare(a.SrcLabel, b.SrcLabel); c != 0 {
		return c
	}
	if c := strings.Compare(a.DstLabel, b.DstLabel); c != 0 {
		return c
	}
	if a.Protocol != b.Protocol {
		return int(a.Protocol) - int(b.Protocol)
	}
	if a.Port != b.Port {
		return int(a.Port) - int(b.Port)
	}
	if c := strings.Compare(a.Verdict, b.Verdict); c != 0 {
		return c
	}
	return strings.Compare(a.DropReason, b.DropReason)
}

// Allowed reports whether the matrix allows the flow.
func Allowed(m *model.Matrix, f *model.ObservedFlow) bool {
	a := m.Find(f.SrcPeer, f.DstPeer)
	return a != nil && a.Ports.Contains(f.Protocol, f.Port)
}

// Judge says which side of an overlay denies a flow ("" when it is
// allowed) and explain's reason for the verdict.
type Judge func(f *model.ObservedFlow) (side, reason string)

// Expected returns the location of an allow expectation that covers the
// flow, or nil.
type Expected func(f *model.ObservedFlow) *model.Location

// Options shape an observe report.
type Options struct {
	// MaxUnusedPairs caps the unused pairs listed (all are counted);
	// default 200.
	MaxUnusedPairs int
}

// Analyze sorts mapped flows into observe's categories for the overlay's
// matrix m.
func Analyze(in model.FlowInput, mf *Mapped, m *model.Matrix, judge Judge, expected Expected, opts Options) *model.ObserveReport {
	if opts.MaxUnusedPairs <= 0 {
		opts.MaxUnusedPairs = 200
	}
	r := &model.ObserveReport{Input: in, Unknown: mf.Unknown,
		Violations: []model.DroppedFlow{}, Denied: []model.DroppedFlow{}, Unenforced: []model.UnenforcedFlow{},
		Allowed: []model.ObservedFlow{}, UnusedRules: []model.UnusedRule{}, UnusedPairs: []model.UnusedPair{}}
	if r.Unknown == nil {
		r.Unknown = []model.UnknownEndpoint{}
	}
	if mf.Self > 0 {
		r.Input.Skipped = append(r.Input.Skipped, model.Tally{What: skipSelf, Count: mf.Self})
	}
	seen := map[[2]int32]model.PortSet{}
	for i := range mf.Flows {
		f := mf.Flows[i]
		allowed := Allowed(m, &f)
		switch f.Verdict {
		case model.VerdictForwarded:
			if allowed {
				r.Allowed = append(r.Allowed, f)
				k := [2]int32{f.SrcPeer, f.DstPeer}
				seen[k] = seen[k].Union(model.SinglePort(f.Protocol, f.Port, f.Port))
				continue
			}
			side, reason := judge(&f)
			r.Unenforced = append(r.Unenforced, model.UnenforcedFlow{Flow: f, Side: side, Reason: reason})
		case model.VerdictDropped:
			d := model.DroppedFlow{Flow: f, OverlayAllows: allowed}
			d.Side, d.Reason = judge(&f)
			if expected != nil {
				d.Expected = expected(&f)
			}
			if allowed || d.Expected != nil {
				r.Violations = append(r.Violations, d)
			} else {
				r.Denied = append(r.Denied, d)
			}
		}
	}
	unused(r, m, seen, opts.MaxUnusedPairs)
	return r
}

// unused finds the least-privilege candidates: policy rules none of whose
// connections was seen, and connections allowed on ports never seen.
func unused(r *model.ObserveReport, m *model.Matrix, seen map[[2]int32]model.PortSet, maxPairs int) {
	type ruleUse struct {
		conns int
		used  bool
	}
	rules := map[model.RuleRef]*ruleUse{}
	var order []model.RuleRef
	note := func(ref model.RuleRef, used bool, conns int) {
		if ref.NotIsolated() {
			return
		}
		u, ok := rules[ref]
		if !ok {
			u = &ruleUse{}
			rules[ref] = u
			order = append(order, ref)
		}
		u.conns += conns
		u.used = u.used || used
	}
	// Allowances are shared between connections: count per allowance,
	// and look rules up once per allowance, not per connection.
	conns := make([]int, len(m.Allowances))
	used := make([][]bool, len(m.Allowances))
	policy := make([]int8, len(m.Allowances)) // 0 unknown, 1 no policy side, 2 policy
	for _, c := range m.Connections {
		a := m.Of(c)
		ai := c.Allowance
		conns[ai]++
		if policy[ai] == 0 {
			policy[ai] = 1
			for _, g := range a.Grants {
				if !g.Egress.NotIsolated() || !g.Ingress.NotIsolated() {
					policy[ai] = 2
				}
			}
		}
		var s model.PortSet
		if len(seen) > 0 {
			s = seen[[2]int32{c.Src, c.Dst}]
		}
		// Most connections are never seen: no port arithmetic for them.
		none := s.IsEmpty()
		if !none {
			if used[ai] == nil {
				used[ai] = make([]bool, len(a.Grants))
			}
			for gi, g := range a.Grants {
				used[ai][gi] = used[ai][gi] || !g.Ports.Intersect(s).IsEmpty()
			}
		}
		if policy[ai] != 2 {
			continue // neither side isolated: no allowance to tighten
		}
		rest := a.Ports
		if !none {
			rest = a.Ports.Subtract(s)
		}
		if !rest.IsEmpty() {
			r.UnusedPairsTotal++
			if len(r.UnusedPairs) < maxPairs {
				r.UnusedPairs = append(r.UnusedPairs, model.UnusedPair{
					Src: m.Peers[c.Src].String(), Dst: m.Peers[c.Dst].String(), Allowed: a.Ports, Seen: s})
			}
		}
	}
	for ai, a := range m.Allowances {
		if conns[ai] == 0 {
			continue
		}
		for gi, g := range a.Grants {
			u := used[ai] != nil && used[ai][gi]
			note(*g.Egress, u, conns[ai])
			note(*g.Ingress, u, conns[ai])
		}
	}
	for _, ref := range order {
		if u := rules[ref]; !u.used {
			r.UnusedRules = append(r.UnusedRules, model.UnusedRule{Rule: ref, Connections: u.conns})
		}
	}
	slices.SortFunc(r.UnusedRules, func(a, b model.UnusedRule) int {
		if c := strings.Compare(a.Rule.Policy, b.Rule.Policy); c != 0 {
			return c
		}
		if a.Rule.Direction != b.Rule.Direction {
			return int(a.Rule.Direction) - int(b.Rule.Direction)
		}
		return a.Rule.Rule - b.Rule.Rule
	})
}

// Window is the time between the first and last flow of a set.
func Window(fs []model.ObservedFlow) model.Window {
	var w model.Window
	for _, f := range fs {
		if !f.First.IsZero() && (w.First.IsZero() || f.First.Before(w.First)) {
			w.First = f.First
		}
		if f.Last.After(w.Last) {
			w.Last = f.Last
		}
	}
	return w
}

var _ = time.Time{}
