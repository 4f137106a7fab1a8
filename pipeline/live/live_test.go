package live

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

func pod(name string, labels map[string]string, owner *metav1.OwnerReference) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app", Labels: labels}}
	if owner != nil {
		yes := true
		owner.Controller = &yes
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func TestOwner(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p    *corev1.Pod
		want string
	}{
		{pod("web-5d4f8b7c9-x2x", map[string]string{"pod-template-hash": "5d4f8b7c9"}, &metav1.OwnerReference{Kind: "ReplicaSet", Name: "web-5d4f8b7c9"}), "Deployment/web"},
		{pod("rs-abc", nil, &metav1.OwnerReference{Kind: "ReplicaSet", Name: "rs"}), "ReplicaSet/rs"},
		{pod("pg-0", nil, &metav1.OwnerReference{Kind: "StatefulSet", Name: "pg"}), "StatefulSet/pg"},
		{pod("backup-29430720-abcde", nil, &metav1.OwnerReference{Kind: "Job", Name: "backup-29430720"}), "CronJob/backup"},
		{pod("migrate-x", nil, &metav1.OwnerReference{Kind: "Job", Name: "migrate"}), "Job/migrate"},
		{pod("debug", nil, nil), "Pod/debug"},
	} {
		kind, name := Owner(c.p)
		assert.Equal(t, c.want, kind+"/"+name, c.p.Name)
	}
}

func TestClusterGathersPods(t *testing.T) {
	t.Parallel()
	owner := &metav1.OwnerReference{Kind: "ReplicaSet", Name: "web-abc"}
	a := pod("web-abc-1", map[string]string{"app": "web", "pod-template-hash": "abc"}, owner)
	a.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.0.2"}, {IP: "fd00::2"}}}
	b := pod("web-abc-2", map[string]string{"app": "web", "pod-template-hash": "abc"}, owner)
	b.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.3"}
	done := pod("job-1", map[string]string{"app": "job"}, nil)
	done.Status.Phase = corev1.PodSucceeded
	bad := pod("odd", nil, nil)
	bad.Status.PodIP = "not-an-ip"
	st := &State{Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "app"}}}, Pods: []corev1.Pod{*a, *b, *done, *bad}, Missing: []string{"monitoring"}}
	c, info := st.Cluster(nil)
	require.Len(t, c.Workloads, 2)
	w := c.Workloads[1]
	assert.Equal(t, "app/web[Deployment]", w.String())
	assert.Equal(t, map[string]string{"app": "web"}, w.Labels, "the controller's label is left out")
	assert.Equal(t, "[10.244.0.2 10.244.0.3 fd00::2]", fmtAddrs(w), "every address of every pod, sorted")
	assert.Equal(t, 2, info.Pods["app/web"])
	assert.Equal(t, "app", c.Namespaces[0].Labels[model.NamespaceNameLabel])
	assert.Contains(t, strings.Join(info.Notes, "\n"), `pod app/odd: status.podIPs: invalid IP address "not-an-ip"`)
	assert.Contains(t, strings.Join(info.Notes, "\n"), "namespace monitoring does not exist")
}

func fmtAddrs(w model.Workload) string {
	var s []string
	for _, a := range w.IPs {
		s = append(s, a.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestSpecDiff(t *testing.T) {
	t.Parallel()
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(p int) *intstr.IntOrString { v := intstr.FromInt32(int32(p)); return &v }
	git := networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: port(5432)}}}},
	}
	same := git
	same.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	same.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: port(5432), Protocol: &tcp}}}}
	assert.Empty(t, SpecDiff(&git, &same), "the API server's defaults are no drift")

	other := *same.DeepCopy()
	other.Ingress[0].Ports[0].Protocol = &udp
	other.Ingress = append(other.Ingress, networkingv1.NetworkPolicyIngressRule{})
	assert.Equal(t, []model.FieldChange{
		{Path: "spec.ingress[0].ports[0].protocol", Git: `"TCP"`, Live: `"UDP"`},
		{Path: "spec.ingress[1]", Git: "", Live: "{}"},
	}, SpecDiff(&git, &other))
}

func TestReadFileErrors(t *testing.T) {
	t.Parallel()
	_, err := ReadFile("live.yaml", []byte("kind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s, namespace: app}, spec: {ports: nope}}\n- {apiVersion: v1, metadata: {name: x}}\n"), []string{"app"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "live.yaml: document 1, items[0] (Service app/s): ")
	assert.Contains(t, err.Error(), "live.yaml: document 1, items[1] ( x): missing kind")
	st, err := ReadFile("live.yaml", []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: other}\n"), []string{"app", "gone"})
	require.NoError(t, err)
	assert.Len(t, st.Namespaces, 1)
	assert.Empty(t, st.Pods, "namespaces not asked for are left out")
	assert.Equal(t, []string{"gone"}, st.Missing)
}

// TestDocsListTheRole: docs/audit.md shows the ClusterRole the e2e test
// applies, word for word.
func TestDocsListTheRole(t *testing.T) {
	t.Parallel()
	rbac, err := os.ReadFile(filepath.Join("..", "..", "docs", "audit-rbac.yaml"))
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "audit.md"))
	require.NoError(t, err)
	assert.Contains(t, string(doc), "```yaml\n"+string(rbac)+"```")
}
