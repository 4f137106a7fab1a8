// Package argocd_test checks the Argo CD delivery manifests: the sync-wave
// component against a small overlay, the ApplicationSet template per
// environment, and the AppProject fence against every overlay of the
// repository.
package argocd_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const waveAnnotation = "argocd.argoproj.io/sync-wave"

func kustomize(t *testing.T, fsys filesys.FileSystem, dir string) map[string]map[string]string {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	m, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
	require.NoError(t, err)
	out := map[string]map[string]string{}
	for _, r := range m.Resources() {
		out[r.GetKind()+"/"+r.GetName()] = r.GetAnnotations()
	}
	return out
}

func TestSyncWavesComponent(t *testing.T) {
	t.Parallel()
	component, err := os.ReadFile(filepath.Join("components", "sync-waves", "kustomization.yaml"))
	require.NoError(t, err)

	fsys := filesys.MakeFsInMemory()
	require.NoError(t, fsys.WriteFile("/repo/argocd/components/sync-waves/kustomization.yaml", component))
	require.NoError(t, fsys.WriteFile("/repo/bases/kustomization.yaml", []byte("resources: [objects.yaml]\n")))
	require.NoError(t, fsys.WriteFile("/repo/bases/objects.yaml", []byte(`
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-frontend-ingress, namespace: app, annotations: {team: web}}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: backend, namespace: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: app}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, namespace: app}
spec:
  selector: {matchLabels: {app: backend}}
  template:
    metadata: {labels: {app: backend}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: postgres, namespace: app}
spec:
  serviceName: postgres
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec: {containers: [{name: c, image: postgres}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: app}
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}
`)))
	require.NoError(t, fsys.WriteFile("/repo/overlays/dev/kustomization.yaml", []byte(`
resources: [../../bases]
components: [../../argocd/components/sync-waves]
`)))

	got := kustomize(t, fsys, "/repo/overlays/dev")
	want := map[string]string{
		"Namespace/app":                        "-3",
		"NetworkPolicy/default-deny-ingress":   "-2",
		"NetworkPolicy/allow-frontend-ingress": "-1",
		"ServiceAccount/backend":               "0",
		"ConfigMap/settings":                   "0",
		"Service/backend":                      "0",
		"Deployment/backend":                   "1",
		"StatefulSet/postgres":                 "1",
		"CronJob/backup":                       "2",
	}
	require.Len(t, got, len(want), "the component must neither add nor drop objects")
	for obj, wave := range want {
		require.Contains(t, got, obj)
		assert.Equal(t, wave, got[obj][waveAnnotation], "sync wave of %s", obj)
	}
	assert.Equal(t, "web", got["NetworkPolicy/allow-frontend-ingress"]["team"], "existing annotations are kept")
}
