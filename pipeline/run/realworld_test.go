package run_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/run"
)

// corpus is testdata/realworld: real policy sets (Argo CD's install
// manifests at several versions, the seed task's policies) and sets
// written in the style of public recipes, each recording its mistakes.
const corpus = "testdata/realworld"

// recorded is an input's mistakes.yaml.
type recorded struct {
	Mistakes []struct {
		Rule   string `json:"rule"`
		Object string `json:"object"` // Kind/namespace/name
		Why    string `json:"why"`
	} `json:"mistakes"`
}

func objectKey(r model.ObjectRef) string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// TestRealWorldCorpus runs the repository's rule pack over every input of
// the corpus the way `reachgate check --base none --config CONFIG DIR`
// does: every recorded mistake must draw an error or a warning naming the
// object at fault, and an input that records none must draw no error. It
// prints precision (findings that are recorded mistakes), recall and the
// median number of findings per input, and holds recall at 100% and the
// median at 8 or fewer.
func TestRealWorldCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("renders and judges every corpus input; skipped with -short")
	}
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	inputs, err := filepath.Glob(filepath.Join(root, corpus, "*", "mistakes.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(inputs), 8, "the corpus has its inputs")

	var counts []int
	var findings, matched, mistakes, caught int
	for _, file := range inputs {
		dir := filepath.Dir(file)
		name := filepath.Base(dir)
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var rec recorded
		require.NoError(t, yaml.UnmarshalStrict(data, &rec), "%s", file)

		cfg := filepath.Join(corpus, "reachgate.yaml")
		if _, err := os.Stat(filepath.Join(dir, "reachgate.yaml")); err == nil {
			cfg = filepath.Join(corpus, name, "reachgate.yaml")
		}
		r, err := run.BuildReport(context.Background(), run.CheckParams{
			Common:    run.Common{Dir: root, Config: cfg},
			Base:      "none",
			RulesFrom: "head",
			Overlays:  []string{filepath.Join(dir, "manifests")},
			Now:       time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),
		})
		require.NoError(t, err, name)
		require.Len(t, r.Overlays, 1)
		o := r.Overlays[0]
		require.Empty(t, o.Error, name)

		var got []model.Finding
		for _, f := range o.Findings {
			if f.Severity >= model.SeverityWarning {
				got = append(got, f)
			}
		}
		want := map[string]bool{}
		for _, m := range rec.Mistakes {
			require.NotEmpty(t, m.Why, "%s: every mistake says why", file)
			want[m.Rule+" "+m.Object] = true
			mistakes++
			if slices.ContainsFunc(got, func(f model.Finding) bool {
				return f.RuleID == m.Rule && objectKey(f.Object) == m.Object
			}) {
				caught++
			} else {
				t.Errorf("%s: recorded mistake %s on %s (%s) drew no error or warning", name, m.Rule, m.Object, m.Why)
			}
		}
		var unrecorded []string
		for _, f := range got {
			findings++
			if want[f.RuleID+" "+objectKey(f.Object)] {
				matched++
				continue
			}
			unrecorded = append(unrecorded, fmt.Sprintf("%s %s %s: %s", f.Severity, f.RuleID, objectKey(f.Object), f.Message))
			if len(rec.Mistakes) == 0 {
				assert.NotEqual(t, model.SeverityError, f.Severity, "%s records no mistake, yet: %s %s", name, f.RuleID, f.Message)
			}
		}
		counts = append(counts, len(got))
		t.Logf("%-24s %2d findings, %2d recorded mistakes", name, len(got), len(rec.Mistakes))
		for _, u := range unrecorded {
			t.Logf("    not recorded: %s", u)
		}
	}
	slices.Sort(counts)
	median := float64(counts[len(counts)/2])
	if len(counts)%2 == 0 {
		median = float64(counts[len(counts)/2-1]+counts[len(counts)/2]) / 2
	}
	precision := 1.0
	if findings > 0 {
		precision = float64(matched) / float64(findings)
	}
	recall := float64(caught) / float64(max(mistakes, 1))
	t.Logf("corpus: %d inputs, %d findings, %d recorded mistakes: precision %.1f%%, recall %.1f%%, median %.1f findings per input",
		len(counts), findings, mistakes, 100*precision, 100*recall, median)
	assert.Equal(t, mistakes, caught, "recall is 100%%")
	assert.LessOrEqual(t, median, 8.0, "median findings per input")
}
