package render

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// A plain directory: multi-document files, List and typed lists, JSON,
// nested directories; a malformed document is reported and everything
// else loads.
func TestManifests(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- cluster/namespaces.yaml --
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: app
- apiVersion: v1
  kind: Namespace
  metadata:
    name: data
-- cluster/app/deployments.yml --
apiVersion: apps/v1
kind: DeploymentList
items:
- metadata:
    name: web
    namespace: app
  spec:
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: web, image: nginx}]
-- cluster/app/broken.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
  labels: [unclosed
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: after-the-break
...
---
- just
- a list
-- cluster/data/policy.json --
{
  "apiVersion": "networking.k8s.io/v1",
  "kind": "NetworkPolicy",
  "metadata": {"name": "deny", "namespace": "data"},
  "spec": {"podSelector": {}}
}
-- cluster/data/kustomization.yaml --
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [policy.json]
-- cluster/.git/config.yaml --
not: scanned
-- cluster/README.md --
not a manifest
`)
	objs, skipped, err := Manifests(fs, "cluster")
	assert.Equal(t, []string{
		"cluster/app/broken.yaml:10: malformed YAML: did not find expected ',' or ']'",
	}, errorList(t, err))
	assert.Equal(t, []string{
		"cluster/app/broken.yaml:18: not a Kubernetes object (a list): skipped",
	}, inputErrors(skipped))
	assert.Equal(t, []string{
		"ConfigMap/fine cluster/app/broken.yaml:1",
		"ConfigMap/after-the-break cluster/app/broken.yaml:12",
		"Deployment app/web cluster/app/deployments.yml:4",
		"NetworkPolicy data/deny cluster/data/policy.json:1",
		"Namespace/app cluster/namespaces.yaml:4",
		"Namespace/data cluster/namespaces.yaml:8",
	}, located(objs))
	assert.Equal(t, "apps/v1", objs[2].APIVersion, "items of a typed list get its type")

	c, errs := Decode(objs, nil)
	assert.Empty(t, inputErrors(errs))
	assert.Len(t, c.Workloads, 1)
	assert.Len(t, c.Policies, 1)
	assert.Len(t, c.Namespaces, 2, "app and data; ConfigMaps are not in the model, so no default")
}

// Files next to the manifests that are not Kubernetes objects — a Helm
// values.yaml, a JSON list, a bare value — are skipped, each named with
// its file and line, and the manifests still load. An object with a
// mistake (a kind but no apiVersion, a list of objects) still fails.
func TestManifestsSkipNonObjects(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- m/values.yaml --
replicaCount: 2
image: {repository: web, tag: "1.0"}
-- m/owners.json --
["team-a", "team-b"]
-- m/note.yaml --
just a sentence
-- m/app.yaml --
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
settings: {debug: true}
-- bad/missing.yaml --
kind: Namespace
metadata: {name: app}
-- bad/list.json --
[{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}]
-- none/values.yaml --
a: 1
`)
	objs, skipped, err := Manifests(fs, "m")
	require.NoError(t, err)
	assert.Equal(t, []string{"Namespace/app m/app.yaml:1"}, located(objs))
	assert.Equal(t, []string{
		"m/app.yaml:5: not a Kubernetes object (no apiVersion, kind or metadata): skipped",
		"m/note.yaml:1: not a Kubernetes object (a single value): skipped",
		"m/owners.json:1: not a Kubernetes object (a list): skipped",
		"m/values.yaml:1: not a Kubernetes object (no apiVersion, kind or metadata): skipped",
	}, inputErrors(skipped))

	objs, skipped, err = Manifests(fs, "bad")
	assert.Equal(t, []string{"bad/list.json:1: a manifest must be a mapping, found a list"}, errorList(t, err))
	assert.Empty(t, skipped)
	_, errs := Decode(objs, nil)
	assert.Equal(t, []string{"bad/missing.yaml:1: Namespace/app: apiVersion: missing apiVersion"}, inputErrors(errs))

	_, skipped, err = Manifests(fs, "none")
	assert.Equal(t, []string{"none: no objects: the 1 document(s) here are not Kubernetes objects"}, errorList(t, err))
	assert.Len(t, skipped, 1)
}

func TestManifestsEmptyAndMissing(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- empty/README.md --
nothing
-- comments/only.yaml --
# nothing yet
---
`)
	_, _, err := Manifests(fs, "empty")
	assert.Equal(t, []string{"empty: no objects: no .yaml, .yml or .json manifest here"}, errorList(t, err))
	_, _, err = Manifests(fs, "comments")
	assert.Equal(t, []string{"comments: no objects: no .yaml, .yml or .json manifest here"}, errorList(t, err))
	_, _, err = Manifests(fs, "nowhere")
	assert.Equal(t, []string{"nowhere: no such file or directory"}, errorList(t, err))
}

// On disk, a manifest that is a symlink leaving the repository is refused.
func TestManifestsSymlinkEscape(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "m"), 0o755))
	secret := filepath.Join(tmp, "secret.yaml")
	require.NoError(t, os.WriteFile(secret, []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "m/ok.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n"), 0o644))
	require.NoError(t, os.Symlink(secret, filepath.Join(repo, "m/leak.yaml")))

	objs, _, err := ManifestsRoot(filesys.MakeFsOnDisk(), repo, filepath.Join(repo, "m"))
	resolved, _ := filepath.EvalSymlinks(secret)
	assert.Equal(t, []string{"m/leak.yaml: symlink to " + resolved + ", outside the repository"}, errorList(t, err))
	assert.Equal(t, []string{"ConfigMap/ok m/ok.yaml:1"}, located(objs))
}

func TestManifestsHugeFile(t *testing.T) {
	t.Parallel()
	fs := filesys.MakeFsInMemory()
	require.NoError(t, fs.WriteFile("/m/huge.yaml", make([]byte, DefaultLimits.FileBytes+1)))
	require.NoError(t, fs.WriteFile("/m/ok.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n")))
	objs, _, err := Manifests(fs, "m")
	assert.Equal(t, []string{"m/huge.yaml: read: file is 16.1 MiB, more than the 16 MiB limit per file"}, errorList(t, err))
	assert.Len(t, objs, 1)

	ies := InputErrorsOf(err)
	require.Len(t, ies, 1)
	assert.Equal(t, "m/huge.yaml", ies[0].Location.File)
	assert.Nil(t, InputErrorsOf(nil))
	assert.Nil(t, InputErrorsOf(os.ErrNotExist))
}
