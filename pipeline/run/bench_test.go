package run_test

import (
	"context"
	"testing"

	"github.com/reachgate/reachgate/pipeline/run"
)

// BenchmarkCheck is the whole gate on this repository: three overlays
// rendered at base and head, rules compiled and evaluated, expectations,
// reachability and diff. "Warm" means a warm process: every iteration
// still reads the git refs, renders and compiles the rules.
func BenchmarkCheck(b *testing.B) {
	dir := newRepo(b)
	git(b, dir, "checkout", "-qb", "feature")
	git(b, dir, "commit", "-q", "--allow-empty", "-m", "head")
	p := run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now}
	if _, err := run.BuildReport(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := run.BuildReport(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}
