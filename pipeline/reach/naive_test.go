package reach_test

import (
	"fmt"
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// naive is a deliberately simple evaluator written straight from the
// NetworkPolicy specification: for every ordered pair of peers it walks
// every policy. It shares no code with the engine beyond the model's port
// and address sets, and uses apimachinery's own label selectors.
type naive struct {
	t        *testing.T
	c        *model.Cluster
	nsLabels map[string]labels.Set
}

type verdict struct {
	ports, certain model.PortSet
}

func (n *naive) selector(s *metav1.LabelSelector) labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		n.t.Fatalf("selector %v: %v", s, err)
	}
	return sel
}

// inBlock reports whether the peer lies in the ipBlock; for a workload of
// unknown address it reports a match when the block holds every pod CIDR,
// and "maybe" when it overlaps some.
func (n *naive) inBlock(b *networkingv1.IPBlock, p model.Peer) (match, maybe bool) {
	cidr, err := model.ParsePrefix(b.CIDR)
	if err != nil {
		n.t.Fatalf("cidr %q: %v", b.CIDR, err)
	}
	var excepts []model.IPRange
	for _, e := range b.Except {
		ep, err := model.ParsePrefix(e)
		if err != nil {
			n.t.Fatalf("except %q: %v", e, err)
		}
		excepts = append(excepts, model.PrefixRange(ep))
	}
	test := func(x model.IPRange) bool {
		if !model.PrefixRange(cidr).ContainsRange(x) {
			return false
		}
		for _, e := range excepts {
			if e.Overlaps(x) {
				return false
			}
		}
		return true
	}
	if p.Workload == nil {
		// An external range must lie wholly inside or outside the block:
		// check both ends, independently of how the engine split it.
		lo := test(model.IPRange{From: p.Range.From, To: p.Range.From})
		hi := test(model.IPRange{From: p.Range.To, To: p.Range.To})
		if lo != hi {
			n.t.Fatalf("external range %s straddles ipBlock %s except %v", p.Range, b.CIDR, b.Except)
		}
		return lo, false
	}
	if len(p.Workload.IPs) > 0 {
		for _, a := range p.Workload.IPs {
			if test(model.IPRange{From: a, To: a}) {
				return true, false
			}
		}
		return false, false
	}
	block := model.IPSetOf(cidr)
	for _, e := range b.Except {
		ep, _ := model.ParsePrefix(e)
		block = block.Subtract(model.IPSetOf(ep))
	}
	// Every pod gets its address from a pod CIDR: a block holding all of
	// them matches the pod wherever it lands.
	if !n.c.PodCIDRs.IsEmpty() {
		all := true
		for _, r := range n.c.PodCIDRs.Ranges {
			all = all && test(r)
		}
		if all {
			return true, false
		}
	}
	return false, block.Overlaps(n.c.PodCIDRs)
}

// peerMatch reports whether x is one of the rule's peers (certainly, or
// only through an address-dependent ipBlock).
func (n *naive) peerMatch(peers []networkingv1.NetworkPolicyPeer, policyNS string, x model.Peer) (certain, maybe bool) {
	if len(peers) == 0 {
		return true, false
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			m, mb := n.inBlock(p.IPBlock, x)
			certain = certain || m
			maybe = maybe || mb
		case x.Workload == nil:
			// selectors only ever select pods
		case p.NamespaceSelector != nil:
			if !n.selector(p.NamespaceSelector).Matches(n.nsLabels[x.Workload.Namespace]) {
				continue
			}
			if p.PodSelector == nil || n.selector(p.PodSelector).Matches(labels.Set(x.Workload.Labels)) {
				certain = true
			}
		case p.PodSelector != nil:
			if x.Workload.Namespace == policyNS && n.selector(p.PodSelector).Matches(labels.Set(x.Workload.Labels)) {
				certain = true
			}
		}
	}
	return certain, maybe && !certain
}

func (n *naive) ports(ports []networkingv1.NetworkPolicyPort, dst model.Peer) model.PortSet {
	if len(ports) == 0 {
		return model.AllPorts()
	}
	var out model.PortSet
	for _, p := range ports {
		proto := model.TCP
		if p.Protocol != nil {
			proto, _ = model.ParseProtocol(string(*p.Protocol))
		}
		switch {
		case p.Port == nil:
			out = out.Union(model.AllPortsOf(proto))
		case p.Port.Type == intstr.String:
			if dst.Workload == nil {
				continue
			}
			for _, cp := range dst.Workload.Ports {
				if cp.Name == p.Port.StrVal && cp.Protocol == proto {
					out = out.Union(model.SinglePort(proto, cp.Port, cp.Port))
				}
			}
		default:
			end := p.Port.IntVal
			if p.EndPort != nil {
				end = *p.EndPort
			}
			out = out.Union(model.SinglePort(proto, uint16(p.Port.IntVal), uint16(end)))
		}
	}
	return out
}

