package verify

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/reachgate/reachgate/pipeline/model"
)

// This file compiles CiliumNetworkPolicies and
// CiliumClusterwideNetworkPolicies (the model's CiliumPolicy, at L3/L4)
// into the pod plans. Like plan.go it shares nothing with pipeline/reach:
// it follows Cilium's own translation of a policy
// (pkg/k8s/apis/cilium.io/utils ParseToCiliumRule and getEndpointSelector,
// pkg/policy/api, pkg/fqdn/matchpattern) and evaluates selectors with
// apimachinery's label matching over a pod's Cilium identity.
//
// Where the rules go: a Cilium deny rule is a reject in the pod's base
// chain right after the Admin tier's jump, before every NetworkPolicy and
// Cilium allow (a deny of either kind wins); a Cilium allow joins the
// NetworkPolicy accepts (allows are a union); a rule with default deny
// isolates the pod for its direction as a NetworkPolicy does.

// Label keys of a pod's Cilium identity that are not pod labels.
const (
	ciliumNamespaceKey    = "io.kubernetes.pod.namespace"
	ciliumNamespaceLabels = "io.cilium.k8s.namespace.labels."
)

// host is a host-name endpoint of the lab: a name or pattern a toFQDNs
// entry names, the name the lab resolves for it, and the address that
// name resolves to.
type host struct {
	endpoint string // "api.stripe.com", "*.github.com"
	name     string // the endpoint, or for a pattern a name it matches
	addr     netip.Addr
}

// ciliumIdentity is the pod's labels as Cilium's identity holds them
// (all of source k8s): the pod labels, its namespace and the namespace's
// labels.
func ciliumIdentity(p *pod) labels.Set {
	out := labels.Set{}
	for k, v := range p.w.Labels {
		out[k] = v
	}
	for k, v := range p.ns {
		out[ciliumNamespaceLabels+k] = v
	}
	out[ciliumNamespaceKey] = p.w.Namespace
	return out
}

// sourceKey splits a selector key's source: "k8s:app" and "any:app" (and
// "app", which Cilium's sanitize step makes "any:app") match the k8s
// label app; ok is false for another source (reserved:, container:, ...),
// which no pod label carries.
func sourceKey(k string) (key, src string, ok bool) {
	src, key, found := strings.Cut(k, ":")
	if !found {
		return k, "any", true
	}
	return key, src, src == "k8s" || src == "any"
}

// ciliumPods evaluates an endpoint selector of a policy in namespace ns
// ("" for a clusterwide policy). A subject (endpointSelector) of a
// namespaced policy always selects in its namespace (ParseToCiliumRule
// sets k8s:io.kubernetes.pod.namespace, replacing the user's); a peer
// selector does unless it names the namespace or a namespace label
// (getEndpointSelector).
func (cp *compiler) ciliumPods(ns string, s *metav1.LabelSelector, subject bool) (map[*pod]bool, error) {
	sel := &metav1.LabelSelector{}
	namesNS := false
	for k, v := range s.MatchLabels {
		key, src, ok := sourceKey(k)
		if !ok {
			return nil, fmt.Errorf("label %q of source %s matches no pod", k, src)
		}
		if subject && ns != "" && src == "k8s" && key == ciliumNamespaceKey {
			continue
		}
		namesNS = namesNS || key == ciliumNamespaceKey || strings.HasPrefix(key, ciliumNamespaceLabels)
		if sel.MatchLabels == nil {
			sel.MatchLabels = map[string]string{}
		}
		sel.MatchLabels[key] = v
	}
	for _, e := range s.MatchExpressions {
		key, src, ok := sourceKey(e.Key)
		if !ok {
			return nil, fmt.Errorf("label %q of source %s matches no pod", e.Key, src)
		}
		namesNS = namesNS || key == ciliumNamespaceKey || strings.HasPrefix(key, ciliumNamespaceLabels)
		e.Key = key
		sel.MatchExpressions = append(sel.MatchExpressions, e)
	}
	ls, err := selector(sel)
	if err != nil {
		return nil, err
	}
	out := map[*pod]bool{}
	for _, p := range cp.pods {
		if ns != "" && (subject || !namesNS) && p.w.Namespace != ns {
			continue
		}
		if ls.Matches(ciliumIdentity(p)) {
			out[p] = true
		}
	}
	return out, nil
}

