package render

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// TestMemoRendersAsWithout renders generated trees (the fast path's
// equivalence corpus) as a head, then a changed copy as the base, once
// with the head's memo and once without: objects and errors must be the
// same. Some bases change nothing, most change a few files, some break a
// file, copy another's ids, drop a file or add a transformation (krusty);
// each is also rendered within a budget the head just fits, so that the
// base goes over it in files of either kind.
func TestMemoRendersAsWithout(t *testing.T) {
	t.Parallel()
	n := 200
	if testing.Short() {
		n = 40
	}
	var shared, sharing, renders, failed, retried int
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, seed*17+3))
		head := genTree(r)
		base := mutateTree(r, head)
		headFS, baseFS := memTree(t, head), memTree(t, base)
		values := NewRenderer(headFS, "/", DefaultLimits)
		if _, err := values.Overlay(context.Background(), "/top"); err != nil {
			continue
		}
		tight := DefaultLimits
		tight.RunValues = values.values.Load()
		for _, lim := range []Limits{DefaultLimits, tight} {
			h := NewRenderer(headFS, "/", lim)
			with := NewRenderer(baseFS, "/", lim)
			with.Share(h)
			headObjs, _ := h.Overlay(context.Background(), "/top")
			// What the render with the memo does first, on a copy of the
			// budget: where it took files from the memo and failed, the
			// render starts again without it.
			probe := *with
			probe.values, probe.aliased = new(atomic.Int64), new(atomic.Int64)
			if _, memoized, err := renderOnce(context.Background(), &probe, "/top", withFastPath); memoized && err != nil {
				retried++
			}
			got, gotErr := with.Overlay(context.Background(), "/top")
			// Again, with the memo holding the base's own files too, and
			// within what is left of the budget.
			again, againErr := with.Overlay(context.Background(), "/top")
			without := NewRenderer(baseFS, "/", lim)
			without.memo = nil
			want, wantErr := without.Overlay(context.Background(), "/top")
			wantAgain, wantAgainErr := without.Overlay(context.Background(), "/top")
			tree := dumpTree(base)
			require.Equal(t, errText(wantErr), errText(gotErr), "seed %d, run values %d\n%s", seed, lim.RunValues, tree)
			require.Equal(t, want, got, "seed %d, run values %d\n%s", seed, lim.RunValues, tree)
			require.Equal(t, errText(wantAgainErr), errText(againErr), "seed %d, rendered again", seed)
			require.Equal(t, wantAgain, again, "seed %d, rendered again", seed)
			renders++
			s := sharedObjects(headObjs, got)
			shared += s
			if s > 0 {
				sharing++
			}
			if wantErr != nil {
				failed++
			}
		}
	}
	t.Logf("%d renders of a base: %d shared %d objects with the head, %d failed, %d rendered again without the memo", renders, sharing, shared, failed, retried)
	assert.Greater(t, sharing, renders/10, "the bases rarely share the head's objects")
	assert.Positive(t, failed, "no base fails")
	assert.Positive(t, retried, "no render took files from the memo and failed")
}

// TestMemoSharesUnchangedFiles: a base that changes one file of a
// tree the fast path builds takes every object of the others from the
// head's render, and converts the changed file's.
func TestMemoSharesUnchangedFiles(t *testing.T) {
	t.Parallel()
	files := map[string]string{"top/kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n- sub\n", "top/sub/kustomization.yaml": "resources:\n- c.yaml\n"}
	cm := func(name, v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  k: \"" + v + "\"\n"
	}
	files["top/a.yaml"] = cm("a", "1") + "---\n" + cm("a2", "1")
	files["top/b.yaml"] = cm("b", "1")
	files["top/sub/c.yaml"] = cm("c", "1")
	h := NewRenderer(memTree(t, files), "/", DefaultLimits)
	files["top/b.yaml"] = cm("b", "2")
	baseFS := memTree(t, files)
	b := NewRenderer(baseFS, "/", DefaultLimits)
	b.Share(h)
	// A renderer with other limits shares nothing.
	lim := DefaultLimits
	lim.Depth--
	other := NewRenderer(baseFS, "/", lim)
	other.Share(h)
	headObjs, err := h.Overlay(context.Background(), "/top")
	require.NoError(t, err)
	baseObjs, err := b.Overlay(context.Background(), "/top")
	require.NoError(t, err)
	require.Len(t, baseObjs, 4)
	byName := func(objs []model.Object) map[string]model.Object {
		m := map[string]model.Object{}
		for _, o := range objs {
			m[o.Name] = o
		}
		return m
	}
	hs, bs := byName(headObjs), byName(baseObjs)
	for _, name := range []string{"a", "a2", "c"} {
		assert.True(t, sameDoc(hs[name].Doc, bs[name].Doc), "%s is not the head's", name)
		assert.Equal(t, hs[name], bs[name])
	}
	assert.False(t, sameDoc(hs["b"].Doc, bs["b"].Doc), "b changed, yet is the head's")
	assert.Equal(t, "2", bs["b"].Doc["data"].(map[string]any)["k"])
	assert.Equal(t, model.Location{File: "top/b.yaml", Line: 1}, bs["b"].Source)

	objs, err := other.Overlay(context.Background(), "/top")
	require.NoError(t, err)
	assert.Zero(t, sharedObjects(headObjs, objs))

	// A renderer that shares with none keeps nothing.
	alone := NewRenderer(baseFS, "/", DefaultLimits)
	_, err = alone.Overlay(context.Background(), "/top")
	require.NoError(t, err)
	assert.Empty(t, alone.memo.files)
	assert.NotEmpty(t, h.memo.files)
}

