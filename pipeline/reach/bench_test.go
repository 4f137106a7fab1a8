package reach_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// BenchmarkCompute measures the engine on synthetic clusters of 50
// namespaces with about 0.6 policies per workload. It reports the
// connections found and the heap in use after the matrix is built.
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{500, 2000, 5000} {
		c := synth.Cluster(synth.Options{Workloads: n, Namespaces: 50, Seed: 42})
		b.Run(fmt.Sprintf("workloads=%d/policies=%d", n, len(c.Policies)), func(b *testing.B) {
			b.ReportAllocs()
			var conns int
			for b.Loop() {
				m := reach.Compute(c)
				conns = len(m.Connections)
			}
			b.ReportMetric(float64(conns), "connections")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m := reach.Compute(c)
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMiB")
			runtime.KeepAlive(m)
		})
	}
}
