package exercise

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Flow is one expectation judged on the work tree: a goal of the exercise
// or one of the repository's own expectations.
type Flow struct {
	Overlay                string
	Allow                  bool
	From, To, Port, Reason string
	// Source is where a repository expectation is written; empty for a
	// goal.
	Source model.Location
	Passed bool
	// Problem is why the expectation could not be judged (a peer the
	// overlay does not have); the flow fails.
	Problem string
	// For a failed flow: explain's answers for the pair, explain in one
	// line, and the explain command that shows it all.
	Explanations []model.Explanation
	Summary      string
	Command      string
}

// OverlayFinding is a rule finding (or an input problem) of an overlay
// at or above the severity that fails.
type OverlayFinding struct {
	Overlay string
	Finding model.Finding
}

// Outcome is what run measured in the work tree.
type Outcome struct {
	Goals []Flow
	// Expectations are the repository's own, every overlay.
	Expectations []Flow
	Findings     []OverlayFinding
	// Overlays are the overlays judged, by name.
	Overlays []string
}

// Failure is one thing that keeps the exercise from passing.
type Failure struct {
	// Key names it in an exercise's StartFails.
	Key string
	// Lines say what fails and why.
	Lines []string
	// Hints are the rungs drawn from explain (or from the rule).
	Hints []string
}

// Verdict is the judgement of a work tree.
type Verdict struct {
	Exercise *Exercise
	Outcome  *Outcome
	Failures []Failure
	// GoalsFailed counts the failed goals among Failures.
	GoalsFailed int
}

// Passed reports whether nothing fails.
func (v *Verdict) Passed() bool { return len(v.Failures) == 0 }

// Keys are the failures' keys, in order.
func (v *Verdict) Keys() []string {
	out := make([]string, len(v.Failures))
	for i, f := range v.Failures {
		out[i] = f.Key
	}
	return out
}

// Ladder is the hint ladder for the work tree as it is: the rungs drawn
// from explain for the first failure, then the exercise's own.
func (v *Verdict) Ladder() []string {
	if v.Passed() {
		return nil
	}
	return append(append([]string(nil), v.Failures[0].Hints...), v.Exercise.Hints...)
}

// Judge turns what run measured into the verdict: the failed goals first,
// in the exercise's order, then the repository's expectations that fail,
// then the findings.
func Judge(e *Exercise, o *Outcome) *Verdict {
	v := &Verdict{Exercise: e, Outcome: o}
	for _, g := range o.Goals {
		if !g.Passed {
			v.GoalsFailed++
			v.Failures = append(v.Failures, flowFailure(goalKey(g.Overlay, g.Allow, g.From, g.To, g.Port), g))
		}
	}
	for _, x := range o.Expectations {
		if !x.Passed {
			v.Failures = append(v.Failures, flowFailure(expectKey(x.Overlay, x.Allow, x.From, x.To, x.Port), x))
		}
	}
	for _, f := range o.Findings {
		v.Failures = append(v.Failures, findingFailure(f))
	}
	return v
}

func flowFailure(key string, f Flow) Failure {
	what := f.Overlay + ": " + flow(f.From, f.To, f.Port) + " must be " + map[bool]string{true: "allowed", false: "denied"}[f.Allow]
	if f.Reason != "" {
		what += " (" + f.Reason + ")"
	}
	if f.Source.File != "" {
		what = f.Source.String() + ": " + what
	}
	fl := Failure{Key: key, Lines: []string{what}}
	if f.Problem != "" {
		fl.Lines = append(fl.Lines, f.Problem)
		fl.Hints = []string{"Name a workload as namespace/name, or an external endpoint of reachgate.yaml: `reachgate reach " + f.Overlay + "` lists them all."}
		return fl
	}
	fl.Lines = append(fl.Lines, why(f))
	if f.Allow {
		fl.Hints = append(fl.Hints, "explain says: "+f.Summary+".")
	} else {
		fl.Hints = append(fl.Hints, grantHint(f))
	}
	if f.Command != "" {
		fl.Hints = append(fl.Hints, "`"+f.Command+"` shows both sides, policy by policy and rule by rule; the fix goes where the verdict points.")
	}
	return fl
}

// why says in a few words what explain found: which side blocks a flow
// that must be allowed, or what allows one that must be denied.
func why(f Flow) string {
	if len(f.Explanations) == 0 {
		return strings.TrimSpace(f.Summary)
	}
	if !f.Allow {
		for i := range f.Explanations {
			x := &f.Explanations[i]
			if x.Allowed {
				var by []string
				for _, g := range x.Grants {
					by = append(by, "egress "+sideText(*g.Egress)+", ingress "+sideText(*g.Ingress))
				}
				return "allowed " + x.Src.String() + " -> " + x.Dst.String() + " on " + x.Ports.String() + ": " + strings.Join(by, "; ")
			}
		}
		return "allowed"
	}
	x := &f.Explanations[0]
	eg, in := sideAllows(&x.Egress, x.Port), sideAllows(&x.Ingress, x.Port)
	switch {
	case !eg && !in:
		return "denied: both the egress of " + x.Src.String() + " and the ingress of " + x.Dst.String() + " block it"
	case !eg:
		return "denied: the egress of " + x.Src.String() + " blocks it"
	case !in:
		return "denied: the ingress of " + x.Dst.String() + " blocks it"
	}
	return "denied: the egress of " + x.Src.String() + " allows " + x.Egress.Allows.String() + ", the ingress of " + x.Dst.String() + " allows " + x.Ingress.Allows.String() + ": nothing in common"
}

