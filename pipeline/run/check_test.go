package run_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

// repoRoot is this repository, whose overlays, rules and configuration
// the tests copy into throwaway git repositories.
const repoRoot = "../.."

var policyPaths = []string{"bases", "overlays", "policy", "argocd", "reachgate.yaml", "waivers.yaml"}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func copyTree(t testing.TB, dst string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		src := filepath.Join(repoRoot, p)
		err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(repoRoot, path)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			if strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
		})
		require.NoError(t, err)
	}
}

// newRepo makes a git repository holding this repository's policy files
// on main.
func newRepo(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	copyTree(t, dir, policyPaths...)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "policies")
	return dir
}

func writeFile(t testing.TB, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestCheckRepositoryPasses(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	var out, errOut bytes.Buffer
	err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now, Marker: "reachgate:check"}, &out, &errOut)
	require.NoError(t, err, "%s\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "PASS")
	assert.NotContains(t, out.String(), "FAIL")
}

// prodChange opens worker -> postgres:5432 and closes backend-api ->
// rabbitmq:15672 in prod only.
func prodChange(t *testing.T, dir string) {
	git(t, dir, "checkout", "-qb", "feature")
	writeFile(t, dir, "overlays/prod/network-policies-worker-postgres.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-worker-to-postgres
spec:
  podSelector: {matchLabels: {app: worker}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app: postgres}}}]
      ports: [{protocol: TCP, port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-postgres-from-worker
spec:
  podSelector: {matchLabels: {app: postgres}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: worker}}}]
      ports: [{protocol: TCP, port: 5432}]
`)
	writeFile(t, dir, "overlays/prod/patches/remove-rabbitmq-management.yaml", `$patch: delete
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-backend-api-to-rabbitmq-management
  namespace: app
---
$patch: delete
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-rabbitmq-from-backend-api-management
  namespace: app
