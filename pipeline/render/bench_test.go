package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
)

// BenchmarkRenderOverlay renders testdata/bench/overlays/prod: two bases
// and an overlay with a strategic-merge patch, a JSON 6902 patch, labels,
// images and a generator; 40 objects. The tree is in memory, so the
// figure is rendering, not disk.
func BenchmarkRenderOverlay(b *testing.B) {
	fs := diskFS(b, "testdata/bench")
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Overlay(fs, "overlays/prod")
		if err != nil || len(objs) != 40 {
			b.Fatalf("%d objects, %v", len(objs), err)
		}
	}
}

// BenchmarkDecode loads the 40 rendered objects into the model.
func BenchmarkDecode(b *testing.B) {
	objs, err := Overlay(diskFS(b, "testdata/bench"), "overlays/prod")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, errs := Decode(objs, nil)
		if len(errs) > 0 || len(c.Policies) != 13 {
			b.Fatalf("%d policies, %v", len(c.Policies), errs)
		}
	}
}

// BenchmarkRenderPlainTree renders synthetic repositories of about 1,000
// to 20,000 resources (a base per namespace, an overlay listing them),
// with the fast path and with krusty alone. krusty is quadratic: its
// sizes above 4,000 run only when REACHGATE_BENCH_KRUSTY_MAX allows them
// (minutes each).
func BenchmarkRenderPlainTree(b *testing.B) {
	krustyMax := 4000
	if s := os.Getenv("REACHGATE_BENCH_KRUSTY_MAX"); s != "" {
		krustyMax, _ = strconv.Atoi(s)
	}
	for _, n := range []int{1000, 4000, 10000, 20000} {
		// A workload brings a Service and 0.6 policies.
		workloads := n * 10 / 26
		dir := b.TempDir()
		if _, err := synth.WriteTree(dir, synth.Cluster(synth.Options{Workloads: workloads, Namespaces: 50, Seed: 42}), synth.TreeOptions{}); err != nil {
			b.Fatal(err)
		}
		fsys := filesys.MakeFsOnDisk()
		for _, how := range []struct {
			name string
			how  int
		}{{"fast", fastOnly}, {"krusty", krustyOnly}} {
			b.Run(fmt.Sprintf("resources=%d/%s", n, how.name), func(b *testing.B) {
				if how.how == krustyOnly && n > krustyMax {
					b.Skipf("krusty on %d resources takes minutes: set REACHGATE_BENCH_KRUSTY_MAX", n)
				}
				b.ReportAllocs()
				var objs int
				for b.Loop() {
					out, err := overlayRoot(fsys, dir, filepath.Join(dir, "overlays/prod"), how.how)
					if err != nil {
						b.Fatal(err)
					}
					objs = len(out)
				}
				b.ReportMetric(float64(objs), "objects")
			})
		}
	}
}
