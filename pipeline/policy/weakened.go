package policy

import (
	"fmt"

	"github.com/reachgate/reachgate/pipeline/model"
)

// ExpectWeakenedID is the rule id of an expectation a pull request weakens.
const ExpectWeakenedID = "expect/weakened"

// Weakened compares an overlay's expectations at the head with those at
// the base and reports each one the head weakens: a deny the head no
// longer states (removed, or narrowed to fewer ports), or an allow the
// head widens (more ports, or any port, between the same peers). A new
// allow between peers the base says nothing about is not a weakening: the
// flow it documents shows in the reachability diff. Expectations stay
// editable in a pull request; these findings make a reviewer see it.
func Weakened(overlay string, base, head *Expectations) []model.Finding {
	out := []model.Finding{}
	if base == nil {
		return out
	}
	var headDeny, headAllow []Expectation
	if head != nil {
		headDeny, headAllow = head.Deny, head.Allow
	}
	obj := model.ObjectRef{Kind: "Expectations", Name: overlay}
	for _, d := range base.Deny {
		if coveredBy(d, headDeny) {
			continue
		}
		what := "removes"
		if samePeers(d, headDeny) {
			what = "narrows"
		}
		// The deny's line is the base's; the head's file is where to fix it.
		at := model.Location{File: d.Source.File}
		if head != nil {
			at = model.Location{File: head.File}
		}
		out = append(out, weakenedFinding(obj, at,
			fmt.Sprintf("the head %s the expectation that %s is denied (line %d at the base)", what, d.flow(), d.Source.Line)))
	}
	for _, a := range headAllow {
		if !samePeers(a, base.Allow) || coveredBy(a, base.Allow) {
			continue
		}
		out = append(out, weakenedFinding(obj, a.Source,
			fmt.Sprintf("the head widens the expectation that %s -> %s is allowed, to %s", a.From, a.To, portsOf(a))))
	}
	return out
}

func weakenedFinding(obj model.ObjectRef, loc model.Location, msg string) model.Finding {
	return model.Finding{
		RuleID:   ExpectWeakenedID,
		Title:    "Expectation weakened",
		Severity: model.SeverityError,
		Message:  msg,
		Object:   obj,
		Location: loc,
		Controls: []string{},
		Remediation: fmt.Sprintf("Keep the expectation, or, if the flow really changes, merge a waiver of %s (object %s/%s) to the base first so the decision is recorded.",
			ExpectWeakenedID, obj.Kind, obj.Name),
	}
}

// coveredBy reports whether one of xs states x at least as broadly:
// between the same peers, on every port x names (any port, for an
// expectation without a port).
func coveredBy(x Expectation, xs []Expectation) bool {
	for _, y := range xs {
		if y.From != x.From || y.To != x.To {
			continue
		}
		if !y.HasPort || (x.HasPort && y.Protocol == x.Protocol && y.Ports.From <= x.Ports.From && y.Ports.To >= x.Ports.To) {
			return true
		}
	}
	return false
}

func samePeers(x Expectation, xs []Expectation) bool {
	for _, y := range xs {
		if y.From == x.From && y.To == x.To {
			return true
		}
	}
	return false
}

func portsOf(x Expectation) string {
	if !x.HasPort {
		return "any port"
	}
	return x.portSet().String()
}
