package run_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

// gitAs runs git as author on date (also the commit date).
func gitAs(t testing.TB, dir, author, date string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	email := strings.ToLower(strings.Fields(author)[0]) + "@example.com"
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME="+author, "GIT_AUTHOR_EMAIL="+email, "GIT_COMMITTER_NAME="+author,
		"GIT_COMMITTER_EMAIL="+email, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
}

// workerToPostgres opens app/worker -> app/postgres on a port: an egress
// and an ingress policy, added to the prod overlay.
func workerToPostgres(port string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-worker-to-postgres}
spec:
  podSelector: {matchLabels: {app: worker}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app: postgres}}}]
      ports: [{port: %[1]s, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-postgres-from-worker}
spec:
  podSelector: {matchLabels: {app: postgres}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: worker}}}]
      ports: [{port: %[1]s, protocol: TCP}]
`, port)
}

func addResource(t testing.TB, dir, overlay, file string) {
	t.Helper()
	k := filepath.Join(dir, "overlays", overlay, "kustomization.yaml")
	b, err := os.ReadFile(k)
	require.NoError(t, err)
	s := strings.Replace(string(b), "resources:\n", "resources:\n  - "+file+"\n", 1)
	require.NoError(t, os.WriteFile(k, []byte(s), 0o644))
}

// historyRepo is a repository whose main branch has a merged pull
// request, squash merges, a revert, a commit that breaks the overlay and
// commits that do not touch it.
func historyRepo(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	gitAs(t, dir, "Seed", "2026-11-01T10:00:00Z", "init", "-q", "-b", "main")
	copyTree(t, dir, policyPaths...)
	gitAs(t, dir, "Seed", "2026-11-01T10:00:00Z", "add", ".")
	gitAs(t, dir, "Seed", "2026-11-01T10:00:00Z", "commit", "-qm", "Policies")
	writeFile(t, dir, "README.md", "docs\n")
	gitAs(t, dir, "Carol Docs", "2026-11-10T10:00:00Z", "add", ".")
	gitAs(t, dir, "Carol Docs", "2026-11-10T10:00:00Z", "commit", "-qm", "Add a README (#41)")

	gitAs(t, dir, "Alice Example", "2026-11-29T09:00:00Z", "checkout", "-qb", "worker-db")
	writeFile(t, dir, "overlays/prod/worker-db.yaml", workerToPostgres("5432"))
	addResource(t, dir, "prod", "worker-db.yaml")
	gitAs(t, dir, "Alice Example", "2026-11-29T09:00:00Z", "add", ".")
	gitAs(t, dir, "Alice Example", "2026-11-29T09:00:00Z", "commit", "-qm", "Let the worker write to postgres")
	gitAs(t, dir, "Alice Example", "2026-11-29T09:00:00Z", "checkout", "-q", "main")
	gitAs(t, dir, "Dave Merger", "2026-11-30T12:00:00Z", "merge", "-q", "--no-ff", "-m", "Merge pull request #42 from acme/worker-db", "worker-db")

	writeFile(t, dir, "overlays/prod/worker-db.yaml", workerToPostgres("5433"))
	gitAs(t, dir, "Bob Builder", "2026-12-01T08:00:00Z", "commit", "-qam", "Move postgres to 5433 (#43)")
	writeFile(t, dir, "overlays/dev/README.md", "dev only\n")
	gitAs(t, dir, "Bob Builder", "2026-12-01T09:00:00Z", "add", ".")
	gitAs(t, dir, "Bob Builder", "2026-12-01T09:00:00Z", "commit", "-qm", "Document dev (#44)")
	writeFile(t, dir, "overlays/prod/worker-db.yaml", workerToPostgres("5432"))
	gitAs(t, dir, "Bob Builder", "2026-12-02T08:00:00Z", "commit", "-qam", "Revert \"Move postgres to 5433\" (#45)")
	addResource(t, dir, "prod", "missing.yaml")
	gitAs(t, dir, "Eve Hasty", "2026-12-03T08:00:00Z", "commit", "-qam", "Add a file I forgot to commit")
	writeFile(t, dir, "overlays/prod/missing.yaml", "")
	require.NoError(t, os.Remove(filepath.Join(dir, "overlays/prod/missing.yaml")))
	k := filepath.Join(dir, "overlays/prod/kustomization.yaml")
	b, _ := os.ReadFile(k)
	require.NoError(t, os.WriteFile(k, []byte(strings.Replace(string(b), "  - missing.yaml\n", "", 1)), 0o644))
	gitAs(t, dir, "Eve Hasty", "2026-12-03T09:00:00Z", "commit", "-qam", "Fix the build (#46)")
	return dir
}

func history(t testing.TB, p run.HistoryParams) string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, run.History(context.Background(), p, &out, io.Discard))
	return out.String()
}

func TestHistorySynthetic(t *testing.T) {
	t.Parallel()
	dir := historyRepo(t)
	got := history(t, run.HistoryParams{Common: run.Common{Dir: dir}, Overlay: "prod", Since: "2026-11-05", Format: "text"})
	assert.Equal(t, `2026-12-03 #46 (Eve Hasty): no reachability change [`+head(t, dir)+`]
