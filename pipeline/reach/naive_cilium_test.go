package reach_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The naive evaluator's reading of CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy, from Cilium's documentation and
// pkg/policy: a pod's identity labels are its labels plus
// io.kubernetes.pod.namespace and io.cilium.k8s.namespace.labels.*; a
// namespaced policy's selectors are limited to its namespace unless they
// name one; CIDRs and the world entity only ever hold addresses outside
// the cluster; toFQDNs names host-name endpoints.

// ciliumIdentity is the label set Cilium gives a pod.
func (n *naive) ciliumIdentity(w *model.Workload) labels.Set {
	l := labels.Set{}
	for k, v := range w.Labels {
		l[k] = v
	}
	for k, v := range n.nsLabels[w.Namespace] {
		l["io.cilium.k8s.namespace.labels."+k] = v
	}
	l["io.kubernetes.pod.namespace"] = w.Namespace
	return l
}

// ciliumSelects evaluates an endpoint selector written in policy
// namespace ns against a workload, label by label with Cilium's sources:
// a key without a source, or with any:, matches the k8s: label.
func (n *naive) ciliumSelects(s *metav1.LabelSelector, ns string, w *model.Workload, subject bool) bool {
	// apimachinery's selectors refuse "k8s:" in a key: compare without
	// the source, and let a label of another source match nothing.
	other := false
	norm := func(k string) string {
		for _, src := range []string{"k8s:", "any:"} {
			if rest, ok := strings.CutPrefix(k, src); ok {
				return rest
			}
		}
		if strings.Contains(k, ":") {
			other = true
			return "other-source"
		}
		return k
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	namesNS := false
	for k, v := range s.MatchLabels {
		sel.MatchLabels[norm(k)] = v
	}
	for _, e := range s.MatchExpressions {
		e.Key = norm(e.Key)
		sel.MatchExpressions = append(sel.MatchExpressions, e)
	}
	for k := range sel.MatchLabels {
		namesNS = namesNS || k == "io.kubernetes.pod.namespace" || strings.HasPrefix(k, "io.cilium.k8s.namespace.labels.")
	}
	for _, e := range sel.MatchExpressions {
		namesNS = namesNS || e.Key == "io.kubernetes.pod.namespace" || strings.HasPrefix(e.Key, "io.cilium.k8s.namespace.labels.")
	}
	if other {
		return false
	}
	if ns != "" && (subject || !namesNS) && w.Namespace != ns {
		return false
	}
	ls, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		n.t.Fatalf("cilium selector %v: %v", s, err)
	}
	return ls.Matches(n.ciliumIdentity(w))
}

// outside is every address outside the cluster, per family.
func (n *naive) outside(v4 bool) model.IPSet {
	all := "::/0"
	if v4 {
		all = "0.0.0.0/0"
	}
	return model.IPSetOf(netip.MustParsePrefix(all)).Subtract(n.c.PodCIDRs).Subtract(n.c.ServiceCIDRs)
}

// holdsHosts reports whether a set holds whatever a host name may
// resolve to: every outside address of one family.
func (n *naive) holdsHosts(set model.IPSet) bool {
	for _, v4 := range []bool{true, false} {
		if o := n.outside(v4); !o.IsEmpty() && o.Subtract(set).IsEmpty() {
			return true
		}
	}
	return false
}

func naiveFQDNMatch(f model.FQDNSelector, endpoint string) bool {
	if f.MatchName != "" {
		return f.MatchName == endpoint
	}
	if strings.Trim(f.MatchPattern, "*.") == "" || f.MatchPattern == endpoint {
		return true
	}
	if strings.Contains(endpoint, "*") {
		// A pattern endpoint is any name it matches: the entry selects
		// it when it matches names made from it with a letter the entry
		// lacks for every "*" (long runs of it) and one and two labels
		// for a leading "**.".
		if strings.Trim(endpoint, "*.") == "" {
			return false
		}
		fill := "q"
		for _, c := range "qzxjkv0123456789" {
			if !strings.ContainsRune(f.MatchPattern, c) {
				fill = strings.Repeat(string(c), len(f.MatchPattern)+2)
				break
			}
		}
		var witnesses []string
		if rest, ok := strings.CutPrefix(endpoint, "**."); ok {
			witnesses = []string{"*." + rest, "*.*." + rest}
		} else {
			witnesses = []string{endpoint}
		}
		for _, w := range witnesses {
			name := regexp.MustCompile(`\*+`).ReplaceAllString(w, fill)
			if !naiveFQDNMatch(model.FQDNSelector{MatchPattern: f.MatchPattern}, name) {
				return false
			}
		}
		return true
	}
	p := f.MatchPattern
	prefix := ""
	if strings.HasPrefix(p, "**.") {
		prefix, p = `([-a-zA-Z0-9_]+\.)+`, p[3:]
	}
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(`[-a-zA-Z0-9_]*`)
		case '.':
			b.WriteString(`\.`)
		default:
			b.WriteRune(r)
		}
	}
	return regexp.MustCompile("^" + prefix + b.String() + "$").MatchString(endpoint)
}

