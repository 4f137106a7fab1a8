package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/github"
	"github.com/reachgate/reachgate/pipeline/gitref"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/report"
)

// ReviewParams are the options of `reachgate review`.
type ReviewParams struct {
	Common
	Format string
	// Kubeconfig, when set, audits the Audit overlays live: "OVERLAY" (the
	// current context) or "OVERLAY=CONTEXT".
	Kubeconfig string
	Audit      []string
	// Publishing: with Repo ("owner/name") and Token the review is kept as
	// one sticky issue, found by Marker and written by Author (default:
	// the token's identity).
	Repo, Token, APIURL, Author, Marker string
	Now                                 time.Time
}

// Review lists what is due for a person to look at and, when asked,
// keeps it as one sticky GitHub issue, closed when nothing is due.
func Review(ctx context.Context, p ReviewParams, w, stderr io.Writer) error {
	format := formatOr(p.Format, "md")
	if !slices.Contains(report.ReviewFormats(), format) {
		return inputError(fmt.Errorf("--format %q: want one of %s", format, joinNames(report.ReviewFormats())))
	}
	if len(p.Audit) > 0 && p.Kubeconfig == "" {
		return inputError(errors.New("--audit needs --kubeconfig"))
	}
	r, err := BuildReview(ctx, p)
	if err != nil {
		return err
	}
	marker := p.Marker
	if marker == "" {
		marker = "reachgate:policy-review"
	}
	if err := report.WriteReview(w, format, r, report.Options{}); err != nil {
		return err
	}
	if p.Repo == "" {
		return nil
	}
	owner, repo, ok := strings.Cut(p.Repo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return inputError(fmt.Errorf("--repo %q: want owner/name", p.Repo))
	}
	if p.Token == "" {
		return inputError(errors.New("publishing the review needs a token in GITHUB_TOKEN"))
	}
	c, err := github.New(github.Options{BaseURL: p.APIURL, Token: p.Token, Owner: owner, Repo: repo, Marker: marker, CommentAuthor: p.Author,
		Logf: func(f string, args ...any) { fmt.Fprintf(stderr, f+"\n", args...) }})
	if err != nil {
		return inputError(err)
	}
	var body strings.Builder
	if err := report.WriteReview(&body, "md", r, report.Options{}); err != nil {
		return err
	}
	var res github.IssueResult
	if r.Due() {
		res, err = c.UpsertIssue(ctx, report.ReviewTitle(r), body.String())
	} else {
		res, err = c.CloseIssue(ctx, body.String())
	}
	if err != nil {
		return err
	}
	switch res.Action {
	case github.IssueNone:
		fmt.Fprintln(stderr, "review: nothing due, no issue open")
	default:
		fmt.Fprintf(stderr, "review: issue #%d %s: %s\n", res.Number, res.Action, res.URL)
	}
	return nil
}

