// Package synth generates synthetic clusters for benchmarks and property
// tests: namespaces, workloads with labels and named ports, and a realistic
// mix of NetworkPolicies (default deny, DNS, pod and namespace selectors,
// both combined, matchExpressions, named ports, port ranges, UDP and SCTP,
// ipBlocks with excepts), optionally with AdminNetworkPolicies and Cilium
// policies on top (cilium.go).
package synth

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Options shape a synthetic cluster.
type Options struct {
	Workloads   int
	Namespaces  int
	PolicyRatio float64 // policies per workload; 0.6 when zero
	Seed        uint64
	// Small draws labels, ports and CIDRs from tiny alphabets so random
	// clusters collide often: what property tests want.
	Small bool
	// AdminPolicies is how many AdminNetworkPolicies to add (with a
	// ClusterNetworkPolicy of the Admin tier among every tenth); Baseline
	// adds the BaselineAdminNetworkPolicy and a Baseline-tier
	// ClusterNetworkPolicy. They are drawn after everything else, so a
	// cluster without them is the same as before they existed.
	AdminPolicies int
	Baseline      bool
	// CiliumPolicies is how many Cilium policies to add (one in eight a
	// CiliumClusterwideNetworkPolicy): endpoint selectors, peers by
	// endpoint (with namespace labels), entity, CIDR and host name,
	// named and numbered ports, L7 rules, a few deny rules. Like the
	// cluster-scoped ones they are drawn last.
	CiliumPolicies int
}

var (
	tiers = []string{"web", "api", "db", "cache", "worker", "batch"}
	teams = []string{"payments", "search", "identity", "catalog", "orders", "ops", "data", "ml"}
)

type gen struct {
	r    *rand.Rand
	o    Options
	c    *model.Cluster
	apps [][]string // per namespace, the app labels in it
}

// Cluster builds a cluster. The same options always give the same cluster.
func Cluster(o Options) *model.Cluster {
	if o.PolicyRatio == 0 {
		o.PolicyRatio = 0.6
	}
	if o.Namespaces < 1 {
		o.Namespaces = 1
	}
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), o: o, c: &model.Cluster{}}
	g.c.PodCIDRs = model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:244::/64"))
	g.c.ServiceCIDRs = model.IPSetOf(netip.MustParsePrefix("10.96.0.0/12"))
	g.c.Externals = []model.External{
		{Name: "cloud-metadata", CIDRs: model.IPSetOf(netip.MustParsePrefix("169.254.169.254/32"))},
		{Name: "internet", CIDRs: model.IPSetOf(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))},
	}
	g.namespaces()
	g.workloads()
	g.policies()
	g.clusterPolicies()
	g.ciliumPolicies()
	g.c.Sort()
	return g.c
}

// rare is small in property tests, where corner cases should come up
// often, and large in benchmarks, where they should be as rare as in real
// clusters.
func (g *gen) rare(small, large int) int {
	if g.o.Small {
		return small
	}
	return large
}

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) namespaces() {
	g.c.Namespaces = append(g.c.Namespaces, model.Namespace{
		Name:   "kube-system",
		Labels: map[string]string{model.NamespaceNameLabel: "kube-system"},
	})
	g.c.Workloads = append(g.c.Workloads, model.Workload{
		Namespace: "kube-system", Name: "coredns", Kind: "Deployment",
		Labels: map[string]string{"k8s-app": "kube-dns"},
		Ports: []model.ContainerPort{
			{Name: "dns", Port: 53, Protocol: model.UDP},
			{Name: "dns-tcp", Port: 53, Protocol: model.TCP},
		},
	})
	g.apps = make([][]string, g.o.Namespaces)
	for i := 0; i < g.o.Namespaces; i++ {
		name := fmt.Sprintf("ns-%02d", i)
		labels := map[string]string{
			model.NamespaceNameLabel: name,
			"team":                   teams[i%len(teams)],
		}
		if g.r.IntN(3) > 0 {
			labels["env"] = []string{"dev", "prod"}[g.r.IntN(2)]
		}
		g.c.Namespaces = append(g.c.Namespaces, model.Namespace{Name: name, Labels: labels})
	}
}

