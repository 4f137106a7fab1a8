package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/deploy"
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
	// FailOnNew: only findings the base does not have fail the gate.
	FailOnNew bool
	// Now pins the time rules and waivers see; zero = now.
	Now time.Time
	// Digests computes each overlay's InputDigest (rendering it to YAML
	// again, a third of a warm check's time); Check sets it when the
	// evidence format is asked for.
	Digests bool
	// Flows are observed flows for the impact preview (--flows).
	Flows FlowParams
	// Shard judges this overlay only, as one part of a fanned-out check
	// whose reports merge joins (shard.go).
	Shard string
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
	warnOutsideGit(p, stderr)
	r, err := BuildReport(ctx, p)
	if err != nil {
		return err
	}
	// The configuration that judged sets the least strict failOn; the flag
	// can only make it stricter.
	r.FailOn = min(r.FailOn, failOn)
	opts := report.Options{Color: p.Color, Marker: "<!-- " + p.Marker + " -->", Version: p.Version}
	return deliver("check", r, formatOr(p.Format, "text"), outs, w, stderr, func(w io.Writer, format string) error {
		return report.Write(w, format, r, opts)
	})
}

// deliver writes a check's report (or the one merged from its shards)
// with write: to w in format, then to every output file, and as the
// GitHub job summary; then it returns the check's exit. cmd names the
// command in the error for invalid input.
func deliver(cmd string, r *model.Report, format string, outs []output, w, stderr io.Writer, write func(w io.Writer, format string) error) error {
	if err := write(w, format); err != nil {
		return err
	}
	for _, o := range outs {
		if err := writeFile(o.file, func(f io.Writer) error { return write(f, o.format) }); err != nil {
			return err
		}
	}
	if sum := os.Getenv("GITHUB_STEP_SUMMARY"); sum != "" {
		var b strings.Builder
		if err := write(&b, "markdown"); err == nil {
			if err := github.WriteStepSummary(sum, b.String()); err != nil {
				fmt.Fprintln(stderr, "warning: job summary:", err)
			}
		}
	}
	if hasInputErrors(r) {
		return &ExitError{Code: ExitInput, Err: fmt.Errorf("%s: invalid input (see the report)", cmd)}
	}
	if err := trafficProblems(r); err != nil {
		return err
	}
	if r.Failed() {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("check failed: findings at or above %s", r.FailOn)}
	}
	return nil
}

