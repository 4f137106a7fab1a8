package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/gitref"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
)

// HistoryParams are the options of `reachgate history`.
type HistoryParams struct {
	Common
	Overlay string
	// Since keeps the changes from that day on (YYYY-MM-DD, UTC, or
	// RFC 3339); "" = all.
	Since string
	// Until is the ref whose first-parent history is read; "" = HEAD.
	Until  string
	Format string
}

// History prints how an overlay's reachability changed, commit by commit,
// on the first-parent history of a branch.
func History(ctx context.Context, p HistoryParams, w, stderr io.Writer) error {
	format := formatOr(p.Format, "md")
	if !slices.Contains(report.HistoryFormats(), format) {
		return inputError(fmt.Errorf("--format %q: want one of %s", format, joinNames(report.HistoryFormats())))
	}
	h, err := BuildHistory(ctx, p)
	if err != nil {
		return err
	}
	return report.WriteHistory(w, format, h)
}

// ParseDay reads a date as YYYY-MM-DD (midnight UTC) or RFC 3339.
func ParseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

// histState is an overlay rendered at one commit.
type histState struct {
	present bool
	err     string
	cluster *model.Cluster
	// inputs are the repository paths the render read (with the
	// configuration file); tops their first path elements, the part of
	// the tree read from git and digested.
	inputs, tops []string
	digest       string
}

// historian renders an overlay at the commits of a history, reading from
// git only the top-level directories the overlay's render reads, and
// caching renders by the digest of those directories' content.
type historian struct {
	ctx context.Context
	git *gitref.Batch
	p   HistoryParams
	// cache holds renders by the digest of what they read; inputSets
	// are the distinct sets of paths cached renders read.
	cache     map[string]*histState
	inputSets [][]string
	rendered  int
}

// BuildHistory walks the first-parent history of Until, renders the
// overlay at every commit that changed what the previous render read,
// and diffs the reachability of each with the one before.
func BuildHistory(ctx context.Context, p HistoryParams) (*model.History, error) {
	dir, err := repoDir(p.Dir)
	if err != nil {
		return nil, err
	}
	repo, err := gitref.Open(dir)
	if err != nil {
		return nil, inputError(fmt.Errorf("history needs a git repository: %w", err))
	}
	var since time.Time
	if p.Since != "" {
		if since, err = ParseDay(p.Since); err != nil {
			return nil, inputError(fmt.Errorf("--since: %w", err))
		}
	}
	until := p.Until
	if until == "" {
		until = "HEAD"
	}
	sha, err := repo.Resolve(until)
	if err != nil {
		return nil, inputError(fmt.Errorf("--until: %w", err))
	}
	if repo.IsShallow() {
		return nil, inputError(errors.New("history needs the whole history, and this clone is shallow: fetch with fetch-depth: 0"))
	}
	commits, err := repo.FirstParentLog(ctx, sha)
	if err != nil {
		return nil, err
	}
	h := &model.History{Overlay: p.Overlay, Environment: p.Overlay, Until: model.RefInfo{Ref: until, Commit: sha}, Since: since,
		Commits: len(commits), Entries: []model.HistoryEntry{}}
	batch, err := repo.OpenBatch(ctx)
	if err != nil {
		return nil, err
	}
	defer batch.Close()
	hs := &historian{ctx: ctx, git: batch, p: p, cache: map[string]*histState{}}

	// The state before the period is the baseline: rendered once.
	first := 0
	var cur *histState
	if !since.IsZero() {
		first = len(commits)
		for i, c := range commits {
			if !c.Date.Before(since) {
				first = i
				break
			}
		}
		if first > 0 {
			if cur, err = hs.state(commits[first-1].SHA, nil); err != nil {
				return nil, err
			}
		}
	}
	lastGood := cur
	if lastGood != nil && !lastGood.present {
		lastGood = nil
	}
	for _, c := range commits[first:] {
		if cur != nil && untouched(c.Files, cur.inputs) {
			continue
		}
		var tops []string
		if cur != nil {
			tops = cur.tops
		}
		next, err := hs.state(c.SHA, tops)
		if err != nil {
			return nil, err
		}
		if cur != nil && next.digest == cur.digest && next.present == cur.present && next.err == cur.err {
			cur = next
			continue
		}
		e := model.HistoryEntry{Commit: c.SHA, Author: c.Author, Date: c.Date, Subject: c.Subject, PR: prNumber(c.Subject), InputDigest: next.digest}
		switch {
		case next.err != "":
			e.Event, e.Error = "error", next.err
		case !next.present && lastGood != nil:
			e.Event = "removed"
			if e.Diff, err = diffClusters(ctx, lastGood.cluster, nil); err != nil {
				return nil, err
			}
			lastGood = nil
		case !next.present:
			cur = next
			continue // not there before either
		case lastGood == nil:
			e.Event = "created"
			if e.Diff, err = diffClusters(ctx, nil, next.cluster); err != nil {
				return nil, err
			}
			lastGood = next
		default:
			e.Event = "changed"
			if e.Diff, err = diffClusters(ctx, lastGood.cluster, next.cluster); err != nil {
				return nil, err
			}
			lastGood = next
		}
		h.Entries = append(h.Entries, e)
		cur = next
	}
	h.Rendered = hs.rendered
	if name, env, dir, err := hs.target(sha); err == nil {
		h.Overlay, h.Environment, h.Path = name, env, dir
	}
	return h, nil
}

