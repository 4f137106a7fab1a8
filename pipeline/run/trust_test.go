package run_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

// The attacks of a hostile pull request on the configuration that judges
// it: each is a commit on a branch of a real git repository, judged with
// --base main.

func ruleIDs(fs []model.Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.RuleID)
	}
	return ids
}

func allFindings(r *model.Report) []model.Finding {
	var out []model.Finding
	for _, o := range r.Overlays {
		out = append(out, o.Findings...)
	}
	return out
}

func editFile(t *testing.T, dir, name string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	s := edit(string(b))
	require.NotEqual(t, string(b), s, "%s: the edit changed nothing", name)
	writeFile(t, dir, name, s)
}

// TestHeadCannotMoveAnOverlay: the pull request copies overlays/prod to
// overlays/prod-v2, points prod at the copy in its reachgate.yaml, and
// changes overlays/prod, which Argo CD syncs. The base's configuration
// judges overlays/prod, the configuration change is a finding with its
// diff, and the copy, which the ApplicationSet deploys too, is judged as
// an unjudged directory.
func TestHeadCannotMoveAnOverlay(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	saved := t.TempDir()
	copyTree(t, saved, "overlays/prod")
	prodChange(t, dir)
	require.NoError(t, os.Rename(filepath.Join(saved, "overlays/prod"), filepath.Join(dir, "overlays/prod-v2")))
	editFile(t, dir, "reachgate.yaml", func(s string) string {
		return strings.Replace(s, "path: overlays/prod\n", "path: overlays/prod-v2\n", 1)
	})
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "prod moves")

	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	prod := overlayReport(t, r, "prod")
	assert.Equal(t, "overlays/prod", prod.Path, "the base says where prod is")
	require.NotNil(t, prod.Diff)
	assert.Len(t, prod.Diff.Added, 1, "the change to overlays/prod is seen")
	assert.Contains(t, ruleIDs(prod.Findings), "NP016")

	changed := findingsOf(r, "dev", "config/changed")
	require.Len(t, changed, 1, "the configuration change is a finding: %v", ruleIDs(allFindings(r)))
	assert.Equal(t, model.SeverityError, changed[0].Severity)
	assert.Equal(t, "reachgate.yaml", changed[0].Location.File)
	assert.Contains(t, r.ConfigDiff, "-    path: overlays/prod\n+    path: overlays/prod-v2\n")

	v2 := overlayReport(t, r, "overlays/prod-v2")
	require.Len(t, findingsOf(r, "overlays/prod-v2", "overlay/unjudged"), 1)
	f := findingsOf(r, "overlays/prod-v2", "overlay/unjudged")[0]
	assert.Equal(t, "argocd/applicationset.yaml", f.Location.File)
	assert.Contains(t, f.Message, "ApplicationSet argocd/reachgate-environments deploys overlays/prod-v2")
	assert.NotNil(t, v2.Matrix, "the unjudged directory is rendered and judged")
	assert.True(t, r.Failed())

	var md bytes.Buffer
	require.NoError(t, report.Write(&md, "markdown", r, report.Options{}))
	assert.Contains(t, md.String(), "**Configuration changed in this pull request:**")
	assert.Contains(t, md.String(), "+    path: overlays/prod-v2")
}

