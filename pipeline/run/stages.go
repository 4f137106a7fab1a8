package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/reachgate/reachgate/internal/textdiff"
	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/deploy"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/observe"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// The stages of check, in the order BuildReport runs them.

// newReport starts the report: which refs, which repository.
func newReport(rs *refs, now time.Time) *model.Report {
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
	return r
}

// judge is what decides how the head is judged: the rules, their
// parameters and the waivers of one workspace.
type judge struct {
	ws      *Workspace
	from    string
	engine  *policy.Engine
	waivers []model.Waiver
	// flows are check --flows' observed flows (nil without), traffic
	// what each head overlay does to them.
	flows   *observe.Capture
	traffic map[*Overlay]*model.TrafficImpact
}

// judge picks the workspace whose rules judge the head: the base, so a
// pull request cannot weaken what judges it, unless rulesFrom is "head".
// A base from before the repository adopted reachgate (it has no
// reachgate.yaml) has nothing to weaken: the head's configuration and
// rules judge it, and the report says so.
func (rs *refs) judge(rulesFrom string, now time.Time) (*judge, error) {
	j := &judge{ws: rs.head, from: "head"}
	if rs.base != nil && rulesFrom != "head" {
		j.ws, j.from = rs.base, "base"
	}
	if j.ws == rs.base && !adopted(rs.base) {
		j.ws, j.from = rs.head, "head (the base has no reachgate.yaml)"
	}
	var err error
	if j.engine, j.waivers, err = loadRules(j.ws, now); err != nil {
		return nil, err
	}
	return j, nil
}

// rules lists every rule that judges, those that find nothing included.
func (j *judge) rules() []model.Rule {
	out := []model.Rule{}
	for _, ri := range j.engine.Rules() {
		out = append(out, ri.Rule)
	}
	return out
}

// adoptConfig makes the judge's configuration the one the head is judged
// by: the overlays and their paths, promotion, externals, inventory,
// CIDRs, expectations files, failOn and the Argo CD directories. When the
// base judges and the head changes its reachgate.yaml, the change is a
// finding (config/changed) and its diff goes into the report.
func (rs *refs) adoptConfig(j *judge) (*model.Finding, string, error) {
	if j.ws != rs.base {
		if rs.head.ConfigErr != nil {
			return nil, "", inputError(fmt.Errorf("head: %w", rs.head.ConfigErr))
		}
		return nil, "", nil
	}
	rs.head.Config = rs.base.Config
	if rs.head.ConfigErr == nil && bytes.Equal(rs.base.ConfigData, rs.head.ConfigData) {
		return nil, "", nil
	}
	name := rs.base.Config.File
	if name == "" {
		name = config.FileName
	}
	diff := textdiff.Unified("base/"+name, "head/"+name, string(rs.base.ConfigData), string(rs.head.ConfigData), 3)
	f := configChangedFinding(name, rs.base.ConfigData, rs.head.ConfigData, rs.head.ConfigErr)
	return &f, diff, nil
}

// configChangedFinding reports a head that changes the configuration: it
// is judged by the base's, and fails the gate unless the base waives it.
func configChangedFinding(name string, base, head []byte, headErr error) model.Finding {
	msg := fmt.Sprintf("the head changes %s; it is judged by the base's (overlays and paths, promotion, externals, inventory, CIDRs, expectations files, failOn): the diff is in the report", name)
	if headErr != nil {
		msg += fmt.Sprintf("; the head's version is not valid either: %v", headErr)
	}
	return model.Finding{
		RuleID:   "config/changed",
		Title:    "Configuration changed",
		Severity: model.SeverityError,
		Message:  msg,
		Object:   model.ObjectRef{Kind: "Config", Name: name},
		Location: model.Location{File: name, Line: firstDifference(base, head)},
		Controls: []string{},
		Remediation: fmt.Sprintf("Change %s in a pull request of its own, reviewed as a change to the gate, and merge a waiver of config/changed (object Config/%s) to the base first; the change then judges the pull requests after it.",
			name, name),
	}
}

// firstDifference is the 1-based line of b where it first differs from a
// (0 when b has no such line).
func firstDifference(a, b []byte) int {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range bl {
		if i >= len(al) || al[i] != bl[i] {
			return i + 1
		}
	}
	return 0
}

