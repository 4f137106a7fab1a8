package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The JSON shapes shared by the matrix, diff and check documents. Model
// types keep their JSON small or hidden; these spell out peers, ports and
// provenance, and read back into the model (ReadJSON).

// jsonPeer is {"namespace","name","kind"} for a workload and
// {"ipRange","external"} for addresses outside the cluster. A workload
// that invalid NetworkPolicies, left out of the matrix, select also has
// {"mayBeDeniedBy": {"egress": [...], "ingress": [...]}}: its flows in
// that direction may be denied once they are fixed.
type jsonPeer struct {
	Namespace     string         `json:"namespace,omitempty"`
	Name          string         `json:"name,omitempty"`
	Kind          string         `json:"kind,omitempty"`
	IPRange       string         `json:"ipRange,omitempty"`
	External      string         `json:"external,omitempty"`
	FQDN          string         `json:"fqdn,omitempty"`
	MayBeDeniedBy *model.MayDeny `json:"mayBeDeniedBy,omitempty"`
}

func toJSONPeer(p model.Peer) jsonPeer {
	if p.Workload != nil {
		return jsonPeer{Namespace: p.Workload.Namespace, Name: p.Workload.Name, Kind: p.Workload.Kind, MayBeDeniedBy: p.MayDeny}
	}
	if p.FQDN != "" {
		return jsonPeer{External: p.External, FQDN: p.FQDN}
	}
	return jsonPeer{IPRange: p.Range.String(), External: p.External}
}

// jsonPorts is a PortSet: {"TCP":[{"from":80,"to":80}],...}.
type jsonPorts struct{ model.PortSet }

func (p jsonPorts) MarshalJSON() ([]byte, error) { return p.PortSet.MarshalJSON() }

func (p *jsonPorts) UnmarshalJSON(b []byte) error {
	var raw map[string][]model.PortRange
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var s model.PortSet
	for name, rs := range raw {
		proto, err := model.ParseProtocol(name)
		if err != nil || name == "" {
			return fmt.Errorf("ports: unknown protocol %q", name)
		}
		for _, r := range rs {
			if r.From < 1 || r.To < r.From {
				return fmt.Errorf("ports: bad %s range %d-%d", name, r.From, r.To)
			}
			s = s.Union(model.SinglePort(proto, r.From, r.To))
		}
	}
	p.PortSet = s
	return nil
}

// jsonRuleRef is {"policy","rule","source"}, or {"notIsolated":true}.
// Rules of policies other than NetworkPolicies add their kind and action,
// and a rule an Admin Pass handed the traffic to names the Pass rule.
type jsonRuleRef struct {
	Policy string          `json:"policy,omitempty"`
	Kind   string          `json:"kind,omitempty"`
	Rule   *int            `json:"rule,omitempty"`
	Action string          `json:"action,omitempty"`
	Source *model.Location `json:"source,omitempty"`
	// Section is the part of a Cilium policy holding the rule ("spec",
	// "specs[1]"); L7 the kinds of L7 rules the rule filters with, which
	// the matrix takes as allowing at L4.
	Section     string `json:"section,omitempty"`
	L7          string `json:"l7,omitempty"`
	NotIsolated bool   `json:"notIsolated,omitempty"`
	PassedBy    string `json:"passedBy,omitempty"`
}

func toJSONRuleRef(r model.RuleRef) jsonRuleRef {
	if r.NotIsolated() {
		return jsonRuleRef{NotIsolated: true, PassedBy: r.PassedBy}
	}
	rule, src := r.Rule, r.Source
	j := jsonRuleRef{Policy: r.Policy, Kind: r.Kind, Rule: &rule, Source: &src, Section: r.Section, L7: r.L7, PassedBy: r.PassedBy}
	if r.Kind != "" {
		j.Action = r.Action.Of(r.Kind)
	}
	return j
}

func (j jsonRuleRef) model(dir model.Direction) model.RuleRef {
	r := model.RuleRef{Policy: j.Policy, Kind: j.Kind, Direction: dir, Section: j.Section, L7: j.L7, PassedBy: j.PassedBy}
	switch j.Action {
	case "Deny":
		r.Action = model.ActionDeny
	case "Pass":
		r.Action = model.ActionPass
	}
	if j.NotIsolated {
		r.Policy = ""
		return r
	}
	if j.Rule != nil {
		r.Rule = *j.Rule
	}
	if j.Source != nil {
		r.Source = *j.Source
	}
	return r
}

