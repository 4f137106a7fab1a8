package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/github"
	"github.com/reachgate/reachgate/pipeline/gitref"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
)

// CheckParams are the options of `reachgate check`.
type CheckParams struct {
	Common
	// Base is the ref the pull request merges into; "" = from the GitHub
	// event, else the merge-base of HEAD with the default branch. "none"
	// checks the head alone.
	Base string
	// Head is a ref; "" = the work tree.
	Head string
	// RulesFrom is "base" (default: a PR cannot weaken the rules that
	// judge it) or "head".
	RulesFrom string
	Overlays  []string
	FailOn    string
	// Format is written to stdout; Outputs are extra "format=file" pairs.
	Format  string
	Outputs []string
	Color   bool
	Marker  string
	Version string
	// Now pins the time rules and waivers see; zero = now.
	Now time.Time
	// Digests computes each overlay's InputDigest (rendering it to YAML
	// again, a third of a warm check's time); Check sets it when the
	// evidence format is asked for.
	Digests bool
}

// Check runs the whole pipeline and writes the report. The error is an
// *ExitError with code 1 when findings at or above FailOn remain, 2 for
// input errors.
func Check(ctx context.Context, p CheckParams, w, stderr io.Writer) error {
	failOn, err := parseFailOn(p.FailOn)
	if err != nil {
		return err
	}
	outs, err := parseOutputs(p.Outputs)
	if err != nil {
		return err
	}
	p.Digests = p.Digests || p.Format == "evidence" || slices.ContainsFunc(outs, func(o output) bool { return o.format == "evidence" })
	r, err := BuildReport(ctx, p)
	if err != nil {
		return err
	}
	r.FailOn = failOn
	opts := report.Options{Color: p.Color, Marker: "<!-- " + p.Marker + " -->", Version: p.Version}
	if err := report.Write(w, formatOr(p.Format, "text"), r, opts); err != nil {
		return err
	}
	for _, o := range outs {
		if err := writeFile(o.file, func(f io.Writer) error { return report.Write(f, o.format, r, opts) }); err != nil {
			return err
		}
	}
	if sum := os.Getenv("GITHUB_STEP_SUMMARY"); sum != "" {
		var b strings.Builder
		if err := report.Write(&b, "markdown", r, opts); err == nil {
			if err := github.WriteStepSummary(sum, b.String()); err != nil {
				fmt.Fprintln(stderr, "warning: job summary:", err)
			}
		}
	}
	if hasInputErrors(r) {
		return &ExitError{Code: ExitInput, Err: errors.New("check: invalid input (see the report)")}
	}
	if r.Failed() {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("check failed: findings at or above %s", failOn)}
	}
	return nil
}

func hasInputErrors(r *model.Report) bool {
	for _, o := range r.Overlays {
		if o.Error != "" {
			return true
		}
		for _, f := range o.Findings {
			if f.RuleID == "input/invalid" && f.Waived == nil {
				return true
			}
		}
	}
	return false
}

type output struct{ format, file string }

func parseOutputs(specs []string) ([]output, error) {
	var out []output
	for _, s := range specs {
		f, file, ok := strings.Cut(s, "=")
		if !ok || f == "" || file == "" {
			return nil, inputError(fmt.Errorf("--output %q: want FORMAT=FILE, e.g. json=report.json", s))
		}
		if !slices.Contains(report.Formats(), f) {
			return nil, inputError(fmt.Errorf("--output %q: unknown format %q (have %s)", s, f, joinNames(report.Formats())))
		}
		out = append(out, output{f, file})
	}
	return out, nil
}