// universe is every address of the lab family.
func (cp *compiler) universe() model.IPSet {
	if cp.bits == 128 {
		return mustSet("::/0")
	}
	return mustSet("0.0.0.0/0")
}

// world is Cilium's world entity in the lab: every address of the lab
// family that is not a pod's.
func (cp *compiler) world() model.IPSet { return cp.universe().Subtract(cp.c.PodCIDRs) }

// compileCilium adds the rules of every Cilium policy to the plans of the
// pods each of its rules selects.
func (cp *compiler) compileCilium(plans map[*pod]*podPlan) {
	for i := range cp.c.CiliumPolicies {
		pol := &cp.c.CiliumPolicies[i]
		for _, r := range pol.Rules {
			if r.EndpointSelector == nil {
				cp.warnf("%s %s %s: a nodeSelector selects no pod", pol.Kind, pol.Key(), r.Section)
				continue
			}
			subject, err := cp.ciliumPods(pol.Namespace, r.EndpointSelector, true)
			if err != nil {
				cp.warnf("%s %s %s.endpointSelector: %v", pol.Kind, pol.Key(), r.Section, err)
				continue
			}
			isoIn := len(r.Ingress)+len(r.IngressDeny) > 0 && (r.DefaultDenyIngress == nil || *r.DefaultDenyIngress)
			isoEg := len(r.Egress)+len(r.EgressDeny) > 0 && (r.DefaultDenyEgress == nil || *r.DefaultDenyEgress)
			for _, p := range cp.pods {
				if !subject[p] {
					continue
				}
				plan := plans[p]
				plan.ingressIsolated = plan.ingressIsolated || isoIn
				plan.egressIsolated = plan.egressIsolated || isoEg
				for _, sec := range []struct {
					field   string
					rules   []model.CiliumPeerRule
					ingress bool
					verdict model.Action
					dst     *[]filterRule
				}{
					{"ingress", r.Ingress, true, model.ActionAllow, &plan.ingress},
					{"ingressDeny", r.IngressDeny, true, model.ActionDeny, &plan.denyIn},
					{"egress", r.Egress, false, model.ActionAllow, &plan.egress},
					{"egressDeny", r.EgressDeny, false, model.ActionDeny, &plan.denyEg},
				} {
					for j := range sec.rules {
						o := fmt.Sprintf("%s %s %s.%s[%d]", pol.Kind, pol.Key(), r.Section, sec.field, j)
						rs := cp.ciliumRule(pol, o, &sec.rules[j], p, sec.ingress, sec.verdict)
						*sec.dst = append(*sec.dst, rs...)
					}
				}
			}
		}
	}
}

