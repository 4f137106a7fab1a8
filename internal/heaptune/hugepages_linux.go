//go:build linux && !race && !msan && !asan

package heaptune

import (
	"os"
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"
	"unsafe"
)

// hugePages marks a stretch of the Go heap for transparent huge pages
// when the kernel leaves that to the program (see plan), and starts
// follow to mark the heap the runtime maps past it. Called before the
// heap grows: the runtime allocates from the lowest free addresses, so
// the heap grows into the marked stretch. It returns how many bytes it
// marked.
func hugePages() int64 {
	n := plan(readFile("/sys/kernel/mm/transparent_hugepage/enabled"), readFile("/proc/sys/vm/overcommit_memory"),
		readFile("/proc/meminfo"), os.Getenv("GODEBUG"))
	if n == 0 {
		return 0
	}
	start, n := mark(n)
	if n > 0 {
		go follow(start, followInterval)
	}
	return n
}

// mark maps n bytes of heap as one allocation the runtime never zeroes
// (fresh memory is zero), marks them, and frees them: the marking stays
// with the mapping, which the runtime keeps and reuses. It returns the
// stretch's first address and n, or 0 bytes when the kernel refuses the
// advice.
//
// The heap below the stretch, from the start of its arena, is marked too:
// it holds what the program allocated before, and as that is freed the
// runtime, which takes the lowest free pages that fit, may start a large
// allocation there and run it on into the stretch (seen: 32 KiB below
// it). Marked, the heap from its arena's start up is one marked mapping.
func mark(n int64) (uintptr, int64) {
	b := make([]byte, n)
	start := uintptr(unsafe.Pointer(&b[0]))
	if err := syscall.Madvise(b, syscall.MADV_HUGEPAGE); err != nil {
		return 0, 0
	}
	if below := start &^ (arena - 1); below < start {
		// Pages below that are not mapped are left as they are.
		syscall.Syscall(syscall.SYS_MADVISE, below, start-below, syscall.MADV_HUGEPAGE)
	}
	runtime.GC() // free it now, before the next allocation lands past it
	return start, n
}

// followInterval is how often follow looks at the heap: the runtime maps
// 64 MiB at a time, which a run fills in tens of milliseconds.
const followInterval = 10 * time.Millisecond

// heapMetrics add up to the heap the runtime has mapped.
var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes", "/memory/classes/heap/stacks:bytes"}

// follow marks the heap the runtime maps past the stretch from start, as
// it maps it: every interval, when the mapped heap has grown, it marks
// the addresses from start to as far as the heap could now reach, plus
// one arena of 64 MiB.
//
// A large run outgrows any stretch that costs little to map up front
// (the runtime's metadata for it costs about 5 ms per GiB), and a 4 KiB
// page costs a fault of 5 to 10 µs on a virtual machine: `check` at
// 20,000 workloads took 2.6 million of them past a 4 GiB stretch. The
// runtime grows the heap upwards from the stretch, mapping each new
// arena over its reservation (which would drop a marking made earlier),
// and never maps it again, so a marking made after the mapping stays.
// Pages touched before it keep 4 KiB pages. Addresses in the range that
// are not mapped are left as they are (madvise skips them).
func follow(start uintptr, interval time.Duration) {
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, n := range heapMetrics {
		samples[i].Name = n
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var seen uint64
	for range t.C {
		metrics.Read(samples)
		var mapped uint64
		for _, s := range samples {
			mapped += s.Value.Uint64()
		}
		if mapped <= seen {
			continue
		}
		seen = mapped
		syscall.Syscall(syscall.SYS_MADVISE, start, uintptr(mapped)+arena, syscall.MADV_HUGEPAGE)
	}
}

// arena is the runtime's unit of heap mapping on 64-bit Linux.
const arena = 64 << 20
