package report

import (
	"io"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeExplainText explains each answer the way a person would: the
// verdict, then the source's egress and the destination's ingress policy
// by policy and rule by rule, then which rules allowed the traffic or the
// nearest miss that blocked it.
//
//	ALLOWED app/frontend[Deployment] -> app/backend-api[Deployment] on 3000/TCP
func writeExplainText(w io.Writer, xs []model.Explanation) error {
	ew := newErrWriter(w)
	if len(xs) > 0 {
		if notes := omittedNotes(xs[0].Omitted); len(notes) > 0 {
			textNotes(ew, "", notes)
			ew.line()
		}
	}
	for i := range xs {
		if i > 0 {
			ew.line()
		}
		explainOne(ew, &xs[i])
	}
	return ew.flush()
}

func explainOne(ew *errWriter, x *model.Explanation) {
	verdict := "DENIED"
	if x.Allowed {
		verdict = "ALLOWED"
	}
	head := verdict + " " + x.Src.String() + " -> " + x.Dst.String()
	if x.Port != nil {
		head += " on " + x.Port.String()
	}
	ew.line(head)
	ew.line("  everything allowed between them: ", x.Ports.String())
	if m := mayDenyText(x.Src, x.Dst); m != "" && x.Allowed {
		ew.line("  ", strings.TrimSuffix(strings.TrimPrefix(m, " ("), ")"), ", left out of this answer")
	}
	ew.line()
	explainSide(ew, &x.Egress, "Egress of "+x.Src.String(), x.Port)
	ew.line()
	explainSide(ew, &x.Ingress, "Ingress of "+x.Dst.String(), x.Port)
	ew.line()
	verdict, reasons := explainVerdict(x)
	ew.line("Verdict: ", verdict)
	for _, r := range reasons {
		ew.line("  ", r)
	}
}

func explainSide(ew *errWriter, s *model.SideExplanation, title string, q *model.PortQuery) {
	ew.line(title, ":")
	if len(s.Policies) == 0 {
		note := s.Note
		if note == "" {
			note = "not isolated: all " + s.Direction.String() + " is allowed"
		}
		ew.line("  ", note)
		return
	}
	tiered := false
	for _, p := range s.Policies {
		tiered = tiered || p.Kind != ""
	}
	tier := model.Tier(255)
	for _, p := range s.Policies {
		if tiered && p.Tier != tier {
			tier = p.Tier
			title := tierTitle(tier, s.Isolated)
			if tier == model.TierNamespace && hasCilium(s.Policies) {
				title = "NetworkPolicy and Cilium tier (a deny of either wins; otherwise allowed if any rule allows)"
			}
			ew.line("  ", title, ":")
		}
		at := ""
		if p.Source.File != "" {
			at = " (" + p.Source.String() + ")"
		}
		name := "policy " + p.Policy
		if p.Kind != "" {
			name = p.Kind + " " + p.Policy
			if p.Kind != model.KindBaselineAdminNetworkPolicy && !model.IsCilium(p.Kind) {
				name += " priority " + strconv.Itoa(int(p.Priority))
			}
		}
		if p.NoRules {
			ew.line("  policy ", p.Policy, at, ": no ", s.Direction.String(), " rules, so it allows no ", s.Direction.String())
			continue
		}
		ew.line("  ", name, at, ":")
		for _, r := range p.Rules {
			if model.IsCilium(p.Kind) {
				ew.line("    ", ciliumRuleLine(s.Direction, r, q))
			} else if p.Kind != "" {
				ew.line("    ", tieredRuleLine(s.Direction, p.Kind, r, q))
			} else {
				ew.line("    ", ruleLine(s.Direction, r, q))
			}
		}
	}
	if s.Note != "" {
		ew.line("  ", s.Note)
	}
	ew.line("  this side allows: ", s.Allows.String())
}

func hasCilium(ps []model.PolicyVerdict) bool {
	for _, p := range ps {
		if model.IsCilium(p.Kind) {
			return true
		}
	}
	return false
}

// ciliumRuleLine is "spec.egressDeny[0] denies: peer 0 ..." or, for an
// allow rule, the line of a NetworkPolicy rule with its section, and the
// L7 note.
func ciliumRuleLine(dir model.Direction, r model.RuleVerdict, q *model.PortQuery) string {
	name := r.Section + "." + dir.String()
	if r.Action == model.ActionDeny {
		name += "Deny"
	}
	name += "[" + strconv.Itoa(r.Rule) + "]"
	line := ruleLine(dir, r, q)
	_, rest, _ := strings.Cut(line, " ")
	if r.Action == model.ActionDeny {
		switch {
		case r.Denies:
			rest = "denies: " + r.PeerReason + "; denies " + r.Ports.String()
		case !r.PeerMatch:
			rest = "peer miss: " + r.PeerReason
		default:
			rest = "port miss: " + r.PeerReason + "; denies " + r.Ports.String()
		}
	}
	if r.L7 != "" {
		rest += " (L7-filtered: " + r.L7 + " rules are not evaluated; allowed at L4)"
	}
	return name + " " + rest
}

// tierTitle heads the policies of one tier, in the order they are
// evaluated.
func tierTitle(t model.Tier, isolated bool) string {
	switch t {
	case model.TierAdmin:
		return "Admin tier (first matching rule decides; Pass hands over to NetworkPolicies)"
	case model.TierBaseline:
		if isolated {
			return "Baseline tier (not reached: a NetworkPolicy isolates the pod)"
		}
		return "Baseline tier (first matching rule decides; what none matches is allowed)"
	}
	return "NetworkPolicy tier (allowed if any rule allows)"
}

// tieredRuleLine is `egress[0] "deny-monitoring" Deny decides TCP 1-65535:
// peer 0 matches: ...`.
func tieredRuleLine(dir model.Direction, kind string, r model.RuleVerdict, q *model.PortQuery) string {
	name := dir.String() + "[" + strconv.Itoa(r.Rule) + "]"
	if r.Name != "" {
		name += " " + strconv.Quote(r.Name)
	}
	name += " " + r.Action.Of(kind)
	var status, why string
	switch {
	case r.NotReached:
		status, why = "not reached", "a NetworkPolicy isolates the pod, so the Baseline tier does not apply"
	case !r.PeerMatch:
		status, why = "peer miss", r.PeerReason
	case r.Ports.IsEmpty() || q != nil && !r.Ports.Contains(q.Protocol, q.Port):
		status, why = "port miss", r.PeerReason+"; "+portMiss(r, q, r.Action.Verb())
	case r.Decides.IsEmpty():
		status, why = "shadowed", r.PeerReason+"; an earlier rule decides "+r.Ports.String()
	case q != nil && !r.Decides.Contains(q.Protocol, q.Port):
		status, why = "shadowed", r.PeerReason+"; an earlier rule decides "+q.String()
	default:
		status, why = "decides "+r.Decides.String(), r.PeerReason
	}
	if r.AddressDependent && !strings.Contains(why, "address-dependent") {
		why += " (address-dependent)"
	}
	return name + " " + status + ": " + why
}

// ruleLine is "egress[0] matched: peer 0 matches: podSelector app=x;
// allows TCP 3000".
func ruleLine(dir model.Direction, r model.RuleVerdict, q *model.PortQuery) string {
	name := dir.String() + "[" + strconv.Itoa(r.Rule) + "]"
	var status, why string
	switch {
	case r.Matched:
		status = "matched"
		why = r.PeerReason + "; allows " + r.Ports.String()
	case !r.PeerMatch:
		status = "peer miss"
		why = r.PeerReason
	case q != nil && r.Ports.Contains(q.Protocol, q.Port) || q == nil && !r.Ports.IsEmpty():
		// The rule would allow it, but a higher tier decided first.
		status = "overridden"
		why = r.PeerReason + "; allows " + r.Ports.String() + ", but an Admin rule (or a deny) decides first"
	default:
		status = "port miss"
		why = r.PeerReason + "; " + portMiss(r, q, "allows")
	}
	if r.AddressDependent && !strings.Contains(why, "address-dependent") {
		why += " (address-dependent)"
	}
	return name + " " + status + ": " + why
}

// portMiss says why a rule whose peer matched does not take the asked
// port: verb is what the rule does to its ports ("allows", "denies",
// "passes").
func portMiss(r model.RuleVerdict, q *model.PortQuery, verb string) string {
	if r.PortReason != "" {
		return r.PortReason
	}
	if q != nil {
		return verb + " " + r.Ports.String() + ", not " + q.String()
	}
	return verb + " no port"
}

// sideAllows reports whether one side lets the asked traffic through.
func sideAllows(s *model.SideExplanation, q *model.PortQuery) bool {
	if q != nil {
		return s.Allows.Contains(q.Protocol, q.Port)
	}
	return !s.Allows.IsEmpty()
}

// explainVerdict is the verdict sentence and, for a denial, why each
// blocking side blocks.
func explainVerdict(x *model.Explanation) (string, []string) {
	if x.Allowed {
		if len(x.Grants) == 0 {
			return "allowed", nil
		}
		if x.Port != nil {
			// Every grant listed allows the port: no need for their ports.
			parts := make([]string, len(x.Grants))
			for i, g := range x.Grants {
				parts[i] = refText(*g.Egress, model.Egress) + " + " + refText(*g.Ingress, model.Ingress)
			}
			return "allowed by " + strings.Join(parts, "; "), nil
		}
		return "allowed by " + grantsText(&model.Allowance{Ports: x.Ports, Grants: x.Grants}), nil
	}
	egOK, inOK := sideAllows(&x.Egress, x.Port), sideAllows(&x.Ingress, x.Port)
	if egOK && inOK {
		return "denied", []string{"egress allows " + x.Egress.Allows.String() + " and ingress allows " + x.Ingress.Allows.String() + ": no port in common"}
	}
	var reasons []string
	if !egOK {
		reasons = append(reasons, "egress blocks it: "+nearestMiss(&x.Egress, x.Port))
	}
	if !inOK {
		reasons = append(reasons, "ingress blocks it: "+nearestMiss(&x.Ingress, x.Port))
	}
	return "denied", reasons
}

// nearestMiss is the rule that came closest to allowing the traffic: one
// whose peer matched but whose ports did not; else one whose ports would
// have allowed it but whose peer did not match; else the first rule whose
// peer did not match; else the policies that have no rule at all.
func nearestMiss(s *model.SideExplanation, q *model.PortQuery) string {
	dir := s.Direction.String()
	best, bestScore := "", 0
	var empty []string
	for _, p := range s.Policies {
		if p.NoRules {
			empty = append(empty, p.Policy)
			continue
		}
		for _, r := range p.Rules {
			name := p.Policy + " " + dir + "[" + strconv.Itoa(r.Rule) + "]"
			if model.IsCilium(p.Kind) {
				name, _, _ = strings.Cut(ciliumRuleLine(s.Direction, r, nil), " ")
				name = p.Policy + " " + name
			}
			if p.Kind != "" {
				name = p.Kind + " " + name
			}
			var score int
			var why string
			decides := q != nil && r.Decides.Contains(q.Protocol, q.Port) || q == nil && !r.Decides.IsEmpty()
			switch {
			case r.Denies:
				score, why = 5, name+" (deny) denies it: "+r.PeerReason
			case p.Kind != "" && decides && r.Action == model.ActionDeny:
				score, why = 5, name+" ("+r.Name+") denies it: "+r.PeerReason
			case r.Matched:
				continue
			case p.Kind != "" && decides:
				continue // a Pass: the next tier decides
			case r.PeerMatch && (q != nil && r.Ports.Contains(q.Protocol, q.Port) || q == nil && !r.Ports.IsEmpty()):
				score, why = 4, name+" would allow it, but a rule of a higher tier decides first"
			case r.PeerMatch:
				score, why = 3, name+" matches the peer, but "+portMiss(r, q, "allows")
			case q != nil && r.Ports.Contains(q.Protocol, q.Port) || q == nil && !r.Ports.IsEmpty():
				score, why = 2, name+" allows the port, but "+r.PeerReason
			default:
				score, why = 1, name+" is the nearest rule: "+r.PeerReason
			}
			if p.Kind != "" && r.Action != model.ActionAllow && score < 5 {
				continue // only Allow rules come near to allowing
			}
			if score > bestScore {
				best, bestScore = why, score
			}
		}
	}
	switch {
	case best != "":
		return best
	case len(empty) > 0:
		return strings.Join(empty, ", ") + " " + pluralWord(len(empty), "isolates", "isolate") + " it for " + dir + " with no " + dir + " rules (a default deny), and no other policy allows it"
	}
	return "no rule allows it"
}

// ExplainSummary condenses explanations into one line: for each pair the
// verdict and, for a denial, the nearest miss on each side that blocks it.
// Failed connectivity expectations quote it.
func ExplainSummary(xs []model.Explanation) string {
	parts := make([]string, 0, len(xs))
	for i := range xs {
		x := &xs[i]
		what := x.Src.String() + " -> " + x.Dst.String()
		if x.Port != nil {
			what += " on " + x.Port.String()
		}
		verdict, reasons := explainVerdict(x)
		s := what + " is " + verdict
		if len(reasons) > 0 {
			s += ": " + strings.Join(reasons, "; ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