// ciliumPeerMatch reports whether x is a peer of a Cilium rule.
func (n *naive) ciliumPeerMatch(r *model.CiliumPeerRule, ns string, x model.Peer) bool {
	if !r.HasL3() {
		return r.Ports != nil
	}
	for i := range r.Endpoints {
		if x.Workload != nil && n.ciliumSelects(&r.Endpoints[i], ns, x.Workload, false) {
			return true
		}
	}
	for _, e := range r.Entities {
		switch e {
		case "all":
			return true
		case "cluster":
			if x.Workload != nil {
				return true
			}
		case "world":
			if x.Workload == nil {
				return true
			}
		case "world-ipv4", "world-ipv6":
			if x.Workload == nil && (x.FQDN != "" || x.Range.From.Is4() == (e == "world-ipv4")) {
				return true
			}
		}
	}
	if r.HasCIDR && x.Workload == nil {
		if x.FQDN != "" {
			if n.holdsHosts(r.CIDRs) {
				return true
			}
		} else if n.inSet(r.CIDRs, x, netip.Addr{}) {
			return true
		}
	}
	for _, f := range r.FQDNs {
		if x.FQDN != "" && naiveFQDNMatch(f, x.FQDN) {
			return true
		}
	}
	return false
}

func ciliumPortMatch(ports []model.CiliumPort, dst model.Peer, proto model.Protocol, port uint16) bool {
	if ports == nil {
		return true
	}
	for _, p := range ports {
		for _, pr := range p.Protocols {
			if pr != proto {
				continue
			}
			if p.Named != "" {
				if dst.Workload != nil {
					if at, ok := dst.Workload.NamedPort(p.Named, proto); ok && at == port {
						return true
					}
				}
				continue
			}
			if p.From <= port && port <= p.To {
				return true
			}
		}
	}
	return false
}

// ciliumSide walks every Cilium rule selecting self in one direction:
// whether one isolates it, whether an allow rule matches and whether a
// deny rule does.
func (n *naive) ciliumSide(ingress bool, self, other, dst model.Peer, proto model.Protocol, port uint16) (isolated, allowed, denied bool) {
	for pi := range n.c.CiliumPolicies {
		p := &n.c.CiliumPolicies[pi]
		for ri := range p.Rules {
			r := &p.Rules[ri]
			if r.EndpointSelector == nil || !n.ciliumSelects(r.EndpointSelector, p.Namespace, self.Workload, true) {
				continue
			}
			allows, denies, dd := r.Egress, r.EgressDeny, r.DefaultDenyEgress
			if ingress {
				allows, denies, dd = r.Ingress, r.IngressDeny, r.DefaultDenyIngress
			}
			if len(allows)+len(denies) > 0 && (dd == nil || *dd) {
				isolated = true
			}
			for i := range allows {
				allowed = allowed || n.ciliumPeerMatch(&allows[i], p.Namespace, other) && ciliumPortMatch(allows[i].Ports, dst, proto, port)
			}
			for i := range denies {
				denied = denied || n.ciliumPeerMatch(&denies[i], p.Namespace, other) && ciliumPortMatch(denies[i].Ports, dst, proto, port)
			}
		}
	}
	return isolated, allowed, denied
}

// ciliumPortCuts adds the port boundaries of every Cilium rule.
func (n *naive) ciliumPortCuts(add func(model.Protocol, uint16, uint16)) {
	for _, p := range n.c.CiliumPolicies {
		for _, r := range p.Rules {
			for _, rules := range [][]model.CiliumPeerRule{r.Ingress, r.IngressDeny, r.Egress, r.EgressDeny} {
				for _, pr := range rules {
					for _, port := range pr.Ports {
						for _, proto := range port.Protocols {
							if port.Named == "" && port.From != 0 {
								add(proto, port.From, port.To)
							}
						}
					}
				}
			}
		}
	}
}

