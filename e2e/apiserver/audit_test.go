//go:build e2e

package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/live/livetest"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/render"
	"github.com/reachgate/reachgate/pipeline/run"
)

// auditorKubeconfig is the admin kubeconfig impersonating a member of the
// reachgate-auditors group, bound to the ClusterRole of docs/audit.md: the
// audit runs with exactly the rights the documentation asks for.
func auditorKubeconfig(t *testing.T) string {
	t.Helper()
	kubectl(t, "apply", "--server-side", "-f", filepath.Join(repoRoot(t), "docs", "audit-rbac.yaml"))
	cfg, err := clientcmd.LoadFromFile(kubeconfig(t))
	require.NoError(t, err)
	for _, u := range cfg.AuthInfos {
		u.Impersonate = "reachgate-auditor"
		u.ImpersonateGroups = []string{"reachgate-auditors"}
	}
	f := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, f))
	return f
}

func clientset(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig(t))
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return cs
}

// startPod creates a pod and gives it its address through the status
// subresource, as a kubelet would: the API server runs no kubelet.
func startPod(t *testing.T, cs *kubernetes.Clientset, p corev1.Pod, ip string) {
	t.Helper()
	ctx := context.Background()
	p.Spec.AutomountServiceAccountToken = new(bool)
	created, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, &p, metav1.CreateOptions{FieldManager: "e2e"})
	if apierrors.IsAlreadyExists(err) {
		created, err = cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	}
	require.NoError(t, err, "create pod %s/%s", p.Namespace, p.Name)
	created.Status.Phase = corev1.PodRunning
	created.Status.PodIP = ip
	created.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	_, err = cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err, "status of pod %s/%s", p.Namespace, p.Name)
}

type auditDoc struct {
	Drifted   bool
	Cluster   string
	Policies  []struct{ Namespace, Name, State string }
	Unmanaged []struct {
		Namespace, Name, Kind           string
		IngressIsolated, EgressIsolated bool
	}
	NotRunning []string
	Flows      struct {
		Added, Removed, Changed []struct {
			Src, Dst struct{ Name, Namespace string }
		}
	}
}

func runAudit(t *testing.T, kc string) (auditDoc, int) {
	t.Helper()
	var out, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := run.Audit(ctx, run.AuditParams{Common: run.Common{Dir: repoRoot(t)}, Overlay: "prod", Kubeconfig: kc, Format: "json"}, &out, &stderr)
	t.Logf("audit took %v", time.Since(start).Round(time.Millisecond))
	code := 0
	var ee *run.ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	} else {
		require.NoError(t, err, stderr.String())
	}
	var d auditDoc
	require.NoError(t, json.Unmarshal(out.Bytes(), &d), out.String())
	return d, code
}

