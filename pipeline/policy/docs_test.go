package policy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const docsFile = "../../docs/rules.md"

// TestDocsListEveryRule keeps the rule table of docs/rules.md in step with
// the METADATA of rego/.
func TestDocsListEveryRule(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(docsFile)
	require.NoError(t, err)
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{})
	require.NoError(t, err)
	rows := regexp.MustCompile(`(?m)^\| (NP\d+) \|`).FindAllStringSubmatch(string(doc), -1)
	var listed []string
	for _, r := range rows {
		listed = append(listed, r[1])
	}
	var ids []string
	for _, r := range e.Rules() {
		ids = append(ids, r.ID)
		row := "| " + r.ID + " | " + r.Title + " | " + r.Severity.String() + " | " + strings.Join(r.Controls, "; ") + " |"
		assert.Contains(t, string(doc), row, "docs/rules.md row for %s", r.ID)
	}
	assert.Equal(t, ids, listed, "docs/rules.md lists exactly the rules, in order")
}

// TestDocsExampleRule loads the example rule of docs/rules.md and runs its
// example test, with the repository's rule library.
func TestDocsExampleRule(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(docsFile)
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```rego\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	require.Len(t, blocks, 2, "the example rule and its test")
	fsys := filesys.MakeFsInMemory()
	libs, err := filepath.Glob(repoRego + "/lib/*.rego")
	require.NoError(t, err)
	for _, f := range libs {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, fsys.WriteFile("/rego/lib/"+filepath.Base(f), src))
	}
	require.NoError(t, fsys.WriteFile("/rego/no_telnet.rego", []byte(blocks[0][1])))
	require.NoError(t, fsys.WriteFile("/rego/no_telnet_test.rego", []byte(blocks[1][1])))

	e, err := Load(fsys, []string{"/rego"}, Options{})
	require.NoError(t, err)
	require.Len(t, e.Rules(), 1)
	assert.Equal(t, "NP100", e.Rules()[0].ID)
	results, err := RunTests(context.Background(), fsys, []string{"/rego"})
	require.NoError(t, err)
	var names []string
	for _, r := range results {
		if r.Package == "data.reachgate.rules.no_telnet_test" {
			names = append(names, r.Name)
			assert.True(t, r.Passed, "%s: %s", r.Name, r.Error)
		}
	}
	assert.Equal(t, []string{"test_other_ports_pass", "test_port_23_fails"}, names)
}