func sideAllows(s *model.SideExplanation, q *model.PortQuery) bool {
	if q != nil {
		return s.Allows.Contains(q.Protocol, q.Port)
	}
	return !s.Allows.IsEmpty()
}

// grantHint names the rules that open a flow that must be denied, with
// the file and line of their policies.
func grantHint(f Flow) string {
	var parts []string
	seen := map[string]bool{}
	for i := range f.Explanations {
		for _, g := range f.Explanations[i].Grants {
			for _, r := range []model.RuleRef{*g.Egress, *g.Ingress} {
				if r.NotIsolated() {
					continue
				}
				s := refText(r)
				if r.Source.File != "" {
					s += " (" + r.Source.String() + ")"
				}
				if !seen[s] {
					seen[s] = true
					parts = append(parts, s)
				}
			}
		}
	}
	if len(parts) == 0 {
		return "Neither side isolates the pods: a policy that selects them is missing."
	}
	return "What opens it: " + strings.Join(parts, ", ") + ". Narrow or remove these rules; a rule opens a flow for every peer it lists, on every port it lists."
}

// sideText is how one side of a grant lets a flow through.
func sideText(r model.RuleRef) string {
	if r.NotIsolated() {
		return "not isolated"
	}
	return "by " + refText(r)
}

func refText(r model.RuleRef) string {
	if r.NotIsolated() {
		return "(not isolated)"
	}
	return r.Policy + " " + r.Direction.String() + "[" + strconv.Itoa(r.Rule) + "]"
}

func findingFailure(f OverlayFinding) Failure {
	x := f.Finding
	what := f.Overlay + ": " + x.RuleID
	if x.Object.Name != "" {
		what += " " + x.Object.String()
	}
	fl := Failure{Key: findingKey(f.Overlay, x), Lines: []string{what + ": " + x.Message}}
	if x.Location.File != "" {
		fl.Lines = append(fl.Lines, "at "+x.Location.String())
	}
	hint := x.Remediation
	if hint == "" {
		hint = x.Title + ": `reachgate rules` lists what each rule checks."
	}
	fl.Hints = []string{hint}
	return fl
}

// maxListed is how many of the repository's failures check lists: the
// first ones show the way, the rest is noise.
const maxListed = 10

// Write prints the verdict; hints is how many rungs of the ladder to show.
func (v *Verdict) Write(w io.Writer, hints int) error {
	e := v.Exercise
	var b strings.Builder
	fmt.Fprintf(&b, "exercise %d: %s\n\n", e.Number, e.Title)
	b.WriteString("goals:\n")
	byKey := map[string]Failure{}
	for _, f := range v.Failures {
		byKey[f.Key] = f
	}
	for _, g := range v.Outcome.Goals {
		key := goalKey(g.Overlay, g.Allow, g.From, g.To, g.Port)
		if f, ok := byKey[key]; ok {
			writeFailure(&b, f)
			continue
		}
		fmt.Fprintf(&b, "  ok    %s: %s must be %s\n", g.Overlay, flow(g.From, g.To, g.Port), map[bool]string{true: "allowed", false: "denied"}[g.Allow])
	}
	others := v.Failures[v.GoalsFailed:]
	fmt.Fprintf(&b, "the repository's rules and expectations (%s; %d expectations):\n", strings.Join(v.Outcome.Overlays, ", "), len(v.Outcome.Expectations))
	if len(others) == 0 {
		b.WriteString("  ok    nothing fails\n")
	}
	for i, f := range others {
		if i == maxListed {
			fmt.Fprintf(&b, "  ...   and %d more (reachgate check --base none lists them all)\n", len(others)-maxListed)
			break
		}
		writeFailure(&b, f)
	}
	b.WriteString("\n")
	if v.Passed() {
		fmt.Fprintf(&b, "PASS: exercise %d is done\n", e.Number)
	} else {
		var parts []string
		if v.GoalsFailed > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d goals", v.GoalsFailed, len(v.Outcome.Goals)))
		}
		if n := len(others); n > 0 {
			parts = append(parts, fmt.Sprintf("%d of the repository's rules and expectations", n))
		}
		fmt.Fprintf(&b, "FAIL: %s\n", strings.Join(parts, " and "))
		ladder := v.Ladder()
		hints = min(hints, len(ladder))
		for i := 0; i < hints; i++ {
			fmt.Fprintf(&b, "hint %d of %d: %s\n", i+1, len(ladder), ladder[i])
		}
		if hints < len(ladder) {
			fmt.Fprintf(&b, "for a hint: reachgate exercise check %d --hint\n", e.Number)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFailure(b *strings.Builder, f Failure) {
	for i, l := range f.Lines {
		if i == 0 {
			fmt.Fprintf(b, "  FAIL  %s\n", l)
		} else {
			fmt.Fprintf(b, "        %s\n", l)
		}
	}
}