func formatOr(f, def string) string {
	if f == "" {
		return def
	}
	return f
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// refs works out the base and head workspaces.
type refs struct {
	repo       *gitref.Repo
	base, head *Workspace
	event      *github.EventInfo
}

func openRefs(p CheckParams) (*refs, error) {
	dir := p.Dir
	if dir == "" {
		dir = cwd()
	}
	rs := &refs{}
	repo, repoErr := gitref.Open(dir)
	if repoErr == nil {
		rs.repo = repo
	}
	base := p.Base
	if ev := os.Getenv("GITHUB_EVENT_PATH"); ev != "" && base == "" {
		if info, err := github.ReadEvent(ev, os.Getenv("GITHUB_EVENT_NAME")); err == nil && info.BaseSHA != "" {
			rs.event = &info
			base = info.BaseSHA
		}
	}
	var err error
	if p.Head != "" {
		if rs.repo == nil {
			return nil, inputError(fmt.Errorf("--head needs a git repository: %v", repoErr))
		}
		if rs.head, err = OpenCommit(rs.repo, p.Head, p.Config); err != nil {
			return nil, inputError(fmt.Errorf("head: %w", err))
		}
	} else if rs.head, err = OpenWorkTree(dir, p.Config); err != nil {
		return nil, inputError(fmt.Errorf("head: %w", err))
	}
	if base == "none" || rs.repo == nil {
		return rs, nil
	}
	if base == "" {
		def, err := rs.repo.DefaultBranch()
		if err != nil {
			return nil, inputError(err)
		}
		head := p.Head
		if head == "" {
			head = "HEAD"
		}
		if base, err = rs.repo.MergeBase(head, def); err != nil {
			return nil, inputError(err)
		}
	}
	if rs.base, err = OpenCommit(rs.repo, base, p.Config); err != nil {
		return nil, inputError(fmt.Errorf("base: %w", err))
	}
	return rs, nil
}

// BuildReport renders every overlay at base and head, evaluates the rules
// (from the base unless asked otherwise), checks the expectations and
// diffs the reachability.
func BuildReport(ctx context.Context, p CheckParams) (*model.Report, error) {
	rs, err := openRefs(p)
	if err != nil {
		return nil, err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	r := &model.Report{Head: rs.head.Ref, RulesChanged: []model.RuleChange{}, CheckedAt: now}
	if rs.base != nil {
		r.Base = rs.base.Ref
	}
	if rs.event != nil {
		r.Repository = rs.event.Owner + "/" + rs.event.Repo
		if rs.head.Ref.Commit == "" {
			r.Head.Commit = rs.event.HeadSHA
		}
	} else if repo := os.Getenv("GITHUB_REPOSITORY"); repo != "" {
		r.Repository = repo
	}
	r.ServerURL = os.Getenv("GITHUB_SERVER_URL")

	// The rules, their parameters and the waivers come from the base, so a
	// pull request cannot weaken what judges it.
	rulesWS := rs.head
	r.RulesFrom = "head"
	if rs.base != nil && p.RulesFrom != "head" {
		rulesWS, r.RulesFrom = rs.base, "base"
	}
	if p.RulesFrom != "" && p.RulesFrom != "base" && p.RulesFrom != "head" {
		return nil, inputError(fmt.Errorf("--rules-from %q: want base or head", p.RulesFrom))
	}
	// A base from before the repository adopted reachgate has no rules to
	// weaken: the head's judge it, and the report says so.
	if rulesWS == rs.base && !hasRules(rs.base) {
		rulesWS, r.RulesFrom = rs.head, "head (the base has no rules)"
	}
	engine, waivers, err := loadRules(rulesWS, now)
	if err != nil {
		return nil, err
	}
	r.Rules = []model.Rule{}
	for _, ri := range engine.Rules() {
		r.Rules = append(r.Rules, ri.Rule)
	}
	if rs.base != nil && rs.repo != nil {
		watched := append(append([]string{}, rulesWS.Config.Rules.Paths...), config.FileName, waiverFile(rulesWS))
		changes, err := rs.repo.Changes(rs.base.Ref.Commit, rs.head.Ref.Commit, watched...)
		if err != nil {
			return nil, err
		}
		for _, c := range changes {
			r.RulesChanged = append(r.RulesChanged, model.RuleChange{File: c.Path, Change: c.Status})
		}
	}

	names := p.Overlays
	// Overlays the base configures and the head does not: the base decides
	// what is judged, so a pull request cannot drop an environment from the
	// gate by editing reachgate.yaml.
	dropped := map[string]config.Overlay{}
	if len(names) == 0 {
		names = rs.head.Config.OverlayNames()
		if rs.base != nil {
			for _, o := range rs.base.Config.Overlays {
				if _, ok := rs.head.Config.Overlay(o.Name); !ok {
					names = append(names, o.Name)
					dropped[o.Name] = o
				}
			}
		}
	}
	if len(names) == 0 {
		return nil, inputError(errors.New("no overlays to check: list them in reachgate.yaml or pass them as arguments"))
	}
	type pair struct {
		head, base *Overlay
		// removed: the overlay's directory is gone from the head.
		removed bool
	}
	pairs := make([]pair, len(names))
	var clusters []*model.Cluster
	// What changed since the base, asked of git once, when first needed.
	var changed []string
	var changedKnown, changedOK bool
	for i, n := range names {
		var read []string
		if d, ok := dropped[n]; ok {
			name, env, dir, _ := rs.base.Target(n)
			pairs[i].head = &Overlay{Name: name, Environment: env, Path: dir}
			if pairs[i].removed = !rs.head.FS.IsDir(rs.head.Abs(d.Path)); !pairs[i].removed {
				pairs[i].head = rs.head.LoadDir(name, env, dir)
			}
		} else {
			pairs[i].head, read = rs.head.loadRecorded(n)
		}
		if pairs[i].head.Cluster != nil {
			clusters = append(clusters, pairs[i].head.Cluster)
		}
		if rs.base == nil {
			continue
		}
		_, _, dir, err := rs.base.Target(n)
		if err != nil {
			continue
		}
		// Most pull requests touch one overlay: where nothing the head's
		// render read has changed since the base, the base renders the
		// same, so reuse it.
		if !changedKnown {
			changed, changedOK = changedPaths(rs.repo, rs.base.Ref.Commit, rs.head.Ref.Commit)
			changedKnown = true
		}
		if h := pairs[i].head; read != nil && h.Err == nil && dir == h.Path && changedOK && untouched(changed, read) {
			pairs[i].base = h
			continue
		}
		pairs[i].base = rs.base.LoadDir(n, n, dir)
		if pairs[i].base.Cluster != nil {
			clusters = append(clusters, pairs[i].base.Cluster)
		}
	}
	// One split of the external address space for every matrix, so base
	// and head, and promoted overlays, compare range by range.
	matrices := map[*model.Cluster]*model.Matrix{}
	for i, m := range reach.ComputeAll(clusters...) {
		matrices[clusters[i]] = m
	}
	headMatrix := map[string]*model.Matrix{}
	for _, pr := range pairs {
		if pr.head.Cluster != nil {
			headMatrix[pr.head.Name] = matrices[pr.head.Cluster]
		}
	}
	fields := rs.head.fieldLines()
	for _, pr := range pairs {
		o := pr.head
		or := model.OverlayReport{Name: o.Name, Environment: o.Environment, Path: o.Path, Findings: []model.Finding{}}
		if _, ok := dropped[o.Name]; ok {
			or.Findings = append(or.Findings, droppedFinding(o, pr.removed))
		}
		if pr.removed {
			// Argo CD prunes what an overlay deployed when it goes: every
			// flow of the base is removed.
			or.Matrix = &model.Matrix{}
			if pr.base != nil && pr.base.Cluster != nil {
				or.Base = matrices[pr.base.Cluster]
				or.Diff = reach.Diff(or.Base, or.Matrix)
			}
			r.Overlays = append(r.Overlays, or)
			continue
		}
		if o.Err != nil {
			or.Error = o.Err.Error()
			r.Overlays = append(r.Overlays, or)
			continue
		}
		m := matrices[o.Cluster]
		or.Matrix = m
		if pr.base != nil && pr.base.Cluster != nil {
			or.Base = matrices[pr.base.Cluster]
			or.Diff = reach.Diff(or.Base, m)
		}
		in := policy.Input{Overlay: o.Name, Environment: o.Environment, Cluster: o.Cluster, Matrix: m}
		for _, from := range rs.head.Config.Overlays {
			if from.PromotesTo == o.Name && headMatrix[from.Name] != nil {
				in.Promotion = &policy.Promotion{From: from.Name, Matrix: headMatrix[from.Name]}
				break
			}
		}
		findings := append(or.Findings, o.Findings()...)
		fs, err := engine.Evaluate(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("rules on %s: %w", o.Name, err)
		}
		// A rule names the object and the field to fix; point at the
		// field's line.
		for i := range fs {
			fs[i].Location.Line = fields.line(fs[i].Location, fs[i].Field)
		}
		findings = append(findings, fs...)
		failed, checked := expectations(rs.head, o, m)
		findings = append(findings, failed...)
		or.Expectations = checked
		if p.Digests {
			or.InputDigest = o.Digest()
		}
		or.Findings = findings
		r.Overlays = append(r.Overlays, or)
	}
	applyWaivers(r, waivers, now)
	return r, nil
}

// droppedFinding reports an overlay the base configures and the head does
// not. It fails the gate unless the base waives it (rule overlay/removed or
// overlay/unconfigured, object Overlay/<name>): taking an environment out
// of the gate is a decision to record, not a side effect of a pull request.
func droppedFinding(o *Overlay, removed bool) model.Finding {
	f := model.Finding{
		RuleID:   "overlay/unconfigured",
		Title:    "Overlay dropped from reachgate.yaml",
		Severity: model.SeverityError,
		Message: fmt.Sprintf("overlay %s is configured in the base's %s but not in the head's; it is still checked, at %s, because the base decides what is judged",
			o.Name, config.FileName, o.Path),
		Object:   model.ObjectRef{Kind: "Overlay", Name: o.Name},
		Field:    "overlays",
		Location: model.Location{File: config.FileName},
		Controls: []string{},
		Remediation: fmt.Sprintf("Keep the overlay in %s, or, if the environment really leaves the gate, merge a waiver of this finding (object Overlay/%s) first.",
			config.FileName, o.Name),
	}
	if removed {
		f.RuleID = "overlay/removed"
		f.Title = "Overlay removed"
		f.Message = fmt.Sprintf("overlay %s (%s) is removed: Argo CD would prune everything it deployed, and every flow below goes", o.Name, o.Path)
		f.Remediation = fmt.Sprintf("If the environment is really going away, merge a waiver of this finding (rule overlay/removed, object Overlay/%s) first.", o.Name)
	}
	return f
}

// applyWaivers applies the waivers to every overlay's findings at once, so
// that a waiver used by one overlay is not "unused" in the others. Findings
// about the waivers themselves (expired, unused) go to the first overlay.
func applyWaivers(r *model.Report, waivers []model.Waiver, now time.Time) {
	var all []model.Finding
	for _, o := range r.Overlays {
		all = append(all, o.Findings...)
	}
	out := policy.ApplyWaivers(all, waivers, now)
	i := 0
	for k := range r.Overlays {
		o := &r.Overlays[k]
		n := len(o.Findings)
		o.Findings = append([]model.Finding{}, out[i:i+n]...)
		i += n
	}
	if len(r.Overlays) > 0 {
		r.Overlays[0].Findings = append(r.Overlays[0].Findings, out[i:]...)
	}
	for k := range r.Overlays {
		policy.SortFindings(r.Overlays[k].Findings)
	}
}

// hasRules reports whether any configured rules directory exists.
func hasRules(ws *Workspace) bool {
	for _, d := range ws.Config.Rules.Paths {
		if ws.FS.IsDir(ws.Abs(d)) {
			return true
		}
	}
	return false
}

func waiverFile(ws *Workspace) string {
	if ws.Config.Rules.Waivers != "" {
		return ws.Config.Rules.Waivers
	}
	return "waivers.yaml"
}

// loadRules compiles the rules of a workspace and reads its waivers.
func loadRules(ws *Workspace, now time.Time) (*policy.Engine, []model.Waiver, error) {
	dirs := make([]string, len(ws.Config.Rules.Paths))
	for i, d := range ws.Config.Rules.Paths {
		dirs[i] = ws.Abs(d)
	}
	engine, err := policy.Load(ws.FS, dirs, policy.Options{Params: ws.Config.Rules.Params, Now: now})
	if err != nil {
		return nil, nil, inputError(fmt.Errorf("load rules from %s: %w", ws.Ref.Ref, err))
	}
	wf := waiverFile(ws)
	data, ok, err := ws.ReadFile(wf)
	if err != nil {
		return nil, nil, inputError(err)
	}
	if !ok {
		if ws.Config.Rules.Waivers != "" {
			return nil, nil, inputError(fmt.Errorf("%s: waivers file %s does not exist", ws.Config.File, wf))
		}
		return engine, nil, nil
	}
	waivers, err := policy.ParseWaivers(wf, data)
	if err != nil {
		return nil, nil, inputError(err)
	}
	return engine, waivers, nil
}

// expectations checks the overlay's expectations file, if it has one,
// against its matrix m.
// expectations checks the overlay's connectivity expectations against m:
// the failed ones as findings (or the file's problems), and how many were
// checked.
func expectations(ws *Workspace, o *Overlay, m *model.Matrix) ([]model.Finding, int) {
	file := ""
	if oc, ok := ws.Config.Overlay(o.Name); ok && oc.Expectations != "" {
		file = oc.Expectations
	} else if o.Path != "" {
		file = path.Join(o.Path, "expectations.yaml")
		if _, ok, _ := ws.ReadFile(file); !ok {
			return nil, 0
		}
	} else {
		return nil, 0
	}
	data, ok, err := ws.ReadFile(file)
	if err != nil || !ok {
		msg := "expectations file does not exist"
		if err != nil {
			msg = err.Error()
		}
		return []model.Finding{(&model.InputError{Location: model.Location{File: file}, Message: msg}).Finding()}, 0
	}
	exp, err := policy.ParseExpectations(file, data)
	if err != nil {
		var ie *model.InputError
		var ies model.InputErrors
		switch {
		case errors.As(err, &ies):
			var out []model.Finding
			for _, e := range ies {
				out = append(out, e.Finding())
			}
			return out, 0
		case errors.As(err, &ie):
			return []model.Finding{ie.Finding()}, 0
		}
		return []model.Finding{(&model.InputError{Location: model.Location{File: file}, Message: err.Error()}).Finding()}, 0
	}
	// The explainer is only built when an expectation fails.
	var ex *reach.Explainer
	failed := policy.CheckExpectations(exp, m, func(src, dst string, proto model.Protocol, port uint16, hasPort bool) string {
		if ex == nil {
			ex = reach.NewExplainer(o.Cluster)
		}
		return explainReason(ex)(src, dst, proto, port, hasPort)
	})
	return failed, len(exp.Allow) + len(exp.Deny)
}

// explainReason condenses explain into one line for a failed expectation.
func explainReason(ex *reach.Explainer) func(src, dst string, proto model.Protocol, port uint16, hasPort bool) string {
	return func(src, dst string, proto model.Protocol, port uint16, hasPort bool) string {
		var q *model.PortQuery
		if hasPort {
			q = &model.PortQuery{Protocol: proto, Port: port}
		}
		xs, err := ex.Explain(src, dst, q)
		if err != nil {
			return err.Error()
		}
		return report.ExplainSummary(xs)
	}
}
