package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/reachgate/reachgate/internal/yamlfile"
	"github.com/reachgate/reachgate/pipeline/model"
)

// Rule ids of expectation findings.
const (
	ExpectAllowID       = "expect/allow"
	ExpectDenyID        = "expect/deny"
	ExpectUnknownPeerID = "expect/unknown-peer"
	// ExpectAmbiguousPeerID: "ns/name" that workloads of several kinds
	// share (a Deployment and a StatefulSet called web).
	ExpectAmbiguousPeerID = "expect/ambiguous-peer"
)

// Expectations is an overlay's expectations.yaml: flows that must be
// allowed and flows that must stay closed.
type Expectations struct {
	File  string
	Allow []Expectation
	Deny  []Expectation
}

// Expectation is one must-allow or must-deny flow.
type Expectation struct {
	// From and To are "namespace/workload" (or "namespace/workload[Kind]",
	// needed where workloads of several kinds share the name), the name of
	// an external endpoint from reachgate.yaml, an IP address or a CIDR.
	From, To string
	// Port is the port as written ("5432/TCP"); empty means any port.
	Port     string
	HasPort  bool
	Protocol model.Protocol
	Ports    model.PortRange
	Reason   string
	Source   model.Location
}

func (x Expectation) portSet() model.PortSet {
	return model.SinglePort(x.Protocol, x.Ports.From, x.Ports.To)
}

func (x Expectation) flow() string {
	if !x.HasPort {
		return x.From + " -> " + x.To
	}
	return x.From + " -> " + x.To + " " + x.portSet().String()
}

type expectationsDoc struct {
	APIVersion string           `yaml:"apiVersion"`
	Kind       string           `yaml:"kind"`
	Allow      []expectationDoc `yaml:"allow"`
	Deny       []expectationDoc `yaml:"deny"`
}

type expectationDoc struct {
	From   string `yaml:"from"`
	To     string `yaml:"to"`
	Port   string `yaml:"port"`
	Reason string `yaml:"reason"`
}

// ParseExpectations reads an expectations file. Problems are
// *model.InputError (syntax) or model.InputErrors (every invalid entry),
// each naming file, line and field.
func ParseExpectations(file string, data []byte) (*Expectations, error) {
	var doc expectationsDoc
	f, err := yamlfile.Decode(file, data, &doc)
	if err != nil {
		return nil, err
	}
	header(f, doc.APIVersion, doc.Kind, "Expectations")
	exp := &Expectations{File: file}
	for _, list := range []struct {
		key  string
		docs []expectationDoc
		out  *[]Expectation
	}{{"allow", doc.Allow, &exp.Allow}, {"deny", doc.Deny, &exp.Deny}} {
		for i, d := range list.docs {
			path := fmt.Sprintf("%s.%d", list.key, i)
			field := fmt.Sprintf("%s[%d]", list.key, i)
			x := Expectation{
				From:   strings.TrimSpace(d.From),
				To:     strings.TrimSpace(d.To),
				Port:   strings.TrimSpace(d.Port),
				Reason: d.Reason,
				Source: model.Location{File: file, Line: f.Line(path)},
			}
			if x.From == "" {
				f.Add(path, field+".from", "expectation needs from: a namespace/workload, an external endpoint name or an IP address")
			}
			if x.To == "" {
				f.Add(path, field+".to", "expectation needs to: a namespace/workload, an external endpoint name or an IP address")
			}
			if x.Port != "" {
				proto, r, err := model.ParsePortSpec(x.Port)
				if err != nil {
					f.Add(path+".port", field+".port", "%v", err)
				}
				x.HasPort, x.Protocol, x.Ports = true, proto, r
			}
			*list.out = append(*list.out, x)
		}
	}
	if len(f.Errs) > 0 {
		return nil, f.Errs
	}
	return exp, nil
}

// peerResolver finds the matrix peers an expectation endpoint names.
type peerResolver struct {
	m *model.Matrix
	// byKey holds every workload peer by ID ("ns/name[Kind]"), and by
	// "ns/name" each workload whose name no other shares.
	byKey map[string]int32
	// shared lists, for "ns/name" that several workloads share, their IDs.
	shared map[string][]string
}

