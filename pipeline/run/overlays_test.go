package run_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRepositoryOverlays renders this repository's overlays, checks their
// object counts and that every object is valid, compares the reachability
// with the reviewed golden lists in testdata/overlays, and asserts the
// architecture's invariants directly.
func TestRepositoryOverlays(t *testing.T) {
	t.Parallel()
	ws, err := run.OpenWorkTree(repoRoot, "")
	require.NoError(t, err)
	// With the PrometheusRule; prod-cilium has prod's objects but the
	// partner NetworkPolicies, and its Cilium policies and guardrail.
	counts := map[string]int{"dev": 61, "staging": 55, "prod": 56, "prod-cilium": 57}
	for _, name := range ws.Config.OverlayNames() {
		t.Run(name, func(t *testing.T) {
			o := ws.Load(context.Background(), name)
			require.NoError(t, o.Err)
			assert.Empty(t, o.Problems)
			assert.Len(t, o.Objects, counts[name], "objects rendered")
			policies := 0
			for _, obj := range o.Objects {
				if obj.Kind == "NetworkPolicy" {
					policies++
				}
			}
			assert.Equal(t, policies, len(o.Cluster.Policies), "every NetworkPolicy decodes and validates")

			m := reach.Compute(o.Cluster)
			var got bytes.Buffer
			require.NoError(t, report.WriteMatrix(&got, "txt", m, report.MatrixOptions{Namespace: "app", EveryRange: true}))
			golden := filepath.Join("testdata", "overlays", name+".txt")
			if *update {
				require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			if d := cmp.Diff(string(want), got.String()); d != "" {
				t.Errorf("%s flows differ from the reviewed list (-want +got):\n%s", name, d)
			}
			architecture(t, name, m)
		})
	}
}

// architecture asserts the intended design on a matrix.
func architecture(t *testing.T, env string, m *model.Matrix) {
	t.Helper()
	into := func(dst string) map[string]string {
		out := map[string]string{}
		for _, c := range m.Connections {
			if m.Peers[c.Dst].Key() == dst {
				out[m.Peers[c.Src].Key()] = m.Of(c).Ports.String()
			}
		}
		return out
	}
	// The frontend is reachable from the ingress controller (3000) and
	// Prometheus (its metrics port) only.
	assert.Equal(t, map[string]string{
		"ingress-nginx/ingress-nginx-controller": "TCP 3000",
		"monitoring/prometheus":                  "TCP 9100",
	}, into("app/frontend"))

	// postgres: backend-api and backup-agent (and the replica, and
	// Prometheus on the exporter); in dev also the debug toolbox.
	pg := into("app/postgres")
	want := map[string]string{
		"app/backend-api":       "TCP 5432",
		"app/backup-agent":      "TCP 5432",
		"app/postgres-replica":  "TCP 5432",
		"monitoring/prometheus": "TCP 9187",
	}
	if env == "dev" {
		want["app/debug-toolbox"] = "TCP 5432"
	}
	assert.Equal(t, want, pg)

	for _, c := range m.Connections {
		src, dst := m.Peers[c.Src], m.Peers[c.Dst]
		if src.Workload == nil || src.Workload.Namespace != "app" {
			continue
		}
		// Nothing in app reaches outside the cluster but backend-api on 443.
		if dst.Workload == nil {
			assert.Equal(t, "app/backend-api", src.Key(), "%s -> %s", src, dst)
			assert.Equal(t, "TCP 443", m.Of(c).Ports.String(), "%s -> %s", src, dst)
			assert.NotEqual(t, "cloud-metadata", dst.External, "%s reaches the metadata service", src)
			switch env {
			case "prod":
				assert.True(t, strings.HasPrefix(dst.External, "partner-"), "prod egress only to partners: %s", dst)
			case "prod-cilium":
				assert.True(t, strings.HasPrefix(dst.External, "fqdn:api."), "prod-cilium egress only to the partners' hosts: %s", dst)
			}
		}
	}
	// Every app pod resolves DNS over UDP and TCP. In prod-cilium
	// backend-api's DNS also goes through the Cilium rule that sends it to
	// the DNS proxy, port 53 of protocol ANY, which takes SCTP in too.
	dns := into("kube-system/coredns")
	for _, p := range m.Peers {
		if p.Workload != nil && p.Workload.Namespace == "app" {
			want := "TCP 53; UDP 53"
			if env == "prod-cilium" && p.Key() == "app/backend-api" {
				want = "TCP 53; UDP 53; SCTP 53"
			}
			assert.Equal(t, want, dns[p.Key()], "%s resolves DNS", p)
		}
	}
}
