package verify

import (
	"net/netip"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Helpers that build clusters and matrices by hand.

func lbls(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func sel(kv ...string) *metav1.LabelSelector { return &metav1.LabelSelector{MatchLabels: lbls(kv...)} }

func namespace(name string, kv ...string) model.Namespace {
	l := lbls(kv...)
	l[model.NamespaceNameLabel] = name
	return model.Namespace{Name: name, Labels: l}
}

func workload(ns, name string, lbl map[string]string, ports ...model.ContainerPort) model.Workload {
	return model.Workload{Namespace: ns, Name: name, Kind: "Deployment", Labels: lbl, Ports: ports}
}

func cport(name string, port uint16, p model.Protocol) model.ContainerPort {
	return model.ContainerPort{Name: name, Port: port, Protocol: p}
}

func policy(ns, name string, spec networkingv1.NetworkPolicySpec) model.Policy {
	return model.Policy{NetworkPolicy: &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       spec,
	}}
}

var (
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
	sctp = corev1.ProtocolSCTP
)

func npPort(p corev1.Protocol, port int, endPort ...int32) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(int32(port))
	np := networkingv1.NetworkPolicyPort{Protocol: &p, Port: &v}
	if len(endPort) > 0 {
		np.EndPort = &endPort[0]
	}
	return np
}

func npNamed(p corev1.Protocol, name string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Protocol: &p, Port: &v}
}

func podPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: sel(kv...)}
}

func ipPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

var both = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}

// shop is the four-pod lab of recipes/netns-lab4.sh as NetworkPolicies:
// frontend -> backend on its named port http, backend -> db TCP 5432,
// everyone -> dns UDP 53, backend -> the internet TCP 443, and the
// internet -> frontend TCP 8080-8081.
func shop() *model.Cluster {
	c := &model.Cluster{
		Namespaces: []model.Namespace{namespace("shop", "team", "shop"), namespace("infra")},
		Workloads: []model.Workload{
			workload("shop", "frontend", lbls("app", "frontend"), cport("web", 8080, model.TCP)),
			workload("shop", "backend", lbls("app", "backend"), cport("http", 3000, model.TCP)),
			workload("shop", "db", lbls("app", "db"), cport("pg", 5432, model.TCP)),
			workload("infra", "dns", lbls("app", "dns"), cport("dns", 53, model.UDP), cport("dns-tcp", 53, model.TCP)),
		},
		Policies: []model.Policy{
			policy("shop", "default-deny", networkingv1.NetworkPolicySpec{PolicyTypes: both}),
			policy("infra", "default-deny", networkingv1.NetworkPolicySpec{PolicyTypes: both}),
			policy("shop", "dns", networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: sel("app", "dns")}},
					Ports: []networkingv1.NetworkPolicyPort{npPort(udp, 53)},
				}},
			}),
			policy("infra", "dns-ingress", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app", "dns"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("team", "shop")}},
					Ports: []networkingv1.NetworkPolicyPort{npPort(udp, 53)},
				}},
			}),
			policy("shop", "frontend", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app", "frontend"),
				PolicyTypes: both,
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{ipPeer("0.0.0.0/0", "10.0.0.0/8")},
					Ports: []networkingv1.NetworkPolicyPort{npPort(tcp, 8080, 8081)},
				}},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{podPeer("app", "backend")},
					Ports: []networkingv1.NetworkPolicyPort{npNamed(tcp, "http")},
				}},
			}),
			policy("shop", "backend", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app", "backend"),
				PolicyTypes: both,
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{podPeer("app", "frontend")},
					Ports: []networkingv1.NetworkPolicyPort{npNamed(tcp, "http")},
				}},
				Egress: []networkingv1.NetworkPolicyEgressRule{
					{To: []networkingv1.NetworkPolicyPeer{podPeer("app", "db")}, Ports: []networkingv1.NetworkPolicyPort{npPort(tcp, 5432)}},
					{To: []networkingv1.NetworkPolicyPeer{ipPeer("0.0.0.0/0", "10.0.0.0/8")}, Ports: []networkingv1.NetworkPolicyPort{npPort(tcp, 443)}},
				},
			}),
			policy("shop", "db", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app", "db"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{podPeer("app", "backend")},
					Ports: []networkingv1.NetworkPolicyPort{npPort(tcp, 5432)},
				}},
			}),
		},
		PodCIDRs:     model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16")),
		ServiceCIDRs: model.IPSetOf(netip.MustParsePrefix("10.96.0.0/12")),
	}
	c.Sort()
	return c
}

