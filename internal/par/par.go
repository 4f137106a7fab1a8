// Package par runs the iterations of a loop on every core.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For runs f(0), ..., f(n-1) on min(GOMAXPROCS, n) goroutines, each
// taking the next index as it finishes one, and returns when all have
// run. f must be safe to call concurrently for different indices.
func For(n int, f func(i int)) {
	ForWorkers(n, func(_, i int) { f(i) })
}

// Workers is how many goroutines For and ForWorkers run n iterations on.
func Workers(n int) int { return max(0, min(runtime.GOMAXPROCS(0), n)) }

// ForWorkers is For, telling f which goroutine runs it: w is in
// [0, Workers(n)), and no two calls with the same w run at once, so
// that f can keep state per worker (a buffer to reuse) without locking.
func ForWorkers(n int, f func(w, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range Workers(n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(w, i)
			}
		})
	}
	wg.Wait()
}
