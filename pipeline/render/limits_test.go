package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

// tight are limits small enough to reach with a few lines of YAML.
func tight() Limits {
	l := DefaultLimits
	l.ObjectBytes = 1000
	l.DocumentValues = 200
	l.RunValues = 500
	l.MapKeys = 10
	l.AnnotationBytes = 40
	l.Objects = 20
	l.Builds = 40
	return l
}

// aliasDocs is n documents, each expanding to 1 + 2 + 2 + 5*4*3 = 65
// values through aliases: under tight's limit per document, not under its
// limit per run once there are enough of them.
func aliasDocs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata:\n  a: &a%d [x, x, x]\n  b: [*a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i, i, i, i, i)
	}
	return b.String()
}

func TestLimitsRefuseBeforeKustomize(t *testing.T) {
	t.Parallel()
	manyKeys := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: labels\n  labels:\n"
	for i := range 11 {
		manyKeys += fmt.Sprintf("    l%d: v\n", i)
	}
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  k: " + strings.Repeat("x", 1100) + "\n"
	bigItem := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: small}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: big}\n  data: {k: " + strings.Repeat("x", 1100) + "}\n"
	values := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: values}\ndata:\n  k: [" + strings.TrimSuffix(strings.Repeat("1, ", 250), ", ") + "]\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"aliases, per run", aliasDocs(20), "of them through aliases), the limit per run"},
		{"values, per document", values, "k/r.yaml:5: data.k[193]: document holds more than 200 values, the limit per document"},
		{"object size", big, "k/r.yaml:1: object is 1.2 KiB, more than 1000 bytes, the largest request the API server accepts (the limit per object)"},
		{"object size in a List", bigItem, "k/r.yaml:7: object is 1.2 KiB, more than 1000 bytes"},
		{"keys per mapping", manyKeys, `k/r.yaml:6: metadata.labels: 11 keys in one mapping, more than 10, the limit per mapping`},
		{"annotations", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations: {a: " + strings.Repeat("y", 40) + "}\n", "k/r.yaml:5: metadata.annotations: annotations take 41 bytes, more than the 40 bytes the API server accepts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, overlay := range []bool{true, false} {
				fs := filesys.MakeFsInMemory()
				require.NoError(t, fs.WriteFile("/k/kustomization.yaml", []byte("resources: [r.yaml]\n")))
				require.NoError(t, fs.WriteFile("/k/r.yaml", []byte(tc.file)))
				r := NewRenderer(fs, "/", tight())
				var err error
				if overlay {
					_, err = r.Overlay(context.Background(), "k")
				} else {
					_, _, err = r.Manifests(context.Background(), "k/r.yaml")
				}
				msgs := errorList(t, err)
				require.NotEmpty(t, msgs, "overlay %v", overlay)
				assert.Contains(t, msgs[0], tc.want, "overlay %v", overlay)
				assert.NotContains(t, msgs[0], "alias bomb")
			}
		})
	}
}

// A large file's documents are parsed and converted on every core, then
// counted against the budget per run in order: the errors are those of a
// conversion in order, document by document.
func TestLargeFilesFailAsInOrder(t *testing.T) {
	values := func(name string, n int) string {
		return "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata:\n  k: [" + strings.TrimSuffix(strings.Repeat("1, ", n), ", ") + "]\n"
	}
	var overDocument, overRun strings.Builder
	for i := range 400 {
		n := 5
		if i == 3 || i == 200 {
			n = 250 // over tight's 200 values per document
		}
		overDocument.WriteString(values(fmt.Sprintf("c%d", i), n))
	}
	overRun.WriteString(aliasDocs(400))
	for name, file := range map[string]string{"per document": overDocument.String(), "per run": overRun.String()} {
		t.Run(name, func(t *testing.T) {
			require.Greater(t, len(file), 32<<10)
			render := func(threshold int) []string {
				defer func(old int) { parallelBytes = old }(parallelBytes)
				parallelBytes = threshold
				fs := filesys.MakeFsInMemory()
				require.NoError(t, fs.WriteFile("/k/kustomization.yaml", []byte("resources: [r.yaml]\n")))
				require.NoError(t, fs.WriteFile("/k/r.yaml", []byte(file)))
				_, err := NewRenderer(fs, "/", tight()).Overlay(context.Background(), "k")
				return errorList(t, err)
			}
			inOrder := render(1 << 30)
			require.NotEmpty(t, inOrder)
			assert.Equal(t, inOrder, render(1))
		})
	}
}