// randomCiliumPolicies adds Cilium policies built from the cluster's own
// labels: namespaced and clusterwide, allow and deny rules, endpoints
// (with and without a namespace), entities, CIDRs, toFQDNs, ports with
// ranges and protocols, and enableDefaultDeny.
func randomCiliumPolicies(c *model.Cluster, seed int, count int) {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	if len(c.Workloads) == 0 {
		return
	}
	pick := func() *model.Workload { return &c.Workloads[r.IntN(len(c.Workloads))] }
	selOf := func(w *model.Workload, withNS bool) metav1.LabelSelector {
		s := metav1.LabelSelector{MatchLabels: map[string]string{}}
		// In key order: a seed makes the same policies every run.
		for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
			if r.IntN(2) == 0 {
				s.MatchLabels["k8s:"+k] = w.Labels[k]
				break
			}
		}
		if withNS {
			s.MatchLabels["k8s:io.kubernetes.pod.namespace"] = w.Namespace
		}
		return s
	}
	ports := func() []model.CiliumPort {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []model.CiliumPort{{Protocols: model.Protocols[:], From: 80, To: 90}}
		case 2:
			return []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: 443, To: 443}, {Protocols: []model.Protocol{model.UDP}, From: 53, To: 53}}
		}
		return []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, Named: "http"}}
	}
	fqdns := []model.FQDNSelector{{MatchName: "api.example.com"}, {MatchPattern: "*.example.com"}, {MatchName: "x.example.com"}}
	peer := func(egress bool, ns string) model.CiliumPeerRule {
		pr := model.CiliumPeerRule{Ports: ports()}
		switch r.IntN(6) {
		case 0:
			w := pick()
			pr.Endpoints = []metav1.LabelSelector{selOf(w, ns == "" || r.IntN(2) == 0)}
		case 1:
			pr.Entities = []string{[]string{"world", "cluster", "all", "host"}[r.IntN(4)]}
		case 2:
			pr.HasCIDR = true
			pr.CIDRs = model.IPSetOf(netip.MustParsePrefix([]string{"0.0.0.0/0", "192.0.2.0/24", "10.0.0.0/8"}[r.IntN(3)]))
			if r.IntN(2) == 0 {
				pr.CIDRs = pr.CIDRs.Subtract(model.IPSetOf(netip.MustParsePrefix("192.0.2.128/25")))
			}
		case 3:
			if egress {
				pr.FQDNs = []model.FQDNSelector{fqdns[r.IntN(len(fqdns))]}
			}
		case 4:
			pr.Endpoints = []metav1.LabelSelector{{}}
		}
		return pr
	}
	for i := 0; i < count; i++ {
		w := pick()
		p := model.CiliumPolicy{Kind: model.KindCiliumNetworkPolicy, Namespace: w.Namespace, Name: fmt.Sprintf("cnp-%d", i)}
		if r.IntN(3) == 0 {
			p.Kind, p.Namespace = model.KindCiliumClusterwideNetworkPolicy, ""
		}
		sel := selOf(w, false)
		rule := model.CiliumRule{Section: "spec", EndpointSelector: &sel}
		for j := r.IntN(3); j > 0; j-- {
			rule.Ingress = append(rule.Ingress, peer(false, p.Namespace))
		}
		for j := r.IntN(3); j > 0; j-- {
			rule.Egress = append(rule.Egress, peer(true, p.Namespace))
		}
		if r.IntN(3) == 0 {
			d := peer(false, p.Namespace)
			rule.IngressDeny = append(rule.IngressDeny, d)
		}
		if r.IntN(3) == 0 {
			d := peer(true, p.Namespace)
			d.FQDNs = nil
			rule.EgressDeny = append(rule.EgressDeny, d)
		}
		if r.IntN(4) == 0 {
			off := false
			rule.DefaultDenyIngress, rule.DefaultDenyEgress = &off, &off
		}
		p.Rules = append(p.Rules, rule)
		c.CiliumPolicies = append(c.CiliumPolicies, p)
	}
}