func (g *gen) nsName(i int) string { return fmt.Sprintf("ns-%02d", i) }

func (g *gen) workloads() {
	kinds := []string{"Deployment", "StatefulSet", "DaemonSet", "Deployment", "Deployment"}
	appsPerNS := 12
	if g.o.Small {
		appsPerNS = 3
	}
	for i := 0; i < g.o.Workloads; i++ {
		ns := i % g.o.Namespaces
		app := fmt.Sprintf("app-%d", g.r.IntN(appsPerNS))
		g.apps[ns] = append(g.apps[ns], app)
		labels := map[string]string{
			"app":  app,
			"tier": g.pick(tiers),
		}
		if g.r.IntN(2) == 0 {
			labels["version"] = []string{"v1", "v2"}[g.r.IntN(2)]
		}
		if g.r.IntN(4) == 0 {
			labels["exposed"] = "true"
		}
		ports := []model.ContainerPort{{Name: "http", Port: uint16(8000 + g.r.IntN(3)), Protocol: model.TCP}}
		if g.r.IntN(2) == 0 {
			ports = append(ports, model.ContainerPort{Name: "metrics", Port: 9090, Protocol: model.TCP})
		}
		switch g.r.IntN(6) {
		case 0:
			ports = append(ports, model.ContainerPort{Name: "db", Port: 5432, Protocol: model.TCP})
		case 1:
			ports = append(ports, model.ContainerPort{Name: "stats", Port: 8125, Protocol: model.UDP})
		case 2:
			ports = append(ports, model.ContainerPort{Name: "sig", Port: 3868, Protocol: model.SCTP})
		case 3:
			// Same name, other protocol: named ports resolve by both.
			ports = append(ports, model.ContainerPort{Name: "metrics", Port: 9091, Protocol: model.UDP})
		}
		w := model.Workload{
			Namespace: g.nsName(ns),
			Name:      fmt.Sprintf("w-%05d", i),
			Kind:      kinds[g.r.IntN(len(kinds))],
			Labels:    labels,
			Ports:     ports,
		}
		if g.o.Small && g.r.IntN(5) == 0 {
			w.IPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 244, byte(g.r.IntN(4)), byte(1 + g.r.IntN(250))})}
		}
		g.c.Workloads = append(g.c.Workloads, w)
	}
}

func (g *gen) policies() {
	target := int(float64(g.o.Workloads) * g.o.PolicyRatio)
	n := 0
	add := func(ns int, name string, spec networkingv1.NetworkPolicySpec) {
		n++
		g.c.Policies = append(g.c.Policies, model.Policy{
			NetworkPolicy: &networkingv1.NetworkPolicy{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
				ObjectMeta: metav1.ObjectMeta{Namespace: g.nsName(ns), Name: fmt.Sprintf("%s-%d", name, n)},
				Spec:       spec,
			},
			Source: model.Location{File: fmt.Sprintf("synth/%s.yaml", g.nsName(ns)), Line: n},
		})
	}
	// Most namespaces deny by default and allow DNS.
	for ns := 0; ns < g.o.Namespaces && n < target; ns++ {
		if g.r.IntN(10) == 0 {
			continue // left open
		}
		add(ns, "default-deny", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		})
		add(ns, "allow-dns", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: "kube-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, 53, 0), port(corev1.ProtocolTCP, 53, 0)},
			}},
		})
	}
	for n < target {
		ns := g.r.IntN(g.o.Namespaces)
		spec := networkingv1.NetworkPolicySpec{PodSelector: g.podSelector(ns)}
		switch g.r.IntN(4) {
		case 0:
			spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			spec.Egress = g.egressRules()
		case 1:
			spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
			spec.Ingress = g.ingressRules(ns)
			spec.Egress = g.egressRules()
		default:
			// policyTypes omitted: Ingress, plus Egress when egress rules exist.
			spec.Ingress = g.ingressRules(ns)
		}
		add(ns, "allow", spec)
	}
}

