package reach

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// addClusterPolicy compiles an AdminNetworkPolicy,
// BaselineAdminNetworkPolicy or ClusterNetworkPolicy. Its rules join the
// rule lists of the pods its subject selects; they do not isolate them:
// only NetworkPolicies do.
func (ix *index) addClusterPolicy(p *model.ClusterPolicy) {
	cp := &cpolicy{cp: p, key: p.Name, kind: p.Kind, tier: p.Tier, source: p.Source,
		ingress: len(p.Ingress) > 0, egress: len(p.Egress) > 0}
	cp.selected = ix.subject(p.Subject)
	for i := range p.Ingress {
		cp.in = append(cp.in, ix.compileClusterRule(cp, model.Ingress, i, &p.Ingress[i]))
	}
	for i := range p.Egress {
		cp.eg = append(cp.eg, ix.compileClusterRule(cp, model.Egress, i, &p.Egress[i]))
	}
	cp.selected.each(func(w int) {
		ix.inRules[w] = append(ix.inRules[w], cp.in...)
		ix.egRules[w] = append(ix.egRules[w], cp.eg...)
	})
	ix.policies = append(ix.policies, cp)
}

var everything = &metav1.LabelSelector{}

// subject evaluates a cluster policy's subject. Host-network pods are
// never selected (they are not peers of the model at all).
func (ix *index) subject(s model.ClusterSubject) bitset {
	switch {
	case s.Namespaces != nil:
		return ix.nsPodPeer(s.Namespaces, everything).match
	case s.Pods != nil:
		return ix.nsPodPeer(&s.Pods.NamespaceSelector, &s.Pods.PodSelector).match
	}
	return newBitset(len(ix.peers))
}

func (ix *index) compileClusterRule(cp *cpolicy, dir model.Direction, i int, cr *model.ClusterRule) *crule {
	r := ix.newRule(cp, dir, i, cr.Action)
	r.ports = clusterPorts(cr.Ports)
	for _, p := range cr.Peers {
		var c cpeer
		switch {
		case p.Namespaces != nil:
			c = ix.nsPodPeer(p.Namespaces, everything)
		case p.Pods != nil:
			c = ix.nsPodPeer(&p.Pods.NamespaceSelector, &p.Pods.PodSelector)
		case p.Nodes != nil:
			c = cpeer{nodes: compileSelector(p.Nodes), match: newBitset(len(ix.peers))}
		case p.NetworksText != "":
			set := p.Networks
			c = ix.ipSetPeer(&set, p.NetworksText)
		default:
			// domainNames: host names are not peers of the model yet.
			c = cpeer{match: newBitset(len(ix.peers))}
		}
		r.peers = append(r.peers, c)
	}
	ix.finishRule(r)
	r.allPorts = len(r.ports.named) == 0 && r.ports.static.IsAll()
	return r
}

// clusterPorts compiles a cluster rule's ports; nil matches every port.
func clusterPorts(ports []model.ClusterPort) portSpec {
	if ports == nil {
		return portSpec{static: model.AllPorts()}
	}
	var ps portSpec
	for _, p := range ports {
		if p.Named != "" {
			ps.named = append(ps.named, namedPort{name: p.Named, anyProto: true})
			continue
		}
		ps.static = ps.static.Union(model.SinglePort(p.Protocol, p.From, p.To))
	}
	return ps
}