// ciliumRule compiles one Cilium rule for pod self. Its L3 selectors are
// alternatives; without any, a rule with toPorts matches every peer and
// one without matches nothing. Named ports resolve on the destination by
// name and protocol: on self for ingress, on each peer pod for egress.
func (cp *compiler) ciliumRule(pol *model.CiliumPolicy, o string, r *model.CiliumPeerRule, self *pod, ingress bool, verdict model.Action) []filterRule {
	anyAddr := false
	var addrs model.IPSet
	pods := map[*pod]bool{}
	addPod := func(p *pod) {
		pods[p] = true
		addrs = addrs.Union(model.IPSetOf(netip.PrefixFrom(p.ip, p.ip.BitLen())))
	}
	if r.Endpoints == nil && len(r.Entities) == 0 && !r.HasCIDR && len(r.FQDNs) == 0 {
		if r.Ports == nil {
			return nil
		}
		anyAddr = true
	}
	for k := range r.Endpoints {
		sel, err := cp.ciliumPods(pol.Namespace, &r.Endpoints[k], false)
		if err != nil {
			cp.warnf("%s endpoints[%d]: %v", o, k, err)
			continue
		}
		for p := range sel {
			addPod(p)
		}
	}
	for _, e := range r.Entities {
		switch {
		case e == "all":
			anyAddr = true
		case e == "cluster":
			for _, p := range cp.pods {
				addPod(p)
			}
		case e == "world", e == "world-ipv4" && cp.bits == 32, e == "world-ipv6" && cp.bits == 128:
			addrs = addrs.Union(cp.world())
		}
		// host, remote-node, kube-apiserver, health, init, ingress,
		// unmanaged and none are no lab address.
	}
	if r.HasCIDR {
		// CIDR rules apply only to traffic with an end outside the
		// cluster: never to a pod.
		addrs = addrs.Union(r.CIDRs.Intersect(cp.universe()).Subtract(cp.c.PodCIDRs))
	}
	for _, f := range r.FQDNs {
		for _, h := range cp.hosts {
			if fqdnSelects(f, h.name) {
				addrs = addrs.Union(model.IPSetOf(netip.PrefixFrom(h.addr, h.addr.BitLen())))
			}
		}
	}
	if !anyAddr && addrs.IsEmpty() {
		return nil
	}
	if r.Ports == nil {
		return []filterRule{{anyAddr: anyAddr, addrs: addrs, ports: []portMatch{{anyProto: true}}, origin: o, verdict: verdict}}
	}
	var fixed []portMatch
	var named []namedPort
	for _, p := range r.Ports {
		for _, proto := range p.Protocols {
			switch {
			case p.Named != "":
				named = append(named, namedPort{name: p.Named, proto: proto})
			case p.From == 1 && p.To == model.MaxPort:
				fixed = append(fixed, portMatch{proto: proto, all: true})
			case p.From != 0:
				fixed = append(fixed, portMatch{proto: proto, from: p.From, to: p.To})
			}
		}
	}
	if ingress {
		ports := append(fixed, resolve(named, self)...)
		if len(ports) == 0 {
			return nil
		}
		return []filterRule{{anyAddr: anyAddr, addrs: addrs, ports: ports, origin: o, verdict: verdict}}
	}
	var out []filterRule
	if len(fixed) > 0 {
		out = append(out, filterRule{anyAddr: anyAddr, addrs: addrs, ports: fixed, origin: o, verdict: verdict})
	}
	if len(named) > 0 {
		for _, dst := range cp.pods {
			if dst == self || (!anyAddr && !pods[dst]) {
				continue
			}
			if ports := resolve(named, dst); len(ports) > 0 {
				out = append(out, filterRule{addrs: model.IPSetOf(netip.PrefixFrom(dst.ip, dst.ip.BitLen())), ports: ports, origin: o, verdict: verdict})
			}
		}
	}
	return out
}

// fqdnSelects reports whether a toFQDNs entry allows the host name:
// matchName by equality, matchPattern as Cilium's pkg/fqdn/matchpattern
// compiles it (on fully qualified names, with the final dot).
func fqdnSelects(f model.FQDNSelector, name string) bool {
	name = strings.ToLower(name) + "."
	if f.MatchName != "" {
		return strings.ToLower(strings.TrimSuffix(f.MatchName, "."))+"." == name
	}
	return matchPattern(f.MatchPattern).MatchString(name)
}

var (
	matchAllPattern   = regexp.MustCompile(`^[*]+[.]?$`)
	subdomainWildcard = regexp.MustCompile(`^[*]{2,}\[\.\]`)
	labelWildcard     = regexp.MustCompile(`[*]+`)
)

// matchPattern is a toFQDNs matchPattern as a regular expression over a
// fully qualified name: "*" alone (or "**.", ...) any name; a leading "**."
// one or more whole labels; any other run of "*" zero or more DNS
// characters within one label.
func matchPattern(p string) *regexp.Regexp {
	const chars = "[-a-zA-Z0-9_]"
	p = strings.ToLower(strings.TrimSpace(p))
	if matchAllPattern.MatchString(p) {
		return regexp.MustCompile(`^(` + chars + `+[.])+$|^[.]$`)
	}
	if !strings.HasSuffix(p, ".") {
		p += "."
	}
	p = strings.ReplaceAll(p, ".", "[.]")
	p = subdomainWildcard.ReplaceAllString(p, "("+chars+"+([.]"+chars+"+){0,})[.]") // no "*": the next step rewrites those
	p = labelWildcard.ReplaceAllString(p, chars+"*")
	return regexp.MustCompile("^" + p + "$")
}

// hostName is the name the lab resolves for a toFQDNs endpoint: the name
// itself, or for a pattern a name made from it, with "rgx" for every run
// of "*" and "rgx.rgy." for a leading "**.": a name the pattern matches
// and no other pattern or name of a policy is likely to name.
func hostName(endpoint string) string {
	if !strings.Contains(endpoint, "*") {
		return endpoint
	}
	if matchAllPattern.MatchString(endpoint) {
		return "rgx.invalid"
	}
	name := endpoint
	if rest, ok := strings.CutPrefix(strings.TrimLeft(name, "*"), "."); ok && strings.HasPrefix(name, "**") {
		name = "rgx.rgy." + rest
	}
	return labelWildcard.ReplaceAllString(name, "rgx")
}

