package synth

import (
	"fmt"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Cilium's identity label keys (pkg/k8s/apis/cilium.io/const.go).
const (
	ciliumNS       = "k8s:io.kubernetes.pod.namespace"
	ciliumNSLabels = "k8s:io.cilium.k8s.namespace.labels."
)

// partners are the external services Cilium policies name by host name.
var partners = []string{"api.stripe.com", "api.github.com", "hooks.slack.com", "sts.amazonaws.com", "oauth2.googleapis.com", "api.partner-a.example.com", "api.partner-b.example.com"}

// ciliumPolicies draws Cilium policies the way teams write them: one app
// (or a tier, or the whole namespace) as subject; ingress from its
// callers, its namespace or the cluster; egress to the apps it calls, to
// kube-dns with a DNS rule, to partners by host name and to the
// internet by CIDR; now and then a deny of the cloud metadata address or
// of the world.
func (g *gen) ciliumPolicies() {
	for i := 0; i < g.o.CiliumPolicies; i++ {
		ns := g.r.IntN(g.o.Namespaces)
		p := model.CiliumPolicy{Kind: model.KindCiliumNetworkPolicy, Namespace: g.nsName(ns), Name: fmt.Sprintf("cnp-%d", i),
			Source: model.Location{File: fmt.Sprintf("synth/cilium-%s.yaml", g.nsName(ns)), Line: i + 1}}
		clusterwide := g.r.IntN(8) == 0
		if clusterwide {
			p.Kind, p.Namespace, p.Name = model.KindCiliumClusterwideNetworkPolicy, "", fmt.Sprintf("ccnp-%d", i)
			p.Source.File = "synth/cilium-cluster.yaml"
		}
		rule := model.CiliumRule{Section: "spec", EndpointSelector: g.ciliumSubject(ns, clusterwide)}
		for j := g.r.IntN(3); j > 0; j-- {
			rule.Ingress = append(rule.Ingress, g.ciliumIngress(ns))
		}
		for j := g.r.IntN(4); j > 0; j-- {
			rule.Egress = append(rule.Egress, g.ciliumEgress(ns))
		}
		switch g.r.IntN(12) {
		case 0:
			rule.EgressDeny = append(rule.EgressDeny, ciliumCIDR("169.254.169.254/32"))
		case 1:
			rule.IngressDeny = append(rule.IngressDeny, model.CiliumPeerRule{Entities: []string{"world"}})
		case 2:
			deny := g.ciliumEndpointsRule(g.r.IntN(g.o.Namespaces), true)
			deny.Ports = []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: 5432, To: 5432}}
			rule.EgressDeny = append(rule.EgressDeny, deny)
		}
		if g.r.IntN(20) == 0 {
			off := false
			rule.DefaultDenyIngress, rule.DefaultDenyEgress = &off, &off
		}
		p.Rules = []model.CiliumRule{rule}
		g.c.CiliumPolicies = append(g.c.CiliumPolicies, p)
	}
}

func (g *gen) ciliumSubject(ns int, clusterwide bool) *metav1.LabelSelector {
	var sel metav1.LabelSelector
	switch g.r.IntN(6) {
	case 0:
		sel = metav1.LabelSelector{MatchLabels: map[string]string{"k8s:tier": g.pick(tiers)}}
	case 1:
		sel = metav1.LabelSelector{} // the whole namespace (or cluster)
	default:
		sel = metav1.LabelSelector{MatchLabels: map[string]string{"k8s:app": g.app(ns)}}
	}
	if clusterwide && g.r.IntN(2) == 0 {
		if sel.MatchLabels == nil {
			sel.MatchLabels = map[string]string{}
		}
		sel.MatchLabels[ciliumNS] = g.nsName(ns)
	}
	return &sel
}

