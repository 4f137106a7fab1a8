package verify

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

// This file compiles NetworkPolicies into per-pod packet filter plans. It
// is written straight from the networking/v1 types and deliberately shares
// nothing with pipeline/reach: selectors are evaluated with
// k8s.io/apimachinery's own label matching, address sets are built from the
// lab addresses, and named ports are resolved per destination pod. The lab
// is only a meaningful check of the engine because the two are independent.

// pod is one workload in the lab.
type pod struct {
	w    *model.Workload
	ip   netip.Addr
	ns   map[string]string // namespace labels, with the implicit name label
	name string            // the lab namespace
}

// portMatch is one protocol/port condition of a rule. anyProto matches
// every packet (a rule without ports); all matches every port of proto.
type portMatch struct {
	anyProto bool
	proto    model.Protocol
	all      bool
	from, to uint16
}

func (m portMatch) String() string {
	if m.anyProto {
		return "any"
	}
	if m.all {
		return m.proto.String()
	}
	if m.from == m.to {
		return fmt.Sprintf("%s %d", m.proto, m.from)
	}
	return fmt.Sprintf("%s %d-%d", m.proto, m.from, m.to)
}

// filterRule accepts packets whose remote address (the source for ingress,
// the destination for egress) is in addrs, or any address when anyAddr, and
// that match one of ports.
type filterRule struct {
	anyAddr bool
	addrs   model.IPSet
	ports   []portMatch
	origin  string // "namespace/policy ingress[2]" for comments
	// verdict is what a tiered rule does with what it matches: accept
	// (Allow, the zero value, and every NetworkPolicy rule), reject (Deny)
	// or return to the pod's base chain (an Admin Pass).
	verdict model.Action
}

// podPlan is what the lab installs in one pod's namespace. Per direction:
// the Admin tier rules in evaluation order (a chain of their own, jumped
// to first), the Cilium deny rules, the NetworkPolicy and Cilium allow
// rules, and the Baseline tier rules, which only a pod no NetworkPolicy or
// Cilium rule isolates reaches.
type podPlan struct {
	ingressIsolated, egressIsolated bool
	ingress, egress                 []filterRule
	adminIn, adminEg                []filterRule
	denyIn, denyEg                  []filterRule
	baseIn, baseEg                  []filterRule
}

// filters reports whether the pod needs a chain for the direction.
func (pl *podPlan) filters(ingress bool) bool {
	if ingress {
		return pl.ingressIsolated || len(pl.adminIn) > 0 || len(pl.denyIn) > 0 || len(pl.baseIn) > 0
	}
	return pl.egressIsolated || len(pl.adminEg) > 0 || len(pl.denyEg) > 0 || len(pl.baseEg) > 0
}

// compiler turns the cluster's policies into pod plans.
type compiler struct {
	c    *model.Cluster
	bits int // lab address length: 32 or 128
	pods []*pod
	byNS map[string][]*pod
	// warnings are policy parts the lab cannot express (invalid fields
	// that validation should have caught); they match nothing.
	warnings []string
	// hosts are the host-name endpoints and the addresses the lab
	// resolves them to (hostAddresses).
	hosts []*host
}

func newCompiler(c *model.Cluster, bits int, pods []*pod) *compiler {
	cp := &compiler{c: c, bits: bits, pods: pods, byNS: map[string][]*pod{}}
	for _, p := range pods {
		cp.byNS[p.w.Namespace] = append(cp.byNS[p.w.Namespace], p)
	}
	return cp
}

func (cp *compiler) warnf(format string, args ...any) {
	cp.warnings = append(cp.warnings, fmt.Sprintf(format, args...))
}

// namespaceLabels are a namespace's labels plus kubernetes.io/metadata.name,
// which the API server always sets.
func namespaceLabels(c *model.Cluster, name string) map[string]string {
	out := map[string]string{}
	if ns := c.Namespace(name); ns != nil {
		for k, v := range ns.Labels {
			out[k] = v
		}
	}
	out[model.NamespaceNameLabel] = name
	return out
}

