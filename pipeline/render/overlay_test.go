package render

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

// A multi-document base file, patched, renamed and moved to another
// namespace by an overlay: every object keeps the line of its own
// document, and the origin annotations are gone.
func TestOverlayOriginLines(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- bases/app/kustomization.yaml --
resources:
- namespace.yaml
- postgres.yaml
-- bases/app/namespace.yaml --
apiVersion: v1
kind: Namespace
metadata:
  name: app
-- bases/app/postgres.yaml --
# PostgreSQL and its services.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: app
spec:
  template:
    metadata:
      labels:
        app: postgres
    spec:
      containers:
      - name: postgres
        image: postgres:16
---
apiVersion: v1
kind: Service
metadata:
  name: postgres
  namespace: app
spec:
  selector:
    app: postgres
  ports:
  - port: 5432
---

---
apiVersion: v1
kind: Service
metadata:
  name: postgres-headless
  namespace: app
spec:
  clusterIP: None
  selector:
    app: postgres
-- overlays/prod/kustomization.yaml --
namePrefix: prod-
resources:
- ../../bases/app
- extra.yaml
patches:
- path: patch.yaml
configMapGenerator:
- name: settings
  namespace: app
  literals: [mode=prod]
-- overlays/prod/extra.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: postgres
  namespace: app
data:
  max_connections: "200"
-- overlays/prod/patch.yaml --
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: app
spec:
  replicas: 3
`)
	objs, err := Overlay(fs, "overlays/prod")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"Namespace/app bases/app/namespace.yaml:1",
		"ConfigMap app/prod-postgres overlays/prod/extra.yaml:1",
		"ConfigMap app/prod-settings-mgc92dd9c6 overlays/prod/kustomization.yaml:8",
		"Service app/prod-postgres bases/app/postgres.yaml:17",
		"Service app/prod-postgres-headless bases/app/postgres.yaml:30",
		"StatefulSet app/prod-postgres bases/app/postgres.yaml:2",
	}, located(objs))

	sts := objs[5]
	assert.Equal(t, "apps/v1", sts.APIVersion)
	assert.Equal(t, int64(3), sts.Doc["spec"].(map[string]any)["replicas"], "the overlay's patch applies")
	assert.NotContains(t, sts.Doc["metadata"], "annotations", "origin annotations are removed")
	for _, o := range objs {
		md := o.Doc["metadata"].(map[string]any)
		assert.NotContains(t, md, "annotations", o.ObjectRef.String())
	}
}

// A base listed by a user's own buildMetadata keeps working, and user
// annotations survive next to the ones that are removed.
func TestOverlayKeepsUserBuildMetadataAndAnnotations(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- app/kustomization.yaml --
buildMetadata: [managedByLabel]
commonAnnotations:
  team: platform
resources:
- cm.yaml
-- app/cm.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  annotations:
    note: keep me
`)
	objs, err := Overlay(fs, "app")
	require.NoError(t, err)
	require.Len(t, objs, 1)
	md := objs[0].Doc["metadata"].(map[string]any)
	assert.Equal(t, map[string]any{"note": "keep me", "team": "platform"}, md["annotations"])
	assert.Contains(t, md["labels"], "app.kubernetes.io/managed-by")
	assert.Equal(t, "app/cm.yaml:1", objs[0].Source.String())

	// The user's file is untouched.
	b, err := fs.ReadFile("/app/kustomization.yaml")
	require.NoError(t, err)
	assert.Equal(t, "buildMetadata: [managedByLabel]\ncommonAnnotations:\n  team: platform\nresources:\n- cm.yaml\n", string(b))
}

// A remote base is an input error naming the file, the field and the URL,
// and nothing is fetched.
func TestOverlayRemoteBase(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n"))
	}))
	defer srv.Close()

	fs := memFS(t, `
-- overlays/dev/kustomization.yaml --
resources:
- ../../bases/app
- `+srv.URL+`/configmap.yaml
- https://github.com/example/platform//base?ref=v1.2.0
components:
- git@github.com:example/components.git//monitoring
patches:
- path: github.com/example/patches/replicas.yaml
-- bases/app/kustomization.yaml --
resources: [cm.yaml]
-- bases/app/cm.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: local
`)
	objs, err := Overlay(fs, "overlays/dev")
	assert.Nil(t, objs)
	assert.Equal(t, []string{
		`overlays/dev/kustomization.yaml:3: resources[1]: remote reference "` + srv.URL + `/configmap.yaml" is not allowed: rendering never fetches anything; vendor it into the repository`,
		`overlays/dev/kustomization.yaml:4: resources[2]: remote reference "https://github.com/example/platform//base?ref=v1.2.0" is not allowed: rendering never fetches anything; vendor it into the repository`,
		`overlays/dev/kustomization.yaml:6: components[0]: remote reference "git@github.com:example/components.git//monitoring" is not allowed: rendering never fetches anything; vendor it into the repository`,
		`overlays/dev/kustomization.yaml:8: patches[0].path: remote reference "github.com/example/patches/replicas.yaml" is not allowed: rendering never fetches anything; vendor it into the repository`,
	}, errorList(t, err))
	assert.Zero(t, hits.Load(), "the remote resource must not be fetched")

	// One remote reference comes back as a single *model.InputError.
	fs = memFS(t, `
-- o/kustomization.yaml --
resources:
- cm.yaml
- https://example.com/base?ref=main
-- o/cm.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
`)
	_, err = Overlay(fs, "o")
	var ie *model.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, model.Location{File: "o/kustomization.yaml", Line: 3}, ie.Location)
	assert.Equal(t, "resources[1]", ie.Field)
	assert.Contains(t, ie.Message, `"https://example.com/base?ref=main"`)
}

