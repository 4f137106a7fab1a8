package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestRegoRules runs the repository's rego/*_test.rego so that one
// `go test ./...` covers the rules too.
func TestRegoRules(t *testing.T) {
	t.Parallel()
	results, err := RunTests(context.Background(), filesys.MakeFsOnDisk(), []string{repoRego})
	require.NoError(t, err)
	require.NotEmpty(t, results)
	t.Logf("%d rego tests", len(results))
	packages := map[string]bool{}
	for _, r := range results {
		packages[r.Package] = true
		if !assert.Truef(t, r.Passed, "%s.%s (%s)", r.Package, r.Name, r.Location) {
			if r.Error != "" {
				t.Logf("  error: %s", r.Error)
			}
			if r.Output != "" {
				t.Logf("  output: %s", strings.TrimSpace(r.Output))
			}
		}
	}
	// Every rule package has its test package.
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{})
	require.NoError(t, err)
	for _, r := range e.Rules() {
		assert.Truef(t, packages[r.Package+"_test"], "rule %s (%s) has no tests in %s_test", r.ID, r.Source, r.Package)
	}
}
