package render

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
)

// bothWays builds the kustomization in dir with krusty and with the fast
// path, at the level of kustomize's resources: their YAML (key order,
// styles and all) and order. fast reports whether the fast path applied;
// where it does not, there is nothing to compare. Errors of the walk are
// returned.
func bothWays(t testing.TB, fsys filesys.FileSystem, root, dir string) (krusty, fast string, applied bool, err error) {
	t.Helper()
	tr, err := newTree(fsys, root, DefaultLimits.FileBytes)
	require.NoError(t, err)
	rel, err := tr.relative(dir)
	require.NoError(t, err)
	w := newKustWalker(context.Background(), NewRenderer(fsys, root, DefaultLimits), tr)
	top := w.walk(rel, nil)
	if len(w.errs) > 0 {
		return "", "", false, asError(w.errs)
	}
	yamlOf := func(rs []*resource.Resource) string {
		var b strings.Builder
		for _, r := range rs {
			b.WriteString("---\n")
			b.WriteString(r.MustYaml())
		}
		return b.String()
	}
	fs, resourcesOK := fastResources(w, top)
	_, applied = fastBuild(w, top)
	require.True(t, resourcesOK || !applied)
	tagged, terr := w.index.taggedFiles()
	require.Nil(t, terr)
	ks, kerr := build(context.Background(), tr, top, tagged, w.customSchema)
	if kerr != nil {
		require.False(t, applied, "the fast path rendered what krusty refuses: %v", kerr)
		return "", "", false, kerr
	}
	if !applied {
		return yamlOf(ks), "", false, nil
	}
	// krusty rewrites annotations, sorted, at the end of metadata;
	// fastResources leaves them where they were written (on copies here:
	// the walk's documents are what krusty read).
	for i, r := range fs {
		fs[i] = r.DeepCopy()
		fs[i].RemoveBuildAnnotations()
	}
	return yamlOf(ks), yamlOf(fs), true, nil
}

// fastResources is the resources krusty would build from a tree that
// only lists resources, but for the check of built-in kinds' structure
// (fastBuild does it on the converted objects), when the walk took none
// from the memo.
func fastResources(w *kustWalker, top *kustomization) ([]*resource.Resource, bool) {
	_, all, kept, ok := fastItems(w, top)
	if !ok {
		return nil, false
	}
	rs := make([]*resource.Resource, len(kept))
	for i, k := range kept {
		if rs[i] = all[k].res; rs[i] == nil {
			return nil, false
		}
	}
	return rs, true
}

// renderBoth renders dir as reachgate does, with krusty alone and with
// the fast path where it applies, as `reachgate render` prints it.
func renderBoth(t testing.TB, fsys filesys.FileSystem, root, dir string) (krusty, fast string) {
	t.Helper()
	out := func(how int) string {
		objs, err := overlayRoot(fsys, root, dir, how)
		var b bytes.Buffer
		if err != nil {
			b.WriteString("error: " + err.Error() + "\n")
		}
		require.NoError(t, WriteYAML(&b, objs))
		return b.String()
	}
	return out(krustyOnly), out(withFastPath)
}

// kustomizationDirs lists the directories under root that hold a
// kustomization.yaml.
func kustomizationDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	}))
	return dirs
}

