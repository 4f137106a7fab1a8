package run_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