// diffClusters is the reachability difference from cluster a to b; a nil
// cluster has no flows. It stops, with ctx's error, when ctx ends.
func diffClusters(ctx context.Context, a, b *model.Cluster) (*model.Diff, error) {
	from, to := &model.Matrix{}, &model.Matrix{}
	var err error
	switch {
	case a != nil && b != nil:
		var ms []*model.Matrix
		if ms, err = reach.ComputeAllContext(ctx, a, b); err == nil {
			from, to = ms[0], ms[1]
		}
	case a != nil:
		from, err = reach.ComputeContext(ctx, a)
	case b != nil:
		to, err = reach.ComputeContext(ctx, b)
	}
	if err != nil {
		return nil, err
	}
	return reach.DiffContext(ctx, from, to)
}

// target resolves the overlay at a commit, for the heading.
func (hs *historian) target(sha string) (name, env, dir string, err error) {
	fs, err := hs.git.Tree(sha, configFile(hs.p.Config))
	if err != nil {
		return "", "", "", err
	}
	ws := &Workspace{FS: fs, Root: "/"}
	if err := ws.loadConfig(hs.p.Config); err != nil {
		return "", "", "", err
	}
	if o, ok := ws.Config.Overlay(hs.p.Overlay); ok {
		return o.Name, o.Environment, o.Path, nil
	}
	return hs.p.Overlay, hs.p.Overlay, hs.p.Overlay, nil
}

func configFile(p string) string {
	if p == "" {
		return config.FileName
	}
	return p
}

// state renders the overlay at commit sha, reading only tops from git
// (all of the tree when tops is nil, or when the render reads outside
// them). A render is a function of the content of the paths it read: a
// commit where those paths hold what they held for a cached render (its
// digest over them is the same) renders the same, and is not rendered
// again.
func (hs *historian) state(sha string, tops []string) (*histState, error) {
	for _, set := range hs.inputSets {
		digest, err := hs.git.Digest(sha, set...)
		if err != nil {
			return nil, err
		}
		if st, ok := hs.cache[digest]; ok {
			return st, nil
		}
	}
	st, err := hs.render(sha, tops)
	if err != nil {
		return nil, err
	}
	if tops != nil && !subset(st.tops, tops) {
		if st, err = hs.render(sha, nil); err != nil {
			return nil, err
		}
	}
	if st.digest, err = hs.git.Digest(sha, st.inputs...); err != nil {
		return nil, err
	}
	hs.cache[st.digest] = st
	if !slices.ContainsFunc(hs.inputSets, func(s []string) bool { return slices.Equal(s, st.inputs) }) {
		// The most recent first: the next commit most likely reads what
		// this one read.
		hs.inputSets = append([][]string{st.inputs}, hs.inputSets...)
	}
	return st, nil
}

func (hs *historian) render(sha string, tops []string) (*histState, error) {
	if err := hs.ctx.Err(); err != nil {
		return nil, err
	}
	hs.rendered++
	cfg := configFile(hs.p.Config)
	fs, err := hs.git.Tree(sha, tops...)
	if err != nil {
		return nil, err
	}
	st := &histState{inputs: []string{cfg}}
	ws := &Workspace{FS: fs, Root: "/", Ref: model.RefInfo{Ref: sha, Commit: sha}}
	if err := ws.loadConfig(hs.p.Config); err != nil {
		st.err = err.Error()
	} else if _, _, dir, err := ws.Target(hs.p.Overlay); err != nil {
		// Not there (yet, or any more): watch where it would be.
		if o, ok := ws.Config.Overlay(hs.p.Overlay); ok {
			st.inputs = append(st.inputs, o.Path)
		} else {
			st.inputs = append(st.inputs, path.Clean(hs.p.Overlay))
		}
	} else {
		o, read := ws.loadRecorded(hs.ctx, hs.p.Overlay)
		st.inputs = append(st.inputs, read...)
		st.inputs = append(st.inputs, dir)
		switch {
		case o.Err != nil:
			st.err = o.Err.Error()
		default:
			st.present, st.cluster = true, o.Cluster
		}
	}
	st.inputs = slices.DeleteFunc(st.inputs, func(p string) bool { return p == "." || p == "" })
	slices.Sort(st.inputs)
	st.inputs = slices.Compact(st.inputs)
	for _, in := range st.inputs {
		top, _, _ := strings.Cut(in, "/")
		if top != "" && top != "." {
			st.tops = append(st.tops, top)
		}
	}
	slices.Sort(st.tops)
	st.tops = slices.Compact(st.tops)
	return st, nil
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// prSubject finds the pull request a commit subject names: GitHub's merge
// commits ("Merge pull request #42 from ...") and squash merges ("Add
// worker (#42)").
var prSubject = regexp.MustCompile(`^Merge pull request #([0-9]+)\b|\(#([0-9]+)\)\s*$`)

func prNumber(subject string) int {
	m := prSubject.FindStringSubmatch(subject)
	if m == nil {
		return 0
	}
	s := m[1]
	if s == "" {
		s = m[2]
	}
	n, _ := strconv.Atoi(s)
	return n
}
