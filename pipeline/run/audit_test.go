package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/reachgate/reachgate/pipeline/live/livetest"
	"github.com/reachgate/reachgate/pipeline/run"
)

// liveList is what `kubectl get namespaces,pods,services,networkpolicies
// -A -o yaml` would print for a cluster that runs the overlay exactly:
// its Namespaces, Services and NetworkPolicies as rendered, the inventory
// namespaces, and the pods the controllers would start, with addresses.
func liveList(t *testing.T, dir, overlay string) []any {
	t.Helper()
	ws, err := run.OpenWorkTree(dir, "")
	require.NoError(t, err)
	o := ws.Load(context.Background(), overlay)
	require.NoError(t, o.Err)
	var items []any
	for _, obj := range o.Objects {
		switch obj.Kind {
		case "Namespace", "Service", "NetworkPolicy":
			items = append(items, obj.Doc)
		}
	}
	for _, n := range ws.Config.Inventory.Namespaces {
		items = append(items, corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}})
	}
	for _, p := range livetest.Pods(o.Cluster, netip.MustParsePrefix("10.244.0.0/16"), true) {
		items = append(items, p)
	}
	return items
}

func writeLive(t *testing.T, items []any) string {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "live.yaml")
	require.NoError(t, os.WriteFile(f, data, 0o644))
	return f
}

func audit(t *testing.T, dir, liveFile, format string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run.Audit(context.Background(), run.AuditParams{
		Common: run.Common{Dir: dir}, Overlay: "prod", LiveFile: liveFile, Format: format,
		Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}, &out, &errOut)
	return out.String(), err
}

func exitCode(err error) int {
	var ee *run.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if err != nil {
		return -1
	}
	return 0
}

type auditJSON struct {
	Drifted  bool
	Policies []struct {
		Namespace, Name, State string
		Changes                []struct{ Path, Git, Live string }
	}
	Unmanaged []struct {
		Namespace, Name, Kind           string
		Pods                            int
		IngressIsolated, EgressIsolated bool
	}
	NotRunning []string
	Flows      struct {
		Added, Removed, Changed []struct {
			Src, Dst struct{ Name, Namespace, Kind string }
		}
	}
}

func TestAuditLiveFileNoDrift(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	out, err := audit(t, dir, writeLive(t, liveList(t, dir, "prod")), "text")
	require.NoError(t, err, out)
	assert.Contains(t, out, "NO DRIFT")
	assert.Contains(t, out, "namespaces read: app, ingress-nginx, kube-system, monitoring")
	assert.NotContains(t, out, "no pod running")
}

// TestAuditLiveFileDrift makes the three drifts the e2e test makes on a
// real API server: a policy deleted, one added by hand, a pod nobody's
// policies name.
func TestAuditLiveFileDrift(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	items := slices.DeleteFunc(liveList(t, dir, "prod"), func(it any) bool {
		m, ok := it.(map[string]any)
		return ok && m["kind"] == "NetworkPolicy" && m["metadata"].(map[string]any)["name"] == "allow-redis-from-worker"
	})
	var handMade map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: hand-made, namespace: app}
spec:
  podSelector: {matchLabels: {app: frontend}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
`), &handMade))
	stray := corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "debug-shell", Namespace: "app", Labels: map[string]string{"run": "debug-shell"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "sh", Image: "busybox"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.200.1"}}}}
	items = append(items, handMade, stray)
	out, err := audit(t, dir, writeLive(t, items), "json")
	assert.Equal(t, 1, exitCode(err), "drift exits 1: %v", err)
	var a auditJSON
	require.NoError(t, json.Unmarshal([]byte(out), &a), out)
	assert.True(t, a.Drifted)
	require.Len(t, a.Policies, 2)
	assert.Equal(t, []string{"app/allow-redis-from-worker missing-live", "app/hand-made not-in-git"},
		[]string{a.Policies[0].Namespace + "/" + a.Policies[0].Name + " " + a.Policies[0].State, a.Policies[1].Namespace + "/" + a.Policies[1].Name + " " + a.Policies[1].State})
	require.Len(t, a.Unmanaged, 1)
	u := a.Unmanaged[0]
	assert.Equal(t, "app/debug-shell Pod 1", u.Namespace+"/"+u.Name+" "+u.Kind+" "+string(rune('0'+u.Pods)))
	assert.True(t, u.IngressIsolated && u.EgressIsolated, "app's default denies cover the stray pod")
	// Flows: worker loses redis; monitoring gains frontend. Nothing else,
	// and nothing about the stray pod (it is reported above).
	require.Len(t, a.Flows.Removed, 1)
	assert.Equal(t, "worker redis", a.Flows.Removed[0].Src.Name+" "+a.Flows.Removed[0].Dst.Name)
	require.NotEmpty(t, a.Flows.Added)
	for _, c := range append(a.Flows.Added, a.Flows.Changed...) {
		assert.Equal(t, "monitoring -> app/frontend", c.Src.Namespace+" -> "+c.Dst.Namespace+"/"+c.Dst.Name)
	}
	for _, f := range []string{"text", "markdown", "sarif", "junit", "github"} {
		out, err := audit(t, dir, writeLive(t, items), f)
		assert.Equal(t, 1, exitCode(err), f)
		for _, want := range []string{"allow-redis-from-worker", "hand-made", "debug-shell"} {
			assert.Contains(t, out, want, f)
		}
	}
}

// TestAuditSpecDiff changes one port of one live policy: the drift names
// that field with both values; defaults the API server adds are no drift.
func TestAuditSpecDiff(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	items := liveList(t, dir, "prod")
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok || m["kind"] != "NetworkPolicy" {
			continue
		}
		spec := m["spec"].(map[string]any)
		switch m["metadata"].(map[string]any)["name"] {
		case "allow-redis-from-worker":
			spec["ingress"].([]any)[0].(map[string]any)["ports"] = []any{map[string]any{"port": 6380, "protocol": "TCP"}}
		case "default-deny-ingress":
			delete(spec, "policyTypes") // the API server's default is Ingress: the same policy
		}
	}
	out, err := audit(t, dir, writeLive(t, items), "text")
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, "~ app/allow-redis-from-worker: spec differs")
	assert.Contains(t, out, "spec.ingress[0].ports[0].port: git 6379, live 6380")
	assert.NotContains(t, out, "default-deny-ingress")
	assert.Contains(t, out, "- app/worker[Deployment] => app/redis[StatefulSet] : TCP 6379")
	assert.Contains(t, out, "DRIFT: 1 policy, 1 flow, 0 unmanaged workloads")
}

func TestAuditBadInput(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	bad := filepath.Join(t.TempDir(), "live.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: app}\n  spec: {containers: 3}\n"), 0o644))
	_, err := audit(t, dir, bad, "text")
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, bad+": document 1, items[0] (Pod app/p)")
	_, err = audit(t, dir, filepath.Join(dir, "nope.yaml"), "text")
	assert.Equal(t, 2, exitCode(err))
	_, err = audit(t, dir, writeLive(t, liveList(t, dir, "prod")), "yaml")
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, `--format "yaml"`)
	_, err = run.BuildAudit(context.Background(), run.AuditParams{Common: run.Common{Dir: dir}, Overlay: "nowhere"})
	assert.Equal(t, 2, exitCode(err))
	assert.True(t, strings.Contains(err.Error(), "configured overlays: dev, staging, prod"), err)
}
