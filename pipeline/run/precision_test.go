package run_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/run"
)

func problemTexts(o *run.Overlay) []string {
	var out []string
	for _, p := range o.Problems {
		out = append(out, p.Error())
	}
	return out
}

// One validation: what the API server accepts loads (a policy type listed
// twice is accepted), and what it refuses is reported once, in the API
// server's words, by pipeline/validate alone.
func TestOneValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "m/all.yaml", `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: twice}
spec:
  podSelector: {}
  policyTypes: [Ingress, Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: foo}
spec:
  podSelector: {}
  ingress: [{ports: [{protocol: FOO, port: 80}]}]
`)
	ws, err := run.OpenWorkTree(dir, "")
	require.NoError(t, err)
	o := ws.Load(filepath.Join(dir, "m"))
	require.NoError(t, o.Err)
	assert.Equal(t, []string{
		`m/all.yaml:17: NetworkPolicy app/foo: spec.ingress[0].ports[0].protocol: Unsupported value: "FOO": supported values: "TCP", "UDP", "SCTP"`,
	}, problemTexts(o))
	require.Len(t, o.Cluster.Policies, 1)
	assert.Equal(t, "twice", o.Cluster.Policies[0].Name)
}

// A values.yaml and a JSON list next to the manifests of a plain directory
// are skipped with a warning naming them, on stderr and in the report; the
// rest is analysed and nothing fails for them.
func TestPlainDirectorySkipsNonObjects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	copyTree(t, dir, "rego")
	writeFile(t, dir, "m/all.yaml", invalidOverlay[:strings.Index(invalidOverlay, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: app, name: default-deny-egress}")])
	writeFile(t, dir, "m/values.yaml", "replicaCount: 2\nimage: {tag: \"1.0\"}\n")
	writeFile(t, dir, "m/owners.json", "[\"team-a\", \"team-b\"]\n")
	m := filepath.Join(dir, "m")

	var out, stderr bytes.Buffer
	err := run.Reach(run.ReachParams{Common: run.Common{Dir: dir}, Overlay: m, Format: "txt"}, &out, &stderr)
	require.NoError(t, err, stderr.String())
	assert.Contains(t, out.String(), "app/frontend[Pod] => app/api[Pod] : TCP 3000")
	assert.Equal(t, "warning: m/owners.json:1: not a Kubernetes object (a list): skipped\n"+
		"warning: m/values.yaml:1: not a Kubernetes object (no apiVersion, kind or metadata): skipped\n", stderr.String())

	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "none", Overlays: []string{m}, Now: now})
	require.NoError(t, err)
	require.Len(t, r.Overlays, 1)
	skipped := findingsOf(r, m, run.SkippedID)
	require.Len(t, skipped, 2)
	assert.Equal(t, model.SeverityWarning, skipped[0].Severity)
	assert.Equal(t, "m/owners.json:1", skipped[0].Location.String())
	assert.Empty(t, findingsOf(r, m, "input/invalid"))
}