// TestAuditDrift applies the prod overlay by server-side apply, starts
// its pods (and the inventory's), and audits: no drift. Then it deletes a
// policy, adds one by hand and starts a pod no policy of git names: the
// audit reports exactly those.
func TestAuditDrift(t *testing.T) {
	root := repoRoot(t)
	cs := clientset(t)
	ctx := context.Background()
	ws, err := run.OpenWorkTree(root, "")
	require.NoError(t, err)
	for _, n := range ws.Config.Inventory.Namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
	// Server-side apply, as Argo CD syncs.
	objs, err := render.OverlayRoot(filesys.MakeFsOnDisk(), root, filepath.Join(root, "overlays", "prod"))
	require.NoError(t, err)
	var yml bytes.Buffer
	require.NoError(t, render.WriteYAML(&yml, objs))
	apply := exec.Command("kubectl", "--kubeconfig", kubeconfig(t), "apply", "--server-side", "--field-manager=argocd-controller", "--force-conflicts", "-f", "-")
	apply.Stdin = &yml
	out, err := apply.CombinedOutput()
	require.NoError(t, err, "%s", out)
	// Leave the server as the dry-run tests expect it: the namespaces stay
	// (there is no controller to finalize their deletion), their objects go.
	t.Cleanup(func() {
		for _, ns := range []string{"app"} {
			_ = cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}
		_ = nps(cs).Delete(ctx, "hand-made", metav1.DeleteOptions{})
		var keep bytes.Buffer
		require.NoError(t, render.WriteYAML(&keep, withoutNamespaces(objs)))
		// --wait=false: without a garbage collector the API server keeps
		// what owns nothing waiting for it, and kubectl would wait forever.
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		del := exec.CommandContext(dctx, "kubectl", "--kubeconfig", kubeconfig(t), "delete", "--ignore-not-found", "--wait=false", "-f", "-")
		del.Stdin = &keep
		if out, err := del.CombinedOutput(); err != nil {
			t.Logf("cleanup: %v: %s", err, out)
		}
	})

	o := ws.Load(context.Background(), "prod")
	require.NoError(t, o.Err)
	for _, p := range livetest.Pods(o.Cluster, netip.MustParsePrefix("10.244.0.0/16"), true) {
		startPod(t, cs, p, p.Status.PodIP)
	}
	kc := auditorKubeconfig(t)

	d, code := runAudit(t, kc)
	assert.Equal(t, 0, code, "no drift: %+v", d)
	assert.False(t, d.Drifted)
	assert.Empty(t, d.Policies)
	assert.Empty(t, d.Unmanaged)
	assert.Empty(t, d.NotRunning)
	assert.Empty(t, d.Flows.Added)
	assert.Empty(t, d.Flows.Removed)
	assert.Empty(t, d.Flows.Changed)
	assert.Contains(t, d.Cluster, "https://127.0.0.1:")

	// Drift: one policy deleted, one added by hand, one stray pod.
	require.NoError(t, nps(cs).Delete(ctx, "allow-redis-from-worker", metav1.DeleteOptions{}))
	_, err = nps(cs).Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "hand-made", Namespace: "app"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}},
			}}}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	startPod(t, cs, corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "debug-shell", Namespace: "app", Labels: map[string]string{"run": "debug-shell"}},
		Spec: corev1.PodSpec{
			Containers:      []corev1.Container{livetest.Restricted(corev1.Container{Name: "sh", Image: "busybox"})},
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptrTrue(), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		},
	}, "10.244.200.1")

	d, code = runAudit(t, kc)
	assert.Equal(t, 1, code, "drift exits 1")
	assert.True(t, d.Drifted)
	var pols []string
	for _, p := range d.Policies {
		pols = append(pols, p.Namespace+"/"+p.Name+" "+p.State)
	}
	assert.Equal(t, []string{"app/allow-redis-from-worker missing-live", "app/hand-made not-in-git"}, pols)
	require.Len(t, d.Unmanaged, 1)
	u := d.Unmanaged[0]
	assert.Equal(t, "app/debug-shell Pod", u.Namespace+"/"+u.Name+" "+u.Kind)
	assert.True(t, u.IngressIsolated && u.EgressIsolated, "app's default denies cover the stray pod")
	require.Len(t, d.Flows.Removed, 1)
	assert.Equal(t, "worker -> redis", d.Flows.Removed[0].Src.Name+" -> "+d.Flows.Removed[0].Dst.Name)
	require.NotEmpty(t, d.Flows.Added)
	for _, c := range append(d.Flows.Added, d.Flows.Changed...) {
		assert.Equal(t, "monitoring -> app/frontend", c.Src.Namespace+" -> "+c.Dst.Namespace+"/"+c.Dst.Name)
	}
	assert.Empty(t, d.NotRunning)

	// The auditor's identity can read and nothing more.
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	require.NoError(t, err)
	auditor, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	err = auditor.NetworkingV1().NetworkPolicies("app").Delete(ctx, "hand-made", metav1.DeleteOptions{})
	assert.True(t, apierrors.IsForbidden(err), "the audit role must not write: %v", err)
	_, err = auditor.CoreV1().Secrets("app").List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err), "the audit role must not read secrets: %v", err)
}

func nps(cs *kubernetes.Clientset) interface {
	Create(context.Context, *networkingv1.NetworkPolicy, metav1.CreateOptions) (*networkingv1.NetworkPolicy, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
} {
	return cs.NetworkingV1().NetworkPolicies("app")
}

func withoutNamespaces(objs []model.Object) []model.Object {
	var out []model.Object
	for _, o := range objs {
		if o.Kind != "Namespace" {
			out = append(out, o)
		}
	}
	return out
}

func ptrTrue() *bool { b := true; return &b }
