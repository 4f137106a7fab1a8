package run

import (
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// explainSummary condenses explanations into one line: what allowed the
// flow, or the nearest miss on the side that blocked it.
func explainSummary(xs []model.Explanation) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, summarize(x))
	}
	return strings.Join(parts, "; ")
}

func summarize(x model.Explanation) string {
	what := x.Src.String() + " -> " + x.Dst.String()
	if x.Port != nil {
		what += " on " + x.Port.String()
	}
	if x.Allowed {
		if len(x.Grants) == 0 {
			return what + " is allowed"
		}
		g := x.Grants[0]
		return what + " is allowed by " + g.Egress.String() + " + " + g.Ingress.String()
	}
	var why []string
	for _, side := range []struct {
		s    model.SideExplanation
		peer model.Peer
	}{{x.Egress, x.Src}, {x.Ingress, x.Dst}} {
		if !side.s.Isolated || blocksNothing(side.s, x.Port) {
			continue
		}
		why = append(why, side.s.Direction.String()+" of "+side.peer.String()+": "+nearestMiss(side.s))
	}
	if len(why) == 0 {
		// Each side allows something, but not the same ports.
		return what + " is denied: egress allows " + x.Egress.Allows.String() + ", ingress allows " + x.Ingress.Allows.String()
	}
	return what + " is denied by " + strings.Join(why, "; and by ")
}

func blocksNothing(s model.SideExplanation, q *model.PortQuery) bool {
	if q == nil {
		return !s.Allows.IsEmpty()
	}
	return s.Allows.Contains(q.Protocol, q.Port)
}

// nearestMiss names the rule that came closest: a peer match with the
// wrong ports beats a peer miss, which beats a policy with no rules.
func nearestMiss(s model.SideExplanation) string {
	var peerMiss, deny string
	for _, p := range s.Policies {
		if p.NoRules && deny == "" {
			deny = p.Policy + " isolates it and allows nothing"
		}
		for _, r := range p.Rules {
			if r.PeerMatch && r.PortReason != "" {
				return p.Policy + " rule " + strconv.Itoa(r.Rule) + " matches the peer but " + r.PortReason
			}
			if !r.PeerMatch && peerMiss == "" {
				peerMiss = p.Policy + " rule " + strconv.Itoa(r.Rule) + ": " + r.PeerReason
			}
		}
	}
	switch {
	case peerMiss != "":
		return peerMiss
	case deny != "":
		return deny
	}
	return "no rule allows it"
}