// TestFastPathEqualsKrustyOnThisRepository renders every kustomization
// of this repository both ways, byte for byte the same as reachgate
// prints them; and again with their transformations taken out (namespace,
// labels, patches...: this repository's kustomizations all have some, and
// the fast path leaves those to krusty), where the fast path applies and
// kustomize's resources must be the same too.
func TestFastPathEqualsKrustyOnThisRepository(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dirs := kustomizationDirs(t, root)
	require.GreaterOrEqual(t, len(dirs), 5)
	fsys := filesys.MakeFsOnDisk()
	// The same files in memory, every kustomization cut down to its
	// resources.
	plain := filesys.MakeFsInMemory()
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if d.Name() == "kustomization.yaml" {
			var k types.Kustomization
			require.NoError(t, k.Unmarshal(data))
			cut := "apiVersion: " + k.APIVersion + "\nkind: " + k.Kind + "\nresources:\n"
			for _, r := range append(k.Resources, k.Bases...) {
				cut += "  - " + r + "\n"
			}
			data = []byte(cut)
		}
		rel, _ := filepath.Rel(root, p)
		return plain.WriteFile("/"+filepath.ToSlash(rel), data)
	}))
	applied := 0
	for _, dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		k, f := renderBoth(t, fsys, root, dir)
		assert.Equal(t, k, f, "%s renders differently", rel)
		k, f = renderBoth(t, plain, "/", "/"+filepath.ToSlash(rel))
		assert.Equal(t, k, f, "%s cut down to its resources renders differently", rel)
		kr, fr, ok, err := bothWays(t, plain, "/", "/"+filepath.ToSlash(rel))
		if err != nil || !ok {
			continue
		}
		applied++
		assert.Equal(t, kr, fr, "%s cut down to its resources: kustomize's resources differ", rel)
	}
	t.Logf("the fast path applies to %d of %d kustomizations cut down to their resources", applied, len(dirs))
	assert.GreaterOrEqual(t, applied, 4, "the fast path applies to too few kustomizations of this repository")
}

// TestFastPathEqualsKrustyOnSyntheticClusters renders synthetic
// repositories (one base per namespace, an overlay listing them) both
// ways; the fast path applies to all of them.
func TestFastPathEqualsKrustyOnSyntheticClusters(t *testing.T) {
	t.Parallel()
	for _, o := range []synth.Options{
		{Workloads: 60, Namespaces: 4, Seed: 1},
		{Workloads: 200, Namespaces: 9, Seed: 2},
		{Workloads: 40, Namespaces: 3, Seed: 3, Small: true},
	} {
		dir := t.TempDir()
		_, err := synth.WriteTree(dir, synth.Cluster(o), synth.TreeOptions{Change: o.Seed == 2})
		require.NoError(t, err)
		fsys := filesys.MakeFsOnDisk()
		kr, fr, ok, err := bothWays(t, fsys, dir, filepath.Join(dir, "overlays/prod"))
		require.NoError(t, err)
		require.True(t, ok, "the fast path does not apply to %+v", o)
		assert.Equal(t, kr, fr, "%+v", o)
		k, f := renderBoth(t, fsys, dir, filepath.Join(dir, "overlays/prod"))
		assert.Equal(t, k, f, "%+v", o)
		assert.NotContains(t, f, "error:")
	}
}

// TestFastPathEqualsKrustyOnGeneratedTrees renders random kustomization
// trees both ways (FuzzFastPath explores further).
func TestFastPathEqualsKrustyOnGeneratedTrees(t *testing.T) {
	t.Parallel()
	n := 150
	if testing.Short() {
		n = 30
	}
	applied, failed := 0, 0
	for seed := range uint64(n) {
		a, f := checkGeneratedTree(t, seed)
		if a {
			applied++
		}
		if f {
			failed++
		}
	}
	t.Logf("%d trees: the fast path applied to %d, krusty refused %d", n, applied, failed)
	// The generator's mix: of the first 150 seeds, 55 take the fast path
	// and 18 are refused; of the first 30 (-short), 6 and 7.
	assert.GreaterOrEqual(t, applied, n/5, "the generator rarely makes trees the fast path takes")
	assert.Greater(t, n-applied, n/10, "the generator rarely makes trees the fast path leaves to krusty")
	assert.Positive(t, failed, "the generator never makes a tree krusty refuses")
}

// FuzzFastPath renders a kustomization tree generated from the fuzzer's
// seed both ways: `go test ./pipeline/render -fuzz FuzzFastPath`.
func FuzzFastPath(f *testing.F) {
	for _, s := range []uint64{1, 7, 42, 1000} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkGeneratedTree(t, seed) })
}

