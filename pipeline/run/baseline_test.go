package run_test

import (
	"bytes"
	"context"
	"errors"
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

// TestNewAndExistingFindings: main already has worker -> postgres (NP016,
// NP017, a failed deny) and lost rabbitmq management (a failed allow). A harmless change shows them as existing and
// passes with --fail-on-new; a change that removes the flow resolves them;
// a change that adds another undeclared client is new.
func TestNewAndExistingFindings(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	git(t, dir, "checkout", "-q", "main")
	git(t, dir, "merge", "-q", "--ff-only", "feature")

	check := func(head string, failOnNew bool) (*model.Report, string, error) {
		var out, errOut bytes.Buffer
		err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: head, Now: now, FailOnNew: failOnNew, Format: "json"}, &out, &errOut)
		r, rerr := report.ReadJSON(bytes.NewReader(out.Bytes()))
		require.NoError(t, rerr, "%s", errOut.String())
		var text bytes.Buffer
		require.NoError(t, report.Write(&text, "text", r, report.Options{}))
		return r, text.String(), err
	}
	baselines := func(r *model.Report, overlay string) map[string]string {
		out := map[string]string{}
		for _, f := range overlayReport(t, r, overlay).Findings {
			out[f.RuleID] = f.Baseline
		}
		return out
	}

	git(t, dir, "checkout", "-qb", "harmless", "main")
	editFile(t, dir, "overlays/prod/kustomization.yaml", func(s string) string { return "# reviewed\n" + s })
	git(t, dir, "commit", "-qam", "a comment")
	r, text, err := check("harmless", false)
	assert.Equal(t, "base", r.Baseline)
	assert.Equal(t, map[string]string{"NP016": "existing", "NP017": "existing", "expect/allow": "existing", "expect/deny": "existing"}, baselines(r, "prod"))
	assert.Contains(t, text, "existing, on the base too: 4")
	var ee *run.ExitError
	require.True(t, errors.As(err, &ee), "the default stays strict")
	assert.Equal(t, run.ExitFailed, ee.Code)
	_, _, err = check("harmless", true)
	assert.NoError(t, err, "--fail-on-new: nothing new fails")

	git(t, dir, "checkout", "-qb", "fix", "main")
	git(t, dir, "rm", "-q", "overlays/prod/network-policies-worker-postgres.yaml")
	editFile(t, dir, "overlays/prod/kustomization.yaml", func(s string) string {
		return strings.Replace(s, "  - network-policies-worker-postgres.yaml\n", "", 1)
	})
	git(t, dir, "commit", "-qam", "worker stops reading postgres")
	r, text, _ = check("fix", false)
	var resolved []string
	for _, f := range overlayReport(t, r, "prod").Resolved {
		resolved = append(resolved, f.RuleID)
	}
	assert.ElementsMatch(t, []string{"NP016", "NP017", "expect/deny"}, resolved)
	assert.Contains(t, text, "resolved by this change: 3")
	var md bytes.Buffer
	require.NoError(t, report.Write(&md, "markdown", r, report.Options{}))
	assert.Contains(t, md.String(), "3 findings of the base resolved by this change")

	git(t, dir, "checkout", "-qb", "worse", "main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overlays/prod/network-policies-worker-postgres.yaml"),
		[]byte(strings.ReplaceAll(mustRead(t, filepath.Join(dir, "overlays/prod/network-policies-worker-postgres.yaml")), "worker", "frontend")), 0o644))
	git(t, dir, "commit", "-qam", "frontend reads postgres instead")
	r, _, err = check("worse", true)
	require.Error(t, err, "--fail-on-new still fails on a new finding")
	var states []string
	for _, f := range findingsOf(r, "prod", "NP016") {
		states = append(states, f.Baseline)
	}
	assert.Equal(t, []string{"new"}, states)
	var sarif bytes.Buffer
	require.NoError(t, report.Write(&sarif, "sarif", r, report.Options{}))
	assert.Contains(t, sarif.String(), `"baselineState": "new"`)
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}

// TestFirstAdoptionMarksEveryFindingNew: a base without reachgate has no
// findings to compare with; every finding is new and the report says so.
func TestFirstAdoptionMarksEveryFindingNew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "before reachgate\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "before")
	git(t, dir, "checkout", "-qb", "adopt")
	copyTree(t, dir, policyPaths...)
	writeFile(t, dir, "overlays/prod/network-policies-partners.yaml", mustRead(t, filepath.Join(dir, "overlays/prod/network-policies-partners.yaml"))+"\n---\n"+`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-worker-egress}
spec:
  podSelector: {matchLabels: {app: worker}}
  policyTypes: [Egress]
  egress: [{}]
`)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "adopt reachgate")
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "adopt", Now: now})
	require.NoError(t, err)
	assert.Contains(t, r.Baseline, "the base has not adopted reachgate")
	fs := overlayReport(t, r, "prod").Findings
	require.NotEmpty(t, fs)
	for _, f := range fs {
		assert.Equal(t, model.BaselineNew, f.Baseline, "%s", f)
	}
	var text bytes.Buffer
	require.NoError(t, report.Write(&text, "text", r, report.Options{}))
	assert.Contains(t, text.String(), "Findings compared with the base: none: the base has not adopted reachgate, so every finding is new")
}
