package reach

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Explainer answers "why can (or can't) A reach B" for one cluster; it
// compiles the cluster once for any number of questions.
type Explainer struct {
	ix *index
}

// NewExplainer compiles the cluster for explain.
func NewExplainer(c *model.Cluster) *Explainer { return &Explainer{ix: newIndex(c, nil)} }

// Explain resolves src and dst — any peer label reachgate prints (see
// Resolve) — and explains every pair they name (an external endpoint may
// span several ranges).
func (e *Explainer) Explain(src, dst string, port *model.PortQuery) ([]model.Explanation, error) {
	ss, err := e.Resolve(src)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	ds, err := e.Resolve(dst)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	return e.pairs(ss, ds, src, dst, port)
}

// ExplainPeers explains the flow between two peers of a matrix computed
// from the same cluster, possibly with its address space cut finer (by
// ComputeAll): a workload is found by its ID, a range by the ranges of
// this cluster that overlap it.
func (e *Explainer) ExplainPeers(src, dst model.Peer, port *model.PortQuery) ([]model.Explanation, error) {
	ss, err := e.resolvePeer(src)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	ds, err := e.resolvePeer(dst)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	return e.pairs(ss, ds, src.String(), dst.String(), port)
}

func (e *Explainer) pairs(ss, ds []int, src, dst string, port *model.PortQuery) ([]model.Explanation, error) {
	var out []model.Explanation
	for _, s := range ss {
		for _, d := range ds {
			if s == d {
				return nil, fmt.Errorf("%s is both source and destination: traffic of a workload to itself is not subject to analysis", e.ix.peers[s])
			}
			if s >= e.ix.nw && d >= e.ix.nw {
				continue
			}
			out = append(out, e.explain(s, d, port))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s and %s are both outside the cluster", src, dst)
	}
	return out, nil
}

// wantPeer is what a peer name may be, for error messages.
const wantPeer = "want namespace/name, namespace/name[Kind], an IP address, a CIDR or address range, or an external endpoint name as reachgate prints it"

// Resolve turns a peer name into peer indices. It accepts every label
// reachgate prints for a peer, and what people type:
//
//   - a workload: "namespace/name", or "namespace/name[Kind]" (required
//     where workloads of several kinds share the name);
//   - an IP address: the workload with that address, else the external
//     range holding it;
//   - an external endpoint's name ("internet"): all its ranges;
//   - address ranges, as CIDRs, "from-to" ranges, comma-joined CIDRs
//     ("0.0.0.0/5,8.0.0.0/7") and groups of them joined with "; ", alone
//     or after an endpoint name ("internet(0.0.0.0/5,8.0.0.0/7;
//     11.0.0.0-100.63.255.255)"): the external ranges of this cluster
//     overlapping them (of that endpoint, when named). A group cut short
//     ("... and 4 more ranges") stands for every range of its endpoint.
func (e *Explainer) Resolve(name string) ([]int, error) {
	ix := e.ix
	name = strings.TrimSpace(name)
	if a, err := netip.ParseAddr(name); err == nil {
		for i := 0; i < ix.nw; i++ {
			for _, ip := range ix.peers[i].Workload.IPs {
				if ip == a {
					return []int{i}, nil
				}
			}
		}
		for i := ix.nw; i < len(ix.peers); i++ {
			if ix.peers[i].Range.Contains(a) {
				return []int{i}, nil
			}
		}
		return nil, fmt.Errorf("%s is inside the pod or service CIDR but no workload with a known address has it", name)
	}
	if l, ok := parseRangeLabel(name); ok {
		return e.resolveRanges(name, l)
	}
	if ns, n, kind, ok := model.ParseWorkloadRef(name); ok {
		return e.resolveWorkload(name, ns, n, kind)
	}
	var found []int
	for i := ix.nw; i < len(ix.peers); i++ {
		if ix.peers[i].External == name {
			found = append(found, i)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("unknown peer %q (%s)", name, wantPeer)
	}
	return found, nil
}

func (e *Explainer) resolveWorkload(label, ns, name, kind string) ([]int, error) {
	ix := e.ix
	var found []int
	var kinds []string
	for i := 0; i < ix.nw; i++ {
		if w := ix.peers[i].Workload; w.Namespace == ns && w.Name == name {
			kinds = append(kinds, w.ID())
			if kind == "" || w.Kind == kind {
				found = append(found, i)
			}
		}
	}
	switch {
	case len(found) > 1:
		return nil, fmt.Errorf("%s names %d workloads of different kinds (%s): name one with its kind", label, len(found), strings.Join(kinds, ", "))
	case len(found) == 1:
		return found, nil
	}
	for i := range ix.c.Workloads {
		if w := &ix.c.Workloads[i]; w.Namespace == ns && w.Name == name && (kind == "" || w.Kind == kind) && w.HostNetwork {
			return nil, fmt.Errorf("workload %s uses hostNetwork: NetworkPolicy does not apply to it", label)
		}
	}
	if len(kinds) > 0 {
		return nil, fmt.Errorf("no workload %s: %s/%s is %s", label, ns, name, strings.Join(kinds, ", "))
	}
	return nil, fmt.Errorf("no workload %s (%s)", label, wantPeer)
}

// rangeLabel is a range label as reachgate prints it: an endpoint name
// (or none) and the address ranges listed.
type rangeLabel struct {
	name string
	set  model.IPSet
	// more is set when the list was cut short ("and 4 more ranges").
	more bool
}

var moreRanges = regexp.MustCompile(` and [0-9]+ more ranges$`)

// parseRangeLabel reads "cidr", "cidr,cidr", "from-to", groups of those
// joined by "; " with an optional " and N more ranges", alone or as
// "name(...)".
func parseRangeLabel(s string) (rangeLabel, bool) {
	var l rangeLabel
	inner := s
	if i := strings.IndexByte(s, '('); i >= 0 && strings.HasSuffix(s, ")") {
		l.name, inner = s[:i], s[i+1:len(s)-1]
		if l.name == "" {
			return l, false
		}
	}
	if loc := moreRanges.FindStringIndex(inner); loc != nil {
		l.more, inner = true, inner[:loc[0]]
	}
	for _, group := range strings.Split(inner, ";") {
		for _, part := range strings.Split(group, ",") {
			part = strings.TrimSpace(part)
			if p, err := netip.ParsePrefix(part); err == nil {
				l.set = l.set.Union(model.IPSetOf(p))
				continue
			}
			from, to, ok := strings.Cut(part, "-")
			a, errA := netip.ParseAddr(from)
			b, errB := netip.ParseAddr(to)
			if !ok || errA != nil || errB != nil || a.BitLen() != b.BitLen() || b.Less(a) {
				return l, false
			}
			l.set = l.set.Union(model.IPSet{Ranges: []model.IPRange{{From: a, To: b}}})
		}
	}
	return l, true
}

func (e *Explainer) resolveRanges(label string, l rangeLabel) ([]int, error) {
	ix := e.ix
	named := false
	var found []int
	for i := ix.nw; i < len(ix.peers); i++ {
		p := &ix.peers[i]
		if l.name != "" && p.External != l.name {
			continue
		}
		named = true
		if l.more || l.set.Overlaps(model.IPSet{Ranges: []model.IPRange{p.Range}}) {
			found = append(found, i)
		}
	}
	switch {
	case l.name != "" && !named:
		return nil, fmt.Errorf("unknown peer %q: no external endpoint %s (%s)", label, l.name, wantPeer)
	case len(found) == 0 && l.name != "":
		return nil, fmt.Errorf("no range of %s overlaps %s", l.name, l.set)
	case len(found) == 0:
		return nil, fmt.Errorf("%s is inside the pod or service CIDR: name the workload, or its address", l.set)
	}
	return found, nil
}

// resolvePeer finds a peer of another matrix of this cluster.
func (e *Explainer) resolvePeer(p model.Peer) ([]int, error) {
	ix := e.ix
	if w := p.Workload; w != nil {
		for i := 0; i < ix.nw; i++ {
			if ix.peers[i].Workload.ID() == w.ID() {
				return []int{i}, nil
			}
		}
		return nil, fmt.Errorf("no workload %s", w.ID())
	}
	var found []int
	for i := ix.nw; i < len(ix.peers); i++ {
		if ix.peers[i].Range.Overlaps(p.Range) {
			found = append(found, i)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no address range outside the cluster overlaps %s", p.Range)
	}
	return found, nil
}

func (e *Explainer) explain(s, d int, port *model.PortQuery) model.Explanation {
	ix := e.ix
	src, dst := &ix.peers[s], &ix.peers[d]
	x := model.Explanation{Src: *src, Dst: *dst, Port: port, Omitted: ix.c.Omitted}
	var egC, inC []contrib
	x.Egress, egC = e.side(model.Egress, s, d, port)
	x.Ingress, inC = e.side(model.Ingress, d, s, port)
	if a := combine(egC, inC, false, ix.refs); len(a.Grants) > 0 {
		x.Ports = a.Ports
		for _, g := range a.Grants {
			if port == nil || g.Ports.Contains(port.Protocol, port.Port) {
				x.Grants = append(x.Grants, g)
			}
		}
	}
	if port == nil {
		x.Allowed = !x.Ports.IsEmpty()
	} else {
		x.Allowed = x.Ports.Contains(port.Protocol, port.Port)
	}
	return x
}

// side explains one direction of self (the source for egress, the
// destination for ingress) towards other, walking the tiers in order.
func (e *Explainer) side(dir model.Direction, self, other int, port *model.PortQuery) (model.SideExplanation, []contrib) {
	ix := e.ix
	out := model.SideExplanation{Direction: dir}
	all := []contrib{{ports: model.AllPorts(), certain: model.AllPorts()}}
	if self >= ix.nw {
		out.Note = fmt.Sprintf("%s is outside the cluster: NetworkPolicy does not restrict its %s", ix.peers[self], dir)
		out.Allows = model.AllPorts()
		return out, all
	}
	iso := ix.egIso[self]
	if dir == model.Ingress {
		iso = ix.inIso[self]
	}
	dstIdx := other
	if dir == model.Ingress {
		dstIdx = self
	}
	dst := &ix.peers[dstIdx]
	var matched []contrib
	var verdicts []*model.RuleVerdict
	for _, p := range ix.policies {
		applies := p.ingress
		rules := p.in
		if dir == model.Egress {
			applies, rules = p.egress, p.eg
		}
		if !applies || !p.selected.has(self) {
			continue
		}
		pv := model.PolicyVerdict{Policy: p.key, Kind: p.kind, Tier: p.tier, Source: p.source, NoRules: len(rules) == 0}
		if p.cp != nil {
			pv.Priority = p.cp.Priority
		}
		for _, r := range rules {
			rv := model.RuleVerdict{Rule: r.ref.Rule, Action: r.action, Section: r.ref.Section, L7: r.ref.L7}
			if p.cp != nil {
				if dir == model.Ingress {
					rv.Name = p.cp.Ingress[r.ref.Rule].Name
				} else {
					rv.Name = p.cp.Egress[r.ref.Rule].Name
				}
			}
			rv.PeerMatch = r.match.has(other)
			rv.AddressDependent = r.addrDep != nil && r.addrDep.has(other)
			rv.PeerReason = e.peerReason(r, other)
			rv.Ports = r.ports.resolve(dst)
			rv.PortReason = portReason(r, dst, rv.Ports, port)
			if rv.PeerMatch && !rv.Ports.IsEmpty() {
				matched = append(matched, contrib{rule: r, ports: rv.Ports, addrDep: rv.AddressDependent})
			}
			pv.Rules = append(pv.Rules, rv)
		}
		out.Policies = append(out.Policies, pv)
	}
	for i := range out.Policies {
		for j := range out.Policies[i].Rules {
			verdicts = append(verdicts, &out.Policies[i].Rules[j])
		}
	}
	slices.SortFunc(matched, func(a, b contrib) int { return a.rule.id - b.rule.id })
	cs := ix.evalSide(matched, iso, nil, nil)
	for _, c := range cs {
		out.Allows = out.Allows.Union(c.ports)
	}
	// Which ports each rule decides, and whether it lets the query through.
	decides := firstMatches(matched, iso)
	k := 0
	for _, p := range ix.policies {
		applies := p.ingress
		rules := p.in
		if dir == model.Egress {
			applies, rules = p.egress, p.eg
		}
		if !applies || !p.selected.has(self) {
			continue
		}
		for _, r := range rules {
			rv := verdicts[k]
			k++
			if r.tier != model.TierNamespace {
				rv.Decides = decides[r]
			}
			rv.NotReached = r.tier == model.TierBaseline && iso
			rv.Denies = r.tier == model.TierNamespace && r.action == model.ActionDeny && rv.PeerMatch &&
				(port == nil && !rv.Ports.IsEmpty() || port != nil && rv.Ports.Contains(port.Protocol, port.Port))
			for _, c := range cs {
				if c.rule == r && (port == nil || c.ports.Contains(port.Protocol, port.Port)) {
					rv.Matched = true
				}
			}
		}
	}
	out.Isolated = iso
	switch {
	case len(out.Policies) == 0:
		out.Note = fmt.Sprintf("no NetworkPolicy selects %s for %s: all %s is allowed", ix.peers[self], dir, dir)
	case dir == model.Egress && other >= ix.nr:
		out.Note = "DNS must be allowed for FQDN rules to work: " + ix.peers[self].String() + " needs an egress rule to kube-dns on port 53 with a DNS rule (rules.dns) that lets it look up " + ix.peers[other].FQDN
	case !iso:
		out.Note = fmt.Sprintf("no NetworkPolicy selects %s for %s: what no Admin or Baseline rule decides is allowed", ix.peers[self], dir)
	}
	return out, cs
}

// firstMatches replays the first-match order of the Admin tier (and of
// the Baseline tier, when no NetworkPolicy isolates) over the rules that
// match, ignoring address dependence: the ports each rule decides.
func firstMatches(matched []contrib, iso bool) map[*crule]model.PortSet {
	out := map[*crule]model.PortSet{}
	remaining := model.AllPorts()
	var passed model.PortSet
	lower := false
	for _, c := range matched {
		if c.rule.tier != model.TierAdmin && !lower {
			// Passed ports go on to the lower tiers.
			lower = true
			remaining = remaining.Union(passed)
		}
		switch {
		case c.rule.tier == model.TierNamespace:
			if c.rule.action == model.ActionDeny {
				remaining = remaining.Subtract(c.ports)
			}
			continue
		case c.rule.tier == model.TierBaseline && iso:
			continue
		}
		p := c.ports.Intersect(remaining)
		remaining = remaining.Subtract(p)
		if c.rule.action == model.ActionPass && c.rule.tier == model.TierAdmin {
			passed = passed.Union(p)
		}
		out[c.rule] = p
	}
	return out
}
func (e *Explainer) peerReason(r *crule, other int) string {
	ix := e.ix
	o := &ix.peers[other]
	if len(r.peers) == 0 {
		return "the rule has no peers: it matches everyone"
	}
	var misses []string
	for i, p := range r.peers {
		why, ok := e.peerMatch(r, &p, o)
		if ok {
			return fmt.Sprintf("peer %d matches: %s", i, why)
		}
		misses = append(misses, fmt.Sprintf("peer %d: %s", i, why))
	}
	return "no peer matches " + o.String() + " (" + strings.Join(misses, "; ") + ")"
}

func (e *Explainer) peerMatch(r *crule, p *cpeer, o *model.Peer) (string, bool) {
	ix := e.ix
	ns := r.pol.namespace()
	if why, ok, handled := e.ciliumPeerMatch(r, p, o); handled {
		return why, ok
	}
	switch {
	case p.nodes != nil:
		return "nodes " + p.nodes.String() + ": nodes are not peers of the model, so it matches none", false
	case p.ipBlock != nil:
		if o.FQDN != "" {
			if ix.holdsAWorld(p.ipBlock) {
				return "ipBlock " + p.ipBlockText + " holds every outside address of a family, so whatever " + o.FQDN + " resolves to", true
			}
			return "ipBlock " + p.ipBlockText + ": the addresses of " + o.FQDN + " are not known", false
		}
		if o.Workload == nil {
			if p.ipBlock.ContainsRange(o.Range) {
				return "ipBlock " + p.ipBlockText + " contains " + o.Range.String(), true
			}
			return "ipBlock " + p.ipBlockText + " does not contain " + o.Range.String(), false
		}
		if len(o.Workload.IPs) == 0 {
			if p.allPods {
				return "ipBlock " + p.ipBlockText + " holds every pod CIDR, so it matches every pod", true
			}
			if p.ipBlock.Overlaps(ix.c.PodCIDRs) {
				return "ipBlock " + p.ipBlockText + " overlaps the pod CIDR; the pod's address is unknown, so it may match (address-dependent)", true
			}
			return "ipBlock " + p.ipBlockText + " does not overlap the pod CIDR", false
		}
		for _, a := range o.Workload.IPs {
			if p.ipBlock.Contains(a) {
				return "ipBlock " + p.ipBlockText + " contains pod address " + a.String(), true
			}
		}
		return "ipBlock " + p.ipBlockText + " does not contain the pod's addresses", false
	case o.Workload == nil:
		return "selectors match pods only, and " + o.String() + " is outside the cluster", false
	case p.nsSel != nil:
		w := o.Workload
		if !p.nsSel.matches(ix.nsLabels[w.Namespace]) {
			return "namespaceSelector " + p.nsSel.String() + " does not match namespace " + w.Namespace + ": " + p.nsSel.explainMiss(ix.nsLabels[w.Namespace]), false
		}
		if !p.podSel.matches(w.Labels) {
			return "namespace " + w.Namespace + " matches, but podSelector " + p.podSel.String() + " does not: " + p.podSel.explainMiss(w.Labels), false
		}
		return "namespaceSelector " + p.nsSel.String() + " and podSelector " + p.podSel.String(), true
	case p.podSel != nil:
		w := o.Workload
		if w.Namespace != ns {
			return "a podSelector alone selects pods in the policy's namespace " + ns + ", and " + w.Key() + " is in " + w.Namespace, false
		}
		if !p.podSel.matches(w.Labels) {
			return "podSelector " + p.podSel.String() + " does not match: " + p.podSel.explainMiss(w.Labels), false
		}
		return "podSelector " + p.podSel.String(), true
	}
	if r.pol.cp != nil {
		return "domainNames: host names are not peers of this model, so it matches none", false
	}
	return "the peer sets no selector and no ipBlock, so it matches nothing", false
}

func portReason(r *crule, dst *model.Peer, ports model.PortSet, q *model.PortQuery) string {
	var missing []string
	for _, n := range r.ports.named {
		if dst.Workload == nil {
			missing = append(missing, fmt.Sprintf("named port `%s`/%s cannot match %s, which is outside the cluster", n.name, n.proto, dst))
			continue
		}
		if _, ok := dst.Workload.NamedPort(n.name, n.proto); !ok {
			missing = append(missing, fmt.Sprintf("named port `%s`/%s has no match on %s", n.name, n.proto, dst.Workload.Key()))
		}
	}
	if q != nil && !ports.Contains(q.Protocol, q.Port) {
		msg := fmt.Sprintf("%s %s, not %s", r.action.Verb(), ports, q)
		if len(missing) > 0 {
			msg += "; " + strings.Join(missing, "; ")
		}
		return msg
	}
	if ports.IsEmpty() {
		return strings.Join(missing, "; ")
	}
	return ""
}