type jsonGrant struct {
	Ports   jsonPorts   `json:"ports"`
	Egress  jsonRuleRef `json:"egress"`
	Ingress jsonRuleRef `json:"ingress"`
}

type jsonAllowance struct {
	Ports            jsonPorts   `json:"ports"`
	AllPorts         bool        `json:"allPorts"`
	AddressDependent bool        `json:"addressDependent"`
	AllowedBy        []jsonGrant `json:"allowedBy"`
}

func toJSONAllowance(a *model.Allowance) *jsonAllowance {
	if a == nil {
		return nil
	}
	out := &jsonAllowance{
		Ports:            jsonPorts{a.Ports},
		AllPorts:         a.Ports.IsAll(),
		AddressDependent: a.AddressDependent,
		AllowedBy:        make([]jsonGrant, len(a.Grants)),
	}
	for i, g := range a.Grants {
		out.AllowedBy[i] = jsonGrant{Ports: jsonPorts{g.Ports}, Egress: toJSONRuleRef(*g.Egress), Ingress: toJSONRuleRef(*g.Ingress)}
	}
	return out
}

func (j *jsonAllowance) model() *model.Allowance {
	if j == nil {
		return nil
	}
	a := &model.Allowance{Ports: j.Ports.PortSet, AddressDependent: j.AddressDependent}
	for _, g := range j.AllowedBy {
		e, in := g.Egress.model(model.Egress), g.Ingress.model(model.Ingress)
		a.Grants = append(a.Grants, model.Grant{Ports: g.Ports.PortSet, Egress: &e, Ingress: &in})
	}
	return a
}

// jsonChange is one changed flow of a diff.
type jsonChange struct {
	Src    jsonPeer       `json:"src"`
	Dst    jsonPeer       `json:"dst"`
	Before *jsonAllowance `json:"before,omitempty"`
	After  *jsonAllowance `json:"after,omitempty"`
}

type jsonDiffSummary struct {
	Added            int `json:"added"`
	Removed          int `json:"removed"`
	Changed          int `json:"changed"`
	WorkloadsAdded   int `json:"workloadsAdded"`
	WorkloadsRemoved int `json:"workloadsRemoved"`
}

type jsonDiff struct {
	Summary          jsonDiffSummary `json:"summary"`
	Added            []jsonChange    `json:"added"`
	Removed          []jsonChange    `json:"removed"`
	Changed          []jsonChange    `json:"changed"`
	WorkloadsAdded   []jsonPeer      `json:"workloadsAdded"`
	WorkloadsRemoved []jsonPeer      `json:"workloadsRemoved"`
	// Omitted are the policies either matrix leaves out.
	Omitted []model.OmittedPolicy `json:"omitted,omitempty"`
}

func toJSONDiff(d *model.Diff) *jsonDiff {
	if d == nil {
		return nil
	}
	changes := func(cs []model.ConnectionChange) []jsonChange {
		sorted := sortedChanges(cs)
		out := make([]jsonChange, len(sorted))
		for i, c := range sorted {
			out[i] = jsonChange{Src: toJSONPeer(c.Src), Dst: toJSONPeer(c.Dst), Before: toJSONAllowance(c.Before), After: toJSONAllowance(c.After)}
		}
		return out
	}
	peers := func(ps []model.Peer) []jsonPeer {
		sorted := sortedPeers(ps)
		out := make([]jsonPeer, len(sorted))
		for i, p := range sorted {
			out[i] = toJSONPeer(p)
		}
		return out
	}
	return &jsonDiff{
		Summary: jsonDiffSummary{
			Added: len(d.Added), Removed: len(d.Removed), Changed: len(d.Changed),
			WorkloadsAdded: len(d.WorkloadsAdded), WorkloadsRemoved: len(d.WorkloadsRemoved),
		},
		Added:            changes(d.Added),
		Removed:          changes(d.Removed),
		Changed:          changes(d.Changed),
		WorkloadsAdded:   peers(d.WorkloadsAdded),
		WorkloadsRemoved: peers(d.WorkloadsRemoved),
		Omitted:          d.Omitted,
	}
}

// sortedChanges returns the changes in source, destination order: the
// input itself when already sorted, else a sorted copy. The result must
// not be written to.
func sortedChanges(cs []model.ConnectionChange) []model.ConnectionChange {
	cmp := func(a, b model.ConnectionChange) int { return compareChanges(&a, &b) }
	if slices.IsSortedFunc(cs, cmp) {
		return cs // read only: callers never write to it
	}
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b model.ConnectionChange) int { return compareChanges(&a, &b) })
	return out
}