// warnOutsideGit says that a work tree outside git has no base: the
// rules and configuration it carries itself judge it, which a pull
// request's head never gets to do.
func warnOutsideGit(p CheckParams, stderr io.Writer) {
	if p.Head != "" || p.Base == "none" {
		return
	}
	dir, err := repoDir(p.Dir)
	if err != nil {
		return
	}
	if _, err := gitref.Open(dir); err != nil {
		fmt.Fprintf(stderr, "warning: %s is not in a git repository: there is no base to compare with, so the head's own reachgate.yaml, rules and waivers judge it (in a pull request the base's do); pass --base none to say that is meant\n", dir)
	}
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
	dir, err := repoDir(p.Dir)
	if err != nil {
		return nil, err
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
	if p.Head != "" {
		if rs.repo == nil {
			return nil, inputError(fmt.Errorf("--head needs a git repository: %v", repoErr))
		}
		rs.head, err = OpenCommit(rs.repo, p.Head, p.Config)
	} else {
		rs.head, err = OpenWorkTree(dir, p.Config)
	}
	// A head whose only fault is its configuration is still judged when
	// the base's configuration judges it (see adoptConfig).
	if err != nil && (rs.head == nil || rs.head.ConfigErr == nil || p.RulesFrom == "head") {
		return nil, inputError(fmt.Errorf("head: %w", err))
	}
	if base == "none" || rs.repo == nil {
		if err != nil {
			return nil, inputError(fmt.Errorf("head: %w", err))
		}
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
	// A file the pull request left alone renders and validates at the
	// base as it did at the head.
	if rs.head != nil {
		rs.base.share(rs.head)
	}
	return rs, nil
}

// BuildReport runs the stages of check in order: open the refs and their
// configuration, decide what judges the head, choose the overlays, render
// them at base and head, compute reachability, judge the head, compare it
// with the base, and assemble the report.
func BuildReport(ctx context.Context, p CheckParams) (*model.Report, error) {
	if p.RulesFrom != "" && p.RulesFrom != "base" && p.RulesFrom != "head" {
		return nil, inputError(fmt.Errorf("--rules-from %q: want base or head", p.RulesFrom))
	}
	if p.Shard != "" && len(p.Overlays) > 0 {
		return nil, inputError(errors.New("--shard judges one overlay of the whole check: name no overlays with it"))
	}
	rs, err := openRefs(p)
	if err != nil {
		return nil, err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	r := newReport(rs, now)
	j, err := rs.judge(p.RulesFrom, now)
	if err != nil {
		return nil, err
	}
	if j.flows, err = checkFlows(ctx, p.Flows); err != nil {
		return nil, err
	}
	r.RulesFrom, r.Rules = j.from, j.rules()
	if r.RulesChanged, err = rs.rulesChanged(j); err != nil {
		return nil, err
	}
	changedConfig, configDiff, err := rs.adoptConfig(j)
	if err != nil {
		return nil, err
	}
	r.ConfigDiff, r.FailOn, r.FailOnNew = configDiff, rs.head.Config.Severity(), p.FailOnNew
	r.Baseline = rs.baseline(j)
	sel, err := rs.chooseOverlays(ctx, p.Overlays)
	if err != nil {
		return nil, err
	}
	pairs := rs.render(ctx, sel)
	judged, err := shardPairs(pairs, p.Shard)
	if err != nil {
		return nil, err
	}
	c, err := computeJudged(ctx, rs, pairs, judged)
	if err != nil {
		return nil, err
	}
	// The engine's blocks are garbage: let the rules' inputs reuse their
	// memory (see Reach).
	runtime.GC()
	fields := rs.head.fieldLines()
	for i, pr := range pairs {
		if !judged[i] {
			continue
		}
		or, err := j.overlay(ctx, rs, pr, c, r.Baseline, fields, p.Digests)
		if err != nil {
			return nil, err
		}
		r.Overlays = append(r.Overlays, or)
	}
	// Findings about the run as a whole go with the first overlay.
	if changedConfig != nil {
		r.Overlays[0].Findings = append(r.Overlays[0].Findings, *changedConfig)
	}
	for _, p := range sel.deployProblems {
		r.Overlays[0].Findings = append(r.Overlays[0].Findings, deployProblem(p))
	}
	applyWaivers(r, j.waivers, now)
	if r.Baseline != "" {
		markRunFindings(r)
	}
	if p.Shard != "" {
		if r.Shard, err = shardInfo(p.Shard, pairs, j, p.Version); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// markRunFindings marks the findings about the run as a whole: those
// about the base's waivers are existing, the head's changes to the gate
// are new.
func markRunFindings(r *model.Report) {
	for i := range r.Overlays {
		for k := range r.Overlays[i].Findings {
			f := &r.Overlays[i].Findings[k]
			if f.Baseline != "" {
				continue
			}
			f.Baseline = model.BaselineNew
			if strings.HasPrefix(f.RuleID, "waiver/") && r.Baseline == "base" {
				f.Baseline = model.BaselineExisting
			}
		}
	}
}

// deployProblem is what check could not tell about the directories Argo
// CD deploys.
func deployProblem(msg string) model.Finding {
	return model.Finding{
		RuleID:      "overlay/unknown-deploy",
		Title:       "Deployed directories not fully known",
		Severity:    model.SeverityWarning,
		Message:     msg + "; directories it deploys may be unjudged",
		Object:      model.ObjectRef{Kind: "Config", Name: config.FileName},
		Location:    model.Location{File: config.FileName},
		Controls:    []string{},
		Remediation: "List the deployed directories as overlays in reachgate.yaml, or use a git directory or list generator reachgate can read.",
	}
}

// unconfiguredFinding reports an overlay the base configures and the
// judging configuration does not (only with --rules-from head: otherwise
// the base's configuration judges). It fails the gate unless the base
// waives it (object Overlay/<name>).
func unconfiguredFinding(o *Overlay) model.Finding {
	return model.Finding{
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
}

// removedFinding reports an overlay whose directory the head deletes:
// taking an environment away is a decision to record (a waiver of
// overlay/removed, object Overlay/<name>, merged first), not a side effect
// of a pull request.
func removedFinding(o *Overlay) model.Finding {
	return model.Finding{
		RuleID:      "overlay/removed",
		Title:       "Overlay removed",
		Severity:    model.SeverityError,
		Message:     fmt.Sprintf("overlay %s (%s) is removed: Argo CD would prune everything it deployed, and every flow below goes", o.Name, o.Path),
		Object:      model.ObjectRef{Kind: "Overlay", Name: o.Name},
		Field:       "overlays",
		Location:    model.Location{File: config.FileName},
		Controls:    []string{},
		Remediation: fmt.Sprintf("If the environment is really going away, merge a waiver of this finding (rule overlay/removed, object Overlay/%s) first.", o.Name),
	}
}

// unjudgedFinding reports a directory Argo CD deploys that no configured
// overlay covers: it would reach a cluster without being gated.
func unjudgedFinding(s deploy.Source) model.Finding {
	return model.Finding{
		RuleID:   "overlay/unjudged",
		Title:    "Deployed directory not covered by an overlay",
		Severity: model.SeverityError,
		Message: fmt.Sprintf("%s deploys %s, which no overlay of the base's %s covers; it is judged here by the base's rules, without expectations",
			s.Object, s.Path, config.FileName),
		Object:   model.ObjectRef{Kind: "Overlay", Name: s.Path},
		Location: s.At,
		Controls: []string{},
		Remediation: fmt.Sprintf("Add %s as an overlay to %s in a pull request of its own (merged first), or stop deploying it.",
			s.Path, config.FileName),
	}
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
		inputFirst(r.Overlays[k].Findings)
	}
}

// inputFirst puts the input errors before the rules' findings: a file
// that did not load is why the findings after it may be wrong or missing.
func inputFirst(fs []model.Finding) {
	slices.SortStableFunc(fs, func(a, b model.Finding) int {
		ai, bi := a.RuleID == "input/invalid", b.RuleID == "input/invalid"
		switch {
		case ai && !bi:
			return -1
		case bi && !ai:
			return 1
		}
		return 0
	})
}

func waiverFile(ws *Workspace) string {
	if ws.Config.Rules.Waivers != "" {
		return ws.Config.Rules.Waivers
	}
	return "waivers.yaml"
}

// loadRules compiles the rules of a workspace (rules.go) and reads its
// waivers.
func loadRules(ws *Workspace, now time.Time) (*policy.Engine, []model.Waiver, error) {
	engine, err := compileRules(ws, now)
	if err != nil {
		return nil, nil, err
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

// expectationsFile is where an overlay's expectations are: the file the
// configuration names, else PATH/expectations.yaml when it exists ("" when
// neither).
func expectationsFile(ws *Workspace, o *Overlay) string {
	if oc, ok := ws.Config.Overlay(o.Name); ok && oc.Expectations != "" {
		return oc.Expectations
	}
	if o.Path != "" {
		file := path.Join(o.Path, "expectations.yaml")
		if _, ok, _ := ws.ReadFile(file); ok {
			return file
		}
	}
	return ""
}

// readExpectations reads and parses an overlay's expectations; problems
// come back as findings. Both are nil when the overlay has none.
func readExpectations(ws *Workspace, o *Overlay) (*policy.Expectations, []model.Finding) {
	file := expectationsFile(ws, o)
	if file == "" {
		return nil, nil
	}
	data, ok, err := ws.ReadFile(file)
	if err != nil || !ok {
		msg := "expectations file does not exist"
		if err != nil {
			msg = err.Error()
		}
		return nil, []model.Finding{(&model.InputError{Location: model.Location{File: file}, Message: msg}).Finding()}
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
			return nil, out
		case errors.As(err, &ie):
			return nil, []model.Finding{ie.Finding()}
		}
		return nil, []model.Finding{(&model.InputError{Location: model.Location{File: file}, Message: err.Error()}).Finding()}
	}
	return exp, nil
}

// expectations checks the overlay's connectivity expectations against m:
// the failed ones as findings (or the file's problems), and how many were
// checked.
func expectations(ws *Workspace, o *Overlay, m *model.Matrix) ([]model.Finding, int) {
	exp, problems := readExpectations(ws, o)
	if exp == nil {
		return problems, 0
	}
	// The explainer is only built when an expectation fails.
	var ex *reach.Explainer
	failed := policy.CheckExpectations(exp, m, func(src, dst model.Peer, proto model.Protocol, port uint16, hasPort bool) string {
		if ex == nil {
			ex = reach.NewExplainer(o.Cluster)
		}
		return explainReason(ex)(src, dst, proto, port, hasPort)
	})
	return failed, len(exp.Allow) + len(exp.Deny)
}

// explainReason condenses explain into one line for a failed expectation.
func explainReason(ex *reach.Explainer) policy.ExplainFunc {
	return func(src, dst model.Peer, proto model.Protocol, port uint16, hasPort bool) string {
		var q *model.PortQuery
		if hasPort {
			q = &model.PortQuery{Protocol: proto, Port: port}
		}
		xs, err := ex.ExplainPeers(src, dst, q)
		if err != nil {
			return err.Error()
		}
		return report.ExplainSummary(xs)
	}
}