func TestIsRemote(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]bool{
		"../../bases/app":                 false,
		"deployment.yaml":                 false,
		"./sub/dir":                       false,
		"a:b.yaml":                        false,
		"https://example.com/x.yaml":      true,
		"HTTP://example.com/x.yaml":       true,
		"github.com/org/repo/base":        true,
		"GitHub.com:org/repo":             true,
		"git@gitlab.com:org/repo.git":     true,
		"git::https://gitlab.com/org/r":   true,
		"ssh://git@host/org/repo":         true,
		"file:///tmp/repo":                true,
		"gitlab.com/org/repo//x?ref=main": true,
		"dev.azure.com/org/_git/repo":     true,
		"s3::https://bucket/x":            true,
	} {
		assert.Equal(t, want, isRemote(ref), ref)
	}
}

func TestOverlayMissingResource(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- overlays/dev/kustomization.yaml --
resources:
- ../../bases/app
- missing.yaml
- ../../bases/nothing
-- bases/app/kustomization.yaml --
resources:
- deployment.yaml
-- bases/app/deployment.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: x
-- bases/empty/README.md --
not a kustomization
`)
	_, err := Overlay(fs, "overlays/dev")
	assert.Equal(t, []string{
		`overlays/dev/kustomization.yaml:3: resources[1]: "missing.yaml" does not exist (overlays/dev/missing.yaml)`,
		`overlays/dev/kustomization.yaml:4: resources[2]: "../../bases/nothing" does not exist (bases/nothing)`,
	}, errorList(t, err))

	fs = memFS(t, `
-- overlays/dev/kustomization.yaml --
resources:
- ../../bases/empty
- ../../../outside
-- bases/empty/README.md --
not a kustomization
`)
	_, err = Overlay(fs, "overlays/dev")
	assert.Equal(t, []string{
		`overlays/dev/kustomization.yaml:2: resources[0]: no kustomization file (kustomization.yaml, kustomization.yml, Kustomization) in bases/empty`,
		`overlays/dev/kustomization.yaml:3: resources[1]: "../../../outside" is outside the repository`,
	}, errorList(t, err))

	_, err = Overlay(fs, "overlays/none")
	assert.Equal(t, []string{
		`overlays/none: no kustomization file (kustomization.yaml, kustomization.yml, Kustomization) in overlays/none`,
	}, errorList(t, err))
}

// An overlay that renders nothing is an error, so that a typo cannot turn
// an environment into an empty (and trivially compliant) one.
func TestOverlayEmpty(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- overlays/empty/kustomization.yaml --
namespace: app
resources: []
-- overlays/blank/kustomization.yaml --
# nothing here yet
-- overlays/nothing/kustomization.yaml --
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
`)
	_, err := Overlay(fs, "overlays/empty")
	assert.Equal(t, []string{"overlays/empty/kustomization.yaml: the overlay renders no objects"}, errorList(t, err))
	_, err = Overlay(fs, "overlays/blank")
	assert.Equal(t, []string{"overlays/blank/kustomization.yaml: kustomization file is empty"}, errorList(t, err))
	_, err = Overlay(fs, "overlays/nothing")
	assert.Equal(t, []string{"overlays/nothing/kustomization.yaml: kustomization file is empty"}, errorList(t, err))
}