func newPeerResolver(m *model.Matrix) *peerResolver {
	r := &peerResolver{m: m, byKey: make(map[string]int32, 2*len(m.Peers)), shared: map[string][]string{}}
	byName := map[string][]int32{}
	for i := range m.Peers {
		if w := m.Peers[i].Workload; w != nil {
			r.byKey[w.ID()] = int32(i)
			n := w.Namespace + "/" + w.Name
			byName[n] = append(byName[n], int32(i))
		}
	}
	for n, is := range byName {
		if len(is) == 1 {
			r.byKey[n] = is[0]
			continue
		}
		for _, i := range is {
			r.shared[n] = append(r.shared[n], m.Peers[i].Workload.ID())
		}
	}
	return r
}

// resolve returns the peers for a workload ("ns/name", or
// "ns/name[Kind]"), an external endpoint name, an IP address (a workload
// with that address, else the external range holding it) or a CIDR
// (every external range overlapping it).
func (r *peerResolver) resolve(name string) []int32 {
	if i, ok := r.byKey[name]; ok {
		return []int32{i}
	}
	if a, err := netip.ParseAddr(name); err == nil {
		var ws, xs []int32
		for i := range r.m.Peers {
			p := &r.m.Peers[i]
			if p.Workload != nil {
				for _, ip := range p.Workload.IPs {
					if ip == a {
						ws = append(ws, int32(i))
					}
				}
			} else if p.Range.Contains(a) {
				xs = append(xs, int32(i))
			}
		}
		if len(ws) > 0 {
			return ws
		}
		return xs
	}
	if pfx, err := netip.ParsePrefix(name); err == nil {
		want := model.PrefixRange(pfx.Masked())
		var xs []int32
		for i := range r.m.Peers {
			p := &r.m.Peers[i]
			if p.Workload == nil && p.Range.From.IsValid() && p.Range.Overlaps(want) {
				xs = append(xs, int32(i))
			}
		}
		return xs
	}
	var xs []int32
	for i := range r.m.Peers {
		if p := &r.m.Peers[i]; p.Workload == nil && p.External == name {
			xs = append(xs, int32(i))
		}
	}
	return xs
}

// ExplainFunc says in one line why src may or may not reach dst on a port
// (on any port when hasPort is false). src and dst are peers of the matrix
// being checked, handed over as they are: a grouped or finer-cut range
// label must not go back through a parser.
type ExplainFunc func(src, dst model.Peer, proto model.Protocol, port uint16, hasPort bool) string

// CheckExpectations checks every expectation against the matrix and returns
// a finding for each that fails or names an unknown peer. An allow passes
// when some peer pair allows every port asked for (any port when none is
// given); a deny passes when no peer pair allows any of them. explain, when
// not nil, says why a flow is or is not allowed; its text ends the message.
func CheckExpectations(exp *Expectations, m *model.Matrix, explain ExplainFunc) []model.Finding {
	out := []model.Finding{}
	if exp == nil {
		return out
	}
	if m == nil {
		m = &model.Matrix{}
	}
	r := newPeerResolver(m)
	check := func(x Expectation, allow bool) {
		srcs, dsts := r.resolve(x.From), r.resolve(x.To)
		unknown := false
		for _, side := range []struct {
			field, name string
			peers       []int32
		}{{"from", x.From, srcs}, {"to", x.To, dsts}} {
			if ids := r.shared[side.name]; len(ids) > 0 {
				unknown = true
				out = append(out, model.Finding{
					RuleID:      ExpectAmbiguousPeerID,
					Title:       "Expectation names several workloads",
					Severity:    model.SeverityError,
					Message:     fmt.Sprintf("%s %q names %d workloads of different kinds (%s): name one with its kind", side.field, side.name, len(ids), strings.Join(ids, ", ")),
					Field:       side.field,
					Location:    x.Source,
					Controls:    []string{},
					Remediation: fmt.Sprintf("Write %s: %s (namespace/name[Kind]).", side.field, ids[0]),
				})
				continue
			}
			if len(side.peers) == 0 {
				unknown = true
				out = append(out, model.Finding{
					RuleID:   ExpectUnknownPeerID,
					Title:    "Expectation names an unknown peer",
					Severity: model.SeverityError,
					Message:  fmt.Sprintf("%s %q is not a workload (namespace/name) of this overlay, an external endpoint of reachgate.yaml, or an address any of them holds", side.field, side.name),
					Field:    side.field,
					Location: x.Source,
					Controls: []string{},
				})
			}
		}
		if unknown {
			return
		}
		if allow {
			if f, failed := checkAllow(x, m, srcs, dsts, explain); failed {
				out = append(out, f)
			}
		} else if f, failed := checkDeny(x, m, srcs, dsts, explain); failed {
			out = append(out, f)
		}
	}
	for _, x := range exp.Allow {
		check(x, true)
	}
	for _, x := range exp.Deny {
		check(x, false)
	}
	return out
}

