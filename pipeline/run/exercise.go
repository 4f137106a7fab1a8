package run

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/exercise"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
)

// ExerciseParams are the options of `reachgate exercise start|check`.
type ExerciseParams struct {
	Common
	Number int
	// Hint asks check for the next rung of the hint ladder.
	Hint bool
	// Now pins the time waivers are judged at; zero = now.
	Now time.Time
}

// ExerciseList prints the exercises shipped in the binary.
func ExerciseList(w io.Writer) error {
	all, err := exercise.All()
	if err != nil {
		return err
	}
	var b strings.Builder
	part := 0
	for _, e := range all {
		if e.Part != part {
			part = e.Part
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "part %d (%s):\n", part, strings.SplitN(e.Doc, "#", 2)[0])
		}
		fmt.Fprintf(&b, "  %2d  %s\n", e.Number, e.Title)
	}
	b.WriteString("\nreachgate exercise start N: the starting state on a new branch exercise-N; reachgate exercise check N [--hint]: how far you are\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// ExerciseStart writes exercise N's starting state on a new branch and
// prints the task.
func ExerciseStart(ctx context.Context, p ExerciseParams, w io.Writer) error {
	e, err := exercise.Get(p.Number)
	if err != nil {
		return inputError(err)
	}
	dir := p.Dir
	if dir == "" {
		dir = cwd()
	}
	if err := exercise.Start(ctx, dir, e); err != nil {
		return inputError(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "exercise %d: %s\n", e.Number, e.Title)
	fmt.Fprintf(&b, "on the new branch %s, the starting state is committed", e.Branch())
	if files := exercise.ChangedFiles(e.Start); len(files) > 0 {
		b.WriteString(":\n")
		for _, f := range files {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	} else {
		b.WriteString(" (the repository as it is)\n")
	}
	fmt.Fprintf(&b, "\n%s\nThe course text: %s\nWhen you think you are done: reachgate exercise check %d (add --hint for a hint)\n", e.Task, e.Doc, e.Number)
	_, err = io.WriteString(w, b.String())
	return err
}

// ExerciseCheck judges the work tree against exercise N: its goals on
// their overlays, and the rules and connectivity expectations of the
// repository on every overlay, as the gate would (rules and waivers from
// the work tree). With Hint it shows one more rung of the hint ladder.
// It exits 1 while something fails.
func ExerciseCheck(ctx context.Context, p ExerciseParams, w, stderr io.Writer) error {
	e, err := exercise.Get(p.Number)
	if err != nil {
		return inputError(err)
	}
	v, err := JudgeExercise(ctx, p, e)
	if err != nil {
		return err
	}
	dir := p.Dir
	if dir == "" {
		dir = cwd()
	}
	shown, err := exercise.HintsShown(ctx, dir, e.Number)
	if err != nil {
		return inputError(err)
	}
	if p.Hint && !v.Passed() {
		shown = min(shown+1, len(v.Ladder()))
		if err := exercise.SetHintsShown(ctx, dir, e.Number, shown); err != nil {
			return err
		}
	}
	if !p.Hint {
		shown = 0
	}
	if err := v.Write(w, shown); err != nil {
		return err
	}
	if !v.Passed() {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("exercise %d: not done yet", e.Number)}
	}
	return nil
}

// JudgeExercise measures the work tree for an exercise and judges it.
func JudgeExercise(ctx context.Context, p ExerciseParams, e *exercise.Exercise) (*exercise.Verdict, error) {
	r, err := BuildReport(ctx, CheckParams{Common: p.Common, Base: "none", RulesFrom: "head", Now: p.Now})
	if err != nil {
		return nil, err
	}
	ws, err := p.open()
	if err != nil {
		return nil, err
	}
	out := &exercise.Outcome{}
	goals := map[string][]exercise.Goal{}
	for _, g := range e.Goals {
		goals[g.Overlay] = append(goals[g.Overlay], g)
	}
	for _, or := range r.Overlays {
		out.Overlays = append(out.Overlays, or.Name)
		if or.Error != "" {
			out.Findings = append(out.Findings, exercise.OverlayFinding{Overlay: or.Name, Finding: model.Finding{RuleID: "overlay/error", Severity: model.SeverityError, Message: or.Error}})
			delete(goals, or.Name)
			continue
		}
		for _, f := range or.Findings {
			// Expectations are judged one by one below, with explain.
			if strings.HasPrefix(f.RuleID, "expect/") || f.Waived != nil || f.Severity < r.FailOn {
				continue
			}
			out.Findings = append(out.Findings, exercise.OverlayFinding{Overlay: or.Name, Finding: f})
		}
		o := &Overlay{Name: or.Name, Path: or.Path}
		j := &flowJudge{ctx: ctx, overlay: or.Name, m: or.Matrix, ws: ws}
		exp, problems := readExpectations(ws, o)
		for _, f := range problems {
			out.Findings = append(out.Findings, exercise.OverlayFinding{Overlay: or.Name, Finding: f})
		}
		if exp != nil {
			out.Expectations = append(out.Expectations, j.flows(exp, true)...)
		}
		for _, g := range goals[or.Name] {
			exp, err := policy.ParseExpectations(g.File, g.Data)
			if err != nil {
				return nil, fmt.Errorf("exercise %d: %w", e.Number, err)
			}
			out.Goals = append(out.Goals, j.flows(exp, false)...)
		}
		delete(goals, or.Name)
	}
	for name := range goals {
		return nil, inputError(fmt.Errorf("exercise %d judges overlay %s, which reachgate.yaml does not configure", e.Number, name))
	}
	return exercise.Judge(e, out), nil
}

// flowJudge judges expectations one at a time on an overlay's matrix, and
// asks explain about those that fail.
type flowJudge struct {
	ctx     context.Context
	overlay string
	m       *model.Matrix
	ws      *Workspace
	// ex is built on the first failure: the overlay is rendered again
	// only when something needs explaining.
	ex *reach.Explainer
}

func (j *flowJudge) flows(exp *policy.Expectations, repository bool) []exercise.Flow {
	var out []exercise.Flow
	for _, list := range []struct {
		allow bool
		xs    []policy.Expectation
	}{{true, exp.Allow}, {false, exp.Deny}} {
		for _, x := range list.xs {
			one := &policy.Expectations{File: exp.File}
			if list.allow {
				one.Allow = []policy.Expectation{x}
			} else {
				one.Deny = []policy.Expectation{x}
			}
			f := exercise.Flow{Overlay: j.overlay, Allow: list.allow, From: x.From, To: x.To, Port: x.Port, Reason: x.Reason}
			if repository {
				f.Source = x.Source
			}
			failed := policy.CheckExpectations(one, j.m, nil)
			f.Passed = len(failed) == 0
			if !f.Passed {
				j.explain(&f, x, failed[0])
			}
			out = append(out, f)
		}
	}
	return out
}

func (j *flowJudge) explain(f *exercise.Flow, x policy.Expectation, failed model.Finding) {
	if !strings.HasPrefix(failed.RuleID, "expect/allow") && !strings.HasPrefix(failed.RuleID, "expect/deny") {
		f.Problem = failed.Message
		return
	}
	var q *model.PortQuery
	if x.HasPort && x.Ports.From == x.Ports.To {
		q = &model.PortQuery{Protocol: x.Protocol, Port: x.Ports.From}
	}
	if j.ex == nil {
		o := j.ws.Load(j.ctx, j.overlay)
		if o.Err != nil {
			f.Problem = o.Err.Error()
			return
		}
		j.ex = reach.NewExplainer(o.Cluster)
	}
	xs, err := j.ex.Explain(x.From, x.To, q)
	if err != nil {
		f.Problem = err.Error()
		return
	}
	f.Explanations = xs
	f.Summary = report.ExplainSummary(xs)
	f.Command = "reachgate explain " + j.overlay + " " + x.From + " " + x.To
	if q != nil {
		f.Command += " --port " + q.String()
	}
}