func sortedPeers(ps []model.Peer) []model.Peer {
	if slices.IsSortedFunc(ps, func(a, b model.Peer) int { return comparePeers(&a, &b) }) {
		return ps
	}
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b model.Peer) int { return comparePeers(&a, &b) })
	return out
}

// peerReader turns JSON peers back into model peers, one Workload per
// namespace/name/kind.
type peerReader struct {
	workloads map[jsonPeer]*model.Workload
}

func (pr *peerReader) peer(j jsonPeer, where string) (model.Peer, error) {
	if j.IPRange == "" {
		if j.Name == "" {
			return model.Peer{}, fmt.Errorf("%s: a peer needs a name or an ipRange", where)
		}
		if pr.workloads == nil {
			pr.workloads = map[jsonPeer]*model.Workload{}
		}
		k := jsonPeer{Namespace: j.Namespace, Name: j.Name, Kind: j.Kind}
		w := pr.workloads[k]
		if w == nil {
			w = &model.Workload{Namespace: j.Namespace, Name: j.Name, Kind: j.Kind}
			pr.workloads[k] = w
		}
		return model.Peer{Workload: w, MayDeny: j.MayBeDeniedBy}, nil
	}
	if j.FQDN != "" {
		return model.Peer{FQDN: j.FQDN, External: model.FQDNPrefix + j.FQDN}, nil
	}
	r, err := parseIPRange(j.IPRange)
	if err != nil {
		return model.Peer{}, fmt.Errorf("%s: %w", where, err)
	}
	return model.Peer{Range: r, External: j.External}, nil
}

// parseIPRange reads what IPRange.String writes: a CIDR, a comma
// separated list of consecutive CIDRs, or "from-to".
func parseIPRange(s string) (model.IPRange, error) {
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(from)
		b, err2 := netip.ParseAddr(to)
		if err1 != nil || err2 != nil || a.BitLen() != b.BitLen() || b.Less(a) {
			return model.IPRange{}, fmt.Errorf("bad ipRange %q", s)
		}
		return model.IPRange{From: a, To: b}, nil
	}
	var r model.IPRange
	for i, part := range strings.Split(s, ",") {
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return model.IPRange{}, fmt.Errorf("bad ipRange %q", s)
		}
		pr := model.PrefixRange(p)
		if i == 0 {
			r = pr
			continue
		}
		if r.To.Next() != pr.From {
			return model.IPRange{}, fmt.Errorf("bad ipRange %q: prefixes are not consecutive", s)
		}
		r.To = pr.To
	}
	return r, nil
}