// rulesChanged lists the files of the rules, the configuration and the
// waivers that the head changes.
func (rs *refs) rulesChanged(j *judge) ([]model.RuleChange, error) {
	out := []model.RuleChange{}
	if rs.base == nil || rs.repo == nil {
		return out, nil
	}
	watched := append(append([]string{}, j.ws.Config.Rules.Paths...), config.FileName, waiverFile(j.ws))
	changes, err := rs.repo.Changes(rs.base.Ref.Commit, rs.head.Ref.Commit, watched...)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		out = append(out, model.RuleChange{File: c.Path, Change: c.Status})
	}
	return out, nil
}

// selection is the overlays to check, by name.
type selection struct {
	names []string
	// dropped are the overlays the base configures and the configuration
	// that judges does not (with --rules-from head).
	dropped map[string]config.Overlay
	// unjudged are the directories Argo CD deploys that no configured
	// overlay covers; they are judged too, and fail the gate.
	unjudged []deploy.Source
	// deployProblems are what could not be told about Argo CD's sources.
	deployProblems []string
}

// chooseOverlays takes the named overlays, or every configured one. The
// base decides what is judged, so a pull request cannot drop an
// environment from the gate by editing reachgate.yaml.
func (rs *refs) chooseOverlays(ctx context.Context, names []string) (selection, error) {
	sel := selection{names: names, dropped: map[string]config.Overlay{}}
	if len(sel.names) == 0 {
		sel.names = rs.head.Config.OverlayNames()
		if rs.base != nil {
			for _, o := range rs.base.Config.Overlays {
				if _, ok := rs.head.Config.Overlay(o.Name); !ok {
					sel.names = append(sel.names, o.Name)
					sel.dropped[o.Name] = o
				}
			}
		}
	}
	if len(sel.names) == 0 {
		return sel, inputError(errors.New("no overlays to check: list them in reachgate.yaml or pass them as arguments"))
	}
	if len(names) == 0 {
		sel.unjudged, sel.deployProblems = rs.unjudged(ctx)
	}
	return sel, nil
}

// unjudged lists the directories the head's Argo CD objects deploy that
// no overlay of the judging configuration covers.
func (rs *refs) unjudged(ctx context.Context) ([]deploy.Source, []string) {
	cfg := rs.head.Config
	dirs := cfg.ArgoCD
	if len(dirs) == 0 && rs.head.FS.IsDir(rs.head.Abs("argocd")) {
		dirs = []string{"argocd"}
	}
	if len(dirs) == 0 {
		return nil, nil
	}
	var objs []model.Object
	var problems []string
	for _, d := range dirs {
		o := rs.head.LoadDir(ctx, d, d, d)
		if o.Err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", d, o.Err))
			continue
		}
		objs = append(objs, o.Objects...)
	}
	all, err := rs.head.Dirs()
	if err != nil {
		problems = append(problems, err.Error())
	}
	sources, more := deploy.Sources(objs, all)
	covered := map[string]bool{}
	for _, o := range cfg.Overlays {
		covered[path.Clean(o.Path)] = true
	}
	var out []deploy.Source
	for _, s := range sources {
		if !covered[s.Path] {
			out = append(out, s)
		}
	}
	return out, append(problems, more...)
}

// pair is one overlay rendered at the head and, when there is a base, at
// the base.
type pair struct {
	head, base *Overlay
	// dropped: the base configures the overlay and the head does not.
	dropped bool
	// removed: the overlay's directory is gone from the head.
	removed bool
	// unjudged is set for a directory Argo CD deploys that no overlay
	// covers.
	unjudged *deploy.Source
}