func selector(ls *metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(ls)
}

// policyTypes applies the API server's defaulting: Ingress always, Egress
// when the policy has egress rules.
func policyTypes(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// compile returns the plan of every pod, by pod.
func (cp *compiler) compile() (map[*pod]*podPlan, error) {
	plans := make(map[*pod]*podPlan, len(cp.pods))
	for _, p := range cp.pods {
		plans[p] = &podPlan{}
	}
	for i := range cp.c.Policies {
		pol := &cp.c.Policies[i]
		np := pol.NetworkPolicy
		if np == nil {
			continue
		}
		sel, err := selector(&np.Spec.PodSelector)
		if err != nil {
			return nil, fmt.Errorf("policy %s spec.podSelector: %w", pol.Key(), err)
		}
		ingress, egress := policyTypes(np)
		for _, p := range cp.byNS[np.Namespace] {
			if !sel.Matches(labels.Set(p.w.Labels)) {
				continue
			}
			plan := plans[p]
			if ingress {
				plan.ingressIsolated = true
				for ri, r := range np.Spec.Ingress {
					fr, err := cp.ingressRule(pol, ri, r, p)
					if err != nil {
						return nil, err
					}
					plan.ingress = append(plan.ingress, fr...)
				}
			}
			if egress {
				plan.egressIsolated = true
				for ri, r := range np.Spec.Egress {
					fr, err := cp.egressRule(pol, ri, r, p)
					if err != nil {
						return nil, err
					}
					plan.egress = append(plan.egress, fr...)
				}
			}
		}
	}
	if err := cp.compileTiers(plans); err != nil {
		return nil, err
	}
	cp.compileCilium(plans)
	return plans, nil
}

// peerSet is what one rule's peer list selects: every address, or a set of
// addresses and the lab pods behind them.
type peerSet struct {
	any   bool
	addrs model.IPSet
	pods  map[*pod]bool
}

func (cp *compiler) peers(pol *model.Policy, field string, peers []networkingv1.NetworkPolicyPeer) (peerSet, error) {
	if len(peers) == 0 {
		return peerSet{any: true}, nil
	}
	out := peerSet{pods: map[*pod]bool{}}
	for i, peer := range peers {
		where := fmt.Sprintf("%s[%d]", field, i)
		if peer.IPBlock != nil {
			set, err := cp.ipBlock(peer.IPBlock)
			if err != nil {
				return peerSet{}, fmt.Errorf("policy %s %s.ipBlock: %w", pol.Key(), where, err)
			}
			out.addrs = out.addrs.Union(set)
			for _, p := range cp.pods {
				if set.Contains(p.ip) {
					out.pods[p] = true
				}
			}
			continue
		}
		if peer.PodSelector == nil && peer.NamespaceSelector == nil {
			cp.warnf("policy %s %s: empty peer matches nothing", pol.Key(), where)
			continue
		}
		var nsSel, podSel labels.Selector = nil, labels.Everything()
		var err error
		if peer.NamespaceSelector != nil {
			if nsSel, err = selector(peer.NamespaceSelector); err != nil {
				return peerSet{}, fmt.Errorf("policy %s %s.namespaceSelector: %w", pol.Key(), where, err)
			}
		}
		if peer.PodSelector != nil {
			if podSel, err = selector(peer.PodSelector); err != nil {
				return peerSet{}, fmt.Errorf("policy %s %s.podSelector: %w", pol.Key(), where, err)
			}
		}
		for _, p := range cp.pods {
			if nsSel == nil {
				if p.w.Namespace != pol.Namespace {
					continue
				}
			} else if !nsSel.Matches(labels.Set(p.ns)) {
				continue
			}
			if podSel.Matches(labels.Set(p.w.Labels)) {
				out.pods[p] = true
				out.addrs = out.addrs.Union(model.IPSetOf(netip.PrefixFrom(p.ip, p.ip.BitLen())))
			}
		}
	}
	return out, nil
}

// ipBlock is cidr minus except, restricted to the lab's address family.
func (cp *compiler) ipBlock(b *networkingv1.IPBlock) (model.IPSet, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(b.CIDR))
	if err != nil {
		return model.IPSet{}, fmt.Errorf("cidr %q does not parse", b.CIDR)
	}
	except := make([]netip.Prefix, 0, len(b.Except))
	for _, e := range b.Except {
		x, err := netip.ParsePrefix(strings.TrimSpace(e))
		if err != nil {
			return model.IPSet{}, fmt.Errorf("except %q does not parse", e)
		}
		except = append(except, x.Masked())
	}
	set := model.IPBlockSet(p.Masked(), except...)
	var fam model.IPSet
	for _, r := range set.Ranges {
		if r.From.BitLen() == cp.bits {
			fam.Ranges = append(fam.Ranges, r)
		}
	}
	return fam, nil
}

