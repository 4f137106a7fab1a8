package reach

import (
	"net/netip"
	"slices"
	"sort"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/internal/par"
	"github.com/reachgate/reachgate/pipeline/model"
)

// index is a cluster compiled for reachability: peers numbered, every
// distinct selector evaluated once, every policy rule turned into a set of
// matching peers and a port specification.
type index struct {
	c     *model.Cluster
	refs  *sharedRefs // the references grants share
	peers []model.Peer
	// peers[:nw] are workloads, peers[nw:nr] external ranges, peers[nr:]
	// host-name endpoints.
	nw, nr   int
	byNS     map[string][]int
	nsLabels map[string]map[string]string
	nsNames  []string
	policies []*cpolicy
	// isolation and selecting rules per workload peer
	inRules, egRules []ruleList
	inIso, egIso     []bool

	unknownIP bitset // workloads whose addresses are not known
	nextRule  int

	// Selectors evaluated, by key; NetworkPolicies compile on every core
	// (addPolicies).
	podSel cache[bitset]   // namespace + selector key -> workloads
	nsSel  cache[[]string] // selector key -> namespaces
	peerBS cache[bitset]   // namespaceSelector key + podSelector key (+ns) -> workloads
	ipSets cache[bitset]   // an address set, as IPSet.String writes it -> peers
	all    bitset
	// cLabels are workloads' labels as Cilium's identities hold them,
	// made when a Cilium selector first needs them.
	cLabels []map[string]string
	// worlds are the addresses outside the cluster, per family.
	worlds []model.IPSet
}

type ruleList []*crule

// cpolicy is a compiled policy of any kind. np is set for a
// NetworkPolicy, cp for a cluster-scoped tiered policy.
type cpolicy struct {
	np       *model.Policy
	cp       *model.ClusterPolicy
	key      string // "namespace/name" for a NetworkPolicy, the name otherwise
	kind     string // "" for a NetworkPolicy
	tier     model.Tier
	source   model.Location
	sel      *selector // a NetworkPolicy's podSelector
	selected bitset
	ingress  bool // policy applies to ingress
	egress   bool
	in, eg   []*crule
}

// namespace is the namespace of a NetworkPolicy, "" otherwise.
func (p *cpolicy) namespace() string {
	if p.np != nil {
		return p.np.Namespace
	}
	return ""
}

type crule struct {
	// id orders rules as they are evaluated: Admin rules by priority,
	// then NetworkPolicy rules, then Baseline rules.
	id  int
	pol *cpolicy
	// ref is the rule's reference, which the grants naming it share (and
	// so never change): an allocation of its own, so that a matrix keeps
	// it and not the rule.
	ref    *model.RuleRef
	tier   model.Tier
	action model.Action
	// match holds every peer the rule's from/to matches; addrDep the subset
	// matched only because an ipBlock overlaps the pod CIDR and the pod's
	// address is unknown; podPart is the part of the pod CIDR the rule's
	// address blocks cover, for such pods.
	match   bitset
	addrDep bitset
	podPart model.IPSet
	peers   []cpeer
	ports   portSpec
	// open is set for a NetworkPolicy rule without peers: it matches
	// everyone.
	open bool
	// allPorts is set for a cluster policy rule of every port: once it
	// matches, no later Admin rule decides anything.
	allPorts bool
	// noPorts is set for a rule with no numeric port and no named one.
	noPorts bool
	// portMask is an Admin rule's ports as a set of the pieces the Admin
	// rules' ports cut the port space into, when masked is set (rules
	// with named ports, and all rules when there are over 64 pieces, are
	// not masked).
	portMask uint64
	masked   bool
	// text is a Pass rule's RuleText, which names it in every rule
	// reference it passes ports on to.
	text string
}

type cpeer struct {
	podSel, nsSel *selector
	ipBlock       *model.IPSet
	ipBlockText   string
	// nodes is set for a cluster policy's nodes peer, which matches no
	// peer of the model.
	nodes *selector
	// allPods is set when the ipBlock holds every configured pod CIDR:
	// it matches every pod whatever its address.
	allPods bool
	// Cilium peers: an endpoint selector as written, an entity, a CIDR
	// set (world: it never matches pods) or a toFQDNs entry.
	ciliumSel *metav1.LabelSelector
	entity    string
	world     bool
	fqdn      string
	match     bitset
}

