package render

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

// mutate damages YAML the way edits and merges do: flipped, dropped and
// inserted characters that YAML cares about, cut lines, truncation.
func mutate(r *rand.Rand, in []byte) []byte {
	const alphabet = ":-[]{}&*!|>'\"#%@`,?\n\t  \x00\xff0123456789yon~.<"
	b := bytes.Clone(in)
	for n := 1 + r.IntN(4); n > 0 && len(b) > 0; n-- {
		i := r.IntN(len(b))
		switch r.IntN(5) {
		case 0:
			b[i] = alphabet[r.IntN(len(alphabet))]
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = append(b[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
		case 3:
			b = b[:i]
		case 4:
			j := i + r.IntN(len(b)-i)
			b = append(b[:i], b[j:]...)
		}
	}
	return b
}

// checkGarbage runs the whole package on one input: it may fail, with
// input errors only, but never panic.
func checkGarbage(t *testing.T, files map[string][]byte, dir string, overlay bool) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for p, b := range files {
		require.NoError(t, fs.WriteFile("/"+p, b))
	}
	var objs []model.Object
	var err error
	if overlay {
		objs, err = Overlay(fs, dir)
	} else {
		objs, _, err = Manifests(fs, dir)
	}
	var one *model.InputError
	var many model.InputErrors
	if err != nil && !errors.As(err, &one) && !errors.As(err, &many) {
		t.Fatalf("not an input error: %T %v", err, err)
	}
	_, errs := Decode(objs, &model.Cluster{})
	for _, e := range errs {
		require.NotEmpty(t, e.Message)
	}
	require.NoError(t, WriteYAML(&bytes.Buffer{}, objs))
}

// Garbage never panics: a thousand damaged copies of the files of the
// realistic overlay and of the seed go through Manifests, Decode and
// WriteYAML, a hundred through Overlay.
func TestGarbageNeverPanics(t *testing.T) {
	t.Parallel()
	sources := map[string][]byte{}
	for _, dir := range []string{"testdata/bench", "../../testdata/seed"} {
		require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(filepath.Dir(dir), p)
			sources[filepath.ToSlash(rel)] = b
			return err
		}))
	}
	// Undamaged, everything renders.
	fs := filesys.MakeFsInMemory()
	for p, b := range sources {
		require.NoError(t, fs.WriteFile("/"+p, b))
	}
	objs, err := Overlay(fs, "bench/overlays/prod")
	require.NoError(t, err)
	require.Len(t, objs, 40)

	r := rand.New(rand.NewPCG(1, 2))
	names := sortedKeys(sources)
	n := 1000
	if testing.Short() {
		n = 100
	}
	for i := 0; i < n; i++ {
		victim := names[r.IntN(len(names))]
		files := map[string][]byte{}
		for p, b := range sources {
			files[p] = b
		}
		files[victim] = mutate(r, sources[victim])
		checkGarbage(t, map[string][]byte{"m/x.yaml": files[victim]}, "m", false)
		if i%10 == 0 { // kustomize builds are the slow part
			checkGarbage(t, files, "bench/overlays/prod", true)
		}
	}
}

// FuzzManifests feeds arbitrary bytes to Manifests, Decode and WriteYAML
// (go test runs the seeds; go test -fuzz=FuzzManifests explores).
func FuzzManifests(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: y\n",
		"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}}]\n",
		"a: &a [*a]\n",
		"kind: DeploymentList\n<<: {items: [{metadata: {name: x}}]}\n",
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\nspec: {podSelector: {}, policyTypes: [{}], ingress: [{ports: [{port: 0x10000, endPort: -1}]}]}\n",
		"---\n...\n--- !!str\n",
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":1e400}]}]}}}}",
	} {
		f.Add([]byte(s))
	}
	for _, b := range seeds(f, "../../bases", "../../overlays", "testdata/bench") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkGarbage(t, map[string][]byte{"m/x.yaml": b}, "m", false)
		checkGarbage(t, map[string][]byte{"o/kustomization.yaml": []byte("resources: [x.yaml]\n"), "o/x.yaml": b}, "o", true)
	})
}