`)
	k, err := os.ReadFile(filepath.Join(dir, "overlays/prod/kustomization.yaml"))
	require.NoError(t, err)
	s := strings.Replace(string(k), "  - network-policies-partners.yaml\n", "  - network-policies-partners.yaml\n  - network-policies-worker-postgres.yaml\n", 1)
	s = strings.Replace(s, "  - path: patches/remove-internet-egress.yaml\n", "  - path: patches/remove-internet-egress.yaml\n  - path: patches/remove-rabbitmq-management.yaml\n", 1)
	require.NotEqual(t, string(k), s)
	writeFile(t, dir, "overlays/prod/kustomization.yaml", s)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "prod: worker reads postgres; drop rabbitmq management")
}

func TestPullRequestDiffShowsExactlyTheTwoChanges(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	require.Len(t, r.Overlays, len(repoOverlays(t)))
	for _, o := range r.Overlays {
		require.NotNil(t, o.Diff, o.Name)
		if o.Name != "prod" {
			assert.True(t, o.Diff.Empty(), "%s must not change", o.Name)
			continue
		}
		d := o.Diff
		require.Len(t, d.Added, 1)
		assert.Equal(t, "app/worker", d.Added[0].Src.Key())
		assert.Equal(t, "app/postgres", d.Added[0].Dst.Key())
		assert.Equal(t, "TCP 5432", d.Added[0].After.Ports.String())
		require.Len(t, d.Changed, 1)
		assert.Equal(t, "app/backend-api", d.Changed[0].Src.Key())
		assert.Equal(t, "app/rabbitmq", d.Changed[0].Dst.Key())
		assert.Equal(t, "TCP 5672,15672", d.Changed[0].Before.Ports.String())
		assert.Equal(t, "TCP 5672", d.Changed[0].After.Ports.String())
		assert.Empty(t, d.Removed)
		assert.Empty(t, d.WorkloadsAdded)
		assert.Empty(t, d.WorkloadsRemoved)
		// The new flow breaks prod's expectations and the database rule.
		var ids []string
		for _, f := range o.Findings {
			ids = append(ids, f.RuleID)
		}
		assert.Contains(t, ids, "expect/deny")
	}
	r.FailOn = model.SeverityError
	assert.True(t, r.Failed())

	var md bytes.Buffer
	require.NoError(t, report.Write(&md, "markdown", r, report.Options{Marker: "<!-- reachgate:check -->"}))
	comment := md.String()
	assert.True(t, strings.HasPrefix(comment, "<!-- reachgate:check -->"))
	assert.Contains(t, comment, "app/worker")
	assert.Contains(t, comment, "app/postgres")
	assert.Contains(t, comment, "15672")
	assert.Contains(t, comment, "allow-worker-to-postgres")
}

func TestRulesComeFromTheBase(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "weaken")
	// The PR turns off the built-in cloud-metadata rule, deletes the
	// repository's own partner rule and opens metadata and a partner API
	// to the worker in prod.
	cfg, err := os.ReadFile(filepath.Join(dir, "reachgate.yaml"))
	require.NoError(t, err)
	writeFile(t, dir, "reachgate.yaml", strings.Replace(string(cfg), "  # disable: [NP015]", "  disable: [NP009]", 1))
	require.NoError(t, os.Remove(filepath.Join(dir, "policy/custom/partner_egress.rego")))
	writeFile(t, dir, "overlays/prod/metadata.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-worker-to-metadata-and-payments
spec:
  podSelector: {matchLabels: {app: worker}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 169.254.169.254/32}}, {ipBlock: {cidr: 203.0.113.0/24}}]
      ports: [{protocol: TCP, port: 443}]
`)
	k, err := os.ReadFile(filepath.Join(dir, "overlays/prod/kustomization.yaml"))
	require.NoError(t, err)
	writeFile(t, dir, "overlays/prod/kustomization.yaml", strings.Replace(string(k), "  - network-policies-partners.yaml\n", "  - network-policies-partners.yaml\n  - metadata.yaml\n", 1))
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "weaken")

	ruleIDs := func(r *model.Report) []string {
		var ids []string
		for _, o := range r.Overlays {
			if o.Name == "prod" {
				for _, f := range o.Findings {
					ids = append(ids, f.RuleID)
				}
			}
		}
		return ids
	}
	fromBase, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "weaken", Now: now})
	require.NoError(t, err)
	assert.Equal(t, "base", fromBase.RulesFrom)
	assert.Contains(t, fromBase.RulesChanged, model.RuleChange{File: "policy/custom/partner_egress.rego", Change: "removed"})
	assert.Contains(t, fromBase.RulesChanged, model.RuleChange{File: "reachgate.yaml", Change: "modified"})
	baseIDs := ruleIDs(fromBase)
	assert.Contains(t, baseIDs, "NP009", "the base's configuration keeps the built-in rule on")
	assert.Contains(t, baseIDs, "ORG001", "the base's own rule still judges")
	assert.True(t, slices.ContainsFunc(fromBase.Overlays[0].Findings, func(f model.Finding) bool { return f.RuleID == "config/changed" }),
		"the change to the configuration is a finding")

	fromHead, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "weaken", RulesFrom: "head", Now: now})
	require.NoError(t, err)
	headIDs := ruleIDs(fromHead)
	assert.NotContains(t, headIDs, "NP009")
	assert.NotContains(t, headIDs, "ORG001")
}

func TestSeedPoliciesFailTheGate(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "seed")
	// Replace the good policies with the seed's flawed ones (without the
	// seed's own Namespace, which the base already has).
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "bases/app/network-policies")))
	seed, err := os.ReadFile(filepath.Join(repoRoot, "testdata/seed/seed-policies.yaml"))
	require.NoError(t, err)
	docs := strings.Split(strings.TrimPrefix(string(seed), "---\n"), "\n---\n")
	require.Contains(t, docs[0], "kind: Namespace")
	writeFile(t, dir, "bases/app/network-policies/seed-policies.yaml", strings.Join(docs[1:], "\n---\n"))
	k, err := os.ReadFile(filepath.Join(dir, "bases/app/kustomization.yaml"))
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(k), "\n") {
		if !strings.Contains(l, "network-policies/") {
			lines = append(lines, l)
		}
	}
	writeFile(t, dir, "bases/app/kustomization.yaml", strings.Replace(strings.Join(lines, "\n"), "resources:\n", "resources:\n  - network-policies/seed-policies.yaml\n", 1))
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "seed policies")

	var out, errOut bytes.Buffer
	err = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "seed", Now: now, Overlays: []string{"staging"}}, &out, &errOut)
	var ee *run.ExitError
	require.True(t, errors.As(err, &ee), "check must fail: %v\n%s", err, out.String())
	assert.Equal(t, run.ExitInput, ee.Code, "the seed's default-deny-egress is invalid input")
	text := out.String()
	// The invalid policy is named with its field, and the rest still reports.
	assert.Contains(t, text, "default-deny-egress")
	assert.Contains(t, text, "spec.policyTypes")
	assert.Contains(t, text, "NP0", "rule findings still come out")
}

func TestFirstAdoptionUsesTheHeadRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "before reachgate\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "before")
	git(t, dir, "checkout", "-qb", "adopt")
	copyTree(t, dir, policyPaths...)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "adopt reachgate")
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "adopt", Now: now})
	require.NoError(t, err)
	assert.Equal(t, "head (the base has no reachgate.yaml)", r.RulesFrom)
	require.Len(t, r.Overlays, len(repoOverlays(t)))
	for i, o := range r.Overlays {
		assert.Nil(t, o.Diff, "%s is new: there is no base to diff", o.Name)
		assert.False(t, r.OverlayFailed(&r.Overlays[i]), "%s: %v", o.Name, o.Findings)
	}
}

// TestWaiversFromTheBaseAcrossOverlays: a waiver on main accepts the prod
// finding the PR causes; it stays visible as waived, and is not "unused"
// in the overlays where that finding does not occur. A PR cannot add its
// own waiver.
func TestWaiversFromTheBaseAcrossOverlays(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	writeFile(t, dir, "waivers.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - rule: NP016
    object: NetworkPolicy/app/allow-postgres-from-worker
    reason: worker reads reference data during the migration
    owner: team-shop
    expires: "2026-12-31"
`)
	git(t, dir, "commit", "-qam", "waiver")
	prodChange(t, dir)
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	var waived, unused int
	for _, o := range r.Overlays {
		for _, f := range o.Findings {
			if f.RuleID == "NP016" {
				require.NotNil(t, f.Waived, "the base's waiver accepts it")
				assert.Equal(t, "prod", o.Name)
				waived++
			}
			if f.RuleID == "waiver/unused" {
				unused++
			}
		}
	}
	assert.Equal(t, 1, waived)
	assert.Zero(t, unused)

	// After expiry the waiver stops waiving and is reported itself.
	r, err = run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	var expired, open int
	for _, o := range r.Overlays {
		for _, f := range o.Findings {
			switch {
			case f.RuleID == "waiver/expired":
				expired++
			case f.RuleID == "NP016" && f.Waived == nil:
				open++
			}
		}
	}
	assert.Equal(t, 1, expired)
	assert.Equal(t, 1, open)
}

// TestWorkTreeChangesAreNotMaskedByRenderReuse: the head is the work tree
// and a new, untracked manifest lands in a plain manifests directory; the
// base's render must not be reused for it.
func TestWorkTreeChangesAreNotMaskedByRenderReuse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "reachgate.yaml", "overlays: [{name: plain, path: cluster}]\nrules: {paths: [rego]}\n")
	writeFile(t, dir, "rego/.keep", "")
	writeFile(t, dir, "cluster/app.yaml", `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: a, labels: {app: a}}
spec: {containers: [{name: a, image: a:1}]}
`)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	writeFile(t, dir, "cluster/nested/b.yaml", `apiVersion: v1
kind: Pod
metadata: {namespace: app, name: b, labels: {app: b}}
spec: {containers: [{name: b, image: b:1}]}
`)
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now})
	require.NoError(t, err)
	require.Len(t, r.Overlays, 1)
	d := r.Overlays[0].Diff
	require.NotNil(t, d)
	require.Len(t, d.WorkloadsAdded, 1, "the untracked manifest is part of the head")
	assert.Equal(t, "app/b", d.WorkloadsAdded[0].Key())
}

// dropProdFromConfig removes prod from the head's reachgate.yaml.
func dropProdFromConfig(t *testing.T, dir string) {
	t.Helper()
	cfg, err := os.ReadFile(filepath.Join(dir, "reachgate.yaml"))
	require.NoError(t, err)
	s := strings.Replace(string(cfg), "    promotesTo: prod\n  - name: prod\n    path: overlays/prod\n", "", 1)
	require.NotEqual(t, string(cfg), s)
	writeFile(t, dir, "reachgate.yaml", s)
}

func findingsOf(r *model.Report, overlay, rule string) []model.Finding {
	var out []model.Finding
	for _, o := range r.Overlays {
		for _, f := range o.Findings {
			if o.Name == overlay && f.RuleID == rule {
				out = append(out, f)
			}
		}
	}
	return out
}

func overlayReport(t *testing.T, r *model.Report, name string) model.OverlayReport {
	t.Helper()
	for _, o := range r.Overlays {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no overlay %s in the report", name)
	return model.OverlayReport{}
}

// A pull request that drops prod from reachgate.yaml while changing it is
// still judged on prod: the base's configuration judges, and the change to
// it is a finding. With --rules-from head (local work) the head's
// configuration judges, and prod is still checked because the base lists
// it.
func TestDroppingAnOverlayFromTheConfigStillChecksIt(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	dropProdFromConfig(t, dir)
	git(t, dir, "commit", "-qam", "prod leaves the gate")
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	prod := overlayReport(t, r, "prod")
	require.Len(t, findingsOf(r, "dev", "config/changed"), 1)
	assert.Contains(t, r.ConfigDiff, "-  - name: prod\n")
	assert.NotEmpty(t, findingsOf(r, "prod", "NP016"), "the change is judged by the rules")
	require.NotNil(t, prod.Diff)
	assert.Len(t, prod.Diff.Added, 1)
	assert.True(t, r.Failed())

	r, err = run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", RulesFrom: "head", Now: now})
	require.NoError(t, err)
	require.Len(t, findingsOf(r, "prod", "overlay/unconfigured"), 1)
	f := findingsOf(r, "prod", "overlay/unconfigured")[0]
	assert.Equal(t, model.ObjectRef{Kind: "Overlay", Name: "prod"}, f.Object)
	assert.Contains(t, f.Message, "it is still checked, at overlays/prod")
	assert.Len(t, overlayReport(t, r, "prod").Diff.Added, 1)
}

// Removing an overlay reports every flow it had as removed and fails the
// gate unless the base waives it.
func TestRemovingAnOverlayIsReportedAndWaivable(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "feature")
	git(t, dir, "rm", "-rq", "overlays/prod")
	dropProdFromConfig(t, dir)
	git(t, dir, "commit", "-qam", "prod is gone")
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	prod := overlayReport(t, r, "prod")
	require.Len(t, prod.Findings, 1)
	assert.Equal(t, "overlay/removed", prod.Findings[0].RuleID)
	require.NotNil(t, prod.Diff)
	assert.Empty(t, prod.Diff.Added)
	assert.Greater(t, len(prod.Diff.Removed), 100, "every flow of prod goes")
	assert.True(t, r.Failed())
	var text bytes.Buffer
	require.NoError(t, report.Write(&text, "text", r, report.Options{}))
	assert.Contains(t, text.String(), "overlay prod (overlays/prod) is removed")

	// Waivers merged first record the decision: prod goes, and the
	// configuration changes with it.
	git(t, dir, "checkout", "-q", "main")
	writeFile(t, dir, "waivers.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - rule: overlay/removed
    object: Overlay/prod
    reason: prod moves to the new platform repository
    owner: team-platform
    expires: "2026-12-31"
  - rule: config/changed
    object: Config/reachgate.yaml
    reason: prod leaves reachgate.yaml with its directory
    owner: team-platform
    expires: "2026-12-31"
`)
	git(t, dir, "add", "waivers.yaml")
	git(t, dir, "commit", "-qm", "waive the removal of prod")
	git(t, dir, "checkout", "-q", "feature")
	git(t, dir, "rebase", "-q", "main")
	r, err = run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	require.NotNil(t, overlayReport(t, r, "prod").Findings[0].Waived)
	assert.False(t, r.Failed())
}