func (g *gen) podSelector(ns int) metav1.LabelSelector {
	switch g.r.IntN(8) {
	case 0:
		if g.r.IntN(g.rare(1, 3)) == 0 {
			return metav1.LabelSelector{}
		}
		return metav1.LabelSelector{MatchLabels: map[string]string{"exposed": "true"}}
	case 1:
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{g.pick(tiers), g.pick(tiers)},
		}}}
	case 2:
		return metav1.LabelSelector{MatchLabels: map[string]string{"tier": g.pick(tiers)}, MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "version", Operator: []metav1.LabelSelectorOperator{metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}[g.r.IntN(2)],
		}}}
	case 3:
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{g.pick(tiers)},
		}}}
	}
	return metav1.LabelSelector{MatchLabels: map[string]string{"app": g.app(ns)}}
}

func (g *gen) app(ns int) string {
	if len(g.apps[ns]) == 0 {
		return "app-0"
	}
	return g.apps[ns][g.r.IntN(len(g.apps[ns]))]
}

// peer draws a rule peer. Most are as narrow as real policies are (one app
// in the policy's namespace or in another one); broad selectors and
// ipBlocks come up less often.
func (g *gen) peer(ns int) networkingv1.NetworkPolicyPeer {
	x := g.r.IntN(100)
	if g.o.Small {
		x = g.r.IntN(100)*2 - 100 // favour the broad cases below
		if x < 0 {
			x = -x
		}
	}
	switch {
	case x < 40:
		return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": g.app(ns)}}}
	case x < 65:
		other := g.r.IntN(g.o.Namespaces)
		return networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: g.nsName(other)}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": g.app(other)}},
		}
	case x < 73:
		sel := g.podSelector(ns)
		return networkingv1.NetworkPolicyPeer{PodSelector: &sel}
	case x < 80:
		return networkingv1.NetworkPolicyPeer{IPBlock: g.ipBlock()}
	case x < 86:
		return networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod"}}}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"tier": g.pick(tiers), "app": g.app(g.r.IntN(g.o.Namespaces))}},
		}
	case x < 92:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": g.app(ns), "tier": g.pick(tiers)}}}
	case x < 96:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": g.pick(teams)}}, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": g.pick(tiers)}}}
	}
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": g.pick(teams)}}}
}

func (g *gen) ipBlock() *networkingv1.IPBlock {
	if g.o.Small {
		switch g.r.IntN(5) {
		case 0:
			return &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"169.254.169.254/32", "10.0.0.0/8"}}
		case 4:
			// Holds the IPv4 pod CIDR whole.
			return &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"169.254.169.254/32"}}
		case 1:
			return &networkingv1.IPBlock{CIDR: fmt.Sprintf("10.244.%d.0/24", g.r.IntN(4)), Except: []string{fmt.Sprintf("10.244.%d.128/25", g.r.IntN(4))}}
		case 2:
			return &networkingv1.IPBlock{CIDR: "2001:db8::/32", Except: []string{"2001:db8:1::/48"}}
		}
		return &networkingv1.IPBlock{CIDR: fmt.Sprintf("203.0.%d.0/24", 113+g.r.IntN(2))}
	}
	switch g.r.IntN(50) {
	case 0:
		// Rare, and a smell: a block inside the pod CIDR.
		return &networkingv1.IPBlock{CIDR: fmt.Sprintf("10.244.%d.0/24", g.r.IntN(256))}
	case 1, 2, 3, 4, 5, 6, 7, 8, 9:
		return &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.169.254/32"}}
	case 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24:
		return &networkingv1.IPBlock{CIDR: fmt.Sprintf("203.0.%d.0/24", g.r.IntN(256))}
	case 25, 26, 27, 28, 29, 30, 31, 32, 33, 34:
		// The except lies inside the block (the API server requires it);
		// the second draw keeps the sequence earlier clusters were drawn
		// with.
		block := g.r.IntN(4096)
		_ = g.r.IntN(4096)
		return &networkingv1.IPBlock{CIDR: fmt.Sprintf("2001:db8:%x::/48", block), Except: []string{fmt.Sprintf("2001:db8:%x:1::/64", block)}}
	}
	b := g.r.IntN(200) + 20
	return &networkingv1.IPBlock{CIDR: fmt.Sprintf("%d.0.0.0/8", b), Except: []string{fmt.Sprintf("%d.%d.0.0/16", b, g.r.IntN(256))}}
}