// render renders every selected overlay at the head and at the base. Most
// pull requests touch one overlay: where nothing the head's render read
// has changed since the base, the base renders the same, and the head's
// render is reused.
func (rs *refs) render(ctx context.Context, sel selection) []pair {
	pairs := make([]pair, len(sel.names), len(sel.names)+len(sel.unjudged))
	// The bases render one after another on their own goroutine, beside
	// the heads (each render uses every core only part of the time).
	// pairs never grows past its capacity, so the pointers hold.
	bases := make(chan func(), cap(pairs))
	basesDone := make(chan struct{})
	go func() {
		defer close(basesDone)
		for load := range bases {
			load()
		}
	}()
	defer func() {
		close(bases)
		<-basesDone
		// Rendered: the head's validated objects need not outlive it.
		rs.head.unshare()
		if rs.base != nil {
			rs.base.unshare()
		}
	}()
	// What changed since the base, asked of git once, when first needed.
	var changed []string
	var changedKnown, changedOK bool
	for i, n := range sel.names {
		pr := &pairs[i]
		var read []string
		name, env, dir := n, n, ""
		if d, ok := sel.dropped[n]; ok {
			pr.dropped = true
			name, env, dir = d.Name, d.Environment, d.Path
		} else if oc, ok := rs.head.Config.Overlay(n); ok {
			name, env, dir = oc.Name, oc.Environment, oc.Path
		}
		switch {
		case dir != "" && !rs.head.FS.Exists(rs.head.Abs(dir)) && (pr.dropped || rs.base != nil && rs.base.FS.IsDir(rs.base.Abs(dir))):
			pr.removed = true
			pr.head = &Overlay{Name: name, Environment: env, Path: dir}
		case pr.dropped:
			pr.head = rs.head.LoadDir(ctx, name, env, dir)
		default:
			pr.head, read = rs.head.loadRecorded(ctx, n)
		}
		if rs.base == nil {
			continue
		}
		_, _, dir, err := rs.base.Target(n)
		if err != nil {
			continue
		}
		if !changedKnown {
			changed, changedOK = changedPaths(rs.repo, rs.base.Ref.Commit, rs.head.Ref.Commit)
			changedKnown = true
		}
		if h := pr.head; read != nil && h.Err == nil && dir == h.Path && changedOK && untouched(changed, read) {
			pr.base = h
			continue
		}
		bases <- func() { pr.base = rs.base.LoadDir(ctx, n, n, dir) }
	}
	for _, src := range sel.unjudged {
		pairs = append(pairs, pair{head: rs.head.LoadDir(ctx, src.Path, src.Path, src.Path), unjudged: &src})
		if pr := &pairs[len(pairs)-1]; rs.base != nil && rs.base.FS.IsDir(rs.base.Abs(src.Path)) {
			bases <- func() { pr.base = rs.base.LoadDir(ctx, src.Path, src.Path, src.Path) }
		}
	}
	return pairs
}

// computed is the reachability of every rendered cluster.
type computed struct {
	matrices map[*model.Cluster]*model.Matrix
	// heads and bases are the head and base matrices by overlay name.
	heads, bases map[string]*model.Matrix
}

// compute computes the reachability of every rendered cluster, with one
// split of the external address space for all of them, so base and head,
// and promoted overlays, compare range by range. A base whose model is
// its head's (a pull request that moved an image tag, say) has the head's
// matrix: reachability is a function of the model, and the base's
// address blocks, being the head's, split nothing the head's do not.
func compute(ctx context.Context, pairs []pair) (computed, error) {
	var clusters []*model.Cluster
	seen := map[*model.Cluster]bool{}
	sameAs := map[*model.Cluster]*model.Cluster{}
	for _, pr := range pairs {
		if h, b := pr.head, pr.base; h != nil && b != nil && h.Cluster != nil && b.Cluster != nil && h.Cluster != b.Cluster && model.SameModel(h.Cluster, b.Cluster) {
			sameAs[b.Cluster] = h.Cluster
		}
	}
	for _, pr := range pairs {
		for _, o := range []*Overlay{pr.head, pr.base} {
			if o != nil && o.Cluster != nil && !seen[o.Cluster] && sameAs[o.Cluster] == nil {
				seen[o.Cluster] = true
				clusters = append(clusters, o.Cluster)
			}
		}
	}
	c := computed{matrices: map[*model.Cluster]*model.Matrix{}, heads: map[string]*model.Matrix{}, bases: map[string]*model.Matrix{}}
	ms, err := reach.ComputeAllContext(ctx, clusters...)
	if err != nil {
		return c, err
	}
	for i, m := range ms {
		c.matrices[clusters[i]] = m
	}
	for b, h := range sameAs {
		c.matrices[b] = c.matrices[h]
	}
	for _, pr := range pairs {
		if pr.head.Cluster != nil {
			c.heads[pr.head.Name] = c.matrices[pr.head.Cluster]
		}
		if pr.base != nil && pr.base.Cluster != nil {
			c.bases[pr.head.Name] = c.matrices[pr.base.Cluster]
		}
	}
	return c, nil
}