// TestReportListsEveryRule: the report names every rule that judged it, so
// JUnit and SARIF are evidence of what was checked, not only of what
// failed.
func TestReportListsEveryRule(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now})
	require.NoError(t, err)
	require.Len(t, r.Rules, 26+1, "the built-in pack and this repository's own rule")
	assert.Equal(t, "NP001", r.Rules[0].ID)
	assert.NotEmpty(t, r.Rules[0].Controls)
	var junit bytes.Buffer
	require.NoError(t, report.Write(&junit, "junit", r, report.Options{}))
	overlays := repoOverlays(t)
	for _, o := range overlays {
		assert.Contains(t, junit.String(), `<testcase name="NP017: `)
		assert.Contains(t, junit.String(), `classname="reachgate.`+o+`"`)
	}
	assert.Equal(t, len(overlays)*26, strings.Count(junit.String(), "<testcase name=\"NP0"), "26 built-in rules in each overlay")
	assert.Equal(t, len(overlays), strings.Count(junit.String(), "<testcase name=\"ORG001"), "and the repository's own")
	assert.NotContains(t, junit.String(), "<failure")
}

// TestEvidenceOfThisRepository: the evidence document of a clean check
// passes every control in every environment, counts the expectations, and
// carries each overlay's digest, which an auditor can recompute from
// `reachgate render`.
// The digest is the rendered overlay's, and gives up once the check it
// runs beside is cancelled.
func TestDigestStopsWithItsContext(t *testing.T) {
	t.Parallel()
	o := &run.Overlay{Objects: []model.Object{{ObjectRef: model.ObjectRef{Kind: "ConfigMap", Name: "c"},
		Doc: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}}}}
	sum := sha256.Sum256([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"))
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), o.Digest(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Empty(t, o.Digest(ctx))
	assert.Empty(t, (&run.Overlay{}).Digest(context.Background()), "nothing rendered")
}

func TestEvidenceOfThisRepository(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	var out, errOut bytes.Buffer
	evidence := filepath.Join(t.TempDir(), "evidence.json")
	err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now,
		Marker: "reachgate:check", Outputs: []string{"evidence=" + evidence}}, &out, &errOut)
	require.NoError(t, err, "%s\n%s", out.String(), errOut.String())
	data, err := os.ReadFile(evidence)
	require.NoError(t, err)
	var doc struct {
		Kind      string
		CheckedAt time.Time
		Passed    bool
		Controls  []struct {
			Control string
			Rules   []string
			Results map[string]string
		}
		Overlays []struct {
			Name, Path   string
			InputDigest  string
			Expectations struct{ Checked, Failed int }
			Reachability struct {
				Flows       []any
				Connections int
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &doc))
	assert.Equal(t, "ReachgateEvidence", doc.Kind)
	assert.True(t, doc.Passed)
	assert.Equal(t, now, doc.CheckedAt)
	require.NotEmpty(t, doc.Controls)
	allPass := map[string]string{}
	for _, o := range repoOverlays(t) {
		allPass[o] = "pass"
	}
	for _, c := range doc.Controls {
		assert.Equal(t, allPass, c.Results, c.Control)
	}
	require.Len(t, doc.Overlays, len(allPass))
	for _, o := range doc.Overlays {
		var rendered bytes.Buffer
		require.NoError(t, run.Render(context.Background(), run.RenderParams{Common: run.Common{Dir: dir}, Overlay: filepath.Join(dir, o.Path)}, &rendered, io.Discard))
		sum := sha256.Sum256(rendered.Bytes())
		assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), o.InputDigest, o.Name)
		assert.Greater(t, o.Expectations.Checked, 10, o.Name)
		assert.Zero(t, o.Expectations.Failed, o.Name)
		assert.Greater(t, o.Reachability.Connections, 50, o.Name)
		assert.NotEmpty(t, o.Reachability.Flows, o.Name)
	}
}

// TestRuleFindingsPointAtTheField: a rule names the object and the field to
// fix; the finding's line is the field's in the source file, where PR
// annotations and SARIF alerts land.
func TestRuleFindingsPointAtTheField(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	fs := findingsOf(r, "prod", "NP016")
	require.Len(t, fs, 1)
	const file = "overlays/prod/network-policies-worker-postgres.yaml"
	data, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	want := 1 + slices.Index(lines, "    - from: [{podSelector: {matchLabels: {app: worker}}}]")
	require.Positive(t, want)
	assert.Equal(t, "spec.ingress[0]", fs[0].Field)
	assert.Equal(t, model.Location{File: file, Line: want}, fs[0].Location, "%v", fs[0])
}