// ciliumEndpointsRule allows or denies some pods: of one app in the
// policy's namespace, of one app in another namespace, or of a team's
// namespaces (namespace labels).
func (g *gen) ciliumEndpointsRule(ns int, other bool) model.CiliumPeerRule {
	var sel metav1.LabelSelector
	switch x := g.r.IntN(10); {
	case x < 5 && !other:
		sel = metav1.LabelSelector{MatchLabels: map[string]string{"k8s:app": g.app(ns)}}
	case x < 8:
		o := g.r.IntN(g.o.Namespaces)
		sel = metav1.LabelSelector{MatchLabels: map[string]string{ciliumNS: g.nsName(o), "k8s:app": g.app(o)}}
	default:
		sel = metav1.LabelSelector{MatchLabels: map[string]string{ciliumNSLabels + "team": g.pick(teams)}}
	}
	return model.CiliumPeerRule{Endpoints: []metav1.LabelSelector{sel}}
}

func (g *gen) ciliumIngress(ns int) model.CiliumPeerRule {
	var r model.CiliumPeerRule
	switch x := g.r.IntN(10); {
	case x < 7:
		r = g.ciliumEndpointsRule(ns, false)
	case x < 8:
		r = model.CiliumPeerRule{Entities: []string{"cluster"}}
	case x < 9:
		r = model.CiliumPeerRule{Entities: []string{"host", "remote-node"}}
	default:
		r = model.CiliumPeerRule{Entities: []string{"world"}}
	}
	r.Ports = g.ciliumPorts()
	if len(r.Ports) > 0 && r.Ports[0].Protocols[0] == model.TCP && g.r.IntN(4) == 0 {
		r.L7 = []string{"http"}
	}
	return r
}

func (g *gen) ciliumEgress(ns int) model.CiliumPeerRule {
	switch x := g.r.IntN(20); {
	case x < 3:
		// DNS through kube-dns, with a DNS rule for toFQDNs.
		return model.CiliumPeerRule{
			Endpoints: []metav1.LabelSelector{{MatchLabels: map[string]string{ciliumNS: "kube-system", "k8s:k8s-app": "kube-dns"}}},
			Ports: []model.CiliumPort{
				{Protocols: []model.Protocol{model.UDP}, From: 53, To: 53},
				{Protocols: []model.Protocol{model.TCP}, From: 53, To: 53},
			},
			L7: []string{"dns"}, DNSNames: []string{"*"},
		}
	case x < 6:
		r := model.CiliumPeerRule{Ports: []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: 443, To: 443}}}
		if g.r.IntN(3) == 0 {
			r.FQDNs = []model.FQDNSelector{{MatchPattern: "*." + g.pick([]string{"googleapis.com", "amazonaws.com", "example.net"})}}
		} else {
			r.FQDNs = []model.FQDNSelector{{MatchName: g.pick(partners)}}
		}
		return r
	case x < 8:
		r := ciliumCIDR(g.pick([]string{"0.0.0.0/0", "203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"}))
		if r.CIDRText == "0.0.0.0/0" {
			r.CIDRs = r.CIDRs.Subtract(model.IPSetOf(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("169.254.169.254/32")))
			r.CIDRText = "0.0.0.0/0 except 10.0.0.0/8 except 169.254.169.254/32"
		}
		r.Ports = []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: 443, To: 443}}
		return r
	case x < 9:
		return model.CiliumPeerRule{Entities: []string{g.pick([]string{"kube-apiserver", "world", "cluster"})}, Ports: g.ciliumPorts()}
	}
	r := g.ciliumEndpointsRule(ns, false)
	r.Ports = g.ciliumPorts()
	return r
}

func ciliumCIDR(cidr string) model.CiliumPeerRule {
	return model.CiliumPeerRule{HasCIDR: true, CIDRs: model.IPSetOf(netip.MustParsePrefix(cidr)), CIDRText: cidr}
}

// ciliumPorts draws toPorts; nil (every port) one time in five.
func (g *gen) ciliumPorts() []model.CiliumPort {
	switch g.r.IntN(5) {
	case 0:
		return nil
	case 1:
		return []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, Named: g.pick([]string{"http", "metrics", "db"})}}
	case 2:
		return []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: 8000, To: 8002}}
	case 3:
		return []model.CiliumPort{{Protocols: model.Protocols[:], From: 9090, To: 9091}}
	}
	p := uint16(8000 + g.r.IntN(3))
	return []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: p, To: p}}
}