func checkAllow(x Expectation, m *model.Matrix, srcs, dsts []int32, explain ExplainFunc) (model.Finding, bool) {
	want := x.portSet()
	// The pair that comes closest, for the explanation.
	var bestS, bestD int32 = srcs[0], dsts[0]
	for _, s := range srcs {
		for _, d := range dsts {
			if s == d {
				continue
			}
			a := m.Find(s, d)
			if a == nil {
				continue
			}
			if !x.HasPort || want.Subtract(a.Ports).IsEmpty() {
				return model.Finding{}, false
			}
			bestS, bestD = s, d
		}
	}
	port, proto := x.Ports.From, x.Protocol
	if x.HasPort {
		if a := m.Find(bestS, bestD); a != nil {
			missing := want.Subtract(a.Ports)
			if rs := missing.Ranges(proto); len(rs) > 0 {
				port = rs[0].From
			}
		}
	}
	msg := fmt.Sprintf("expected %s to be allowed, but it is not", x.flow())
	if x.Reason != "" {
		msg += " (" + x.Reason + ")"
	}
	if explain != nil {
		if why := explain(m.Peers[bestS], m.Peers[bestD], proto, port, x.HasPort); why != "" {
			msg += ": " + why
		}
	}
	return expectFinding(ExpectAllowID, "Expected flow is blocked", msg, x), true
}

func checkDeny(x Expectation, m *model.Matrix, srcs, dsts []int32, explain ExplainFunc) (model.Finding, bool) {
	want := x.portSet()
	for _, s := range srcs {
		for _, d := range dsts {
			if s == d {
				continue
			}
			a := m.Find(s, d)
			if a == nil {
				continue
			}
			open := a.Ports
			if x.HasPort {
				open = want.Intersect(a.Ports)
			}
			proto, port, ok := firstPort(open)
			if !ok {
				continue
			}
			msg := fmt.Sprintf("expected %s to be denied, but %s -> %s is allowed on %s", x.flow(), m.Peers[s].String(), m.Peers[d].String(), open.String())
			if x.Reason != "" {
				msg += " (" + x.Reason + ")"
			}
			if explain != nil {
				if why := explain(m.Peers[s], m.Peers[d], proto, port, true); why != "" {
					msg += ": " + why
				}
			}
			return expectFinding(ExpectDenyID, "Forbidden flow is allowed", msg, x), true
		}
	}
	return model.Finding{}, false
}

func firstPort(s model.PortSet) (model.Protocol, uint16, bool) {
	for _, p := range model.Protocols {
		if rs := s.Ranges(p); len(rs) > 0 {
			return p, rs[0].From, true
		}
	}
	return 0, 0, false
}

func expectFinding(id, title, msg string, x Expectation) model.Finding {
	return model.Finding{
		RuleID:      id,
		Title:       title,
		Severity:    model.SeverityError,
		Message:     msg,
		Location:    x.Source,
		Controls:    []string{},
		Remediation: "Fix the policies (reachgate explain shows which side blocks or allows the flow), or change the expectation in the same pull request and say why.",
	}
}
