package workflowlint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/scaffold"
)

// TestReusableWorkflowSplit: the reusable workflow keeps the fork-safe
// split. The check job never gets a write token but for code scanning and
// holds no secret; the comment job has the write token and checks out
// only reachgate itself, at the workflow's own commit, never the pull
// request.
func TestReusableWorkflowSplit(t *testing.T) {
	p := parse(t, "../../.github/workflows/reachgate.yml")
	require.Len(t, p.wf.On, 1)
	assert.Equal(t, "workflow_call", p.wf.On[0].EventName())
	check, comment := p.wf.Jobs["check"], p.wf.Jobs["comment"]
	require.NotNil(t, check)
	require.NotNil(t, comment)
	assert.Contains(t, check.If.Value, "github.event_name == 'pull_request'")
	assert.Contains(t, comment.If.Value, "github.event_name == 'workflow_run'")
	for name, scope := range check.Permissions.Scopes {
		if name != "security-events" {
			assert.Equal(t, "read", scope.Value.Value, "check job: %s", name)
		}
	}
	src, err := os.ReadFile("../../.github/workflows/reachgate.yml")
	require.NoError(t, err)
	assert.NotContains(t, string(src), "secrets.", "no secret in the reusable workflow")
	for _, s := range comment.Steps {
		a, ok := s.Exec.(*actionlint.ExecAction)
		if !ok || !strings.HasPrefix(a.Uses.Value, "actions/checkout@") {
			continue
		}
		require.NotNil(t, a.Inputs["repository"], "the comment job checks out reachgate only")
		assert.Equal(t, "${{ job.workflow_repository }}", a.Inputs["repository"].Value.Value)
		assert.Equal(t, "${{ job.workflow_sha }}", a.Inputs["ref"].Value.Value)
	}
}

// TestInitWorkflowsPassActionlint: the callers reachgate init writes, for
// a release and for a development build, lint clean and are hardened.
func TestInitWorkflowsPassActionlint(t *testing.T) {
	for _, version := range []string{"v1.2.3", "dev"} {
		dir := filepath.Join(t.TempDir(), ".github", "workflows")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		var files []string
		for name, data := range scaffold.Workflows(version) {
			f := filepath.Join(dir, filepath.Base(name))
			require.NoError(t, os.WriteFile(f, data, 0o644))
			files = append(files, f)
		}
		require.Len(t, files, 2)
		for _, e := range lint(t, files...) {
			t.Errorf("%s: %s:%d:%d: %s [%s]", version, e.Filepath, e.Line, e.Column, e.Message, e.Kind)
		}
		for _, f := range files {
			p := parse(t, f)
			for _, pr := range checkPrivilegedCheckout(p) {
				t.Errorf("%s: %s", version, pr)
			}
			assert.NotNil(t, p.wf.Permissions, "%s: top-level permissions", f)
		}
	}
}

// TestFanOutWorkflowSplit: the fan-out keeps the fork-safe split of
// policy-gate.yml. The pull-request jobs (overlays, shard, merge) hold only
// read scopes (merge: security-events for code scanning) and no secret;
// the matrix comes from the base's configuration; merge runs when a shard
// failed too (it then refuses the missing part) and checks out only the
// base; the comment job has the write token and checks out only the
// default branch.
func TestFanOutWorkflowSplit(t *testing.T) {
	const file = "../../.github/workflows/reachgate-fanout.yml"
	p := parse(t, file)
	require.Len(t, p.wf.On, 1)
	assert.Equal(t, "workflow_call", p.wf.On[0].EventName())
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.NotContains(t, string(src), "secrets.", "no secret in the reusable workflow")

	overlays, shard, merge, comment := p.wf.Jobs["overlays"], p.wf.Jobs["shard"], p.wf.Jobs["merge"], p.wf.Jobs["comment"]
	for id, j := range map[string]*actionlint.Job{"overlays": overlays, "shard": shard, "merge": merge, "comment": comment} {
		require.NotNil(t, j, "job %s", id)
	}
	assert.Contains(t, overlays.If.Value, "github.event_name == 'pull_request'")
	assert.Contains(t, comment.If.Value, "github.event_name == 'workflow_run'")
	for id, j := range map[string]*actionlint.Job{"overlays": overlays, "shard": shard, "merge": merge} {
		for name, scope := range j.Permissions.Scopes {
			if !(id == "merge" && name == "security-events") {
				assert.Equal(t, "read", scope.Value.Value, "job %s: %s", id, name)
			}
		}
	}

	// The matrix: the base's overlays, every one run.
	list := findRun(t, overlays, "List the overlays the base configures")
	assert.Contains(t, list, `overlays --base "$BASE_SHA" --format json`)
	assert.Equal(t, "${{ fromJSON(needs.overlays.outputs.matrix) }}", shard.Strategy.Matrix.Expression.Value)
	assert.False(t, shard.Strategy.FailFast.Value, "fail-fast: false")
	assert.Contains(t, findRun(t, shard, "reachgate check --shard"), `--shard "$OVERLAY"`)

	// merge joins every shard, even after a failed one.
	assert.Equal(t, "always() && needs.overlays.result == 'success'", merge.If.Value)
	assert.Contains(t, findRun(t, merge, "reachgate merge"), `merge "$RUNNER_TEMP"/shards/*/report.json`)
	for _, s := range merge.Steps {
		if a, ok := s.Exec.(*actionlint.ExecAction); ok && strings.HasPrefix(a.Uses.Value, "actions/checkout@") {
			require.NotNil(t, a.Inputs["ref"], "merge checks out the base only")
			assert.Equal(t, "${{ github.event.pull_request.base.sha }}", a.Inputs["ref"].Value.Value)
		}
	}
	for _, s := range comment.Steps {
		if a, ok := s.Exec.(*actionlint.ExecAction); ok && strings.HasPrefix(a.Uses.Value, "actions/checkout@") {
			assert.Nil(t, a.Inputs["ref"], "the comment job checks out the default branch")
			assert.Nil(t, a.Inputs["repository"])
		}
	}
}

// findRun is the script of a job's step, by name.
func findRun(t *testing.T, j *actionlint.Job, name string) string {
	t.Helper()
	for _, s := range j.Steps {
		if r, ok := s.Exec.(*actionlint.ExecRun); ok && s.Name != nil && s.Name.Value == name {
			return r.Run.Value
		}
	}
	t.Fatalf("job %s has no step %q", j.ID.Value, name)
	return ""
}