// portSpec is a rule's ports split into those that mean the same on every
// destination and the named ones that resolve per destination pod.
type portSpec struct {
	anyPort bool
	fixed   []portMatch
	named   []namedPort
}

type namedPort struct {
	name  string
	proto model.Protocol
}

func (cp *compiler) ports(pol *model.Policy, field string, ports []networkingv1.NetworkPolicyPort) (portSpec, error) {
	if len(ports) == 0 {
		return portSpec{anyPort: true}, nil
	}
	var out portSpec
	for i, np := range ports {
		where := fmt.Sprintf("%s[%d]", field, i)
		proto := model.TCP
		if np.Protocol != nil {
			p, err := model.ParseProtocol(string(*np.Protocol))
			if err != nil {
				return portSpec{}, fmt.Errorf("policy %s %s.protocol: %w", pol.Key(), where, err)
			}
			proto = p
		}
		switch {
		case np.Port == nil:
			if np.EndPort != nil {
				cp.warnf("policy %s %s: endPort without port matches nothing", pol.Key(), where)
				continue
			}
			out.fixed = append(out.fixed, portMatch{proto: proto, all: true})
		case np.Port.Type == intstr.String:
			if np.EndPort != nil {
				cp.warnf("policy %s %s: endPort with a named port matches nothing", pol.Key(), where)
				continue
			}
			out.named = append(out.named, namedPort{name: np.Port.StrVal, proto: proto})
		default:
			from := np.Port.IntVal
			to := from
			if np.EndPort != nil {
				to = *np.EndPort
			}
			if from < 1 || from > model.MaxPort || to < from || to > model.MaxPort {
				cp.warnf("policy %s %s: port range %d-%d matches nothing", pol.Key(), where, from, to)
				continue
			}
			out.fixed = append(out.fixed, portMatch{proto: proto, from: uint16(from), to: uint16(to)})
		}
	}
	return out, nil
}

// resolve turns named ports into the destination pod's port numbers; a name
// the pod does not declare with that protocol matches nothing.
func resolve(named []namedPort, dst *pod) []portMatch {
	var out []portMatch
	for _, n := range named {
		if port, ok := dst.w.NamedPort(n.name, n.proto); ok {
			out = append(out, portMatch{proto: n.proto, from: port, to: port})
		}
	}
	return out
}

func origin(pol *model.Policy, dir string, i int) string {
	return fmt.Sprintf("%s %s[%d]", pol.Key(), dir, i)
}

// ingressRule compiles one ingress rule of pol for the destination pod dst.
func (cp *compiler) ingressRule(pol *model.Policy, i int, r networkingv1.NetworkPolicyIngressRule, dst *pod) ([]filterRule, error) {
	field := fmt.Sprintf("spec.ingress[%d]", i)
	from, err := cp.peers(pol, field+".from", r.From)
	if err != nil {
		return nil, err
	}
	ps, err := cp.ports(pol, field+".ports", r.Ports)
	if err != nil {
		return nil, err
	}
	if !from.any && from.addrs.IsEmpty() {
		return nil, nil
	}
	fr := filterRule{anyAddr: from.any, addrs: from.addrs, origin: origin(pol, "ingress", i)}
	if ps.anyPort {
		fr.ports = []portMatch{{anyProto: true}}
	} else {
		fr.ports = append(append([]portMatch(nil), ps.fixed...), resolve(ps.named, dst)...)
	}
	if len(fr.ports) == 0 {
		return nil, nil
	}
	return []filterRule{fr}, nil
}