func checkGeneratedTree(t testing.TB, seed uint64) (applied, failed bool) {
	t.Helper()
	files := genTree(rand.New(rand.NewPCG(seed, seed*31+7)))
	fsys := memTree(t, files)
	kr, fr, ok, err := bothWays(t, fsys, "/", "/top")
	if err == nil && ok {
		require.Equal(t, kr, fr, "seed %d: kustomize's resources differ\n%s", seed, dumpTree(files))
	}
	k, fo := renderBoth(t, fsys, "/", "/top")
	if strings.HasPrefix(k, "error:") {
		// Both are krusty's (bothWays checked the fast path left the
		// tree to it), and krusty names whichever bad object it meets
		// first in a map's order.
		require.True(t, strings.HasPrefix(fo, "error:"), "seed %d: krusty refuses, the fast path renders\n%s", seed, dumpTree(files))
		return false, true
	}
	require.Equal(t, k, fo, "seed %d renders differently\n%s", seed, dumpTree(files))
	return ok, err != nil
}

func dumpTree(files map[string]string) string {
	var b strings.Builder
	for name, data := range files {
		fmt.Fprintf(&b, "-- %s --\n%s", name, data)
	}
	return b.String()
}

// genTree makes a kustomization tree: top/ lists resource files and bases,
// bases list files and bases of their own. Half the trees hold plain
// resources of many kinds (Lists, local configuration, custom resources,
// one with a built-in kind's name, YAML 1.1 scalars); the others add one
// thing the fast path must leave to krusty, or that krusty refuses: a
// transformation, a duplicate id, a resource with a build annotation, a
// field of the wrong type on a path kustomize's name references walk, an
// unknown field, a built-in kind at an unknown version.
func genTree(r *rand.Rand) map[string]string {
	g := &treeGen{r: r, files: map[string]string{}, special: r.IntN(14) - 6}
	g.kustomization("top", 0)
	if g.special > 0 && !g.placed {
		// No resource drew it: put it in a file of its own.
		g.files["top/special.yaml"] = g.specialResource()
		g.files["top/kustomization.yaml"] += "  - special.yaml\n"
	}
	return g.files
}

type treeGen struct {
	r     *rand.Rand
	files map[string]string
	n     int
	// special picks what the tree adds to plain resources (none when
	// not positive); placed says it is in.
	special int
	placed  bool
	last    string
}

const (
	specialTransform = 1 + iota
	specialDuplicate
	specialPreviousName
	specialWrongType
	specialUnknownField
	specialOldVersion
	specialCount
)

func (g *treeGen) kustomization(dir string, depth int) {
	var b strings.Builder
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	if g.special == specialTransform && !g.placed && g.r.IntN(2) == 0 {
		g.placed = true
		b.WriteString([]string{"namePrefix: p-\n", "commonLabels:\n  team: a\n", "namespace: moved\n"}[g.r.IntN(3)])
	}
	var entries []string
	for i := g.r.IntN(3); i >= 0; i-- {
		name := fmt.Sprintf("r%d.yaml", g.n)
		g.n++
		g.files[dir+"/"+name] = g.resourceFile()
		entries = append(entries, name)
	}
	if depth < 2 {
		for i := g.r.IntN(3); i > 0; i-- {
			sub := fmt.Sprintf("b%d", g.n)
			g.n++
			g.kustomization(dir+"/"+sub, depth+1)
			entries = append(entries, sub)
		}
	}
	g.r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	b.WriteString("resources:\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "  - %s\n", e)
	}
	g.files[dir+"/kustomization.yaml"] = b.String()
}

func (g *treeGen) resourceFile() string {
	var docs []string
	for i := g.r.IntN(4); i >= 0; i-- {
		if g.special > specialTransform && !g.placed && g.r.IntN(6) == 0 {
			docs = append(docs, g.specialResource())
			continue
		}
		docs = append(docs, g.resource())
	}
	return strings.Join(docs, "---\n")
}

