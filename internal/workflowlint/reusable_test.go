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
