// Package workflowlint lints the repository's GitHub Actions workflows with
// actionlint, as part of go test.
package workflowlint

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lint(t *testing.T, files ...string) []*actionlint.Error {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	require.NoError(t, err)
	errs, err := l.LintFiles(files, nil)
	require.NoError(t, err)
	return errs
}

func TestWorkflowsPassActionlint(t *testing.T) {
	files, err := filepath.Glob("../../.github/workflows/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, e := range lint(t, files...) {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestInjectionIsCaught proves the lint can fail: a pull request title in a
// run script is a script injection.
func TestInjectionIsCaught(t *testing.T) {
	errs := lint(t, "testdata/injection.yml")
	var kinds []string
	for _, e := range errs {
		kinds = append(kinds, e.Kind+": "+e.Message)
	}
	require.NotEmpty(t, errs)
	assert.Contains(t, strings.Join(kinds, "\n"), "github.event.pull_request.title")
	assert.Contains(t, strings.Join(kinds, "\n"), "potentially untrusted")
}

// TestEveryJobDeclaresPermissions keeps tokens least-privileged: every
// workflow sets top-level permissions and every job its own.
func TestEveryJobDeclaresPermissions(t *testing.T) {
	files, err := filepath.Glob("../../.github/workflows/*.yml")
	require.NoError(t, err)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		wf, perrs := actionlint.Parse(src)
		require.Empty(t, perrs, f)
		assert.NotNil(t, wf.Permissions, "%s: no top-level permissions", f)
		for id, j := range wf.Jobs {
			assert.NotNil(t, j.Permissions, "%s: job %s declares no permissions", f, id)
		}
	}
}