// specialResource is the resource that makes the tree special.
func (g *treeGen) specialResource() string {
	g.placed = true
	md := fmt.Sprintf("metadata:\n  name: s%d\n  namespace: app\n", g.n)
	switch g.special {
	case specialDuplicate:
		if g.last != "" {
			return g.last
		}
		// Not namespaced and named the same: "" and "default" are one
		// namespace to kustomize.
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n  namespace: default\n"
	case specialPreviousName:
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: renamed\n  annotations:\n    internal.config.kubernetes.io/previousNames: old\n    internal.config.kubernetes.io/previousNamespaces: default\n    internal.config.kubernetes.io/previousKinds: ConfigMap\n"
	case specialWrongType:
		return "apiVersion: apps/v1\nkind: Deployment\n" + md + "spec:\n  template:\n    spec:\n      volumes: oops\n"
	case specialUnknownField:
		return "apiVersion: v1\nkind: Service\n" + md + "spec:\n  selectr:\n    app: a\n"
	case specialOldVersion:
		return "apiVersion: extensions/v1beta1\nkind: Deployment\n" + md + "spec:\n  replicas: 1\n"
	}
	return g.resource()
}

var genNamespaces = []string{"", "default", "app", "db"}

func (g *treeGen) resource() string {
	ns := genNamespaces[g.r.IntN(len(genNamespaces))]
	// Names are drawn from enough that ids rarely repeat by chance; the
	// counter makes them unique.
	name := fmt.Sprintf("x%d", g.n)
	g.n++
	md := "metadata:\n  name: " + name + "\n"
	if ns != "" {
		md += "  namespace: " + ns + "\n"
	}
	switch g.r.IntN(20) {
	case 0:
		md += "  annotations:\n    config.kubernetes.io/local-config: \"true\"\n"
	case 1:
		md += "  annotations:\n    config.kubernetes.io/local-config: \"false\"\n    note: y\n"
	case 2:
		md += "  labels:\n    on: \"yes\"\n    version: '1.0'\n"
	// Annotations in every shape the source tag meets (tag, tagValue).
	case 3:
		md += "  annotations:\n"
	case 4:
		md += "  annotations: {}\n"
	case 5:
		md += "  annotations:\n    config.kubernetes.io/origin: |\n      path: elsewhere.yaml\n"
	case 6:
		md += "  annotations:\n    alpha.config.kubernetes.io/transformations: |\n      - x\n    note: z\n"
	}
	var out string
	switch g.r.IntN(16) {
	case 0:
		out = "apiVersion: v1\nkind: ConfigMap\n" + md + "data:\n  k: v\n  n: \"0777\"\n"
	case 1:
		out = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
	case 2:
		out = "apiVersion: v1\nkind: Service\n" + md + "spec:\n  selector:\n    app: " + name + "\n  ports:\n  - port: 80\n    targetPort: http\n"
	case 3:
		out = "apiVersion: v1\nkind: ServiceAccount\n" + md
	case 4:
		out = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n" + md +
			"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: r\nsubjects:\n- kind: ServiceAccount\n  name: x1\n"
	case 5:
		out = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: " + name + "\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  resourceNames: [x1, x2]\n  verbs: [get]\n"
	case 6:
		out = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" + md + "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n"
	case 7:
		// A custom resource: no name reference walks it.
		out = "apiVersion: example.com/v1\nkind: Widget\n" + md + "spec:\n  volumes: not-a-list\n"
	case 8:
		// A custom resource with a built-in kind's name.
		out = "apiVersion: example.com/v1\nkind: Deployment\n" + md + "spec:\n  replicas: 1\n"
	case 9:
		out = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: l" + name + "\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: l" + name + "\n"
	case 10:
		out = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: " + name + "\nprovisioner: x\n"
	case 11:
		out = "apiVersion: batch/v1\nkind: CronJob\n" + md + "spec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: []\n"
	case 12:
		out = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: " + name + "\nwebhooks: []\n"
	case 13:
		out = "# a comment\napiVersion: v1\nkind: Pod\n" + md + "spec:\n  containers:\n  - name: c\n    image: busybox\n    ports:\n    - containerPort: 8080\n      name: http\n"
	default:
		img := []string{"nginx", "'1.0'", "\"quoted\"", "on"}[g.r.IntN(4)]
		out = "apiVersion: apps/v1\nkind: Deployment\n" + md + "spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: " + name +
			"\n  template:\n    metadata:\n      labels:\n        app: " + name + "\n    spec:\n      serviceAccountName: x1\n      containers:\n      - name: c\n        image: " + img +
			"\n        envFrom:\n        - configMapRef:\n            name: x2\n"
	}
	g.last = out
	return out
}

