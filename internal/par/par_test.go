package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestForRunsEveryIndexOnce, with more indices than cores, fewer, and
// none.
func TestForRunsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, runtime.GOMAXPROCS(0) + 1, 10000} {
		counts := make([]atomic.Int32, n)
		For(n, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d ran %d times", n, i, c)
			}
		}
	}
}

// TestForWorkersKeepsWorkersApart: every index runs once, w stays within
// Workers(n), and no worker runs two indices at once.
func TestForWorkersKeepsWorkersApart(t *testing.T) {
	for _, n := range []int{0, 1, runtime.GOMAXPROCS(0) + 1, 10000} {
		counts := make([]atomic.Int32, n)
		busy := make([]atomic.Bool, Workers(n))
		var bad atomic.Int32
		ForWorkers(n, func(w, i int) {
			if w < 0 || w >= len(busy) || !busy[w].CompareAndSwap(false, true) {
				bad.Add(1)
				return
			}
			counts[i].Add(1)
			busy[w].Store(false)
		})
		if bad.Load() != 0 {
			t.Fatalf("n=%d: %d calls with a worker out of range or already busy", n, bad.Load())
		}
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d ran %d times", n, i, c)
			}
		}
	}
}
