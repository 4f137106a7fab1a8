package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

// reviewRepo has policies committed on 2026-01-05, prod's partner policies
// touched again on 2026-11-20, two waivers (one expired, one expiring in
// 10 days, one far off).
func reviewRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gitAs(t, dir, "Seed", "2026-01-05T10:00:00Z", "init", "-q", "-b", "main")
	copyTree(t, dir, policyPaths...)
	gitAs(t, dir, "Seed", "2026-01-05T10:00:00Z", "add", ".")
	gitAs(t, dir, "Seed", "2026-01-05T10:00:00Z", "commit", "-qm", "Policies")
	writeFile(t, dir, "overlays/prod/network-policies-partners.yaml", "# reviewed\n"+readFile(t, dir, "overlays/prod/network-policies-partners.yaml"))
	writeFile(t, dir, "waivers.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - {rule: NP001, object: NetworkPolicy/app/old, reason: migration, owner: alice, expires: "2026-11-20"}
  - {rule: NP002, object: NetworkPolicy/app/soon, reason: partner cutover, owner: bob, expires: "2026-12-11"}
  - {rule: NP003, object: NetworkPolicy/app/later, reason: long project, owner: carol, expires: "2027-06-01"}
`)
	gitAs(t, dir, "Alice Example", "2026-11-20T10:00:00Z", "commit", "-qam", "Review partner policies (#12)")
	return dir
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return string(b)
}

func TestReviewLists(t *testing.T) {
	t.Parallel()
	dir := reviewRepo(t)
	var out bytes.Buffer
	err := run.Review(context.Background(), run.ReviewParams{Common: run.Common{Dir: dir}, Format: "json", Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, &out, io.Discard)
	require.NoError(t, err)
	var r struct {
		Title   string
		Due     bool
		Waivers []struct {
			Rule    string
			Expired bool
			Days    int
		}
		Stale []struct {
			File, Kind, Author string
			Overlays           []string
		}
		Failing []struct{ Overlay, RuleID string }
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	assert.True(t, r.Due)
	require.Len(t, r.Waivers, 2, "the 2027 waiver is not due")
	assert.Equal(t, "NP001", r.Waivers[0].Rule)
	assert.True(t, r.Waivers[0].Expired)
	assert.Equal(t, -11, r.Waivers[0].Days)
	assert.Equal(t, "NP002", r.Waivers[1].Rule)
	assert.Equal(t, 10, r.Waivers[1].Days)
	var files []string
	for _, s := range r.Stale {
		files = append(files, s.File+" "+s.Kind+" "+strings.Join(s.Overlays, ","))
		assert.Equal(t, "Seed", s.Author)
	}
	assert.Contains(t, files, "overlays/prod/expectations.yaml expectations prod")
	assert.Contains(t, files, "bases/app/network-policies/redis.yaml policies "+strings.Join(slices.Sorted(slices.Values(repoOverlays(t))), ","), "a base file is in every overlay")
	for _, f := range files {
		assert.NotContains(t, f, "network-policies-partners.yaml", "changed 11 days ago")
	}
	assert.Contains(t, r.Title, "Policy review due: 2 waivers, ")

	// A longer review age: nothing is stale.
	writeFile(t, dir, "reachgate.yaml", readFile(t, dir, "reachgate.yaml")+"\nreview:\n  maxAge: 52w\n  expiringWithin: 5d\n")
	out.Reset()
	require.NoError(t, run.Review(context.Background(), run.ReviewParams{Common: run.Common{Dir: dir}, Format: "text", Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, &out, io.Discard))
	assert.NotContains(t, out.String(), "stale:")
	assert.Contains(t, out.String(), "waiver: NP001 on NetworkPolicy/app/old: expired 2026-11-20 (11 days ago), owner alice: migration")
	assert.NotContains(t, out.String(), "NP002", "10 days is outside a 5-day window")
}

func TestReviewBadInput(t *testing.T) {
	t.Parallel()
	dir := reviewRepo(t)
	for _, c := range []struct {
		p    run.ReviewParams
		want string
	}{
		{run.ReviewParams{Format: "html"}, `--format "html"`},
		{run.ReviewParams{Audit: []string{"prod"}}, "--audit needs --kubeconfig"},
		{run.ReviewParams{Repo: "acme"}, `--repo "acme": want owner/name`},
		{run.ReviewParams{Repo: "acme/policies"}, "needs a token in GITHUB_TOKEN"},
	} {
		c.p.Dir = dir
		err := run.Review(context.Background(), c.p, io.Discard, io.Discard)
		assert.Equal(t, 2, exitCode(err), c.want)
		assert.ErrorContains(t, err, c.want)
	}
	writeFile(t, dir, "reachgate.yaml", readFile(t, dir, "reachgate.yaml")+"\nreview: {maxAge: half a year}\n")
	err := run.Review(context.Background(), run.ReviewParams{Common: run.Common{Dir: dir}}, io.Discard, io.Discard)
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, `review.maxAge: "half a year"`)
}