// hostEndpoints lists every name and pattern of the toFQDNs entries of
// c's Cilium policies, lower case without the final dot, sorted.
func hostEndpoints(c *model.Cluster) []string {
	seen := map[string]bool{}
	var out []string
	for i := range c.CiliumPolicies {
		for _, r := range c.CiliumPolicies[i].Rules {
			for _, e := range r.Egress {
				for _, f := range e.FQDNs {
					n := f.MatchName
					if n == "" {
						n = f.MatchPattern
					}
					n = strings.TrimSuffix(strings.ToLower(n), ".")
					if !seen[n] {
						seen[n] = true
						out = append(out, n)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// hostAddresses gives every host-name endpoint of c an address: the lab's
// name-to-address map. The engine does not know what a name resolves to;
// it lets a rule other than toFQDNs reach a host name only when the rule
// holds every address outside the cluster of a family. So the lab
// resolves each name to an address that no other address block of any
// policy singles out: of the lab family, outside the pod and service
// CIDRs, not reserved, not taken, and outside every ipBlock, network and
// Cilium CIDR set that does not hold all outside addresses of the family.
// ok is false, with the reason, when no such address is left.
func (cp *compiler) hostAddresses(endpoints []string, taken map[netip.Addr]bool) (hosts []*host, why string) {
	if len(endpoints) == 0 {
		return nil, ""
	}
	outside := cp.universe().Subtract(cp.c.PodCIDRs).Subtract(cp.c.ServiceCIDRs)
	free := outside.Subtract(reserved)
	for _, set := range cp.addressBlocks() {
		set = set.Intersect(cp.universe())
		if outside.Subtract(set).IsEmpty() {
			continue // holds every outside address: whatever a name resolves to
		}
		free = free.Subtract(set)
	}
	next := func() (netip.Addr, bool) {
		for _, r := range free.Ranges {
			for a, n := r.From, 0; n < 1024 && a.IsValid() && a.Compare(r.To) <= 0; a, n = a.Next(), n+1 {
				if !taken[a] {
					return a, true
				}
			}
		}
		return netip.Addr{}, false
	}
	for _, e := range endpoints {
		a, ok := next()
		if !ok {
			return nil, "no address of the lab family lies outside every address block the policies name"
		}
		taken[a] = true
		hosts = append(hosts, &host{endpoint: e, name: hostName(e), addr: a})
	}
	return hosts, ""
}

// addressBlocks lists every address set a policy names: NetworkPolicy
// ipBlocks, cluster policies' networks, Cilium CIDRs and CIDR sets.
func (cp *compiler) addressBlocks() []model.IPSet {
	var out []model.IPSet
	for i := range cp.c.Policies {
		np := cp.c.Policies[i].NetworkPolicy
		if np == nil {
			continue
		}
		for _, r := range np.Spec.Ingress {
			for _, p := range r.From {
				if p.IPBlock != nil {
					if s, err := cp.ipBlock(p.IPBlock); err == nil {
						out = append(out, s)
					}
				}
			}
		}
		for _, r := range np.Spec.Egress {
			for _, p := range r.To {
				if p.IPBlock != nil {
					if s, err := cp.ipBlock(p.IPBlock); err == nil {
						out = append(out, s)
					}
				}
			}
		}
	}
	for i := range cp.c.ClusterPolicies {
		p := &cp.c.ClusterPolicies[i]
		for _, rules := range [][]model.ClusterRule{p.Ingress, p.Egress} {
			for _, r := range rules {
				for _, peer := range r.Peers {
					if peer.NetworksText != "" {
						out = append(out, peer.Networks)
					}
				}
			}
		}
	}
	for i := range cp.c.CiliumPolicies {
		for _, r := range cp.c.CiliumPolicies[i].Rules {
			for _, rules := range [][]model.CiliumPeerRule{r.Ingress, r.IngressDeny, r.Egress, r.EgressDeny} {
				for _, pr := range rules {
					if pr.HasCIDR {
						out = append(out, pr.CIDRs)
					}
				}
			}
		}
	}
	return out
}
