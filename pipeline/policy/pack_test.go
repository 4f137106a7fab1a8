package policy

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
	rulepack "github.com/reachgate/reachgate/rego"
)

var testPack = &Pack{FS: rulepack.FS, Name: "built-in v9.9.9"}

// ownRule is a repository's rule that uses the pack's library.
const ownRule = `# METADATA
# title: No workload called legacy
# custom:
#   id: ORG100
#   severity: warning
package reachgate.rules.org.no_legacy

import data.reachgate.lib
import rego.v1

deny contains f if {
	some w in input.workloads
	w.name == "legacy"
	f := {"msg": sprintf("%s is called legacy", [w.key]), "object": lib.workload_object(w)}
}
`

const ownTest = `package reachgate.rules.org.no_legacy_test

import data.reachgate.rules.org.no_legacy
import data.reachgate.testing as t
import rego.v1

test_legacy_fails if {
	count(no_legacy.deny) == 1 with input as t.with_input({"workloads": [t.workload("app", "legacy", {})]})
}
`

func memRepo(t *testing.T, files map[string]string) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	for name, body := range files {
		require.NoError(t, fsys.WriteFile(name, []byte(body)))
	}
	return fsys
}

func TestLoadWithThePack(t *testing.T) {
	t.Parallel()
	fsys := memRepo(t, map[string]string{"/policy/no_legacy.rego": ownRule, "/policy/no_legacy_test.rego": ownTest})
	packOnly, err := Load(fsys, nil, Options{Builtin: testPack})
	require.NoError(t, err)
	e, err := Load(fsys, []string{"/policy"}, Options{Builtin: testPack, Disable: []string{"NP015"}})
	require.NoError(t, err)

	byID := map[string]RuleInfo{}
	for _, r := range e.Rules() {
		byID[r.ID] = r
	}
	assert.Len(t, e.Rules(), len(packOnly.Rules()), "one rule of the repository's added, one built-in disabled")
	own := byID["ORG100"]
	assert.Equal(t, "", own.Origin, "the repository's rule has no pack")
	assert.Equal(t, "/policy/no_legacy.rego", own.Source.File)
	np1 := byID["NP001"]
	assert.Equal(t, "built-in v9.9.9", np1.Origin)
	assert.True(t, strings.HasPrefix(np1.Source.File, BuiltinPrefix), np1.Source.File)
	require.Len(t, e.Disabled(), 1)
	assert.Equal(t, "NP015", e.Disabled()[0].ID)
	assert.True(t, e.Disabled()[0].Disabled)
	assert.NotContains(t, byID, "NP015")

	// The repository's rule evaluates with the pack's library.
	c := &model.Cluster{Workloads: []model.Workload{{Namespace: "app", Name: "legacy", Kind: "Deployment"}}}
	fs, err := e.Evaluate(context.Background(), Input{Overlay: "x", Cluster: c, Matrix: &model.Matrix{}})
	require.NoError(t, err)
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.RuleID)
	}
	assert.Contains(t, ids, "ORG100")
	assert.NotContains(t, ids, "NP015", "a disabled rule is not evaluated")

	// Its tests run with the pack's fixtures, and only its tests.
	results, err := RunTestsWith(context.Background(), fsys, []string{"/policy"}, testPack)
	require.NoError(t, err)
	require.Len(t, results, 1)
	assert.True(t, results[0].Passed, results[0].Error)
}

func TestLoadWithoutThePack(t *testing.T) {
	t.Parallel()
	fsys := memRepo(t, map[string]string{"/policy/no_legacy.rego": ownRule})
	_, err := Load(fsys, []string{"/policy"}, Options{})
	require.Error(t, err, "without the pack, data.reachgate.lib is not there")
	assert.Contains(t, err.Error(), "lib.workload_object")
}

func TestUnknownDisabledRule(t *testing.T) {
	t.Parallel()
	_, err := Load(filesys.MakeFsInMemory(), nil, Options{Builtin: testPack, Disable: []string{"NP001", "NP999"}})
	var ies model.InputErrors
	require.True(t, errors.As(err, &ies), "%v", err)
	require.Len(t, ies, 1)
	assert.Equal(t, "rules.disable[1]", ies[0].Field)
	assert.Contains(t, ies[0].Message, `no rule has id "NP999"`)
}

// TestCopiesOfThePackAreRefused: the old layout (a copy of rego/ in the
// repository) would merge into the built-in packages or redefine them.
func TestCopiesOfThePackAreRefused(t *testing.T) {
	t.Parallel()
	one := memRepo(t, map[string]string{"/rego/cloud_metadata.rego": mustRead(t, "../../rego/cloud_metadata.rego")})
	_, err := Load(one, []string{"/rego"}, Options{Builtin: testPack})
	var ies model.InputErrors
	require.True(t, errors.As(err, &ies), "%v", err)
	require.Len(t, ies, 1)
	assert.Equal(t, "/rego/cloud_metadata.rego", ies[0].Location.File)
	assert.Positive(t, ies[0].Location.Line)
	assert.Contains(t, ies[0].Message, "package reachgate.rules.cloud_metadata is also in the built-in v9.9.9 pack (cloud_metadata.rego)")
	assert.Contains(t, ies[0].Message, "rules.builtin: false")

	files := map[string]string{}
	for _, f := range []string{"cloud_metadata.rego", "default_deny.rego", "dns_egress.rego", "all_ports.rego", "lib/lib.rego"} {
		files["/rego/"+f] = mustRead(t, "../../rego/"+f)
	}
	copied := memRepo(t, files)
	_, err = Load(copied, []string{"/rego"}, Options{Builtin: testPack})
	require.True(t, errors.As(err, &ies), "%v", err)
	require.Len(t, ies, 1, "a copy of the pack is one problem")
	assert.Contains(t, ies[0].Message, "and so are 4 more of your packages")

	// With the pack turned off the copy judges, as before the pack.
	e, err := Load(copied, []string{"/rego"}, Options{})
	require.NoError(t, err)
	assert.Len(t, e.Rules(), 4)
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return string(b)
}