// flow is one expected connection of a hand-written matrix.
type flow struct {
	src, dst string // workload "ns/name" or an external range "a-b"
	ports    model.PortSet
}

func ports(specs ...string) model.PortSet {
	var s model.PortSet
	for _, spec := range specs {
		p, r, err := model.ParsePortSpec(spec)
		if err != nil {
			panic(err)
		}
		s = s.Union(model.SinglePort(p, r.From, r.To))
	}
	return s
}

// matrix builds a matrix over the cluster's workloads and the given
// external ranges ("from-to") with exactly the flows given.
func matrix(t *testing.T, c *model.Cluster, externals []string, flows ...flow) *model.Matrix {
	t.Helper()
	m := &model.Matrix{}
	for i := range c.Workloads {
		if !c.Workloads[i].HostNetwork {
			m.Peers = append(m.Peers, model.Peer{Workload: &c.Workloads[i]})
		}
	}
	for _, e := range externals {
		from, to, ok := cutRange(e)
		require.True(t, ok, e)
		m.Peers = append(m.Peers, model.Peer{Range: model.IPRange{From: from, To: to}})
	}
	find := func(key string) int32 {
		for i := range m.Peers {
			p := m.Peers[i]
			if (p.Workload != nil && p.Workload.Key() == key) || (p.Workload == nil && p.Range.From.String()+"-"+p.Range.To.String() == key) {
				return int32(i)
			}
		}
		t.Fatalf("no peer %s", key)
		return -1
	}
	for _, f := range flows {
		m.Connect(find(f.src), find(f.dst), &model.Allowance{Ports: f.ports})
	}
	sort.Slice(m.Connections, func(i, j int) bool {
		a, b := m.Connections[i], m.Connections[j]
		return a.Src < b.Src || (a.Src == b.Src && a.Dst < b.Dst)
	})
	return m
}

func cutRange(s string) (netip.Addr, netip.Addr, bool) {
	for i := range s {
		if s[i] == '-' {
			a, err1 := netip.ParseAddr(s[:i])
			b, err2 := netip.ParseAddr(s[i+1:])
			return a, b, err1 == nil && err2 == nil
		}
	}
	return netip.Addr{}, netip.Addr{}, false
}

// shopInternet is the external range the shop matrix uses.
const shopInternet = "11.0.0.0-11.255.255.255"

// shopFlows is what NetworkPolicy allows in shop(), worked out by hand.
func shopFlows() []flow {
	return []flow{
		{"shop/frontend", "shop/backend", ports("3000/TCP")},
		{"shop/frontend", "infra/dns", ports("53/UDP")},
		{"shop/backend", "shop/db", ports("5432/TCP")},
		{"shop/backend", "infra/dns", ports("53/UDP")},
		{"shop/backend", shopInternet, ports("443/TCP")},
		{"shop/db", "infra/dns", ports("53/UDP")},
		{shopInternet, "shop/frontend", ports("8080-8081/TCP")},
	}
}

func exprSel(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func npProto(p corev1.Protocol) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: &p}
}

