//go:build linux && !race && !msan && !asan

package heaptune

import (
	"cmp"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
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

// mark maps n bytes of heap as allocations the runtime does not zero
// (fresh memory is zero), marks them, and frees them: the marking stays
// with the mapping, which the runtime keeps and reuses. It returns the
// stretch's first address and n, or 0 bytes when the kernel refuses the
// advice.
//
// The stretch is allocated in pieces. The runtime zeroes an allocation
// that overlaps heap it used before, and the packages' initialization
// leaves some, freed, at the top of the heap: a collection during it
// decides how much. One allocation of the whole stretch that started
// there was zeroed whole, every page touched before the marking, in
// 4 KiB pages: `reachgate --help` took 15 s and 4.2 GB in about one run
// of 150. In pieces, only those that overlap used heap are zeroed.
//
// The heap below the stretch, from the start of its arena, is marked too:
// it holds what the program allocated before, and as that is freed the
// runtime, which takes the lowest free pages that fit, may start a large
// allocation there and run it on into the stretch (seen: 32 KiB below
// it). Marked, the heap from its arena's start up is one marked mapping.
func mark(n int64) (uintptr, int64) {
	pieces := make([][]byte, 0, (n+markPiece-1)/markPiece)
	for left := n; left > 0; left -= markPiece {
		pieces = append(pieces, make([]byte, min(left, markPiece)))
	}
	// Mark the pieces a run of adjacent ones at a time, lowest first.
	slices.SortFunc(pieces, func(a, b []byte) int { return cmp.Compare(addr(a), addr(b)) })
	start := addr(pieces[0])
	// Free them however marking ends, before the next allocation lands
	// past them (and before Prepare raises GOGC over a heap that holds
	// them).
	defer func() {
		clear(pieces)
		runtime.GC()
	}()
	for i := 0; i < len(pieces); {
		lo, hi := addr(pieces[i]), addr(pieces[i])+uintptr(len(pieces[i]))
		for i++; i < len(pieces) && addr(pieces[i]) == hi; i++ {
			hi += uintptr(len(pieces[i]))
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, syscall.MADV_HUGEPAGE); errno != 0 {
			return 0, 0
		}
	}
	if below := start &^ (arena - 1); below < start {
		// Pages below that are not mapped are left as they are.
		syscall.Syscall(syscall.SYS_MADVISE, below, start-below, syscall.MADV_HUGEPAGE)
	}
	return start, n
}

// markPiece is the size of the pieces mark allocates: at most this much
// of the stretch is zeroed where it overlaps used heap.
const markPiece = 4 << 20

// addr is the address of b's first byte.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

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