// egressRule compiles one egress rule of pol for the source pod src. Named
// ports resolve per destination, so they become one rule per destination
// pod that declares them.
func (cp *compiler) egressRule(pol *model.Policy, i int, r networkingv1.NetworkPolicyEgressRule, src *pod) ([]filterRule, error) {
	field := fmt.Sprintf("spec.egress[%d]", i)
	to, err := cp.peers(pol, field+".to", r.To)
	if err != nil {
		return nil, err
	}
	ps, err := cp.ports(pol, field+".ports", r.Ports)
	if err != nil {
		return nil, err
	}
	if !to.any && to.addrs.IsEmpty() {
		return nil, nil
	}
	o := origin(pol, "egress", i)
	var out []filterRule
	switch {
	case ps.anyPort:
		out = append(out, filterRule{anyAddr: to.any, addrs: to.addrs, ports: []portMatch{{anyProto: true}}, origin: o})
	case len(ps.fixed) > 0:
		out = append(out, filterRule{anyAddr: to.any, addrs: to.addrs, ports: ps.fixed, origin: o})
	}
	if len(ps.named) > 0 {
		for _, dst := range cp.pods {
			if dst == src || (!to.any && !to.pods[dst]) {
				continue
			}
			if ports := resolve(ps.named, dst); len(ports) > 0 {
				out = append(out, filterRule{addrs: model.IPSetOf(netip.PrefixFrom(dst.ip, dst.ip.BitLen())), ports: ports, origin: o})
			}
		}
	}
	return out, nil
}

// edges are the port numbers at which a plan's verdict may change for one
// protocol: the first port of every range and the first port after it, and
// the range's own last port (to check the compiled end is inclusive).
func (pl *podPlan) edges(rules []filterRule, add func(model.Protocol, uint16)) {
	for _, r := range rules {
		for _, m := range r.ports {
			if m.anyProto || m.all {
				continue
			}
			add(m.proto, m.from)
			add(m.proto, m.to)
			if m.to < model.MaxPort {
				add(m.proto, m.to+1)
			}
		}
	}
}

// text renders the plan in nft syntax; the lab installs the same rules
// through netlink. Golden tests read this.
func (pl *podPlan) text(bits int) string {
	var b strings.Builder
	b.WriteString("table inet reachgate {\n")
	rules := func(rs []filterRule, addrKey string) {
		for _, r := range rs {
			addr := ""
			if !r.anyAddr {
				addr = addrKey + " { " + prefixList(r.addrs) + " } "
			}
			verdict := map[model.Action]string{model.ActionAllow: "accept", model.ActionDeny: "reject", model.ActionPass: "return"}[r.verdict]
			for _, m := range r.ports {
				fmt.Fprintf(&b, "\t\t%s%s%s comment %q\n", addr, portText(m), verdict, r.origin)
			}
		}
	}
	chain := func(name, hook string, isolated bool, admin, deny, np, base []filterRule, lo, addrKey string) {
		if len(admin) > 0 {
			fmt.Fprintf(&b, "\tchain %s-admin {\n", name)
			rules(admin, addrKey)
			b.WriteString("\t}\n")
		}
		policy := "drop"
		if !isolated {
			policy = "accept"
		}
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype filter hook %s priority filter; policy %s;\n", name, hook, policy)
		fmt.Fprintf(&b, "\t\t%s \"lo\" accept\n\t\tct state established,related accept\n", lo)
		if len(admin) > 0 {
			fmt.Fprintf(&b, "\t\tjump %s-admin\n", name)
		}
		rules(deny, addrKey)
		rules(np, addrKey)
		if isolated {
			b.WriteString("\t\tmeta l4proto tcp reject with tcp reset\n\t\treject with icmpx admin-prohibited\n")
		} else {
			rules(base, addrKey)
		}
		b.WriteString("\t}\n")
	}
	ip := "ip"
	if bits == 128 {
		ip = "ip6"
	}
	if pl.filters(true) {
		chain("ingress", "input", pl.ingressIsolated, pl.adminIn, pl.denyIn, pl.ingress, pl.baseIn, "iif", ip+" saddr")
	}
	if pl.filters(false) {
		chain("egress", "output", pl.egressIsolated, pl.adminEg, pl.denyEg, pl.egress, pl.baseEg, "oif", ip+" daddr")
	}
	b.WriteString("}\n")
	return b.String()
}