// edge exercises the corners of NetworkPolicy semantics: ingress [{}]
// against ingress [], defaulted policyTypes, an SCTP-only rule isolating
// TCP, named ports resolving per destination, endPort, namespace AND pod
// selectors with matchExpressions, ipBlock except over pod addresses, and
// protocol-only ports.
func edge() *model.Cluster {
	c := &model.Cluster{
		Namespaces: []model.Namespace{namespace("edge", "team", "edge"), namespace("other", "team", "other")},
		Workloads: []model.Workload{
			workload("edge", "a", lbls("role", "a"),
				cport("http", 80, model.TCP), cport("metrics", 9090, model.TCP), cport("dns", 53, model.UDP), cport("diameter", 3868, model.SCTP)),
			workload("edge", "b", lbls("role", "b"), cport("http", 8080, model.TCP)),
			workload("edge", "c", lbls("role", "c", "env", "prod")),
			workload("other", "d", lbls("role", "d"), cport("http", 81, model.TCP), cport("syslog", 514, model.UDP)),
			{Namespace: "other", Name: "node-agent", Kind: "DaemonSet", Labels: lbls("role", "agent"), HostNetwork: true},
		},
		Policies: []model.Policy{
			policy("edge", "a-open", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("role", "a"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			}),
			policy("edge", "b-closed", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("role", "b"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					Ports: []networkingv1.NetworkPolicyPort{npNamed(tcp, "http")},
				}},
			}),
			policy("edge", "c-sctp-only", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("env", "prod"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					Ports: []networkingv1.NetworkPolicyPort{npProto(sctp)},
				}},
			}),
			policy("other", "d-ingress", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("role", "d"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: sel("team", "edge"),
						PodSelector:       exprSel("role", metav1.LabelSelectorOpIn, "a", "c"),
					}},
					Ports: []networkingv1.NetworkPolicyPort{npPort(tcp, 81, 90)},
				}, {
					From:  []networkingv1.NetworkPolicyPeer{ipPeer("10.244.0.0/16", "10.244.0.0/30")},
					Ports: []networkingv1.NetworkPolicyPort{npProto(udp)},
				}},
			}),
			policy("edge", "not-a-egress", networkingv1.NetworkPolicySpec{
				PodSelector: *exprSel("role", metav1.LabelSelectorOpNotIn, "a"),
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
					Ports: []networkingv1.NetworkPolicyPort{npPort(tcp, 81)},
				}, {
					To:    []networkingv1.NetworkPolicyPeer{ipPeer("0.0.0.0/0")},
					Ports: []networkingv1.NetworkPolicyPort{npPort(udp, 53), npPort(udp, 514)},
				}},
			}),
		},
		Externals: []model.External{
			{Name: "internet", CIDRs: model.IPSetOf(netip.MustParsePrefix("0.0.0.0/0"))},
		},
		PodCIDRs:     model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16")),
		ServiceCIDRs: model.IPSetOf(netip.MustParsePrefix("10.96.0.0/12")),
	}
	c.Sort()
	return c
}

// edgeFlows is what NetworkPolicy allows in edge(), worked out by hand
// (a=10.244.0.2, b=.3, c=.4, d=.5 as AssignAddresses gives them).
func edgeFlows() []flow {
	const ext = shopInternet
	all := model.AllPorts()
	return []flow{
		{"edge/a", "edge/c", ports("SCTP")},
		{"edge/a", "other/d", ports("81-90/TCP")},
		{"edge/a", ext, all},
		{"edge/b", "edge/a", ports("80/TCP", "81/TCP", "53/UDP", "514/UDP")},
		{"edge/b", ext, ports("53/UDP", "514/UDP")},
		{"edge/c", "edge/a", ports("81/TCP", "53/UDP", "514/UDP")},
		{"edge/c", "other/d", ports("81/TCP", "53/UDP", "514/UDP")},
		{"edge/c", ext, ports("53/UDP", "514/UDP")},
		{"other/d", "edge/a", all},
		{"other/d", "edge/c", ports("SCTP")},
		{"other/d", ext, all},
		{ext, "edge/a", all},
		{ext, "edge/c", ports("SCTP")},
	}
}
