package render

import (
	"testing"
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