// portSpec is a rule's ports: numeric ranges known up front plus named
// ports resolved per destination.
type portSpec struct {
	static model.PortSet
	named  []namedPort
}

type namedPort struct {
	name  string
	proto model.Protocol
	// anyProto matches the named port whatever its protocol, as cluster
	// policies' namedPort does.
	anyProto bool
}

// resolve returns the ports the rule allows towards dst.
func (ps *portSpec) resolve(dst *model.Peer) model.PortSet {
	if len(ps.named) == 0 || dst.Workload == nil {
		return ps.static
	}
	out := ps.static
	for _, n := range ps.named {
		if n.anyProto {
			for _, cp := range dst.Workload.Ports {
				if cp.Name == n.name {
					out = out.Union(model.SinglePort(cp.Protocol, cp.Port, cp.Port))
				}
			}
			continue
		}
		if port, ok := dst.Workload.NamedPort(n.name, n.proto); ok {
			out = out.Union(model.SinglePort(n.proto, port, port))
		}
	}
	return out
}

func compilePorts(ports []networkingv1.NetworkPolicyPort) portSpec {
	if len(ports) == 0 {
		return portSpec{static: model.AllPorts()}
	}
	var ps portSpec
	for _, p := range ports {
		proto := model.TCP
		if p.Protocol != nil {
			var err error
			if proto, err = model.ParseProtocol(string(*p.Protocol)); err != nil {
				continue // refused by the API server; validation reports it
			}
		}
		switch {
		case p.Port == nil:
			ps.static = ps.static.Union(model.AllPortsOf(proto))
		case p.Port.Type == intstr.String:
			ps.named = append(ps.named, namedPort{name: p.Port.StrVal, proto: proto})
		default:
			from := p.Port.IntVal
			to := from
			if p.EndPort != nil {
				to = *p.EndPort
			}
			if from < 1 || from > model.MaxPort || to < from || to > model.MaxPort {
				continue
			}
			ps.static = ps.static.Union(model.SinglePort(proto, uint16(from), uint16(to)))
		}
	}
	return ps
}

func newIndex(c *model.Cluster, align []*model.Cluster) *index {
	ix := &index{
		c:        c,
		refs:     newSharedRefs(),
		byNS:     map[string][]int{},
		nsLabels: map[string]map[string]string{},
		podSel:   newCache[bitset](),
		nsSel:    newCache[[]string](),
		peerBS:   newCache[bitset](),
		ipSets:   newCache[bitset](),
	}
	for i := range c.Namespaces {
		n := &c.Namespaces[i]
		labels := make(map[string]string, len(n.Labels)+1)
		for k, v := range n.Labels {
			labels[k] = v
		}
		labels[model.NamespaceNameLabel] = n.Name
		ix.nsLabels[n.Name] = labels
	}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		if w.HostNetwork {
			continue
		}
		if _, ok := ix.nsLabels[w.Namespace]; !ok {
			ix.nsLabels[w.Namespace] = map[string]string{model.NamespaceNameLabel: w.Namespace}
		}
		ix.byNS[w.Namespace] = append(ix.byNS[w.Namespace], len(ix.peers))
		ix.peers = append(ix.peers, model.Peer{Workload: w})
	}
	ix.nw = len(ix.peers)
	for name := range ix.nsLabels {
		ix.nsNames = append(ix.nsNames, name)
	}
	sort.Strings(ix.nsNames)

	ix.addExternalRanges(align)
	ix.nr = len(ix.peers)
	for _, name := range fqdnEndpoints(append([]*model.Cluster{c}, align...)) {
		ix.peers = append(ix.peers, model.Peer{FQDN: name, External: model.FQDNPrefix + name})
	}
	n := len(ix.peers)
	ix.all = newBitset(n)
	for i := 0; i < n; i++ {
		ix.all.set(i)
	}
	ix.unknownIP = newBitset(n)
	for i := 0; i < ix.nw; i++ {
		if len(ix.peers[i].Workload.IPs) == 0 {
			ix.unknownIP.set(i)
		}
	}
	ix.inRules = make([]ruleList, ix.nw)
	ix.egRules = make([]ruleList, ix.nw)
	ix.inIso = make([]bool, ix.nw)
	ix.egIso = make([]bool, ix.nw)
	ix.addPolicies()
	var admin []*crule
	for _, p := range ix.policies {
		for _, rules := range [][]*crule{p.in, p.eg} {
			for _, r := range rules {
				r.noPorts = len(r.ports.named) == 0 && r.ports.static.IsEmpty()
				if r.action == model.ActionPass {
					r.text = r.ref.RuleText()
				}
				if r.tier == model.TierAdmin && len(r.ports.named) == 0 {
					admin = append(admin, r)
				}
			}
		}
	}
	maskPorts(admin)
	ix.markOmitted()
	return ix
}

