package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/reachgate/reachgate/pipeline/github"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/verify"
)

// DiffParams are the options of `reachgate diff`.
type DiffParams struct {
	Common
	Base, Head string
	Overlays   []string
	Format     string
}

// Diff prints how reachability changes between two refs, per overlay.
func Diff(ctx context.Context, p DiffParams, w, stderr io.Writer) error {
	if p.Base == "" {
		return inputError(errors.New("diff needs --base REF"))
	}
	rs, err := openRefs(CheckParams{Common: p.Common, Base: p.Base, Head: p.Head})
	if err != nil {
		return err
	}
	if rs.base == nil {
		return inputError(errors.New("diff needs a git repository"))
	}
	names := p.Overlays
	if len(names) == 0 {
		names = rs.head.Config.OverlayNames()
	}
	var heads []*Overlay
	for _, n := range names {
		head, err := loadOne(ctx, rs.head, n, stderr)
		if err != nil {
			return err
		}
		heads = append(heads, head)
		_, _, dir, err := rs.base.Target(n)
		var base *Overlay
		if err == nil {
			base = rs.base.LoadDir(ctx, n, n, dir)
		}
		if base == nil || base.Err != nil {
			fmt.Fprintf(stderr, "%s: not present at %s, everything is new\n", n, p.Base)
			base = &Overlay{Cluster: &model.Cluster{PodCIDRs: head.Cluster.PodCIDRs, ServiceCIDRs: head.Cluster.ServiceCIDRs}}
		}
		ms, err := reach.ComputeAllContext(ctx, base.Cluster, head.Cluster)
		if err != nil {
			return err
		}
		d, err := reach.DiffContext(ctx, ms[0], ms[1])
		if err != nil {
			return err
		}
		if err := report.WriteDiff(w, formatOr(p.Format, "txt"), n, d); err != nil {
			return err
		}
	}
	return leftOut(heads...)
}

// PromoteParams are the options of `reachgate promote`.
type PromoteParams struct {
	Common
	From, To string
	Format   string
}

// Promote prints the reachability difference between two overlays at the
// same ref: what promoting FROM's policies into TO would change. It exits
// 1 when TO allows flows FROM does not (promotion must not open flows).
func Promote(ctx context.Context, p PromoteParams, w, stderr io.Writer) error {
	ws, err := p.open()
	if err != nil {
		return err
	}
	from, err := loadOne(ctx, ws, p.From, stderr)
	if err != nil {
		return err
	}
	to, err := loadOne(ctx, ws, p.To, stderr)
	if err != nil {
		return err
	}
	ms, err := reach.ComputeAllContext(ctx, from.Cluster, to.Cluster)
	if err != nil {
		return err
	}
	d, err := reach.DiffContext(ctx, ms[0], ms[1])
	if err != nil {
		return err
	}
	if err := report.WriteDiff(w, formatOr(p.Format, "txt"), p.From+" -> "+p.To, d); err != nil {
		return err
	}
	if err := leftOut(from, to); err != nil {
		return err
	}
	wider := 0
	for _, c := range d.Changed {
		if !c.After.Ports.Subtract(c.Before.Ports).IsEmpty() {
			wider++
		}
	}
	if n := len(d.Added) + wider; n > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%s allows %d flow(s) that %s does not", p.To, n, p.From)}
	}
	return nil
}

// TestParams are the options of `reachgate test`.
type TestParams struct {
	Common
	Overlays []string
	Verbose  bool
}