func port(p corev1.Protocol, n int32, end int32) networkingv1.NetworkPolicyPort {
	pp := networkingv1.NetworkPolicyPort{Protocol: &p}
	if n != 0 {
		v := intstr.FromInt32(n)
		pp.Port = &v
	}
	if end != 0 {
		pp.EndPort = &end
	}
	return pp
}

func (g *gen) ports() []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for i := g.r.IntN(3); i >= 0; i-- {
		switch g.r.IntN(8) {
		case 0:
			if g.r.IntN(g.rare(1, 3)) == 0 {
				return nil // all ports
			}
			out = append(out, port(corev1.ProtocolTCP, 9090, 0))
		case 1:
			named := intstr.FromString(g.pick([]string{"http", "metrics", "db"}))
			out = append(out, networkingv1.NetworkPolicyPort{Port: &named})
		case 2:
			udp := corev1.ProtocolUDP
			named := intstr.FromString(g.pick([]string{"metrics", "stats"}))
			out = append(out, networkingv1.NetworkPolicyPort{Protocol: &udp, Port: &named})
		case 3:
			out = append(out, port(corev1.ProtocolTCP, 8000, 8001))
		case 4:
			out = append(out, port(corev1.ProtocolSCTP, 0, 0))
		case 5:
			out = append(out, port(corev1.ProtocolUDP, 8125, 0))
		default:
			out = append(out, port(corev1.ProtocolTCP, int32(8000+g.r.IntN(3)), 0))
		}
	}
	return out
}

func (g *gen) peers(ns int) []networkingv1.NetworkPolicyPeer {
	if g.r.IntN(g.rare(10, 30)) == 0 {
		return nil // everyone
	}
	var out []networkingv1.NetworkPolicyPeer
	for i := g.r.IntN(2); i >= 0; i-- {
		out = append(out, g.peer(ns))
	}
	return out
}

func (g *gen) ingressRules(ns int) []networkingv1.NetworkPolicyIngressRule {
	var out []networkingv1.NetworkPolicyIngressRule
	for i := g.r.IntN(3); i > 0; i-- {
		out = append(out, networkingv1.NetworkPolicyIngressRule{From: g.peers(ns), Ports: g.ports()})
	}
	return out
}

func (g *gen) egressRules() []networkingv1.NetworkPolicyEgressRule {
	var out []networkingv1.NetworkPolicyEgressRule
	for i := g.r.IntN(3); i > 0; i-- {
		ns := g.r.IntN(g.o.Namespaces)
		out = append(out, networkingv1.NetworkPolicyEgressRule{To: g.peers(ns), Ports: g.ports()})
	}
	return out
}

// clusterPolicies draws the tiered, cluster-scoped policies.
func (g *gen) clusterPolicies() {
	for i := 0; i < g.o.AdminPolicies; i++ {
		p := model.ClusterPolicy{Kind: model.KindAdminNetworkPolicy, Name: fmt.Sprintf("anp-%d", i), Tier: model.TierAdmin,
			Priority: int32(g.r.IntN(g.rare(8, 1000))), Source: model.Location{File: "synth/cluster.yaml", Line: i + 1}}
		if i%10 == 9 {
			p.Kind = model.KindClusterNetworkPolicy
		}
		g.clusterPolicy(&p)
	}
	if g.o.Baseline {
		p := model.ClusterPolicy{Kind: model.KindBaselineAdminNetworkPolicy, Name: "default", Tier: model.TierBaseline,
			Source: model.Location{File: "synth/cluster.yaml", Line: 1000}}
		g.clusterPolicy(&p)
		if g.r.IntN(2) == 0 {
			c := model.ClusterPolicy{Kind: model.KindClusterNetworkPolicy, Name: "baseline", Tier: model.TierBaseline,
				Priority: int32(g.r.IntN(10)), Source: model.Location{File: "synth/cluster.yaml", Line: 1001}}
			g.clusterPolicy(&c)
		}
	}
}

