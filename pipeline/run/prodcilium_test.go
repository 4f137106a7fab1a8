package run_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

// TestProdCiliumOverlay checks the Cilium flavour of prod
// (overlays/prod-cilium), an overlay of reachgate.yaml outside the
// promotion chain: it renders without problems, its expectations (prod's,
// with the partners by host name) hold, and no rule reports an error:
// NP019 finds only allowed hosts, NP026 finds DNS through the DNS proxy.
func TestProdCiliumOverlay(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	require.Contains(t, repoOverlays(t), "prod-cilium")

	var out, errOut bytes.Buffer
	err := run.Test(context.Background(), run.TestParams{Common: run.Common{Dir: dir}, Overlays: []string{"prod-cilium"}}, &out, &errOut)
	require.NoError(t, err, "%s\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "expectations prod-cilium: ok")

	out.Reset()
	errOut.Reset()
	err = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now, Marker: "reachgate:check"}, &out, &errOut)
	require.NoError(t, err, "%s\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "prod-cilium (overlays/prod-cilium): PASS")

	// Without the DNS rule, NP026 fires on the toFQDNs rule; with a host
	// the list does not hold, NP019 does.
	p := filepath.Join(dir, "overlays/prod-cilium/cilium-partners.yaml")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	noDNS := strings.Replace(string(b), "          rules:\n            dns:\n              - matchName: api.payments.example.com\n              - matchName: api.shipping.example.com\n", "", 1)
	require.NotEqual(t, string(b), noDNS)
	writeFile(t, dir, "overlays/prod-cilium/cilium-partners.yaml", strings.Replace(noDNS, "- matchName: api.shipping.example.com\n      toPorts", "- matchName: api.shipping.example.com\n        - matchName: uploads.example.org\n      toPorts", 1))
	out.Reset()
	errOut.Reset()
	err = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now, Marker: "reachgate:check"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, out.String(), "error NP026: CiliumNetworkPolicy app/allow-backend-api-to-partners spec.egress[1]")
	assert.Contains(t, out.String(), "error NP019: Deployment app/backend-api")
	assert.Contains(t, out.String(), "uploads.example.org")
}

// TestAdminAllowIsBlamed: an AdminNetworkPolicy Allow that lets Grafana
// into postgres in prod-cilium, whatever the NetworkPolicies say, is
// found by NP016, which names the AdminNetworkPolicy rule with its file
// and line (lib.grant_side sees every tier's grants).
func TestAdminAllowIsBlamed(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	git(t, dir, "checkout", "-qb", "feature")
	writeFile(t, dir, "overlays/prod-cilium/dashboards.yaml", `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: dashboards-read-postgres
spec:
  priority: 20
  subject:
    pods:
      namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: app}
      podSelector:
        matchLabels: {app: postgres}
  ingress:
    - name: allow-grafana
      action: Allow
      from:
        - pods:
            namespaceSelector:
              matchLabels: {kubernetes.io/metadata.name: monitoring}
            podSelector:
              matchLabels: {app.kubernetes.io/name: grafana}
      ports:
        - portNumber: {protocol: TCP, port: 5432}
`)
	editFile(t, dir, "overlays/prod-cilium/kustomization.yaml", func(s string) string {
		return strings.Replace(s, "  - guardrails.yaml\n", "  - guardrails.yaml\n  - dashboards.yaml\n", 1)
	})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "grafana reads postgres")

	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now})
	require.NoError(t, err)
	fs := findingsOf(r, "prod-cilium", "NP016")
	require.Len(t, fs, 1, "%v", overlayReport(t, r, "prod-cilium").Findings)
	f := fs[0]
	assert.Equal(t, "AdminNetworkPolicy", f.Object.Kind)
	assert.Equal(t, "dashboards-read-postgres", f.Object.Name)
	assert.Equal(t, "spec.ingress[0]", f.Field)
	assert.Equal(t, "overlays/prod-cilium/dashboards.yaml", f.Location.File)
	assert.Equal(t, 14, f.Location.Line, "the line of spec.ingress[0]")
	assert.Contains(t, f.Message, "database app/postgres is reachable from monitoring/grafana on TCP 5432")
	assert.Contains(t, f.Message, "allowed by AdminNetworkPolicy dashboards-read-postgres spec.ingress[0] (Allow)")
	assert.Empty(t, findingsOf(r, "prod", "NP016"), "prod has no such guardrail")
}
