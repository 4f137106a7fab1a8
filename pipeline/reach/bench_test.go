package reach_test

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
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

// BenchmarkComputeFlows is BenchmarkCompute's clusters as `reach --format
// json` computes them: flows by column, no list of pairs.
func BenchmarkComputeFlows(b *testing.B) {
	for _, n := range []int{500, 2000, 5000} {
		c := synth.Cluster(synth.Options{Workloads: n, Namespaces: 50, Seed: 42})
		b.Run(fmt.Sprintf("workloads=%d/policies=%d", n, len(c.Policies)), func(b *testing.B) {
			b.ReportAllocs()
			before := cpuTime()
			var flows int
			for b.Loop() {
				_, fs := reach.ComputeFlows(c)
				flows = len(fs)
			}
			b.ReportMetric((cpuTime()-before).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(flows), "flows")
		})
	}
}

// BenchmarkComputeTiered is the 5,000-workload cluster of BenchmarkCompute
// with each policy kind added in turn, side by side: its 3,000
// NetworkPolicies alone (np), then 300 AdminNetworkPolicies (every tenth a
// ClusterNetworkPolicy) and a BaselineAdminNetworkPolicy on top (np+anp),
// then 1,000 Cilium policies too (np+anp+cilium). The budget of the last
// two is 1.5 times the first. cpu-s/op is the CPU time of the whole
// process per operation, which a loaded machine changes less than the
// wall time.
func BenchmarkComputeTiered(b *testing.B) {
	for _, k := range []struct {
		name   string
		admin  int
		cilium int
	}{{"np", 0, 0}, {"np+anp", 300, 0}, {"np+anp+cilium", 300, 1000}} {
		c := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42, AdminPolicies: k.admin, Baseline: k.admin > 0, CiliumPolicies: k.cilium})
		name := fmt.Sprintf("%s/workloads=5000/policies=%d/cluster=%d/cilium=%d", k.name, len(c.Policies), len(c.ClusterPolicies), len(c.CiliumPolicies))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var conns int
			before := cpuTime()
			for b.Loop() {
				conns = len(reach.Compute(c).Connections)
			}
			b.ReportMetric((cpuTime()-before).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(conns), "connections")
		})
	}
}

// BenchmarkDiff compares the matrices of a 5,000-workload cluster before
// and after one policy in twenty is removed.
func BenchmarkDiff(b *testing.B) {
	base := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})
	head := *base
	head.Policies = nil
	for i, p := range base.Policies {
		if i%20 != 7 {
			head.Policies = append(head.Policies, p)
		}
	}
	ms := reach.ComputeAll(base, &head)
	benchDiff(b, ms[0], ms[1])
	b.ReportMetric(float64(len(ms[0].Connections)), "baseConnections")
}

// BenchmarkDiffDerived is check's diff: the base differs from the head in
// one policy's ingress rules, so ComputeAll derives its matrix from the
// head's, sharing the allowances of what did not change.
func BenchmarkDiffDerived(b *testing.B) {
	head := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})
	base := *head
	base.Policies = slices.Clone(head.Policies)
	for i := range base.Policies {
		if p := &base.Policies[i]; len(p.Spec.Ingress) > 0 {
			p.NetworkPolicy = p.DeepCopy()
			p.Spec.Ingress = p.Spec.Ingress[1:]
			break
		}
	}
	ms := reach.ComputeAll(head, &base)
	benchDiff(b, ms[1], ms[0])
}

// benchDiff times Diff(base, head) and reports how many changes it finds.
func benchDiff(b *testing.B, base, head *model.Matrix) {
	b.ResetTimer()
	var changes int
	for b.Loop() {
		d := reach.Diff(base, head)
		changes = len(d.Added) + len(d.Removed) + len(d.Changed)
	}
	b.ReportMetric(float64(changes), "changes")
}