// TestHeadCannotRenameTheInternet: the pull request opens backend-api to
// the internet and hides it by renaming the internet external, rewriting
// the expectations to the new name and dropping promotion. The base's
// externals and promotion judge, the rewritten expectations name an
// unknown peer, and the denies they dropped are weakened expectations.
func TestHeadCannotRenameTheInternet(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "feature")
	editFile(t, dir, "reachgate.yaml", func(s string) string {
		s = strings.Replace(s, "  - name: internet\n", "  - name: everyone\n", 1)
		return strings.Replace(s, "    promotesTo: prod\n", "", 1)
	})
	editFile(t, dir, "overlays/prod/expectations.yaml", func(s string) string {
		s = strings.ReplaceAll(s, "{from: internet, to: app/backend-api", "{from: everyone, to: app/frontend")
		return strings.ReplaceAll(s, "internet", "everyone")
	})
	writeFile(t, dir, "overlays/prod/public.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-backend-api-from-anywhere
spec:
  podSelector: {matchLabels: {app: backend-api}}
  policyTypes: [Ingress]
  ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
      ports: [{protocol: TCP, port: 3000}]
`)
	editFile(t, dir, "overlays/prod/kustomization.yaml", func(s string) string {
		return strings.Replace(s, "  - network-policies-partners.yaml\n", "  - network-policies-partners.yaml\n  - public.yaml\n", 1)
	})
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "a public API")

	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	ids := ruleIDs(overlayReport(t, r, "prod").Findings)
	assert.Contains(t, ids, "NP008", "the base's internet judges")
	assert.Contains(t, ids, "NP017", "the base's promotion judges")
	assert.Contains(t, ids, "expect/unknown-peer", "the head's new name means nothing to the base's configuration")
	weakened := findingsOf(r, "prod", "expect/weakened")
	var msgs []string
	for _, f := range weakened {
		msgs = append(msgs, f.Message)
	}
	assert.Contains(t, strings.Join(msgs, "\n"), "the head removes the expectation that internet -> app/backend-api is denied")
	assert.Len(t, findingsOf(r, "dev", "config/changed"), 1)
	assert.True(t, r.Failed())

	// A weakened expectation is waivable from the base, like the change to
	// the configuration; a failed one is not.
	git(t, dir, "checkout", "-q", "main")
	writeFile(t, dir, "waivers.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - {rule: expect/weakened, object: Expectations/prod, reason: the API goes public, owner: team-api, expires: "2026-12-31"}
  - {rule: expect/deny, object: "*/*", reason: tries to waive a failed expectation, owner: team-api, expires: "2026-12-31"}
`)
	git(t, dir, "add", "waivers.yaml")
	git(t, dir, "commit", "-qm", "waive")
	r, err = run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	for _, f := range findingsOf(r, "prod", "expect/weakened") {
		assert.NotNil(t, f.Waived, "%s", f.Message)
	}
	for _, f := range findingsOf(r, "prod", "expect/deny") {
		assert.Nil(t, f.Waived, "%s", f.Message)
	}
}

// TestBrokenHeadConfigIsJudgedByTheBase: a head whose reachgate.yaml does
// not parse is still judged, by the base's, and the breakage is named.
func TestBrokenHeadConfigIsJudgedByTheBase(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "feature")
	editFile(t, dir, "reachgate.yaml", func(s string) string { return s + "\nfailOn: never\n" })
	git(t, dir, "commit", "-qam", "broken config")
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	require.Len(t, r.Overlays, len(repoOverlays(t)))
	changed := findingsOf(r, "dev", "config/changed")
	require.Len(t, changed, 1)
	assert.Contains(t, changed[0].Message, `the head's version is not valid either`)
	assert.Contains(t, changed[0].Message, `failOn`)

	_, err = run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", RulesFrom: "head", Now: now})
	require.Error(t, err, "the head's own configuration cannot judge when it is broken")
}

// TestFailOnComesFromTheBase: the base's failOn is the least strict the
// gate fails at; the flag only makes it stricter.
func TestFailOnComesFromTheBase(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	editFile(t, dir, "reachgate.yaml", func(s string) string { return s + "\nfailOn: info\n" })
	git(t, dir, "commit", "-qam", "strict")
	git(t, dir, "checkout", "-qb", "feature")
	editFile(t, dir, "reachgate.yaml", func(s string) string { return strings.Replace(s, "failOn: info", "failOn: error", 1) })
	git(t, dir, "commit", "-qam", "loosen")
	var out, errOut bytes.Buffer
	err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now, FailOn: "error", Format: "json"}, &out, &errOut)
	require.Error(t, err)
	r, rerr := report.ReadJSON(&out)
	require.NoError(t, rerr)
	assert.Equal(t, model.SeverityInfo, r.FailOn, "the base's failOn: info judges, not the head's or the flag's error")
	assert.ErrorContains(t, err, "findings at or above info", "the failure names the failOn that judged")
}