// A kustomization's files are read, parsed and converted on every core
// ahead of the walk (prefetch), then indexed in order: the errors are
// those of a walk that reads them one by one, whichever file breaks a
// limit, fails to parse, is missing or is listed twice.
func TestPrefetchedFilesFailAsInOrder(t *testing.T) {
	values := func(name string, n int) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata:\n  k: [" + strings.TrimSuffix(strings.Repeat("1, ", n), ", ") + "]\n"
	}
	cases := map[string]func(i int) string{
		"per run":      func(i int) string { return values(fmt.Sprintf("c%d", i), 60) },
		"per document": func(i int) string { return values(fmt.Sprintf("c%d", i), 5+245*(i%7/6)) },
		"syntax": func(i int) string {
			doc := values(fmt.Sprintf("c%d", i), 5)
			if i%5 == 2 {
				doc = "a: [\n"
			}
			return "# file " + strconv.Itoa(i) + "\n---\n" + values(fmt.Sprintf("d%d", i), 1) + "---\n" + doc
		},
	}
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			fs := filesys.MakeFsInMemory()
			var list []string
			for i := range 20 {
				f := fmt.Sprintf("r%02d.yaml", i)
				require.NoError(t, fs.WriteFile("/k/"+f, []byte(file(i))))
				list = append(list, f)
			}
			list = append(list, "missing.yaml", "r03.yaml", "../outside.yaml")
			require.NoError(t, fs.WriteFile("/outside.yaml", []byte(values("o", 1))))
			require.NoError(t, fs.WriteFile("/k/kustomization.yaml", []byte("resources: ["+strings.Join(list, ", ")+"]\n")))
			render := func(on bool) []string {
				defer func(old bool) { prefetching = old }(prefetching)
				prefetching = on
				_, err := NewRenderer(fs, "/", tight()).Overlay(context.Background(), "k")
				return errorList(t, err)
			}
			inOrder := render(false)
			require.NotEmpty(t, inOrder)
			assert.Equal(t, inOrder, render(true))
		})
	}
}

// The kustomizations below the one walked are loaded ahead too (peek),
// and their files prefetched with its own: the errors are still those of
// a walk that loads each when it gets there, whatever breaks, however
// deep, in whichever order the tree lists it.
func TestPeekedKustomizationsFailAsInOrder(t *testing.T) {
	fs := filesys.MakeFsInMemory()
	write := func(p, text string) { require.NoError(t, fs.WriteFile(p, []byte(text))) }
	cm := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n" }
	write("/top/kustomization.yaml", "resources: [../a, ../bad, ../none, ../cycle, own.yaml, ../a, ../deep/one]\n")
	write("/top/own.yaml", cm("own"))
	write("/a/kustomization.yaml", "resources: [a.yaml, broken.yaml]\n")
	write("/a/a.yaml", cm("a"))
	write("/a/broken.yaml", "a: [\n")
	write("/bad/kustomization.yaml", "resources: [x.yaml]\nunknownField: 1\n")
	write("/bad/x.yaml", cm("x"))
	require.NoError(t, fs.MkdirAll("/none"))
	write("/cycle/kustomization.yaml", "resources: [../top, c.yaml]\n")
	write("/cycle/c.yaml", cm("c"))
	write("/deep/one/kustomization.yaml", "resources: [../two]\n")
	write("/deep/two/kustomization.yaml", "resources: [../three, two.yaml]\nnamePrefix: [x]\n")
	write("/deep/two/two.yaml", cm("two"))
	write("/deep/three/kustomization.yaml", "resources: [three.yaml, missing.yaml]\n")
	write("/deep/three/three.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}\n")
	render := func(on bool, top string) []string {
		defer func(old bool) { prefetching = old }(prefetching)
		prefetching = on
		_, err := NewRenderer(fs, "/", tight()).Overlay(context.Background(), top)
		return errorList(t, err)
	}
	inOrder := render(false, "top")
	require.Len(t, inOrder, 4, inOrder)
	assert.Equal(t, inOrder, render(true, "top"))

	// The run's budget of values runs out in a kustomization loaded
	// ahead: it is counted, and fails, where the walk gets to it.
	images := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "- {name: i%d, newTag: v}\n", i)
		}
		return b.String()
	}
	values := func(name string, n int) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata:\n  k: [" + strings.TrimSuffix(strings.Repeat("1, ", n), ", ") + "]\n"
	}
	write("/budget/kustomization.yaml", "resources: [one.yaml, two.yaml, ../labelled, three.yaml]\n")
	for _, f := range []string{"one", "two", "three"} {
		write("/budget/"+f+".yaml", values(f, 150))
	}
	write("/labelled/kustomization.yaml", "resources: [l.yaml]\nimages:\n"+images(80))
	write("/labelled/l.yaml", values("l", 190))
	inOrder = render(false, "budget")
	require.NotEmpty(t, inOrder)
	assert.Contains(t, inOrder[0], "labelled/kustomization.yaml:", "the kustomization breaks the run's budget")
	assert.Contains(t, inOrder[0], "the limit per run")
	assert.Equal(t, inOrder, render(true, "budget"))
}

// Each level includes the one below twice, with different name prefixes:
// kustomize would build 2^depth copies of the one ConfigMap at the bottom.
func kustomizationTree(t *testing.T, fs filesys.FileSystem, depth int) {
	t.Helper()
	require.NoError(t, fs.WriteFile("/l0/kustomization.yaml", []byte("resources: [cm.yaml]\n")))
	require.NoError(t, fs.WriteFile("/l0/cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")))
	for i := 1; i <= depth; i++ {
		for _, side := range []string{"a", "b"} {
			require.NoError(t, fs.WriteFile(fmt.Sprintf("/l%d/%s/kustomization.yaml", i, side),
				fmt.Appendf(nil, "resources: [../../l%d]\nnamePrefix: %s-\n", i-1, side)))
		}
		require.NoError(t, fs.WriteFile(fmt.Sprintf("/l%d/kustomization.yaml", i), []byte("resources: [a, b]\n")))
	}
}

