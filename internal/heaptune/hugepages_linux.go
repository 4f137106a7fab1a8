//go:build linux && !race && !msan && !asan

package heaptune

import (
	"os"
	"runtime"
	"syscall"
)

// hugePages marks a stretch of the Go heap for transparent huge pages
// when the kernel leaves that to the program (see plan). Called before
// the heap grows: the runtime allocates from the lowest free addresses,
// so the heap grows into the marked stretch; memory mapped past it keeps
// 4 KiB pages. It returns how many bytes it marked.
func hugePages() int64 {
	n := plan(readFile("/sys/kernel/mm/transparent_hugepage/enabled"), readFile("/proc/sys/vm/overcommit_memory"),
		readFile("/proc/meminfo"), os.Getenv("GODEBUG"))
	if n == 0 {
		return 0
	}
	return mark(n)
}

// mark maps n bytes of heap as one allocation the runtime never zeroes
// (fresh memory is zero), marks them, and frees them: the marking stays
// with the mapping, which the runtime keeps and reuses. A kernel that
// refuses the advice leaves them as they were.
func mark(n int64) int64 {
	b := make([]byte, n)
	if err := syscall.Madvise(b, syscall.MADV_HUGEPAGE); err != nil {
		return 0
	}
	runtime.GC() // free it now, before the next allocation lands past it
	return n
}