// evaluate runs the rules on one pair's head and, with baseline mode
// "base", its base: together, so that a rule reading nothing the pull
// request changed is evaluated once (policy.Engine.EvaluatePair). The
// head's findings are nil when it is not judged (removed, or not
// rendered), the base's when it has none to compare with.
func (j *judge) evaluate(ctx context.Context, rs *refs, mode string, pr pair, c computed) (head, base []model.Finding, err error) {
	h, b := pr.head, pr.base
	judgeHead := !pr.removed && h.Err == nil
	judgeBase := mode == "base" && b != nil && b.Cluster != nil
	var hin, bin policy.Input
	if judgeHead {
		hin = j.headInput(h, c.matrices[h.Cluster], c.promotion(rs.head, h.Name))
	}
	if judgeBase {
		bin = policy.Input{Overlay: h.Name, Environment: h.Environment, Cluster: b.Cluster, Matrix: c.matrices[b.Cluster], Promotion: c.basePromotion(rs.base, h.Name)}
	}
	switch {
	case judgeHead && judgeBase:
		if head, base, err = j.engine.EvaluatePair(ctx, hin, bin); err != nil {
			return nil, nil, fmt.Errorf("rules on %s and on it at the base: %w", h.Name, err)
		}
	case judgeHead:
		if head, err = j.engine.Evaluate(ctx, hin); err != nil {
			return nil, nil, fmt.Errorf("rules on %s: %w", h.Name, err)
		}
	case judgeBase:
		if base, err = j.engine.Evaluate(ctx, bin); err != nil {
			return nil, nil, fmt.Errorf("rules on %s at the base: %w", h.Name, err)
		}
	}
	return head, base, nil
}

// headInput is what the rules judge of a rendered head overlay.
func (j *judge) headInput(o *Overlay, m *model.Matrix, promotion *policy.Promotion) policy.Input {
	return policy.Input{Overlay: o.Name, Environment: o.Environment, Cluster: o.Cluster, Matrix: m, Promotion: promotion, Observed: j.traffic[o]}
}

// overlay assembles the report of one overlay: the head compared with the
// base, then judged by the rules and the expectations; with a baseline
// (see refs.baseline), its findings marked new or existing against the
// base's.
func (j *judge) overlay(ctx context.Context, rs *refs, pr pair, c computed, baseline string, fields *fieldLiner, digests bool) (model.OverlayReport, error) {
	o := pr.head
	or := model.OverlayReport{Name: o.Name, Environment: o.Environment, Path: o.Path, Findings: []model.Finding{}}
	switch {
	case pr.removed:
		or.Findings = append(or.Findings, removedFinding(o))
	case pr.dropped:
		or.Findings = append(or.Findings, unconfiguredFinding(o))
	case pr.unjudged != nil:
		or.Findings = append(or.Findings, unjudgedFinding(*pr.unjudged))
	}
	switch {
	case pr.removed:
		// Argo CD prunes what an overlay deployed when it goes: every
		// flow of the base is removed.
		or.Matrix = &model.Matrix{}
	case o.Err != nil:
		or.Error = o.Err.Error()
	default:
		or.Matrix = c.matrices[o.Cluster]
		// The observed traffic is part of the rules' input.
		or.Traffic = j.observe(o, or.Matrix, c.baseMatrix(pr.base))
	}
	// The diff and the digest run beside the rules, which have parts that
	// use one core.
	var wg sync.WaitGroup
	if or.Matrix != nil {
		wg.Go(func() { or.Diff = c.compare(ctx, pr.base, or.Matrix) })
	}
	judged := !pr.removed && o.Err == nil
	if judged && digests {
		wg.Go(func() { or.InputDigest = o.Digest(ctx) })
	}
	hf, bf, err := j.evaluate(ctx, rs, baseline, pr, c)
	wg.Wait()
	if err == nil {
		err = ctx.Err() // the diff or the digest gave up: no report without them
	}
	if err != nil {
		return or, err
	}
	if judged {
		findings, checked := j.judgeOverlay(rs, o, or.Matrix, hf, fields)
		or.Findings = append(or.Findings, findings...)
		or.Expectations = checked
	}
	if baseline != "" {
		or.Findings, or.Resolved = policy.Baseline(or.Findings, j.baseFindings(rs, baseline, pr, c, bf))
	}
	return or, nil
}