// evalSide applies the tiers to the rules that match one direction of a
// pair, sorted by id, and returns what each rule lets through, with the
// ports allowed whatever the unknown address of the other peer.
//
// Rules that match only through an address block (addrDep) make the
// outcome depend on where in the pod CIDR the other pod's address falls.
// The pod CIDR is cut into the pieces those blocks draw, the tiers are
// applied once per piece, and a port is certain when every piece allows
// it.
//
// overrides, when not nil, collects the NetworkPolicy rules whose ports an
// Admin Deny rule denies first.
//
// With sc, the result may live in sc's memory until the next call: most
// lists evaluate like one seen before, and only a new outcome is kept
// (cloned). Without, the result is the caller's.
func (ix *index) evalSide(matched []contrib, iso bool, overrides overrideSet, sc *sideScratch) []contrib {
	if sc == nil {
		sc = &sideScratch{}
	}
	cuts := sc.cuts[:0]
	dep := false
	for i := range matched {
		if matched[i].addrDep {
			dep = true
			cuts = append(cuts, matched[i].rule.podPart.Ranges...)
		}
	}
	sc.cuts = cuts
	if !dep {
		if out, ok := namespaceOnly(matched, iso, sc.out[:0]); ok {
			sc.out = out
			return out
		}
		out := decide(matched, iso, overrides, sc)
		for i := range out {
			out[i].certain = out[i].ports
		}
		return out
	}
	pieces := ix.pieces(cuts, sc)
	if iso && allowsOnly(matched) {
		return namespacePieces(matched, pieces)
	}
	if sc.merged == nil {
		sc.merged = map[[2]*crule]int{}
	}
	merged := sc.merged
	clear(merged)
	out := sc.merge[:0]
	var certain model.PortSet
	sub := sc.sub[:0]
	for pi, at := range pieces {
		sub = sub[:0]
		for _, c := range matched {
			if !c.addrDep || c.rule.podPart.Contains(at) {
				sub = append(sub, c)
			}
		}
		var allowed model.PortSet
		for _, c := range decide(sub, iso, overrides, sc) {
			allowed = allowed.Union(c.ports)
			k := [2]*crule{c.rule, c.pass}
			if i, ok := merged[k]; ok {
				out[i].ports = out[i].ports.Union(c.ports)
				continue
			}
			merged[k] = len(out)
			out = append(out, c)
		}
		if pi == 0 {
			certain = allowed
		} else {
			certain = certain.Intersect(allowed)
		}
	}
	sc.sub, sc.merge = sub, out
	slices.SortStableFunc(out, func(a, b contrib) int { return cmp.Compare(a.order(), b.order()) })
	for i := range out {
		out[i].certain = out[i].ports.Intersect(certain)
		out[i].addrDep = !out[i].ports.Equal(out[i].certain)
	}
	return out
}

// allowsOnly reports whether every rule of a list is a NetworkPolicy
// allow.
func allowsOnly(matched []contrib) bool {
	for i := range matched {
		if r := matched[i].rule; r.tier != model.TierNamespace || r.action != model.ActionAllow {
			return false
		}
	}
	return true
}

// namespacePieces is evalSide for NetworkPolicy allows of an isolated pod,
// some matching only through an address block: every rule lets its own
// ports through (each matches in some piece), and a port is certain when
// the rules present in every piece allow it.
func namespacePieces(matched []contrib, pieces []netip.Addr) []contrib {
	var certain model.PortSet
	for pi, at := range pieces {
		var allowed model.PortSet
		for _, c := range matched {
			if !c.addrDep || c.rule.podPart.Contains(at) {
				allowed = allowed.Union(c.ports)
			}
		}
		if pi == 0 {
			certain = allowed
		} else {
			certain = certain.Intersect(allowed)
		}
	}
	out := make([]contrib, len(matched))
	for i, c := range matched {
		out[i] = contrib{rule: c.rule, ports: c.ports, certain: c.ports.Intersect(certain)}
		out[i].addrDep = !out[i].ports.Equal(out[i].certain)
	}
	return out
}

// namespaceOnly is decide for the lists NetworkPolicy-only clusters
// have: NetworkPolicy allows of an isolated pod, or nothing at all for one
// that is not isolated. No tier takes part, so every rule lets its own
// ports through. It reports false for any other list, and appends the
// outcome to out.
func namespaceOnly(matched []contrib, iso bool, out []contrib) ([]contrib, bool) {
	if !iso {
		if len(matched) > 0 {
			return nil, false
		}
		all := model.AllPorts()
		return append(out, contrib{ports: all, certain: all}), true
	}
	if !allowsOnly(matched) {
		return nil, false
	}
	for _, c := range matched {
		out = append(out, contrib{rule: c.rule, ports: c.ports, certain: c.ports})
	}
	return out, true
}

// overrideSet maps (NetworkPolicy rule, Admin Deny rule) to the ports the
// deny takes from the allow.
type overrideSet map[[2]*crule]model.PortSet

// overridden lists the merged sets of every worker.
func overridden(sets []overrideSet) []model.Override {
	merged := overrideSet{}
	for _, s := range sets {
		for k, p := range s {
			merged[k] = merged[k].Union(p)
		}
	}
	out := make([]model.Override, 0, len(merged))
	for k, p := range merged {
		out = append(out, model.Override{Rule: *k[0].ref, By: *k[1].ref, Ports: p})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Rule.String() != b.Rule.String() {
			return a.Rule.String() < b.Rule.String()
		}
		return a.By.String() < b.By.String()
	})
	return out
}

