package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

// TestCustomRulesExample runs the tests of this repository's own rules
// (policy/custom) with the pack's fixtures, as `reachgate test` does,
// and lists where each rule comes from.
func TestCustomRulesExample(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	var out, errOut bytes.Buffer
	require.NoError(t, run.Test(context.Background(), run.TestParams{Common: run.Common{Dir: dir}}, &out, &errOut), out.String())
	assert.Contains(t, out.String(), "rego: 3 passed, 0 failed\n")

	out.Reset()
	require.NoError(t, run.Rules(run.RulesParams{Common: run.Common{Dir: dir}}, &out))
	assert.Regexp(t, `(?m)^NP001 .* built-in dev `, out.String())
	assert.Regexp(t, `(?m)^ORG001 .* policy/custom `, out.String())

	// As JSON, in the format version of every other document.
	out.Reset()
	require.NoError(t, run.Rules(run.RulesParams{Common: run.Common{Dir: dir}, Format: "json"}, &out))
	var doc struct {
		FormatVersion string `json:"formatVersion"`
		Rules         []struct {
			ID     string `json:"id"`
			Origin string `json:"origin"`
		} `json:"rules"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	assert.Equal(t, report.FormatVersion, doc.FormatVersion)
	assert.Contains(t, doc.Rules, struct {
		ID     string `json:"id"`
		Origin string `json:"origin"`
	}{"ORG001", "policy/custom"})
}

// TestDisableAndPathsAreChecked: a rule id no rule has, and a rules
// directory that is not there, name reachgate.yaml's line and field.
func TestDisableAndPathsAreChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	writeFile(t, dir, "reachgate.yaml", "rules:\n  disable:\n    - NP015\n    - NP099\n  paths: [policy]\n")
	err := run.Rules(run.RulesParams{Common: run.Common{Dir: dir}}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reachgate.yaml:5: rules.paths[0]: rules directory policy does not exist (at work tree)")
	writeFile(t, dir, "policy/.keep", "")
	err = run.Rules(run.RulesParams{Common: run.Common{Dir: dir}}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `reachgate.yaml:4: rules.disable[1]: no rule has id "NP099"`)

	writeFile(t, dir, "reachgate.yaml", "rules:\n  disable: [NP015]\n")
	out.Reset()
	require.NoError(t, run.Rules(run.RulesParams{Common: run.Common{Dir: dir}}, &out))
	assert.Regexp(t, `(?m)^NP015 .*built-in dev \(disabled\)`, out.String())
}

// TestMinimalConfigKeepsKubeDNS: a reachgate.yaml with overlays only keeps
// the default inventory, so an overlay that allows DNS to kube-dns has no
// NP003 finding (issue 13: it used to lose kube-dns silently).
func TestMinimalConfigKeepsKubeDNS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "reachgate.yaml", "overlays: [{name: m, path: m}]\n")
	writeFile(t, dir, "m/all.yaml", `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: web, labels: {app: web}}
spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: default-deny}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: allow-dns}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
`)
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "none", Now: now})
	require.NoError(t, err)
	for _, f := range r.Overlays[0].Findings {
		assert.NotEqual(t, "NP003", f.RuleID, "%s", f)
	}
	// A written inventory replaces the default: then NP003 finds no DNS.
	writeFile(t, dir, "reachgate.yaml", "overlays: [{name: m, path: m}]\ninventory: {}\n")
	r, err = run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "none", Now: now})
	require.NoError(t, err)
	var ids []string
	for _, f := range r.Overlays[0].Findings {
		ids = append(ids, f.RuleID)
	}
	assert.Contains(t, ids, "NP003")
}

// TestInitProposesOverlaysNotBases: bases, components and kustomizations
// other kustomizations use are not overlays; Argo CD directories go to
// argocd; overlays of the same name are told apart by their path; and a
// second run writes nothing.
func TestInitProposesOverlaysNotBases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	k := func(res ...string) string {
		return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [" + strings.Join(res, ", ") + "]\n"
	}
	writeFile(t, dir, "apps/web/kustomization.yaml", k("web.yaml"))
	writeFile(t, dir, "apps/web/web.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: web, name: web, labels: {app: web}}\nspec: {containers: [{name: web, image: web:1, ports: [{containerPort: 8080}]}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: web, name: db, labels: {app: db}}\nspec: {containers: [{name: db, image: mysql:8, ports: [{containerPort: 3306}]}]}\n")
	writeFile(t, dir, "base/kustomization.yaml", k("../apps/web"))
	writeFile(t, dir, "components/x/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
	writeFile(t, dir, "eu/prod/kustomization.yaml", k("../../apps/web"))
	writeFile(t, dir, "us/prod/kustomization.yaml", k("../../apps/web"))
	writeFile(t, dir, "deploy/kustomization.yaml", k("app.yaml"))
	writeFile(t, dir, "deploy/app.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web, namespace: argocd}\nspec: {source: {repoURL: x, path: eu/prod}, destination: {server: x}}\n")
	var out, errOut bytes.Buffer
	require.NoError(t, run.Init(context.Background(), run.InitParams{Common: run.Common{Dir: dir}, Version: "v1.2.3"}, &out, &errOut), errOut.String())
	cfg, err := os.ReadFile(filepath.Join(dir, "reachgate.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "  - name: eu-prod\n    path: eu/prod\n  - name: us-prod\n    path: us/prod\n")
	assert.NotContains(t, string(cfg), "path: apps/web", "used by other kustomizations: a base")
	assert.NotContains(t, string(cfg), "path: base")
	assert.Contains(t, string(cfg), "argocd: [deploy]")
	assert.Contains(t, string(cfg), "web/db: [kube-system/coredns, web/web]", "mysql's clients today: everything, as no policy isolates it")
	assert.NotContains(t, string(cfg), "ingress-nginx", "nothing points at an ingress controller")
	wf, err := os.ReadFile(filepath.Join(dir, ".github/workflows/reachgate.yml"))
	require.NoError(t, err)
	assert.Contains(t, string(wf), "uses: reachgate/reachgate/.github/workflows/reachgate.yml@v1.2.3")
	assert.Contains(t, string(wf), "version: v1.2.3")
	assert.FileExists(t, filepath.Join(dir, "eu/prod/expectations.yaml"))

	// The written files check clean (as input) on their own.
	var checkOut bytes.Buffer
	err = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "none", Now: now}, &checkOut, &errOut)
	var ee *run.ExitError
	if err != nil {
		require.ErrorAs(t, err, &ee, "%v", err)
		assert.Equal(t, run.ExitFailed, ee.Code, "findings, not input errors:\n%s", checkOut.String())
	}
	assert.NotContains(t, checkOut.String(), "expect/", "today's reachability meets its own recording")

	out.Reset()
	require.NoError(t, run.Init(context.Background(), run.InitParams{Common: run.Common{Dir: dir}, Version: "v1.2.3"}, &out, &errOut))
	assert.Contains(t, out.String(), "nothing to do: every file exists")
	assert.NotContains(t, out.String(), "wrote ")
}

func TestInitWithoutOverlays(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "README.md", "nothing here\n")
	var out, errOut bytes.Buffer
	err := run.Init(context.Background(), run.InitParams{Common: run.Common{Dir: dir}}, &out, &errOut)
	var ee *run.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, run.ExitInput, ee.Code)
	assert.Contains(t, err.Error(), "no overlay found under")
	assert.NoFileExists(t, filepath.Join(dir, "reachgate.yaml"))
}

// TestExpectRecordKeepsReasons: recording again keeps the reasons of the
// entries that still hold and drops the others.
func TestExpectRecordKeepsReasons(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	var out, errOut bytes.Buffer
	require.NoError(t, run.ExpectRecord(context.Background(), run.ExpectRecordParams{Common: run.Common{Dir: dir}, Overlay: "prod"}, &out, &errOut), errOut.String())
	assert.Regexp(t, `recorded overlays/prod/expectations.yaml: \d+ allow, \d+ deny`, out.String())
	data, err := os.ReadFile(filepath.Join(dir, "overlays/prod/expectations.yaml"))
	require.NoError(t, err)
	text := string(data)
	assert.Contains(t, text, `{from: app/backend-api, to: app/postgres, port: 5432/TCP, reason: "the API reads and writes orders"}`, "the reason written by hand is kept")
	assert.Contains(t, text, `{from: app/backend-api, to: partner-payments, port: 443/TCP`)
	assert.Contains(t, text, `{from: app/worker, to: app/postgres, reason: "the worker is not a database client"}`, "no flow: a deny, with its reason")
	assert.Contains(t, text, "{from: app/worker, to: app/frontend}\n", "a new deny has no reason")
	// The recording holds on the overlay it was recorded from.
	out.Reset()
	require.NoError(t, run.Test(context.Background(), run.TestParams{Common: run.Common{Dir: dir}, Overlays: []string{"prod"}}, &out, &errOut), out.String())
	assert.Contains(t, out.String(), "expectations prod: ok")

	out.Reset()
	require.NoError(t, run.ExpectRecord(context.Background(), run.ExpectRecordParams{Common: run.Common{Dir: dir}, Overlay: "prod", Output: "-"}, &out, &errOut))
	assert.Equal(t, text, out.String(), "recording twice is stable")
}
