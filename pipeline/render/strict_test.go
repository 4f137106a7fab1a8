package render

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
)

// TestQuickCheckAsFull: the quick strict check (builtinDecodes) finds a
// problem exactly where the full one reports some, on every object of
// built-in kind that this repository's overlays and a synthetic cluster
// render, and on copies of them with one value replaced by a value of
// another type, or an unknown key added, anywhere in the document.
func TestQuickCheckAsFull(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	var objs []model.Object
	for _, dir := range kustomizationDirs(t, filepath.Join(root, "overlays")) {
		rendered, err := overlayRoot(filesys.MakeFsOnDisk(), root, dir, withFastPath)
		if err == nil {
			objs = append(objs, rendered...)
		}
	}
	dir := t.TempDir()
	_, err = synth.WriteTree(dir, synth.Cluster(synth.Options{Workloads: 60, Namespaces: 4, Seed: 4}), synth.TreeOptions{})
	require.NoError(t, err)
	rendered, err := overlayRoot(filesys.MakeFsOnDisk(), dir, filepath.Join(dir, "overlays/prod"), withFastPath)
	require.NoError(t, err)
	objs = append(objs, rendered...)

	kinds := builtinKinds()
	r := rand.New(rand.NewPCG(1, 2))
	checked, failing := 0, 0
	for _, o := range objs {
		typ, ok := kinds.types[o.APIVersion+"|"+o.Kind]
		if !ok {
			continue
		}
		for i := range 20 {
			doc := o.Doc
			if i > 0 {
				doc = mutateDoc(r, runtime.DeepCopyJSON(o.Doc))
			}
			var full strictChecker
			full.check(doc, typ, nil)
			quick := builtinDecodes(o.APIVersion, o.Kind, doc)
			require.Equal(t, len(full.errs) == 0, quick, "%s %s, copy %d: %v", o.Kind, o.Name, i, full.errs)
			checked++
			if !quick {
				failing++
			}
		}
	}
	t.Logf("%d documents, %d with problems", checked, failing)
	assert.Greater(t, failing, checked/4)
	assert.Less(t, failing, checked)
}

// mutateDoc replaces one value of doc, at a random depth, by a value of a
// random type, or adds an unknown key to a mapping.
func mutateDoc(r *rand.Rand, doc map[string]any) map[string]any {
	var v any = doc
	for {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if len(keys) == 0 || r.IntN(4) == 0 {
				if r.IntN(2) == 0 || len(keys) == 0 {
					x["zzUnknown"] = "x"
				} else {
					x[keys[r.IntN(len(keys))]] = randomValue(r)
				}
				return doc
			}
			k := keys[r.IntN(len(keys))]
			if _, leaf := x[k].(map[string]any); !leaf {
				if _, list := x[k].([]any); !list {
					x[k] = randomValue(r)
					return doc
				}
			}
			v = x[k]
		case []any:
			if len(x) == 0 {
				return doc
			}
			i := r.IntN(len(x))
			if r.IntN(4) == 0 {
				x[i] = randomValue(r)
				return doc
			}
			v = x[i]
		default:
			return doc
		}
	}
}

func randomValue(r *rand.Rand) any {
	return []any{"text", int64(7), int64(1 << 40), float64(1.5), true, nil, []any{}, []any{"a"}, map[string]any{}, map[string]any{"k": "v"}}[r.IntN(10)]
}