// TestFastPathLimits: the limits on objects and builds are for krusty,
// whose time grows with their square; the fast path, linear, renders a
// plain overlay over them, and leaves a tree that includes a
// kustomization twice to krusty and those limits (listing its files once
// per path would take exponential time).
func TestFastPathLimits(t *testing.T) {
	t.Parallel()
	fs := filesys.MakeFsInMemory()
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
	}
	require.NoError(t, fs.WriteFile("/plain/kustomization.yaml", []byte("resources: [cm.yaml]\n")))
	require.NoError(t, fs.WriteFile("/plain/cm.yaml", []byte(b.String())))
	require.NoError(t, fs.WriteFile("/prefixed/kustomization.yaml", []byte("resources: [../plain]\nnamePrefix: p-\n")))
	// Each level includes the one below twice, without transformations.
	require.NoError(t, fs.WriteFile("/l0/kustomization.yaml", []byte("resources: [cm.yaml]\n")))
	require.NoError(t, fs.WriteFile("/l0/cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")))
	for i := 1; i <= 60; i++ {
		for _, side := range []string{"a", "b"} {
			require.NoError(t, fs.WriteFile(fmt.Sprintf("/l%d/%s/kustomization.yaml", i, side), fmt.Appendf(nil, "resources: [../../l%d]\n", i-1)))
		}
		require.NoError(t, fs.WriteFile(fmt.Sprintf("/l%d/kustomization.yaml", i), []byte("resources: [a, b]\n")))
	}
	lim := DefaultLimits
	lim.Objects = 20
	r := NewRenderer(fs, "/", lim)
	objs, err := r.Overlay(context.Background(), "plain")
	require.NoError(t, err)
	assert.Len(t, objs, 30)
	_, err = r.Overlay(context.Background(), "prefixed")
	assert.Equal(t, []string{"prefixed/kustomization.yaml: the overlay renders 30 objects, more than 20, the limit per overlay (kustomize's time grows with the square of the number of objects)"}, errorList(t, err))
	_, err = renderOverlayHow(context.Background(), r, "l60", fastOnly)
	assert.ErrorIs(t, err, errNotFast)
	_, err = r.Overlay(context.Background(), "l60")
	msgs := errorList(t, err)
	require.Len(t, msgs, 1)
	assert.Contains(t, msgs[0], "l60/kustomization.yaml: the overlay renders 1152921504606846976 objects, more than 20")
}

// TestFastPathLeavesBadMetadataToKrusty: a document whose metadata
// kustomize does not accept (no name, no kind, metadata not a mapping)
// sends the tree to krusty, which decides the error.
func TestFastPathLeavesBadMetadataToKrusty(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"no name":          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: a\n",
		"no kind":          "apiVersion: v1\nmetadata:\n  name: b\n",
		"list as metadata": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n- name: c\n",
	} {
		fsys := memTree(t, map[string]string{
			"top/kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
			"top/a.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
			"top/b.yaml":             doc,
		})
		_, _, applied, _ := bothWays(t, fsys, "/", "/top")
		assert.False(t, applied, name)
		k, f := renderBoth(t, fsys, "/", "/top")
		assert.Equal(t, k, f, name)
		assert.Contains(t, f, "error:", name)
	}
}