// (2d+1)*2^d objects are built for depth d: 2^d at the top, and each
// level's three kustomizations build 2^d between them.
func TestLimitsBoundWhatKustomizeBuilds(t *testing.T) {
	t.Parallel()
	fs := filesys.MakeFsInMemory()
	kustomizationTree(t, fs, 70)
	lim := tight()
	lim.RunValues = DefaultLimits.RunValues
	r := NewRenderer(fs, "/", lim)
	objs, err := r.Overlay(context.Background(), "l2")
	require.NoError(t, err, "4 objects, 20 builds")
	assert.Len(t, objs, 4)

	_, err = r.Overlay(context.Background(), "l3")
	assert.Equal(t, []string{"l3/kustomization.yaml: kustomize would build 56 objects, more than 40, the limit per overlay (each object counts once for every kustomization it passes through); l0 is included 8 times"}, errorList(t, err))
	_, err = r.Overlay(context.Background(), "l5")
	assert.Equal(t, []string{"l5/kustomization.yaml: the overlay renders 32 objects, more than 20, the limit per overlay (kustomize's time grows with the square of the number of objects); l0 is included 32 times"}, errorList(t, err))
	_, err = r.Overlay(context.Background(), "l70")
	assert.Equal(t, []string{"l70/kustomization.yaml: the overlay renders more than 2305843009213693952 objects, more than 20, the limit per overlay (kustomize's time grows with the square of the number of objects); l0 is included more than 2305843009213693952 times"}, errorList(t, err))
}

// An empty or comment-only resource file holds no objects: kustomize
// accepts it, and so does the render.
func TestEmptyResourceFile(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "# nothing yet\n", "---\n# a\n---\n"} {
		fs := memFS(t, `-- k/kustomization.yaml --
resources: [empty.yaml, cm.yaml]
-- k/cm.yaml --
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
`)
		require.NoError(t, fs.WriteFile("/k/empty.yaml", []byte(content)))
		objs, err := Overlay(fs, "k")
		require.NoError(t, err, "%q", content)
		assert.Equal(t, []string{"ConfigMap/x k/cm.yaml:1"}, located(objs))
		require.NoError(t, fs.WriteFile("/m/empty.yaml", []byte(content)))
		require.NoError(t, fs.WriteFile("/m/cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")))
		objs, _, err = Manifests(fs, "m")
		require.NoError(t, err, "%q", content)
		assert.Equal(t, []string{"ConfigMap/x m/cm.yaml:1"}, located(objs))
	}
}

// On disk, without the workspace's file system around it, the render
// still refuses symlinks out of the repository before reading them: a
// kustomization.yaml that is /dev/zero does not hang, and a directory of
// manifests reached through a symlink is not walked.
func TestSymlinksOutOfTheRepositoryOnDisk(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	repo, outside := filepath.Join(base, "repo"), filepath.Join(base, "outside")
	for _, d := range []string{repo + "/zero", repo + "/plain", outside + "/m"} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(outside+"/m/cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: TOPSECRET}\n"), 0o644))
	require.NoError(t, os.Symlink("/dev/zero", repo+"/zero/kustomization.yaml"))
	require.NoError(t, os.Symlink(outside, repo+"/linked"))

	done := make(chan error, 1)
	go func() {
		_, err := OverlayRoot(filesys.MakeFsOnDisk(), repo, repo+"/zero")
		done <- err
	}()
	select {
	case err := <-done:
		assert.Equal(t, []string{"zero/kustomization.yaml: read: symlink resolves to /dev/zero, outside the repository"}, errorList(t, err))
	case <-time.After(10 * time.Second):
		t.Fatal("reading a kustomization.yaml that is /dev/zero does not return")
	}
	objs, _, err := ManifestsRoot(filesys.MakeFsOnDisk(), repo, repo+"/linked/m")
	assert.Empty(t, objs)
	msgs := errorList(t, err)
	require.Len(t, msgs, 1)
	assert.Contains(t, msgs[0], "linked/m: linked/m resolves to ")
	assert.Contains(t, msgs[0], "outside the repository")
	assert.NotContains(t, msgs[0], "TOPSECRET")
}

func TestRenderStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fs := diskFS(t, "testdata/bench")
	r := NewRenderer(fs, "/", DefaultLimits)
	_, err := r.Overlay(ctx, "overlays/prod")
	assert.ErrorIs(t, err, context.Canceled)
	_, _, err = r.Manifests(ctx, "overlays/prod")
	assert.ErrorIs(t, err, context.Canceled)
	var ie *model.InputError
	assert.NotErrorAs(t, err, &ie, "cancellation is not an input error")
}