2026-12-03 (Eve Hasty): does not render: `, got[:strings.Index(got, "does not render: ")+len("does not render: ")])
	lines := strings.Split(strings.TrimSpace(got), "\n")
	assert.Contains(t, lines[1], "missing.yaml")
	assert.Equal(t, []string{
		"2026-12-02 #45 (Bob Builder): ~app/worker → app/postgres TCP 5433 → TCP 5432",
		"2026-12-01 #43 (Bob Builder): ~app/worker → app/postgres TCP 5432 → TCP 5433",
		"2026-11-30 #42 (Dave Merger): +app/worker → app/postgres TCP 5432",
	}, lines[2:], "the README and dev-only commits are no change of prod; the baseline before --since is not listed")

	h, err := run.BuildHistory(context.Background(), run.HistoryParams{Common: run.Common{Dir: dir}, Overlay: "prod"})
	require.NoError(t, err)
	assert.Equal(t, 8, h.Commits)
	require.Len(t, h.Entries, 6)
	assert.Equal(t, "created", h.Entries[0].Event)
	assert.Equal(t, "error", h.Entries[4].Event)
	assert.Equal(t, h.Entries[1].InputDigest, h.Entries[3].InputDigest, "the revert restores the inputs of #42")
	assert.Equal(t, h.Entries[1].InputDigest, h.Entries[5].InputDigest)
	// Rendered: the first commit, #42, #43 and the broken one; the revert
	// and the fix read what #42 read, and are found by its digest.
	assert.Equal(t, 4, h.Rendered, "the revert and the fix come from the cache")
}

// TestHistoryGolden is the changelog of this repository's prod overlay
// up to a pinned commit: first-parent history up to a commit never
// changes, so the golden changes only when what reachgate computes or
// prints does.
func TestHistoryGolden(t *testing.T) {
	t.Parallel()
	const pinned = "7b5a8863d6a18ebd6c1680707bc1ed3dbb083890"
	if out, err := exec.Command("git", "-C", repoRoot, "cat-file", "-e", pinned+"^{commit}").CombinedOutput(); err != nil {
		if sh, _ := exec.Command("git", "-C", repoRoot, "rev-parse", "--is-shallow-repository").Output(); strings.TrimSpace(string(sh)) == "true" {
			t.Skip("shallow clone: the pinned commit's history is not here")
		}
		t.Fatalf("pinned commit %s is not in this repository: %s", pinned, out)
	}
	for _, f := range []string{"md"} {
		got := history(t, run.HistoryParams{Common: run.Common{Dir: repoRoot}, Overlay: "prod", Until: pinned, Format: f})
		golden := filepath.Join("testdata", "history", "prod."+f)
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
			require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err)
		assert.Equal(t, string(want), got, "go test ./pipeline/run -run TestHistoryGolden -update rewrites %s", golden)
	}
}

func TestHistoryBadInput(t *testing.T) {
	t.Parallel()
	dir := historyRepo(t)
	for _, c := range []struct {
		p    run.HistoryParams
		want string
	}{
		{run.HistoryParams{Overlay: "prod", Since: "last week"}, `--since: date "last week": want YYYY-MM-DD or RFC 3339`},
		{run.HistoryParams{Overlay: "prod", Until: "nope"}, "--until"},
		{run.HistoryParams{Overlay: "prod", Format: "html"}, `--format "html"`},
	} {
		c.p.Dir = dir
		err := run.History(context.Background(), c.p, io.Discard, io.Discard)
		assert.Equal(t, 2, exitCode(err), c.want)
		assert.ErrorContains(t, err, c.want)
	}
	err := run.History(context.Background(), run.HistoryParams{Common: run.Common{Dir: t.TempDir()}, Overlay: "prod"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "history needs a git repository")
	// An overlay that never existed has no history, and says so by being
	// empty.
	got := history(t, run.HistoryParams{Common: run.Common{Dir: dir}, Overlay: "qa", Format: "text"})
	assert.Empty(t, got)
}

func head(t testing.TB, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short=7", "HEAD").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}