// Test runs the Rego unit tests and every overlay's connectivity
// expectations.
func Test(ctx context.Context, p TestParams, w, stderr io.Writer) error {
	ws, err := p.open()
	if err != nil {
		return err
	}
	results, err := policy.RunTestsWith(ctx, ws.FS, ruleDirs(ws), pack(ws))
	if err != nil {
		return inputError(locateConfig(ws.Config, ws.relative(err)))
	}
	passed, failed := 0, 0
	for _, r := range results {
		switch {
		case r.Passed:
			passed++
			if p.Verbose {
				fmt.Fprintf(w, "PASS %s.%s\n", r.Package, r.Name)
			}
		case r.Skipped:
		default:
			failed++
			msg := r.Error
			if msg == "" {
				msg = "evaluated to false"
			}
			fmt.Fprintf(w, "FAIL %s.%s (%s): %s\n", r.Package, r.Name, r.Location, msg)
		}
	}
	fmt.Fprintf(w, "rego: %d passed, %d failed", passed, failed)
	if len(ws.Config.Rules.Paths) == 0 {
		fmt.Fprint(w, " (no rules of your own in rules.paths; the built-in pack is tested with the binary)")
	}
	fmt.Fprintln(w)
	names := p.Overlays
	if len(names) == 0 {
		names = ws.Config.OverlayNames()
	}
	var loaded []*Overlay
	for _, n := range names {
		o := ws.Load(ctx, n)
		if o.Err != nil {
			fmt.Fprintf(w, "FAIL %s: %v\n", n, o.Err)
			failed++
			continue
		}
		printProblems(stderr, o)
		loaded = append(loaded, o)
		m, err := reach.ComputeContext(ctx, o.Cluster)
		if err != nil {
			return err
		}
		fs, _ := expectations(ws, o, m)
		for _, f := range fs {
			fmt.Fprintln(w, "FAIL", f.String())
		}
		failed += len(fs)
		fmt.Fprintf(w, "expectations %s: %s\n", n, map[bool]string{true: "ok", false: fmt.Sprintf("%d failed", len(fs))}[len(fs) == 0])
	}
	if err := leftOut(loaded...); err != nil {
		return err
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d test(s) failed", failed)}
	}
	return nil
}

// RulesParams are the options of `reachgate rules`.
type RulesParams struct {
	Common
	Format string // txt or json
}

// Rules lists the compliance rules with their severity and controls.
func Rules(p RulesParams, w io.Writer) error {
	ws, err := p.open()
	if err != nil {
		return err
	}
	engine, _, err := loadRules(ws, time.Now())
	if err != nil {
		return err
	}
	rules := append(engine.Rules(), engine.Disabled()...)
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	for i := range rules {
		rules[i].Source.File = ws.Rel(rules[i].Source.File)
		if rules[i].Origin == "" {
			rules[i].Origin = path.Dir(rules[i].Source.File)
		}
	}
	if p.Format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"formatVersion": report.FormatVersion, "rules": rules})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE\tFROM\tCONTROLS")
	for _, r := range rules {
		ctl := "-"
		if len(r.Controls) > 0 {
			ctl = joinNames(r.Controls)
		}
		from := r.Origin
		if r.Disabled {
			from += " (disabled)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Title, from, ctl)
	}
	return tw.Flush()
}

// VerifyParams are the options of `reachgate verify`.
type VerifyParams struct {
	Common
	Overlay string
	Cleanup bool // remove leftovers of crashed runs and exit
	Verbose bool
	// RecordFlows writes the probes as Hubble flows to this file.
	RecordFlows string
}

// Verify builds a lab of network namespaces on the local kernel, enforces
// the overlay's policies with nftables and compares what gets through with
// the engine's matrix.
func Verify(ctx context.Context, p VerifyParams, w, stderr io.Writer) error {
	if p.Cleanup {
		return verify.Cleanup(verify.DefaultPrefix)
	}
	if err := verify.CanRun(); err != nil {
		return inputError(fmt.Errorf("verify: %w", err))
	}
	ws, err := p.open()
	if err != nil {
		return err
	}
	o, err := loadOne(ctx, ws, p.Overlay, stderr)
	if err != nil {
		return err
	}
	c, err := verify.AssignAddresses(o.Cluster)
	if err != nil {
		return inputError(err)
	}
	opts := verify.Options{Record: p.RecordFlows != ""}
	if p.Verbose {
		opts.Logf = func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }
	}
	m, err := reach.ComputeContext(ctx, c)
	if err != nil {
		return err
	}
	res, err := verify.Run(ctx, c, m, opts)
	if err != nil {
		return err
	}
	if err := res.WriteText(w); err != nil {
		return err
	}
	if p.RecordFlows != "" {
		if err := recordFlows(p.RecordFlows, res); err != nil {
			return fmt.Errorf("record flows: %w", err)
		}
		fmt.Fprintf(w, "recorded %d flows made by the kernel in %s\n", len(res.Records), p.RecordFlows)
	}
	if err := leftOut(o); err != nil {
		return err
	}
	if !res.OK() {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d mismatch(es) between the engine and the kernel", len(res.Mismatches))}
	}
	return nil
}