func prefixList(s model.IPSet) string {
	var out []string
	for _, r := range s.Ranges {
		for _, p := range r.Prefixes() {
			out = append(out, p.String())
		}
	}
	return strings.Join(out, ", ")
}

func portText(m portMatch) string {
	if m.anyProto {
		return ""
	}
	proto := strings.ToLower(m.proto.String())
	if m.all {
		return "meta l4proto " + proto + " "
	}
	if m.from == m.to {
		return fmt.Sprintf("%s dport %d ", proto, m.from)
	}
	return fmt.Sprintf("%s dport %d-%d ", proto, m.from, m.to)
}

// sortedPods returns the pods in workload order.
func sortedPods(m map[*pod]*podPlan) []*pod {
	out := make([]*pod, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// compileTiers adds the rules of AdminNetworkPolicies,
// BaselineAdminNetworkPolicies and ClusterNetworkPolicies to the plans, in
// the order the tiers evaluate them: by priority (then kind and name,
// where upstream leaves the order open), the BaselineAdminNetworkPolicy
// last in its tier. Like the NetworkPolicy compiler it reads the model's
// policies with apimachinery's label matching and shares nothing with
// pipeline/reach.
func (cp *compiler) compileTiers(plans map[*pod]*podPlan) error {
	order := make([]*model.ClusterPolicy, 0, len(cp.c.ClusterPolicies))
	for i := range cp.c.ClusterPolicies {
		order = append(order, &cp.c.ClusterPolicies[i])
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.Tier != b.Tier {
			return a.Tier < b.Tier
		}
		if ab, bb := a.Kind == model.KindBaselineAdminNetworkPolicy, b.Kind == model.KindBaselineAdminNetworkPolicy; ab != bb {
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
	for _, pol := range order {
		subject, err := cp.tierPods(pol.Subject.Namespaces, pol.Subject.Pods)
		if err != nil {
			return fmt.Errorf("%s %s spec.subject: %w", pol.Kind, pol.Name, err)
		}
		for _, p := range cp.pods {
			if !subject[p] {
				continue
			}
			plan := plans[p]
			for i := range pol.Ingress {
				rs, err := cp.tierRule(pol, "ingress", i, &pol.Ingress[i], p)
				if err != nil {
					return err
				}
				if pol.Tier == model.TierAdmin {
					plan.adminIn = append(plan.adminIn, rs...)
				} else {
					plan.baseIn = append(plan.baseIn, rs...)
				}
			}
			for i := range pol.Egress {
				rs, err := cp.tierRule(pol, "egress", i, &pol.Egress[i], p)
				if err != nil {
					return err
				}
				if pol.Tier == model.TierAdmin {
					plan.adminEg = append(plan.adminEg, rs...)
				} else {
					plan.baseEg = append(plan.baseEg, rs...)
				}
			}
		}
	}
	return nil
}

// tierPods evaluates a namespaces or pods selector over the lab's pods.
func (cp *compiler) tierPods(namespaces *metav1.LabelSelector, pods *model.NamespacedPods) (map[*pod]bool, error) {
	out := map[*pod]bool{}
	var nsSel, podSel labels.Selector = nil, labels.Everything()
	var err error
	switch {
	case namespaces != nil:
		nsSel, err = selector(namespaces)
	case pods != nil:
		if nsSel, err = selector(&pods.NamespaceSelector); err == nil {
			podSel, err = selector(&pods.PodSelector)
		}
	default:
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, p := range cp.pods {
		if nsSel.Matches(labels.Set(p.ns)) && podSel.Matches(labels.Set(p.w.Labels)) {
			out[p] = true
		}
	}
	return out, nil
}

// tierRule compiles one tiered rule for pod self. Named ports resolve on
// the destination by name whatever their protocol: on self for ingress,
// on each peer pod for egress (one rule per destination pod).
func (cp *compiler) tierRule(pol *model.ClusterPolicy, dir string, i int, r *model.ClusterRule, self *pod) ([]filterRule, error) {
	o := fmt.Sprintf("%s %s %s[%d] %s", pol.Kind, pol.Name, dir, i, r.Action.Of(pol.Kind))
	verdict := r.Action
	if pol.Tier == model.TierBaseline && verdict == model.ActionPass {
		verdict = model.ActionAllow // a Baseline Pass skips the rest of the tier: allowed by default
	}
	var addrs model.IPSet
	peerPods := map[*pod]bool{}
	for j, peer := range r.Peers {
		switch {
		case peer.Namespaces != nil || peer.Pods != nil:
			ps, err := cp.tierPods(peer.Namespaces, peer.Pods)
			if err != nil {
				return nil, fmt.Errorf("%s %s spec.%s[%d] peer %d: %w", pol.Kind, pol.Name, dir, i, j, err)
			}
			for p := range ps {
				peerPods[p] = true
				addrs = addrs.Union(model.IPSetOf(netip.PrefixFrom(p.ip, p.ip.BitLen())))
			}
		case peer.NetworksText != "":
			for _, x := range peer.Networks.Ranges {
				if x.From.BitLen() == cp.bits {
					addrs = addrs.Union(model.IPSet{Ranges: []model.IPRange{x}})
				}
			}
			for _, p := range cp.pods {
				if peer.Networks.Contains(p.ip) {
					peerPods[p] = true
				}
			}
		}
		// nodes and domainNames peers match no lab address.
	}
	if addrs.IsEmpty() {
		return nil, nil
	}
	if r.Ports == nil {
		return []filterRule{{addrs: addrs, ports: []portMatch{{anyProto: true}}, origin: o, verdict: verdict}}, nil
	}
	var fixed []portMatch
	var named []string
	for _, p := range r.Ports {
		if p.Named != "" {
			named = append(named, p.Named)
			continue
		}
		if p.From == 1 && p.To == model.MaxPort {
			fixed = append(fixed, portMatch{proto: p.Protocol, all: true})
		} else {
			fixed = append(fixed, portMatch{proto: p.Protocol, from: p.From, to: p.To})
		}
	}
	byName := func(dst *pod) []portMatch {
		var out []portMatch
		for _, n := range named {
			for _, c := range dst.w.Ports {
				if c.Name == n {
					out = append(out, portMatch{proto: c.Protocol, from: c.Port, to: c.Port})
				}
			}
		}
		return out
	}
	if dir == "ingress" {
		ports := append(fixed, byName(self)...)
		if len(ports) == 0 {
			return nil, nil
		}
		return []filterRule{{addrs: addrs, ports: ports, origin: o, verdict: verdict}}, nil
	}
	var out []filterRule
	if len(fixed) > 0 {
		out = append(out, filterRule{addrs: addrs, ports: fixed, origin: o, verdict: verdict})
	}
	if len(named) > 0 {
		for _, dst := range cp.pods {
			if dst == self || !peerPods[dst] {
				continue
			}
			if ports := byName(dst); len(ports) > 0 {
				out = append(out, filterRule{addrs: model.IPSetOf(netip.PrefixFrom(dst.ip, dst.ip.BitLen())), ports: ports, origin: o, verdict: verdict})
			}
		}
	}
	return out, nil
}