// BuildReview gathers what is due at the work tree's HEAD.
func BuildReview(ctx context.Context, p ReviewParams) (*model.Review, error) {
	ws, err := p.open()
	if err != nil {
		return nil, err
	}
	repo, err := gitref.Open(ws.Root)
	if err != nil {
		return nil, inputError(fmt.Errorf("review needs a git repository: %w", err))
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	head, _ := repo.Resolve("HEAD")
	r := &model.Review{At: now, Ref: model.RefInfo{Ref: "HEAD", Commit: head}, MaxAge: ws.Config.Review.MaxAge,
		ExpiringWithin: ws.Config.Review.ExpiringWithin,
		Waivers:        []model.ReviewWaiver{}, Stale: []model.StaleFile{}, Failing: []model.ReviewFinding{}, Drift: []model.ReviewDrift{}}

	_, waivers, err := loadRules(ws, now)
	if err != nil {
		return nil, err
	}
	r.Waivers = dueWaivers(waivers, now, ws.Config.ReviewExpiringWithin())

	if r.Stale, err = staleFiles(ctx, ws, repo, now); err != nil {
		return nil, err
	}

	rep, err := BuildReport(ctx, CheckParams{Common: p.Common, Base: "none", Now: now})
	if err != nil {
		return nil, err
	}
	for _, o := range rep.Overlays {
		if o.Error != "" {
			r.Failing = append(r.Failing, model.ReviewFinding{Overlay: o.Name, Finding: model.Finding{RuleID: "overlay/error", Severity: model.SeverityError, Message: o.Error, Controls: []string{}}})
		}
		for _, f := range o.Findings {
			if f.Waived == nil && f.Severity >= model.SeverityError {
				r.Failing = append(r.Failing, model.ReviewFinding{Overlay: o.Name, Finding: f})
			}
		}
	}

	for _, a := range p.Audit {
		overlay, kctx, _ := strings.Cut(a, "=")
		d := model.ReviewDrift{Overlay: overlay, Cluster: kctx}
		au, err := BuildAudit(ctx, AuditParams{Common: p.Common, Overlay: overlay, Kubeconfig: p.Kubeconfig, Context: kctx, Now: now})
		if err != nil {
			d.Error = err.Error()
		} else {
			d.Cluster, d.Summary, d.Drifted = au.Cluster, report.AuditVerdict(au), au.Drifted()
		}
		r.Drift = append(r.Drift, d)
	}
	return r, nil
}

// dueWaivers are the waivers that expired or expire within window.
func dueWaivers(ws []model.Waiver, now time.Time, window time.Duration) []model.ReviewWaiver {
	out := []model.ReviewWaiver{}
	today := now.UTC().Truncate(24 * time.Hour)
	for _, w := range ws {
		if w.Expires == "" {
			continue
		}
		exp, err := time.Parse(time.DateOnly, w.Expires)
		if err != nil {
			continue // ParseWaivers refuses these
		}
		days := int(math.Round(exp.Sub(today).Hours() / 24))
		if exp.Sub(today) <= window {
			out = append(out, model.ReviewWaiver{Waiver: w, Expired: exp.Before(today), Days: days})
		}
	}
	slices.SortStableFunc(out, func(a, b model.ReviewWaiver) int { return a.Days - b.Days })
	return out
}

// staleFiles are the files of NetworkPolicies and expectations of every
// configured overlay whose last commit is older than the review age.
func staleFiles(ctx context.Context, ws *Workspace, repo *gitref.Repo, now time.Time) ([]model.StaleFile, error) {
	type entry struct {
		kind              string
		objects, overlays map[string]bool
	}
	files := map[string]*entry{}
	add := func(file, kind, object, overlay string) {
		e, ok := files[file]
		if !ok {
			e = &entry{kind: kind, objects: map[string]bool{}, overlays: map[string]bool{}}
			files[file] = e
		}
		e.objects[object] = true
		e.overlays[overlay] = true
	}
	for _, oc := range ws.Config.Overlays {
		o := ws.Load(ctx, oc.Name)
		if o.Err != nil || o.Cluster == nil {
			continue // reported as failing
		}
		for _, pol := range o.Cluster.Policies {
			if pol.Source.File != "" {
				add(pol.Source.File, "policies", pol.Key(), oc.Name)
			}
		}
		exp := oc.Expectations
		if exp == "" {
			exp = path.Join(oc.Path, "expectations.yaml")
		}
		if _, ok, _ := ws.ReadFile(exp); ok {
			add(exp, "expectations", oc.Name, oc.Name)
		}
	}
	maxAge := ws.Config.ReviewAge()
	out := []model.StaleFile{}
	for _, file := range slices.Sorted(maps.Keys(files)) {
		c, ok, err := repo.LastChange(ctx, "HEAD", file)
		if err != nil {
			return nil, err
		}
		if !ok || now.Sub(c.Date) <= maxAge {
			continue
		}
		e := files[file]
		out = append(out, model.StaleFile{File: file, Kind: e.kind, Objects: slices.Sorted(maps.Keys(e.objects)),
			Overlays: slices.Sorted(maps.Keys(e.overlays)), LastChange: c.Date, Author: c.Author, Commit: c.SHA})
	}
	return out, nil
}