func TestOverlayMalformed(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- bad-yaml/kustomization.yaml --
namespace: app
resources: [a.yaml, b.yaml
-- unknown-field/kustomization.yaml --
resources:
- cm.yaml
patchez:
- path: p.yaml
-- unknown-field/cm.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
-- wrong-type/kustomization.yaml --
resources: cm.yaml
-- bad-resource/kustomization.yaml --
resources:
- cm.yaml
-- bad-resource/cm.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
   labels: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: third
  name: again
-- yaml11/kustomization.yaml --
resources: [cm.yaml]
commonLabels: {env: on}
-- helm/kustomization.yaml --
helmCharts:
- name: nginx
  repo: https://charts.example.com
`)
	for dir, want := range map[string][]string{
		"bad-yaml":      {"bad-yaml/kustomization.yaml:2: malformed YAML: did not find expected ',' or ']'"},
		"unknown-field": {"unknown-field/kustomization.yaml:3: patchez: invalid kustomization: unknown field"},
		"wrong-type":    {"wrong-type/kustomization.yaml:1: resources: invalid kustomization: cannot unmarshal string into Go struct field Kustomization.resources of type []string"},
		"bad-resource": {
			"bad-resource/cm.yaml:10: malformed YAML: mapping values are not allowed in this context",
			`bad-resource/cm.yaml:16: metadata.name: duplicate key (first at line 15)`,
		},
		"yaml11": {"yaml11/kustomization.yaml:2: commonLabels: invalid kustomization: cannot unmarshal bool into Go struct field Kustomization.commonLabels of type string (kustomize reads unquoted y, yes, on, n, no, off as booleans in kustomization files: quote the value)"},
		"helm":   {"helm/kustomization.yaml:1: helmCharts: Helm charts are not rendered: reachgate runs kustomize without plugins; render the chart into the repository"},
	} {
		_, err := Overlay(fs, dir)
		assert.Equal(t, want, errorList(t, err), dir)
	}
}

// Kustomize's own errors (here a patch without a target) are input
// errors naming the overlay's kustomization file, without the file
// system's root in the message.
func TestOverlayKustomizeError(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- o/kustomization.yaml --
resources: [cm.yaml]
patches:
- path: patch.yaml
-- o/cm.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
-- o/patch.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: nope
data: {a: b}
`)
	_, err := Overlay(fs, "o")
	var ie *model.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "o/kustomization.yaml", ie.Location.File)
	assert.Contains(t, ie.Message, "kustomize: ")
	assert.Contains(t, ie.Message, "nope")
}