// addExternalRanges splits the address space outside the cluster into
// disjoint ranges at every boundary some ipBlock or external endpoint
// draws, so each range is either wholly inside or wholly outside every
// ipBlock. The pod and service ranges are not external.
// Clusters in align add their boundaries too, so that matrices of
// different refs or overlays split the address space the same way and
// compare range by range.
func (ix *index) addExternalRanges(align []*model.Cluster) {
	c := ix.c
	universe := model.IPSetOf(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")).
		Subtract(c.PodCIDRs).Subtract(c.ServiceCIDRs)
	var cuts []netip.Addr
	addCut := func(r model.IPRange) {
		cuts = append(cuts, r.From)
		if next := r.To.Next(); next.IsValid() {
			cuts = append(cuts, next)
		}
	}
	for _, c := range append([]*model.Cluster{c}, align...) {
		cutsOf(c, addCut)
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].Less(cuts[j]) })
	cuts = slices.Compact(cuts)
	for _, fam := range []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")} {
		ix.worlds = append(ix.worlds, universe.Intersect(model.IPSetOf(fam)))
	}
	for _, u := range universe.Ranges {
		from := u.From
		i := sort.Search(len(cuts), func(i int) bool { return cuts[i].Compare(from) > 0 })
		for ; i < len(cuts) && cuts[i].Compare(u.To) <= 0; i++ {
			ix.addRange(model.IPRange{From: from, To: cuts[i].Prev()})
			from = cuts[i]
		}
		ix.addRange(model.IPRange{From: from, To: u.To})
	}
}

// cutsOf reports every range an external endpoint or ipBlock of c draws.
func cutsOf(c *model.Cluster, addCut func(model.IPRange)) {
	for _, e := range c.Externals {
		for _, r := range e.CIDRs.Ranges {
			addCut(r)
		}
	}
	for i := range c.Policies {
		spec := &c.Policies[i].Spec
		for _, r := range spec.Ingress {
			for _, p := range r.From {
				if set := ipBlockSet(p.IPBlock); set != nil {
					for _, x := range set.Ranges {
						addCut(x)
					}
				}
			}
		}
		for _, r := range spec.Egress {
			for _, p := range r.To {
				if set := ipBlockSet(p.IPBlock); set != nil {
					for _, x := range set.Ranges {
						addCut(x)
					}
				}
			}
		}
	}
	for i := range c.CiliumPolicies {
		for _, r := range c.CiliumPolicies[i].Rules {
			for _, rules := range [][]model.CiliumPeerRule{r.Ingress, r.IngressDeny, r.Egress, r.EgressDeny} {
				for _, pr := range rules {
					for _, x := range pr.CIDRs.Ranges {
						addCut(x)
					}
				}
			}
		}
	}
	for i := range c.ClusterPolicies {
		p := &c.ClusterPolicies[i]
		for _, rules := range [][]model.ClusterRule{p.Ingress, p.Egress} {
			for _, r := range rules {
				for _, peer := range r.Peers {
					for _, x := range peer.Networks.Ranges {
						addCut(x)
					}
				}
			}
		}
	}
}

func (ix *index) addRange(r model.IPRange) {
	name := ""
	var best model.IPRange
	for _, e := range ix.c.Externals {
		for _, er := range e.CIDRs.Ranges {
			if !er.ContainsRange(r) {
				continue
			}
			if name == "" || (best.ContainsRange(er) && best != er) {
				name, best = e.Name, er
			}
		}
	}
	ix.peers = append(ix.peers, model.Peer{Range: r, External: name})
}

// ipBlockSet is cidr minus except, or nil when there is no ipBlock or its
// CIDR does not parse (validation reports that).
func ipBlockSet(b *networkingv1.IPBlock) *model.IPSet {
	if b == nil {
		return nil
	}
	p, err := model.ParsePrefix(b.CIDR)
	if err != nil {
		return nil
	}
	except := make([]netip.Prefix, 0, len(b.Except))
	for _, e := range b.Except {
		if ep, err := model.ParsePrefix(e); err == nil {
			except = append(except, ep)
		}
	}
	set := model.IPBlockSet(p, except...)
	return &set
}

