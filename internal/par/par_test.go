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