// On disk, a base or a resource that is a symlink leaving the repository
// is refused; a symlink that stays inside is fine.
func TestOverlaySymlinkEscape(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	outside := filepath.Join(tmp, "outside")
	write := func(p, s string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"
	write(filepath.Join(outside, "kustomization.yaml"), "resources: [cm.yaml]\n")
	write(filepath.Join(outside, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: secret-stuff\n")
	write(filepath.Join(repo, "bases/app/kustomization.yaml"), "resources: [cm.yaml]\n")
	write(filepath.Join(repo, "bases/app/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n")
	require.NoError(t, os.Symlink(outside, filepath.Join(repo, "bases/evil")))
	require.NoError(t, os.Symlink(filepath.Join(repo, "bases/app"), filepath.Join(repo, "bases/alias")))
	write(filepath.Join(repo, "overlays/dev/kustomization.yaml"), "resources:\n- ../../bases/alias\n- ../../bases/evil\n")
	write(filepath.Join(repo, "overlays/ok/kustomization.yaml"), "resources:\n- ../../bases/alias\n- local.yaml\n")
	write(filepath.Join(repo, "overlays/ok/local.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n")
	write(filepath.Join(repo, "overlays/file/kustomization.yaml"), "resources:\n- leak.yaml\n")
	require.NoError(t, os.Symlink(filepath.Join(outside, "cm.yaml"), filepath.Join(repo, "overlays/file/leak.yaml")))
	_ = cm

	fsys := filesys.MakeFsOnDisk()
	_, err := OverlayRoot(fsys, repo, filepath.Join(repo, "overlays/dev"))
	resolvedOutside, _ := filepath.EvalSymlinks(outside)
	assert.Equal(t, []string{
		`overlays/dev/kustomization.yaml:3: resources[1]: "../../bases/evil" resolves to ` + resolvedOutside + `, outside the repository`,
	}, errorList(t, err))

	_, err = OverlayRoot(fsys, repo, filepath.Join(repo, "overlays/file"))
	assert.Equal(t, []string{
		`overlays/file/kustomization.yaml:2: resources[0]: "leak.yaml" resolves to ` + filepath.Join(resolvedOutside, "cm.yaml") + `, outside the repository`,
	}, errorList(t, err))

	objs, err := OverlayRoot(fsys, repo, filepath.Join(repo, "overlays/ok"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"ConfigMap/app bases/alias/cm.yaml:1",
		"ConfigMap/local overlays/ok/local.yaml:1",
	}, located(objs))

	_, err = OverlayRoot(fsys, filepath.Join(repo, "bases"), filepath.Join(repo, "overlays/ok"))
	assert.ErrorContains(t, err, "is outside the repository root")
}

// The seed task's policy set, rendered from testdata/seed on disk: the
// invalid default-deny-egress is reported with file, line, object and
// field, and every other object still loads.
func TestSeedPolicies(t *testing.T) {
	t.Parallel()
	objs, err := OverlayRoot(filesys.MakeFsOnDisk(), "../..", "../../testdata/seed")
	require.NoError(t, err)
	require.Len(t, objs, 10)

	c, errs := Decode(objs, nil)
	assert.Equal(t, []string{
		"testdata/seed/seed-policies.yaml:24: NetworkPolicy app/default-deny-egress: spec.policyTypes[1]: expected a string, got a mapping",
	}, inputErrors(errs))
	require.Len(t, errs, 1)
	assert.Equal(t, model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "default-deny-egress"}, errs[0].Object)
	assert.Equal(t, "spec.policyTypes[1]", errs[0].Field)
	assert.Equal(t, model.Location{File: "testdata/seed/seed-policies.yaml", Line: 24}, errs[0].Location)

	var names []string
	for _, p := range c.Policies {
		names = append(names, p.Key()+" "+p.Source.String())
	}
	assert.Equal(t, []string{
		"app/allow-backend-external-apis testdata/seed/seed-policies.yaml:191",
		"app/allow-backend-to-cache testdata/seed/seed-policies.yaml:119",
		"app/allow-backend-to-database testdata/seed/seed-policies.yaml:89",
		"app/allow-backend-to-queue testdata/seed/seed-policies.yaml:141",
		"app/allow-frontend-ingress testdata/seed/seed-policies.yaml:45",
		"app/allow-frontend-to-backend testdata/seed/seed-policies.yaml:67",
		"app/allow-metrics-scraping testdata/seed/seed-policies.yaml:168",
		"app/default-deny-ingress testdata/seed/seed-policies.yaml:12",
	}, names)
	require.Len(t, c.Namespaces, 1)
	assert.Equal(t, map[string]string{"name": "app", model.NamespaceNameLabel: "app"}, c.Namespaces[0].Labels)
	assert.Len(t, c.Objects, 10, "rules see every object, the invalid one included")
}

// Objects the source tag cannot follow are still located: a patch that
// replaces all annotations, a merge key in metadata, generated objects;
// and a kustomization that asks for kustomize's own origin annotations
// gets them removed like the rest.
func TestOverlaySourceFallbacks(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- base/kustomization.yaml --
resources: [objects.yaml]
-- base/objects.yaml --
apiVersion: v1
kind: ConfigMap
metadata:
  name: replaced
  annotations: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  <<: {labels: {x: y}}
  name: merged
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
-- overlay/kustomization.yaml --
buildMetadata: [originAnnotations, transformerAnnotations]
nameSuffix: -v2
resources: [../base]
secretGenerator:
- name: creds
  literals: [user=admin]
patches:
- target: {kind: ConfigMap, name: replaced}
  patch: |-
    - op: replace
      path: /metadata/annotations
      value: {c: d}
`)
	objs, err := Overlay(fs, "overlay")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"ConfigMap/merged-v2 base/objects.yaml:7",
		"ConfigMap/plain-v2 base/objects.yaml:13",
		"ConfigMap/replaced-v2 base/objects.yaml:1",
		"Secret/creds-v2-hmbb7mfmdf overlay/kustomization.yaml:5",
	}, located(objs))
	md := func(i int, field string) any { return objs[i].Doc["metadata"].(map[string]any)[field] }
	assert.Equal(t, map[string]any{"x": "y"}, md(0, "labels"))
	// transformerAnnotations was asked for by the user and stays; the
	// origin annotations and the source tag do not.
	for i := range objs {
		ann, _ := md(i, "annotations").(map[string]any)
		assert.Contains(t, ann, "alpha.config.kubernetes.io/transformations", objs[i].ObjectRef.String())
		assert.NotContains(t, ann, originAnnotation, objs[i].ObjectRef.String())
		assert.NotContains(t, ann, sourceAnnotation, objs[i].ObjectRef.String())
	}
	assert.Equal(t, "d", md(2, "annotations").(map[string]any)["c"])
}

// The repository root itself can be the overlay, and concurrent renders
// of the same tree agree.
func TestOverlayAtRootConcurrently(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- kustomization.yaml --
namespace: app
resources: [./deploy/web.yaml]
-- deploy/web.yaml --
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
`)
	done := make(chan []string, 4)
	for range 4 {
		go func() {
			objs, err := Overlay(fs, ".")
			assert.NoError(t, err)
			done <- located(objs)
		}()
	}
	for range 4 {
		assert.Equal(t, []string{"Service app/web deploy/web.yaml:1"}, <-done)
	}
}