// compare diffs the head's matrix with the base's; no base, no diff. It
// gives up, with nil, when ctx ends (the caller reports ctx.Err()).
func (c computed) compare(ctx context.Context, base *Overlay, head *model.Matrix) *model.Diff {
	if base == nil || base.Cluster == nil {
		return nil
	}
	d, err := reach.DiffContext(ctx, c.baseMatrix(base), head)
	if err != nil {
		return nil
	}
	return d
}

// baseMatrix is the base overlay's matrix; nil without a base.
func (c computed) baseMatrix(base *Overlay) *model.Matrix {
	if base == nil || base.Cluster == nil {
		return nil
	}
	return c.matrices[base.Cluster]
}

// judgeOverlay collects the findings of one rendered head overlay: its
// input errors, the rules' findings fs and the connectivity expectations;
// and how many expectations were checked.
func (j *judge) judgeOverlay(rs *refs, o *Overlay, m *model.Matrix, fs []model.Finding, fields *fieldLiner) ([]model.Finding, int) {
	findings := o.Findings()
	// A rule names the object and the field to fix; point at the field's
	// line.
	locs := make([]model.Location, 0, len(fs))
	for _, f := range fs {
		if f.Field != "" {
			locs = append(locs, f.Location)
		}
	}
	fields.read(locs)
	for i := range fs {
		fs[i].Location.Line = fields.line(fs[i].Location, fs[i].Field)
	}
	findings = append(findings, fs...)
	failed, checked := expectations(rs.head, o, m)
	findings = append(findings, failed...)
	// Expectations stay editable in a pull request, but one it weakens is
	// a finding, judged against the base's.
	if j.ws == rs.base {
		if _, ok := rs.base.Config.Overlay(o.Name); ok {
			baseExp, _ := readExpectations(rs.base, &Overlay{Name: o.Name, Path: o.Path})
			headExp, _ := readExpectations(rs.head, o)
			findings = append(findings, policy.Weakened(o.Name, baseExp, headExp)...)
		}
	}
	return findings, checked
}

// promotion finds an overlay that promotes to name, rendered at the head.
func (c computed) promotion(ws *Workspace, name string) *policy.Promotion {
	return promotionIn(ws, name, c.heads)
}

// basePromotion is promotion at the base.
func (c computed) basePromotion(ws *Workspace, name string) *policy.Promotion {
	return promotionIn(ws, name, c.bases)
}

func promotionIn(ws *Workspace, name string, matrices map[string]*model.Matrix) *policy.Promotion {
	for _, from := range ws.Config.Overlays {
		if from.PromotesTo == name && matrices[from.Name] != nil {
			return &policy.Promotion{From: from.Name, Matrix: matrices[from.Name]}
		}
	}
	return nil
}

// baseline says what the head's findings are compared with: "base" when
// the base is judged by the same rules to tell new findings from existing
// ones; a sentence saying why not for a base that has not adopted
// reachgate (every finding is then new); "" without a base.
func (rs *refs) baseline(j *judge) string {
	switch {
	case rs.base == nil:
		return ""
	case j.ws == rs.head && j.from != "head":
		return "none: the base has not adopted reachgate, so every finding is new"
	}
	return "base"
}

// baseFindings are the findings the base's overlay gets from the same
// rules (fs, from evaluate), which the head's are marked new or existing
// against. An overlay new in the head, or a base that has not adopted
// reachgate, has none: every finding is then new.
func (j *judge) baseFindings(rs *refs, mode string, pr pair, c computed, fs []model.Finding) []model.Finding {
	b := pr.base
	if mode != "base" || b == nil || b.Cluster == nil {
		return nil
	}
	o := &Overlay{Name: pr.head.Name, Environment: pr.head.Environment, Path: b.Path, Cluster: b.Cluster, Problems: b.Problems}
	exp, _ := expectations(rs.base, o, c.matrices[b.Cluster])
	return append(append(o.Findings(), fs...), exp...)
}