// CommentParams are the options of `reachgate comment`.
type CommentParams struct {
	Report string // report.json written by check
	Repo   string // owner/name; default from the GitHub environment
	PR     int    // default from the event
	Marker string
	APIURL string
	// ServerURL is the web root links in the comment point to
	// ($GITHUB_SERVER_URL); "" means https://github.com. The report's own
	// repository and server are not used: the report is not trusted.
	ServerURL string
	Token     string
	// Status also sets a commit status per overlay, on the verified head;
	// it needs ExpectHead.
	Status  bool
	Summary string
	// ExpectHead is the commit the gate ran on, from a trusted source (the
	// workflow_run event's head_sha). The pull request's live head must be
	// this commit, and so must the report's head.commit; otherwise nothing
	// is published. The PR number and the report come from an artifact of
	// the untrusted pull_request job.
	ExpectHead string
	// CommentAuthor is the login whose comments are this tool's (a GitHub
	// App: "APP-SLUG[bot]"); "" means the token's user, or
	// github-actions[bot] when the token may not read it.
	CommentAuthor string
}

// Comment posts (or updates) the sticky pull-request comment from a saved
// report, so a privileged workflow_run job can publish what an unprivileged
// pull_request job computed without checking out its code.
//
// The report is untrusted. Before anything is published, the pull
// request's live head is read from the API; it must equal --expect-head
// when given, and the report's head.commit must equal it. The comment
// then describes that commit, and statuses go to that commit only; its
// links point into --repo on the server, whatever the report says.
func Comment(ctx context.Context, p CommentParams, w, stderr io.Writer) error {
	owner, repo, ok := cutRepo(p.Repo)
	if !ok {
		return inputError(fmt.Errorf("--repo %q: want owner/name", p.Repo))
	}
	if p.PR <= 0 {
		return inputError(errors.New("--pr: the pull request number is required"))
	}
	if p.Status && p.ExpectHead == "" {
		return inputError(errors.New("--status needs --expect-head SHA: statuses go only to the commit the workflow run verified"))
	}
	if p.Token == "" {
		return inputError(errors.New("no token: set GITHUB_TOKEN"))
	}
	f, err := os.Open(p.Report)
	if err != nil {
		return inputError(err)
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", p.Report, err))
	}
	c, err := github.New(github.Options{
		BaseURL: p.APIURL, Token: p.Token, Owner: owner, Repo: repo, PR: p.PR, Marker: p.Marker,
		CommentAuthor: p.CommentAuthor,
		Logf:          func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	})
	if err != nil {
		return inputError(err)
	}

	head, err := c.PullRequestHead(ctx)
	if err != nil {
		return err
	}
	if p.ExpectHead != "" && !strings.EqualFold(head, p.ExpectHead) {
		return inputError(fmt.Errorf("pull request #%d is at %s, not at %s that the report was computed for", p.PR, head, p.ExpectHead))
	}
	if !strings.EqualFold(r.Head.Commit, head) {
		return inputError(fmt.Errorf("%s: the report is for commit %q, not for %s, the head of pull request #%d: refused",
			p.Report, r.Head.Commit, head, p.PR))
	}
	r.Head.Commit = head
	r.Repository = owner + "/" + repo
	r.ServerURL = p.ServerURL

	var body strings.Builder
	if err := report.Write(&body, "markdown", r, report.Options{Marker: "<!-- " + p.Marker + " -->"}); err != nil {
		return err
	}
	if p.Summary != "" {
		if err := github.WriteStepSummary(p.Summary, body.String()); err != nil {
			fmt.Fprintln(stderr, "warning: job summary:", err)
		}
	}
	res, err := c.UpsertComment(ctx, body.String())
	if errors.Is(err, github.ErrReadOnly) {
		fmt.Fprintln(stderr, "warning: the token cannot comment on this pull request (a fork's read-only token?); the report is in the job summary")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "comment %s: %s\n", res.Action, res.URL)
	if p.Status {
		for i := range r.Overlays {
			o := &r.Overlays[i]
			state, desc := "success", "reachability and rules pass"
			if r.OverlayFailed(o) {
				state, desc = "failure", "policy findings at or above "+r.FailOn.String()
			}
			if err := c.SetStatus(ctx, head, "reachgate/"+o.Name, state, desc, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

func cutRepo(s string) (owner, repo string, ok bool) {
	owner, repo, ok = strings.Cut(s, "/")
	return owner, repo, ok && owner != "" && repo != "" && !strings.Contains(repo, "/")
}