// addPolicies compiles every policy in the order rules are evaluated:
// Admin-tier cluster policies by priority, NetworkPolicies, then
// Baseline-tier cluster policies by priority (the
// BaselineAdminNetworkPolicy, which has none, last).
func (ix *index) addPolicies() {
	var admin, baseline []*model.ClusterPolicy
	for i := range ix.c.ClusterPolicies {
		p := &ix.c.ClusterPolicies[i]
		if p.Tier == model.TierAdmin {
			admin = append(admin, p)
		} else {
			baseline = append(baseline, p)
		}
	}
	order := func(ps []*model.ClusterPolicy) {
		sort.SliceStable(ps, func(i, j int) bool {
			a, b := ps[i], ps[j]
			ab, bb := a.Kind == model.KindBaselineAdminNetworkPolicy, b.Kind == model.KindBaselineAdminNetworkPolicy
			if ab != bb {
				return bb
			}
			if a.Priority != b.Priority {
				return a.Priority < b.Priority
			}
			if a.Kind != b.Kind {
				return a.Kind < b.Kind
			}
			return a.Name < b.Name
		})
	}
	order(admin)
	order(baseline)
	for _, p := range admin {
		ix.addClusterPolicy(p)
	}
	// NetworkPolicies compile on every core, then join the index in
	// order, which numbers their rules: at 20,000 workloads compiling
	// them took a second on one core, most of it evaluating selectors.
	nps := make([]*cpolicy, len(ix.c.Policies))
	par.For(len(nps), func(i int) { nps[i] = ix.compilePolicy(&ix.c.Policies[i]) })
	for _, cp := range nps {
		ix.addPolicy(cp)
	}
	for i := range ix.c.CiliumPolicies {
		ix.addCiliumPolicy(&ix.c.CiliumPolicies[i])
	}
	for _, p := range baseline {
		ix.addClusterPolicy(p)
	}
}

// compilePolicy compiles a NetworkPolicy, its rules not yet numbered
// (addPolicy). It may run beside other calls.
func (ix *index) compilePolicy(p *model.Policy) *cpolicy {
	cp := &cpolicy{np: p, key: p.Key(), tier: model.TierNamespace, source: p.Source, sel: compileSelector(&p.Spec.PodSelector)}
	cp.selected = ix.podsIn(p.Namespace, cp.sel)
	cp.ingress, cp.egress = policyTypes(&p.Spec)
	if cp.ingress {
		for i := range p.Spec.Ingress {
			r := &p.Spec.Ingress[i]
			cp.in = append(cp.in, ix.compileRule(cp, model.Ingress, i, r.From, r.Ports))
		}
	}
	if cp.egress {
		for i := range p.Spec.Egress {
			r := &p.Spec.Egress[i]
			cp.eg = append(cp.eg, ix.compileRule(cp, model.Egress, i, r.To, r.Ports))
		}
	}
	return cp
}

// addPolicy numbers a compiled NetworkPolicy's rules, ingress then
// egress, and adds them to the lists of the pods it selects.
func (ix *index) addPolicy(cp *cpolicy) {
	for _, rules := range [][]*crule{cp.in, cp.eg} {
		for _, r := range rules {
			ix.number(r)
		}
	}
	cp.selected.each(func(w int) {
		if cp.ingress {
			ix.inIso[w] = true
			ix.inRules[w] = append(ix.inRules[w], cp.in...)
		}
		if cp.egress {
			ix.egIso[w] = true
			ix.egRules[w] = append(ix.egRules[w], cp.eg...)
		}
	})
	ix.policies = append(ix.policies, cp)
}