// mutateTree changes a copy of a generated tree as a pull request might:
// files edited, replaced, broken, copied over others or removed, and now
// and then a transformation added to a kustomization.
func mutateTree(r *rand.Rand, files map[string]string) map[string]string {
	out := map[string]string{}
	var resources, kusts []string
	for name, data := range files {
		out[name] = data
		if strings.HasSuffix(name, "kustomization.yaml") {
			kusts = append(kusts, name)
		} else {
			resources = append(resources, name)
		}
	}
	slices.Sort(resources)
	slices.Sort(kusts)
	if r.IntN(5) == 0 {
		return out // nothing the tree reads changed
	}
	g := &treeGen{r: r, files: map[string]string{}, n: 100000}
	for _, f := range resources {
		if r.IntN(4) != 0 {
			continue
		}
		switch r.IntN(8) {
		case 0:
			out[f] += "---\n" + g.resource()
		case 1:
			out[f] = g.resourceFile()
		case 2:
			out[f] = strings.Replace(out[f], "replicas: 2", "replicas: 3", 1)
		case 3:
			out[f] = strings.Replace(out[f], "name: x", "name: y", 1)
		case 4:
			out[f] += "\nbroken: [\n"
		case 5:
			out[f] = files[resources[r.IntN(len(resources))]]
		case 6:
			delete(out, f)
		case 7:
			// Bigger: more values than the head held.
			out[f] += strings.Repeat("---\n"+g.resource(), 3)
		}
	}
	if r.IntN(10) == 0 {
		k := kusts[r.IntN(len(kusts))]
		out[k] = strings.Replace(out[k], "resources:\n", "namePrefix: p-\nresources:\n", 1)
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%T: %v", err, err)
}

// sharedObjects counts the objects of b whose documents are a's.
func sharedObjects(a, b []model.Object) int {
	n := 0
	for i := range b {
		for j := range a {
			if sameDoc(a[j].Doc, b[i].Doc) {
				n++
				break
			}
		}
	}
	return n
}

func sameDoc(a, b map[string]any) bool {
	return a != nil && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestMemoCountsAgainstTheBudget: a file taken from the memo counts its
// values against the run's budget as if read, so a base that grows an
// earlier file goes over the budget in a file it shares with the head,
// with the error a render without the memo gives.
func TestMemoCountsAgainstTheBudget(t *testing.T) {
	t.Parallel()
	cm := func(name string, keys int) string {
		s := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n"
		for i := range keys {
			s += fmt.Sprintf("  k%d: v\n", i)
		}
		return s
	}
	files := map[string]string{
		"top/kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n- c.yaml\n",
		"top/a.yaml":             cm("a", 5), "top/b.yaml": cm("b", 20), "top/c.yaml": cm("c", 20),
	}
	probe := NewRenderer(memTree(t, files), "/", DefaultLimits)
	_, err := probe.Overlay(context.Background(), "/top")
	require.NoError(t, err)
	lim := DefaultLimits
	lim.RunValues = probe.values.Load()

	h := NewRenderer(memTree(t, files), "/", lim)
	files["top/a.yaml"] = cm("a", 10)
	base := memTree(t, files)
	with := NewRenderer(base, "/", lim)
	with.Share(h)
	_, err = h.Overlay(context.Background(), "/top")
	require.NoError(t, err)
	_, gotErr := with.Overlay(context.Background(), "/top")
	without := NewRenderer(base, "/", lim)
	without.memo = nil
	_, wantErr := without.Overlay(context.Background(), "/top")
	require.Error(t, wantErr)
	assert.Contains(t, wantErr.Error(), "top/c.yaml")
	assert.Equal(t, errText(wantErr), errText(gotErr))
}
