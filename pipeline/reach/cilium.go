package reach

import (
	"regexp"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Cilium policies (cilium.io/v2) join the Namespace tier: their allow
// rules add to the NetworkPolicies' union, their deny rules take ports
// from it (a deny wins whichever kind allows), and a rule selecting a pod
// in a direction where it has rules isolates it (default deny) unless
// enableDefaultDeny turns that off.

// Label keys of Cilium's endpoint identity that are not pod labels
// (pkg/k8s/apis/cilium.io/const.go).
const (
	ciliumNamespaceKey       = "io.kubernetes.pod.namespace"
	ciliumNamespaceLabelsKey = "io.cilium.k8s.namespace.labels."
)

// addCiliumPolicy compiles every rule of a Cilium policy.
func (ix *index) addCiliumPolicy(p *model.CiliumPolicy) {
	cp := &cpolicy{key: p.Key(), kind: p.Kind, tier: model.TierNamespace, source: p.Source}
	cp.selected = newBitset(len(ix.peers))
	for ri := range p.Rules {
		r := &p.Rules[ri]
		subject := newBitset(len(ix.peers))
		if r.EndpointSelector != nil {
			subject = ix.ciliumEndpoints(p.Namespace, r.EndpointSelector, true)
		}
		cp.selected.or(subject)
		var in, eg []*crule
		for i := range r.Ingress {
			in = append(in, ix.compileCiliumRule(cp, r.Section, model.Ingress, model.ActionAllow, i, p.Namespace, &r.Ingress[i]))
		}
		for i := range r.IngressDeny {
			in = append(in, ix.compileCiliumRule(cp, r.Section, model.Ingress, model.ActionDeny, i, p.Namespace, &r.IngressDeny[i]))
		}
		for i := range r.Egress {
			eg = append(eg, ix.compileCiliumRule(cp, r.Section, model.Egress, model.ActionAllow, i, p.Namespace, &r.Egress[i]))
		}
		for i := range r.EgressDeny {
			eg = append(eg, ix.compileCiliumRule(cp, r.Section, model.Egress, model.ActionDeny, i, p.Namespace, &r.EgressDeny[i]))
		}
		isoIn := len(in) > 0 && (r.DefaultDenyIngress == nil || *r.DefaultDenyIngress)
		isoEg := len(eg) > 0 && (r.DefaultDenyEgress == nil || *r.DefaultDenyEgress)
		cp.ingress = cp.ingress || len(in) > 0
		cp.egress = cp.egress || len(eg) > 0
		cp.in = append(cp.in, in...)
		cp.eg = append(cp.eg, eg...)
		subject.each(func(w int) {
			if w >= ix.nw {
				return
			}
			ix.inIso[w] = ix.inIso[w] || isoIn
			ix.egIso[w] = ix.egIso[w] || isoEg
			ix.inRules[w] = append(ix.inRules[w], in...)
			ix.egRules[w] = append(ix.egRules[w], eg...)
		})
	}
	ix.policies = append(ix.policies, cp)
}

func (ix *index) compileCiliumRule(cp *cpolicy, section string, dir model.Direction, action model.Action, i int, ns string, pr *model.CiliumPeerRule) *crule {
	r := ix.newRule(cp, dir, i, action)
	r.ref.Section = section
	r.ref.L7 = strings.Join(pr.L7, ",")
	r.ports = ciliumPorts(pr.Ports)
	if !pr.HasL3() {
		if pr.Ports != nil {
			r.match, r.open = ix.all, true // ports alone: every peer
		} else {
			r.match = newBitset(len(ix.peers)) // {}: nothing
		}
		return r
	}
	for k := range pr.Endpoints {
		r.peers = append(r.peers, cpeer{ciliumSel: &pr.Endpoints[k], match: ix.ciliumEndpoints(ns, &pr.Endpoints[k], false)})
	}
	for _, e := range pr.Entities {
		r.peers = append(r.peers, cpeer{entity: e, match: ix.ciliumEntity(e)})
	}
	if pr.HasCIDR {
		set := pr.CIDRs
		r.peers = append(r.peers, cpeer{ipBlock: &set, ipBlockText: pr.CIDRText, world: true, match: ix.worldCIDRPeer(&set)})
	}
	for _, f := range pr.FQDNs {
		r.peers = append(r.peers, cpeer{fqdn: f.Endpoint(), match: ix.fqdnPeer(f)})
	}
	r.match = ix.unionOf(r.peers)
	return r
}

// ciliumPorts compiles toPorts; nil matches every port.
func ciliumPorts(ports []model.CiliumPort) portSpec {
	if ports == nil {
		return portSpec{static: model.AllPorts()}
	}
	var ps portSpec
	for _, p := range ports {
		for _, proto := range p.Protocols {
			if p.Named != "" {
				ps.named = append(ps.named, namedPort{name: p.Named, proto: proto})
				continue
			}
			if p.From != 0 {
				ps.static = ps.static.Union(model.SinglePort(proto, p.From, p.To))
			}
		}
	}
	return ps
}

// ciliumLabels are a workload's labels as Cilium's identity holds them:
// the pod labels, the namespace name and the namespace's labels.
func (ix *index) ciliumLabels(w int) map[string]string {
	if ix.cLabels == nil {
		ix.cLabels = make([]map[string]string, ix.nw)
	}
	if l := ix.cLabels[w]; l != nil {
		return l
	}
	wl := ix.peers[w].Workload
	l := make(map[string]string, len(wl.Labels)+4)
	for k, v := range wl.Labels {
		l[k] = v
	}
	for k, v := range ix.nsLabels[wl.Namespace] {
		l[ciliumNamespaceLabelsKey+k] = v
	}
	l[ciliumNamespaceKey] = wl.Namespace
	ix.cLabels[w] = l
	return l
}

// ciliumSelector turns an endpoint selector into one over ciliumLabels:
// the k8s: and any: sources are dropped; ok is false for a selector on
// another source (reserved:, container:, ...), which no workload of the
// model carries.
func ciliumSelector(s *metav1.LabelSelector) (out *metav1.LabelSelector, hasNS bool, ok bool) {
	strip := func(k string) (string, bool) {
		if src, rest, found := strings.Cut(k, ":"); found {
			if src != "k8s" && src != "any" {
				return "", false
			}
			k = rest
		}
		if k == ciliumNamespaceKey || strings.HasPrefix(k, ciliumNamespaceLabelsKey) {
			hasNS = true
		}
		return k, true
	}
	out = &metav1.LabelSelector{}
	for k, v := range s.MatchLabels {
		nk, good := strip(k)
		if !good {
			return nil, false, false
		}
		if out.MatchLabels == nil {
			out.MatchLabels = map[string]string{}
		}
		out.MatchLabels[nk] = v
	}
	for _, e := range s.MatchExpressions {
		nk, good := strip(e.Key)
		if !good {
			return nil, false, false
		}
		e.Key = nk
		out.MatchExpressions = append(out.MatchExpressions, e)
	}
	return out, hasNS, true
}

// ciliumEndpoints evaluates an endpoint selector of a policy in namespace
// ns ("" for a clusterwide policy). A namespaced policy's selector is
// limited to its namespace unless it names a namespace or namespace
// labels (pkg/k8s/apis/cilium.io/utils getEndpointSelector); a subject
// (endpointSelector) always is.
func (ix *index) ciliumEndpoints(ns string, s *metav1.LabelSelector, subject bool) bitset {
	sel, hasNS, ok := ciliumSelector(s)
	if !ok {
		return newBitset(len(ix.peers))
	}
	compiled := compileSelector(sel)
	if ns != "" && !hasNS {
		return ix.podsIn(ns, compiled)
	}
	key := "cilium\x06" + ns + "\x06" + boolKey(subject) + compiled.key
	if bs, ok := ix.podSel.get(key); ok {
		return bs
	}
	bs := newBitset(len(ix.peers))
	// A namespace named by matchLabels narrows the search to its pods.
	cands := func(f func(int)) {
		for i := 0; i < ix.nw; i++ {
			f(i)
		}
	}
	if n, ok := sel.MatchLabels[ciliumNamespaceKey]; ok {
		cands = func(f func(int)) {
			for _, i := range ix.byNS[n] {
				f(i)
			}
		}
	}
	cands(func(i int) {
		if subject && ns != "" && ix.peers[i].Workload.Namespace != ns {
			return
		}
		if compiled.matches(ix.ciliumLabels(i)) {
			bs.set(i)
		}
	})
	return ix.podSel.put(key, bs)
}

func boolKey(b bool) string {
	if b {
		return "s\x06"
	}
	return "p\x06"
}

// ciliumEntity matches the peers of an entity (pkg/policy/api/entity.go):
// world is everything outside the cluster, cluster every pod, all both.
// host, remote-node, kube-apiserver, health, init, ingress, unmanaged and
// none name nothing the model holds.
func (ix *index) ciliumEntity(e string) bitset {
	bs := newBitset(len(ix.peers))
	switch e {
	case "all":
		return ix.all
	case "cluster":
		for i := 0; i < ix.nw; i++ {
			bs.set(i)
		}
	case "world", "world-ipv4", "world-ipv6":
		for i := ix.nw; i < len(ix.peers); i++ {
			p := &ix.peers[i]
			switch {
			case p.FQDN != "", e == "world":
				bs.set(i)
			case e == "world-ipv4" && p.Range.From.Is4():
				bs.set(i)
			case e == "world-ipv6" && !p.Range.From.Is4():
				bs.set(i)
			}
		}
	}
	return bs
}

// worldCIDRPeer matches what a Cilium CIDR selects: addresses outside the
// cluster only. Cilium's CIDR rules do not apply to traffic whose both
// ends are managed by Cilium, so they never match a pod. A host-name
// endpoint matches when the set holds every outside address of a family.
func (ix *index) worldCIDRPeer(set *model.IPSet) bitset {
	bs := newBitset(len(ix.peers))
	for i := ix.nw; i < ix.nr; i++ {
		if set.ContainsRange(ix.peers[i].Range) {
			bs.set(i)
		}
	}
	if ix.holdsAWorld(set) {
		for i := ix.nr; i < len(ix.peers); i++ {
			bs.set(i)
		}
	}
	return bs
}

// holdsAWorld reports whether set holds every address outside the cluster
// of one family, so it holds whatever a host name resolves to in it.
func (ix *index) holdsAWorld(set *model.IPSet) bool {
	for _, w := range ix.worlds {
		if !w.IsEmpty() && w.Subtract(*set).IsEmpty() {
			return true
		}
	}
	return false
}

// fqdnPeer matches the host-name endpoints a toFQDNs entry selects: a
// matchName its name; a matchPattern the names it matches and the
// patterns equal to it (or every endpoint for "*").
func (ix *index) fqdnPeer(f model.FQDNSelector) bitset {
	bs := newBitset(len(ix.peers))
	for i := ix.nr; i < len(ix.peers); i++ {
		if fqdnMatches(f, ix.peers[i].FQDN) {
			bs.set(i)
		}
	}
	return bs
}

// fqdnMatches reports whether a toFQDNs entry selects endpoint (a name
// or a pattern). A pattern endpoint stands for any name it matches: a
// matchPattern selects it when it matches every such name.
func fqdnMatches(f model.FQDNSelector, endpoint string) bool {
	if f.MatchName != "" {
		return f.MatchName == endpoint
	}
	if f.MatchPattern == endpoint || isMatchAll(f.MatchPattern) {
		return true
	}
	if strings.Contains(endpoint, "*") {
		return patternCovers(f.MatchPattern, endpoint)
	}
	return fqdnPatternRegexp(f.MatchPattern).MatchString(endpoint)
}

// patternCovers reports whether pattern q matches every name (of
// non-empty labels) that pattern p matches: "**.example.com" covers
// "*.example.com", "*.example.com" covers "api-*.example.com". Labels
// are compared from the right; a leading "**." stands for one or more
// labels.
func patternCovers(q, p string) bool {
	if isMatchAll(p) {
		return false // q is not match-all: fqdnMatches asked first
	}
	split := func(s string) ([]string, bool) {
		rest, ok := strings.CutPrefix(strings.TrimLeft(s, "*"), ".")
		if ok && strings.HasPrefix(s, "**") {
			return strings.Split(rest, "."), true
		}
		return strings.Split(s, "."), false
	}
	qs, qMore := split(q)
	ps, pMore := split(p)
	switch {
	case !qMore && (pMore || len(ps) != len(qs)):
		return false
	case qMore && !pMore && len(ps) <= len(qs):
		return false
	case qMore && pMore && len(ps) < len(qs):
		return false
	}
	off := len(ps) - len(qs)
	for i := range qs {
		if !labelCovers(qs[i], ps[off+i]) {
			return false
		}
	}
	return true
}

// labelCovers reports whether the label pattern q matches every label
// pattern p matches: q matches p with each run of "*" in p taken as one
// symbol that only a "*" of q can stand for.
func labelCovers(q, p string) bool {
	q = strings.ReplaceAll(regexp.QuoteMeta(q), `\*`, "*")
	re := regexp.MustCompile("^" + starsRE.ReplaceAllString(q, "[-a-zA-Z0-9_\\x00]*") + "$")
	return re.MatchString(starsRE.ReplaceAllString(p, "\x00"))
}

// isMatchAll reports a pattern of stars alone, which matches every name.
func isMatchAll(p string) bool {
	return strings.Trim(p, "*") == "" || strings.Trim(p, "*") == "."
}

var (
	fqdnRegexps sync.Map // pattern -> *regexp.Regexp
	starsRE     = regexp.MustCompile(`\*+`)
)

// fqdnPatternRegexp follows Cilium's pkg/fqdn/matchpattern: a leading
// "**." matches one or more labels, any other "*" zero or more DNS
// characters within a label.
func fqdnPatternRegexp(p string) *regexp.Regexp {
	if re, ok := fqdnRegexps.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	const label = "[-a-zA-Z0-9_]"
	s, prefix := p, ""
	if rest, ok := strings.CutPrefix(strings.TrimLeft(s, "*"), "."); ok && strings.HasPrefix(s, "**") {
		prefix = "(" + label + "+([.]" + label + "+)*)[.]"
		s = rest
	}
	s = strings.ReplaceAll(regexp.QuoteMeta(s), `\*`, "*")
	s = starsRE.ReplaceAllString(s, label+"*")
	re := regexp.MustCompile("^" + prefix + s + "$")
	fqdnRegexps.Store(p, re)
	return re
}

// fqdnEndpoints lists the host-name endpoints of the clusters: every
// toFQDNs name and pattern, sorted.
func fqdnEndpoints(cs []*model.Cluster) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		for i := range c.CiliumPolicies {
			for _, r := range c.CiliumPolicies[i].Rules {
				for _, e := range r.Egress {
					for _, f := range e.FQDNs {
						if n := strings.TrimPrefix(f.Endpoint(), model.FQDNPrefix); !seen[n] {
							seen[n] = true
							out = append(out, n)
						}
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