func (pr *peerReader) diff(j *jsonDiff, where string) (*model.Diff, error) {
	if j == nil {
		return nil, nil
	}
	d := &model.Diff{Omitted: j.Omitted}
	changes := func(js []jsonChange, kind string) ([]model.ConnectionChange, error) {
		var out []model.ConnectionChange
		for i, c := range js {
			at := fmt.Sprintf("%s.%s[%d]", where, kind, i)
			src, err := pr.peer(c.Src, at+".src")
			if err != nil {
				return nil, err
			}
			dst, err := pr.peer(c.Dst, at+".dst")
			if err != nil {
				return nil, err
			}
			out = append(out, model.ConnectionChange{Src: src, Dst: dst, Before: c.Before.model(), After: c.After.model()})
		}
		return out, nil
	}
	peers := func(js []jsonPeer, kind string) ([]model.Peer, error) {
		var out []model.Peer
		for i, j := range js {
			p, err := pr.peer(j, fmt.Sprintf("%s.%s[%d]", where, kind, i))
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	}
	var err error
	if d.Added, err = changes(j.Added, "added"); err != nil {
		return nil, err
	}
	if d.Removed, err = changes(j.Removed, "removed"); err != nil {
		return nil, err
	}
	if d.Changed, err = changes(j.Changed, "changed"); err != nil {
		return nil, err
	}
	if d.WorkloadsAdded, err = peers(j.WorkloadsAdded, "workloadsAdded"); err != nil {
		return nil, err
	}
	if d.WorkloadsRemoved, err = peers(j.WorkloadsRemoved, "workloadsRemoved"); err != nil {
		return nil, err
	}
	return d, nil
}

// writeJSON writes v indented, with a final newline and without HTML
// escaping (messages keep their < and >): what an encoding/json Encoder
// with SetIndent("", "  ") writes, but indented as it is written rather
// than into a second buffer (a check report of a large cluster is tens
// of megabytes).
func writeJSON(w io.Writer, v any) error {
	b, err := marshalCompact(v)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	writeIndented(bw, b)
	bw.WriteByte('\n')
	return bw.Flush()
}

// writeIndented writes compact JSON src (as encoding/json writes it)
// indented by two spaces per level, as json.Indent does.
func writeIndented(w *bufio.Writer, src []byte) {
	x := indenter{w: w}
	x.write(src)
}

// indenter indents one compact JSON document written to it a piece at a
// time, each piece whole tokens.
type indenter struct {
	w     *bufio.Writer
	depth int
	open  bool // just after { or [: a newline, unless it closes at once
}

func (x *indenter) newline() {
	x.w.WriteByte('\n')
	for range x.depth {
		x.w.WriteString("  ")
	}
}

func (x *indenter) write(src []byte) {
	w := x.w
	for i := 0; i < len(src); {
		c := src[i]
		if x.open && c != '}' && c != ']' {
			x.newline()
		}
		closing := x.open
		x.open = false
		switch c {
		case '"':
			j := i + 1
			for src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			w.Write(src[i : j+1])
			i = j + 1
			continue
		case '{', '[':
			w.WriteByte(c)
			x.depth++
			x.open = true
		case '}', ']':
			x.depth--
			if !closing {
				x.newline()
			}
			w.WriteByte(c)
		case ',':
			w.WriteByte(c)
			x.newline()
		case ':':
			w.WriteString(": ")
		default: // a number, true, false or null: up to what follows it
			j := i + 1
			for j < len(src) && !strings.ContainsRune(`,:]}`, rune(src[j])) {
				j++
			}
			w.Write(src[i:j])
			i = j
			continue
		}
		i++
	}
}

// jsonStream writes one document as writeJSON writes it whole, a piece
// at a time, so that its largest lists need not be held in memory: a
// check of a large cluster has tens of thousands of findings, and its
// report, encoded in one buffer, took tens of megabytes of fresh memory,
// which cost most of the time the report took.
type jsonStream struct {
	bw  *bufio.Writer
	ind indenter
	err error
}

func newJSONStream(w io.Writer) *jsonStream {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &jsonStream{bw: bw, ind: indenter{w: bw}}
}

// raw writes a piece of compact JSON.
func (s *jsonStream) raw(piece string) {
	if s.err == nil {
		s.ind.write([]byte(piece))
	}
}

// object opens an object with the fields of struct v, then key, whose
// value the caller writes, starting with open.
func (s *jsonStream) object(v any, key, open string) {
	b := s.marshal(v)
	if b == nil {
		return
	}
	b = b[:len(b)-1] // the fields, without the closing brace
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = strconv.AppendQuote(b, key)
	b = append(b, ':')
	s.ind.write(append(b, open...))
}

// rest writes the fields of struct v and closes the object object
// opened.
func (s *jsonStream) rest(v any) {
	b := s.marshal(v)
	if b == nil {
		return
	}
	if len(b) > 2 {
		s.ind.write([]byte{','})
		s.ind.write(b[1:])
		return
	}
	s.ind.write([]byte{'}'})
}

// marshal is v's compact JSON; nil once the stream has failed, or when
// v fails to encode (the stream's error then).
func (s *jsonStream) marshal(v any) []byte {
	if s.err != nil {
		return nil
	}
	b, err := marshalCompact(v)
	s.err = err
	return b
}

// findings writes the elements of a list of findings (each).
func (s *jsonStream) findings(fs []model.Finding) {
	s.each(len(fs), func(b []byte, i int) ([]byte, error) {
		m, err := fs[i].MarshalJSON()
		return append(b, m...), err
	})
}

// each writes the n elements of a list, encode appending the i-th's
// compact JSON to b, on every core a batch at a time (marshalEach).
func (s *jsonStream) each(n int, encode func(b []byte, i int) ([]byte, error)) {
	if s.err != nil {
		return
	}
	s.err = marshalEach(n, encode, func(i int, b []byte) {
		if i > 0 {
			s.ind.write([]byte{','})
		}
		s.ind.write(b)
	})
}

// close ends the document with a newline and flushes it.
func (s *jsonStream) close() error {
	if s.err != nil {
		return s.err
	}
	s.bw.WriteByte('\n')
	return s.bw.Flush()
}