// side computes what one direction allows for the pair.
func (n *naive) side(dir networkingv1.PolicyType, self, other, dst model.Peer) verdict {
	if self.Workload == nil {
		return verdict{model.AllPorts(), model.AllPorts()}
	}
	isolated := false
	var v verdict
	for i := range n.c.Policies {
		p := &n.c.Policies[i]
		if p.Namespace != self.Workload.Namespace || !n.selector(&p.Spec.PodSelector).Matches(labels.Set(self.Workload.Labels)) {
			continue
		}
		types := p.Spec.PolicyTypes
		if len(types) == 0 {
			types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(p.Spec.Egress) > 0 {
				types = append(types, networkingv1.PolicyTypeEgress)
			}
		}
		applies := false
		for _, t := range types {
			applies = applies || t == dir
		}
		if !applies {
			continue
		}
		isolated = true
		type rule struct {
			peers []networkingv1.NetworkPolicyPeer
			ports []networkingv1.NetworkPolicyPort
		}
		var rules []rule
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range p.Spec.Ingress {
				rules = append(rules, rule{r.From, r.Ports})
			}
		} else {
			for _, r := range p.Spec.Egress {
				rules = append(rules, rule{r.To, r.Ports})
			}
		}
		for _, r := range rules {
			certain, maybe := n.peerMatch(r.peers, p.Namespace, other)
			if !certain && !maybe {
				continue
			}
			ports := n.ports(r.ports, dst)
			v.ports = v.ports.Union(ports)
			if certain {
				v.certain = v.certain.Union(ports)
			}
		}
	}
	if !isolated {
		return verdict{model.AllPorts(), model.AllPorts()}
	}
	return v
}

func (n *naive) pair(src, dst model.Peer) verdict {
	eg := n.side(networkingv1.PolicyTypeEgress, src, dst, dst)
	in := n.side(networkingv1.PolicyTypeIngress, dst, src, dst)
	return verdict{eg.ports.Intersect(in.ports), eg.certain.Intersect(in.certain)}
}

func newNaive(t *testing.T, c *model.Cluster) *naive {
	n := &naive{t: t, c: c, nsLabels: map[string]labels.Set{}}
	for _, ns := range c.Namespaces {
		l := labels.Set{}
		for k, v := range ns.Labels {
			l[k] = v
		}
		l[model.NamespaceNameLabel] = ns.Name
		n.nsLabels[ns.Name] = l
	}
	for _, w := range c.Workloads {
		if _, ok := n.nsLabels[w.Namespace]; !ok {
			n.nsLabels[w.Namespace] = labels.Set{model.NamespaceNameLabel: w.Namespace}
		}
	}
	return n
}

// compareWithNaive checks every ordered pair of the engine's peers.
func compareWithNaive(t *testing.T, c *model.Cluster, m *model.Matrix) {
	t.Helper()
	n := newNaive(t, c)
	for s := range m.Peers {
		for d := range m.Peers {
			src, dst := m.Peers[s], m.Peers[d]
			if s == d || (src.Workload == nil && dst.Workload == nil) {
				continue
			}
			want := n.pair(src, dst)
			got := m.Find(int32(s), int32(d))
			var gotPorts model.PortSet
			gotDep := false
			if got != nil {
				gotPorts, gotDep = got.Ports, got.AddressDependent
				var union model.PortSet
				for _, g := range got.Grants {
					union = union.Union(g.Ports)
				}
				if !union.Equal(got.Ports) {
					t.Fatalf("%s -> %s: grants cover %s, allowance says %s", src, dst, union, got.Ports)
				}
			}
			if !gotPorts.Equal(want.ports) {
				t.Fatalf("%s -> %s: engine allows %s, spec says %s", src, dst, gotPorts, want.ports)
			}
			wantDep := !want.ports.Subtract(want.certain).IsEmpty()
			if gotDep != wantDep {
				t.Fatalf("%s -> %s (%s): engine address-dependent=%v, spec says %v (certain %s)", src, dst, gotPorts, gotDep, wantDep, want.certain)
			}
		}
	}
}

func TestEngineAgreesWithNaiveEvaluator(t *testing.T) {
	t.Parallel()
	cases := 3000
	if testing.Short() {
		cases = 300
	}
	for seed := 1; seed <= cases; seed++ {
		c := synth.Cluster(synth.Options{
			Workloads:   4 + seed%9,
			Namespaces:  1 + seed%3,
			PolicyRatio: 0.4 + float64(seed%5)*0.3,
			Seed:        uint64(seed),
			Small:       true,
		})
		if seed%3 == 0 {
			// Single-stack: an IPv4 block can then hold every pod CIDR.
			c.PodCIDRs = model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16"))
		}
		m := reach.Compute(c)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { compareWithNaive(t, c, m) })
		if t.Failed() {
			return
		}
	}
}

// TestEqualAllowancesAreOneValue checks that the workers computing a big
// matrix list each distinct allowance once, in the order connections first
// use it: consumers group connections by allowance, and must group the same
// way on every run.
func TestEqualAllowancesAreOneValue(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 800, Namespaces: 8, Seed: 3})
	m := reach.Compute(c)
	seen := map[string]bool{}
	next := int32(0)
	for _, cn := range m.Connections {
		if cn.Allowance > next {
			t.Fatalf("allowance %d used before allowance %d", cn.Allowance, next)
		}
		if cn.Allowance == next {
			next++
		}
	}
	if int(next) != len(m.Allowances) {
		t.Fatalf("%d allowances, %d used", len(m.Allowances), next)
	}
	for _, a := range m.Allowances {
		k := fmt.Sprint(a.Ports.String(), a.Grants, a.AddressDependent)
		if seen[k] {
			t.Fatalf("allowance %s is listed twice", k)
		}
		seen[k] = true
	}
	if len(seen) < 2 {
		t.Fatalf("only %d allowances: the cluster tests nothing", len(seen))
	}
}
