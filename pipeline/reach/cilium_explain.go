package reach

import (
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// ciliumPeerMatch explains a peer of a Cilium rule; handled is false for
// the peers of other kinds.
func (e *Explainer) ciliumPeerMatch(r *crule, p *cpeer, o *model.Peer) (why string, ok, handled bool) {
	if !model.IsCilium(r.pol.kind) {
		return "", false, false
	}
	if i := e.ix.peerIndex(o); i >= 0 {
		ok = p.match.has(i)
	}
	switch {
	case p.ciliumSel != nil:
		sel, _, good := ciliumSelector(p.ciliumSel)
		text := "endpoints " + compileSelector(sel).String()
		if !good {
			return text + ": a label of another source than k8s: matches no pod of the model", false, true
		}
		if ns := r.pol.namespace(); ns != "" {
			text += " (limited to namespace " + ns + " unless it names one)"
		}
		if o.Workload == nil {
			return text + ": selectors match pods only, and " + o.String() + " is outside the cluster", false, true
		}
		if ok {
			return text + " matches " + o.Workload.Key(), true, true
		}
		return text + " does not match " + o.Workload.Key(), false, true
	case p.entity != "":
		switch {
		case ok:
			return "entity " + p.entity + " holds " + o.String(), true, true
		case p.entity == "world" || p.entity == "world-ipv4" || p.entity == "world-ipv6" || p.entity == "cluster":
			return "entity " + p.entity + " does not hold " + o.String(), false, true
		}
		return "entity " + p.entity + " is not in the model (only all, world, world-ipv4, world-ipv6 and cluster are), so it matches nothing", false, true
	case p.world:
		what := "CIDR " + p.ipBlockText
		switch {
		case o.Workload != nil:
			return what + ": Cilium's CIDR rules apply only outside the cluster, never to pods", false, true
		case o.FQDN != "" && ok:
			return what + " holds every outside address of a family, so whatever " + o.FQDN + " resolves to", true, true
		case o.FQDN != "":
			return what + ": the addresses of " + o.FQDN + " are not known", false, true
		case ok:
			return what + " contains " + o.Range.String(), true, true
		}
		return what + " does not contain " + o.Range.String(), false, true
	case p.fqdn != "":
		if ok {
			return "toFQDNs " + strings.TrimPrefix(p.fqdn, model.FQDNPrefix) + " matches " + o.String(), true, true
		}
		return "toFQDNs " + strings.TrimPrefix(p.fqdn, model.FQDNPrefix) + " does not match " + o.String(), false, true
	}
	return "", false, false
}

// peerIndex finds a peer of the index by address.
func (ix *index) peerIndex(o *model.Peer) int {
	for i := range ix.peers {
		if &ix.peers[i] == o {
			return i
		}
	}
	return -1
}