// order sorts evaluated contributions: by rule, "not isolated" last.
func (c *contrib) order() int {
	id := 1 << 30
	if c.rule != nil {
		id = c.rule.id
	}
	if c.pass != nil {
		id = id<<1 | 1
	} else {
		id <<= 1
	}
	return id
}

// pieces returns one address in each piece that the ranges (all inside
// the pod CIDR) cut the pod CIDR into, in sc's memory.
func (ix *index) pieces(ranges []model.IPRange, sc *sideScratch) []netip.Addr {
	cuts, out := sc.bounds[:0], sc.pieces[:0]
	for _, r := range ranges {
		cuts = append(cuts, r.From)
		if n := r.To.Next(); n.IsValid() {
			cuts = append(cuts, n)
		}
	}
	for _, pr := range ix.c.PodCIDRs.Ranges {
		out = append(out, pr.From)
		for _, c := range cuts {
			if c != pr.From && pr.Contains(c) {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	out = slices.Compact(out)
	sc.bounds, sc.pieces = cuts, out
	return out
}

// sideScratch is memory evalSide and decide reuse from one list to the
// next.
type sideScratch struct {
	out, passes, denies, sub, merge []contrib
	cuts                            []model.IPRange
	pieces, bounds                  []netip.Addr
	merged                          map[[2]*crule]int
}

// decide applies the tiers to the rules matching for one unknown-free
// situation. The outcome lives in sc.out until the next call.
func decide(matched []contrib, iso bool, overrides overrideSet, sc *sideScratch) []contrib {
	remaining := model.AllPorts()
	out, passes, denies := sc.out[:0], sc.passes[:0], sc.denies[:0]
	defer func() { sc.out, sc.passes, sc.denies = out, passes, denies }()
	i := 0
	for ; i < len(matched) && matched[i].rule.tier == model.TierAdmin; i++ {
		c := &matched[i]
		p := c.ports.Intersect(remaining)
		if p.IsEmpty() {
			continue
		}
		remaining = remaining.Subtract(p)
		switch c.rule.action {
		case model.ActionAllow:
			out = append(out, contrib{rule: c.rule, ports: p})
		case model.ActionPass:
			passes = append(passes, contrib{rule: c.rule, ports: p})
		case model.ActionDeny:
			denies = append(denies, contrib{rule: c.rule, ports: p})
		}
	}
	if overrides != nil && len(denies) > 0 {
		for _, c := range matched[i:] {
			if c.rule.tier != model.TierNamespace || c.rule.action != model.ActionAllow {
				continue
			}
			for _, d := range denies {
				if q := c.ports.Intersect(d.ports); !q.IsEmpty() {
					k := [2]*crule{c.rule, d.rule}
					overrides[k] = overrides[k].Union(q)
				}
			}
		}
	}
	// Passed ports go on to the lower tiers with those no Admin rule
	// matched.
	for _, ps := range passes {
		remaining = remaining.Union(ps.ports)
	}
	emit := func(rule *crule, p model.PortSet) {
		for _, ps := range passes {
			q := p.Intersect(ps.ports)
			if q.IsEmpty() {
				continue
			}
			out = append(out, contrib{rule: rule, pass: ps.rule, ports: q})
			p = p.Subtract(q)
		}
		if !p.IsEmpty() {
			out = append(out, contrib{rule: rule, ports: p})
		}
	}
	j := i
	for ; j < len(matched) && matched[j].rule.tier == model.TierNamespace; j++ {
		if matched[j].rule.action == model.ActionDeny {
			remaining = remaining.Subtract(matched[j].ports)
		}
	}
	if iso {
		for _, c := range matched[i:j] {
			if c.rule.action != model.ActionAllow {
				continue
			}
			if p := c.ports.Intersect(remaining); !p.IsEmpty() {
				emit(c.rule, p)
			}
		}
		return out
	}
	for _, c := range matched[j:] {
		p := c.ports.Intersect(remaining)
		if p.IsEmpty() {
			continue
		}
		remaining = remaining.Subtract(p)
		switch c.rule.action {
		case model.ActionAllow:
			emit(c.rule, p)
		case model.ActionPass:
			out = append(out, contrib{pass: c.rule, ports: p})
		}
	}
	if !remaining.IsEmpty() {
		emit(nil, remaining)
	}
	return out
}