// policyTypes applies the API defaults: Ingress always, Egress only when
// the policy has egress rules.
func policyTypes(s *networkingv1.NetworkPolicySpec) (ingress, egress bool) {
	if len(s.PolicyTypes) == 0 {
		return true, len(s.Egress) > 0
	}
	for _, t := range s.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// compileRule compiles a NetworkPolicy rule, not numbered (addPolicy).
func (ix *index) compileRule(cp *cpolicy, dir model.Direction, i int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) *crule {
	r := makeRule(cp, dir, i, model.ActionAllow)
	r.ports = compilePorts(ports)
	if len(peers) == 0 {
		r.match, r.open = ix.all, true
		return r
	}
	for _, p := range peers {
		r.peers = append(r.peers, ix.compilePeer(cp.np.Namespace, &p))
	}
	ix.finishRule(r)
	return r
}

// newRule makes a rule of cp and numbers it: rules are numbered in the
// order they are evaluated.
func (ix *index) newRule(cp *cpolicy, dir model.Direction, i int, action model.Action) *crule {
	r := makeRule(cp, dir, i, action)
	ix.number(r)
	return r
}

// number gives r the next rule number.
func (ix *index) number(r *crule) {
	ix.nextRule++
	r.id = ix.nextRule
}

func makeRule(cp *cpolicy, dir model.Direction, i int, action model.Action) *crule {
	return &crule{
		pol:    cp,
		tier:   cp.tier,
		action: action,
		ref:    &model.RuleRef{Policy: cp.key, Kind: cp.kind, Direction: dir, Rule: i, Action: action, Source: cp.source},
	}
}

// maskPorts cuts the port space at every boundary of the rules' ports
// and, when there are at most 64 pieces, gives each rule the mask of the
// pieces it holds: which ports earlier Admin rules leave to a rule is
// then a matter of bits.
func maskPorts(rules []*crule) {
	type piece struct {
		proto    model.Protocol
		from, to uint16
	}
	var pieces []piece
	for _, proto := range model.Protocols {
		cuts := []uint32{1, model.MaxPort + 1}
		for _, r := range rules {
			for _, pr := range r.ports.static.Ranges(proto) {
				cuts = append(cuts, uint32(pr.From), uint32(pr.To)+1)
			}
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
		for i := 0; i+1 < len(cuts); i++ {
			pieces = append(pieces, piece{proto, uint16(cuts[i]), uint16(cuts[i+1] - 1)})
		}
	}
	if len(pieces) > 64 {
		return
	}
	for _, r := range rules {
		for i, p := range pieces {
			if r.ports.static.Contains(p.proto, p.from) {
				r.portMask |= 1 << uint(i)
			}
		}
		r.masked = true
	}
}

// finishRule sets what a rule's peers match together, and which pods of
// unknown address they match only through an address block.
func (ix *index) finishRule(r *crule) {
	r.match = ix.unionOf(r.peers)
	// Pods matched only through an ipBlock whose address is unknown are
	// address-dependent, unless another peer of the rule matches them
	// (certain).
	if !slices.ContainsFunc(r.peers, ix.podBlock) {
		return
	}
	var certain bitset
	for _, cp := range r.peers {
		if cp.ipBlock == nil || cp.allPods {
			if certain == nil {
				certain = newBitset(len(ix.peers))
			}
			certain.or(cp.match)
		}
	}
	for _, p := range r.peers {
		if !ix.podBlock(p) {
			continue
		}
		r.podPart = r.podPart.Union(p.ipBlock.Intersect(ix.c.PodCIDRs))
		dep := p.match.clone()
		dep.and(ix.unknownIP)
		if certain != nil {
			dep.andNot(certain)
		}
		if !dep.empty() {
			if r.addrDep == nil {
				r.addrDep = dep
			} else {
				r.addrDep.or(dep)
			}
		}
	}
}

// podBlock reports whether p is an address block that matches some pods
// by where their address falls: it overlaps the pod CIDR without holding
// all of it.
func (ix *index) podBlock(p cpeer) bool {
	return p.ipBlock != nil && !p.allPods && p.ipBlock.Overlaps(ix.c.PodCIDRs)
}

// unionOf is what peers match together. A rule of one peer shares its
// peer's set, which nothing changes after compiling: most rules have one
// peer, and at 20,000 workloads a set of every peer is 2.8 KB of fresh
// memory per rule.
func (ix *index) unionOf(peers []cpeer) bitset {
	if len(peers) == 1 {
		return peers[0].match
	}
	u := newBitset(len(ix.peers))
	for _, p := range peers {
		u.or(p.match)
	}
	return u
}

// ipSetPeer matches the external ranges inside set, the pods of known
// address inside it, and the pods of unknown address when it overlaps
// the pod CIDR. text is how the policy wrote set, "" for set.String().
func (ix *index) ipSetPeer(set *model.IPSet, text string) cpeer {
	key := set.String()
	if text == "" {
		text = key
	}
	out := cpeer{ipBlock: set, ipBlockText: text, allPods: holdsAllPods(set, ix.c.PodCIDRs)}
	// Once per distinct set: policies repeat their address blocks, and
	// each evaluation visits every workload.
	if bs, ok := ix.ipSets.get(key); ok {
		out.match = bs
		return out
	}
	match := newBitset(len(ix.peers))
	for i := ix.nw; i < ix.nr; i++ {
		if set.ContainsRange(ix.peers[i].Range) {
			match.set(i)
		}
	}
	if ix.nr < len(ix.peers) && ix.holdsAWorld(set) {
		for i := ix.nr; i < len(ix.peers); i++ {
			match.set(i)
		}
	}
	overlapsPods := set.Overlaps(ix.c.PodCIDRs)
	for i := 0; i < ix.nw; i++ {
		w := ix.peers[i].Workload
		if len(w.IPs) == 0 {
			if overlapsPods {
				match.set(i)
			}
			continue
		}
		for _, a := range w.IPs {
			if set.Contains(a) {
				match.set(i)
				break
			}
		}
	}
	out.match = ix.ipSets.put(key, match)
	return out
}

func (ix *index) compilePeer(ns string, p *networkingv1.NetworkPolicyPeer) cpeer {
	out := cpeer{}
	switch {
	case p.IPBlock != nil:
		set := ipBlockSet(p.IPBlock)
		if set == nil {
			return cpeer{ipBlock: &model.IPSet{}, match: newBitset(len(ix.peers))}
		}
		return ix.ipSetPeer(set, "")
	case p.NamespaceSelector != nil:
		podSel := p.PodSelector
		if podSel == nil {
			podSel = &metav1.LabelSelector{}
		}
		return ix.nsPodPeer(p.NamespaceSelector, podSel)
	case p.PodSelector != nil:
		out.podSel = compileSelector(p.PodSelector)
		out.match = ix.podsIn(ns, out.podSel)
	default:
		// A peer with no field set is refused by the API server.
		out.match = newBitset(len(ix.peers))
	}
	return out
}

// nsPodPeer matches the pods that podSel selects in the namespaces nsSel
// selects, once per distinct pair of selectors.
func (ix *index) nsPodPeer(nsSel, podSel *metav1.LabelSelector) cpeer {
	out := cpeer{nsSel: compileSelector(nsSel), podSel: compileSelector(podSel)}
	key := out.nsSel.key + "\x04" + out.podSel.key
	if bs, ok := ix.peerBS.get(key); ok {
		out.match = bs
		return out
	}
	bs := newBitset(len(ix.peers))
	for _, n := range ix.namespacesMatching(out.nsSel) {
		bs.or(ix.podsIn(n, out.podSel))
	}
	out.match = ix.peerBS.put(key, bs)
	return out
}

// holdsAllPods reports whether an ipBlock's addresses (its CIDR minus its
// excepts) hold every configured pod CIDR, so that every pod matches it
// wherever it lands: 0.0.0.0/0 in a single-stack IPv4 cluster.
func holdsAllPods(block *model.IPSet, pods model.IPSet) bool {
	return !pods.IsEmpty() && pods.Subtract(*block).IsEmpty()
}

// podsIn evaluates a pod selector in one namespace, once per distinct
// (namespace, selector).
func (ix *index) podsIn(ns string, s *selector) bitset {
	key := ns + "\x05"
	if s != nil {
		key += s.key
	}
	if bs, ok := ix.podSel.get(key); ok {
		return bs
	}
	bs := newBitset(len(ix.peers))
	for _, i := range ix.byNS[ns] {
		if s.matches(ix.peers[i].Workload.Labels) {
			bs.set(i)
		}
	}
	return ix.podSel.put(key, bs)
}

func (ix *index) namespacesMatching(s *selector) []string {
	if ns, ok := ix.nsSel.get(s.key); ok {
		return ns
	}
	var out []string
	for _, n := range ix.nsNames {
		if s.matches(ix.nsLabels[n]) {
			out = append(out, n)
		}
	}
	return ix.nsSel.put(s.key, out)
}

// cache maps keys to values computed once; safe for concurrent use. A
// value computed twice at once is kept once: put returns the one kept,
// so that every user shares it (selection tells lists apart by their
// bitset's address).
type cache[V any] struct {
	mu *sync.Mutex
	m  map[string]V
}

func newCache[V any]() cache[V] { return cache[V]{mu: &sync.Mutex{}, m: map[string]V{}} }

func (c cache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

// put keeps v for k unless k has a value already, and returns the value
// kept.
func (c cache[V]) put(k string, v V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		return old
	}
	c.m[k] = v
	return v
}