func (g *gen) clusterPolicy(p *model.ClusterPolicy) {
	ns := g.r.IntN(g.o.Namespaces)
	switch g.r.IntN(3) {
	case 0:
		p.Subject.Namespaces = &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: g.nsName(ns)}}
	case 1:
		p.Subject.Namespaces = g.nsSelector()
	default:
		p.Subject.Pods = &model.NamespacedPods{NamespaceSelector: *g.nsSelector(), PodSelector: g.podSelector(ns)}
	}
	rules := func(egress bool) []model.ClusterRule {
		var out []model.ClusterRule
		for i := g.r.IntN(3); i > 0; i-- {
			r := model.ClusterRule{Name: fmt.Sprintf("r%d", i), Action: model.Action(g.r.IntN(3))}
			if p.Tier == model.TierBaseline && r.Action == model.ActionPass && p.Kind == model.KindBaselineAdminNetworkPolicy {
				r.Action = model.ActionDeny
			}
			for j := g.r.IntN(2); j >= 0; j-- {
				r.Peers = append(r.Peers, g.clusterPeer(egress))
			}
			r.Ports = g.clusterPorts()
			out = append(out, r)
		}
		return out
	}
	p.Ingress = rules(false)
	p.Egress = rules(true)
	g.c.ClusterPolicies = append(g.c.ClusterPolicies, *p)
}

func (g *gen) nsSelector() *metav1.LabelSelector {
	switch g.r.IntN(4) {
	case 0:
		return &metav1.LabelSelector{}
	case 1:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"team": g.pick(teams)}}
	case 2:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod"}}}}
	}
	return &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: g.nsName(g.r.IntN(g.o.Namespaces))}}
}

func (g *gen) clusterPeer(egress bool) model.ClusterPeer {
	ns := g.r.IntN(g.o.Namespaces)
	x := g.r.IntN(10)
	switch {
	case x < 3:
		return model.ClusterPeer{Namespaces: g.nsSelector()}
	case x < 7:
		return model.ClusterPeer{Pods: &model.NamespacedPods{NamespaceSelector: *g.nsSelector(), PodSelector: g.podSelector(ns)}}
	case x < 9 && egress:
		b := g.ipBlock()
		set := ipBlockSet(b)
		return model.ClusterPeer{Networks: set, NetworksText: set.String()}
	case x == 9 && egress:
		return model.ClusterPeer{Nodes: &metav1.LabelSelector{}}
	}
	return model.ClusterPeer{Namespaces: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: g.nsName(ns)}}}
}

// ipBlockSet is the block's CIDR minus its excepts, as a networks peer
// that lists the pieces would cover.
func ipBlockSet(b *networkingv1.IPBlock) model.IPSet {
	set := model.IPSetOf(netip.MustParsePrefix(b.CIDR))
	for _, e := range b.Except {
		set = set.Subtract(model.IPSetOf(netip.MustParsePrefix(e)))
	}
	return set
}

func (g *gen) clusterPorts() []model.ClusterPort {
	if g.r.IntN(3) == 0 {
		return nil
	}
	var out []model.ClusterPort
	for i := g.r.IntN(2); i >= 0; i-- {
		switch g.r.IntN(5) {
		case 0:
			out = append(out, model.ClusterPort{Named: g.pick([]string{"http", "metrics", "dns"})})
		case 1:
			out = append(out, model.ClusterPort{Protocol: model.TCP, From: 8000, To: 8080})
		case 2:
			out = append(out, model.ClusterPort{Protocol: model.UDP, From: 53, To: 53})
		case 3:
			out = append(out, model.ClusterPort{Protocol: model.SCTP, From: 1, To: model.MaxPort})
		default:
			p := uint16(8000 + g.r.IntN(3))
			out = append(out, model.ClusterPort{Protocol: model.TCP, From: p, To: p})
		}
	}
	return out
}
