// Package heaptune sets the Go heap up for reachgate's large runs, first
// thing in main (Prepare).
//
// Huge pages. Most distributions set transparent huge pages to
// "madvise": only memory a program marks with madvise(MADV_HUGEPAGE) gets
// 2 MiB pages, and the Go runtime marks none of its heap. reachgate's
// large runs then spend much of their time in the kernel, which maps and
// zeroes every 4 KiB page of the heap on its first touch (about 130,000
// faults for `reach` at 5,000 workloads). Prepare maps a stretch of heap
// once, marks it, and gives it back to the runtime, which then builds the
// heap in it: one fault per 2 MiB. A goroutine then marks the heap the
// runtime maps past the stretch, as it maps it (follow), for runs that
// outgrow it.
//
// The collector. A run builds large values that live until it ends (the
// model, the matrices, the rules' input documents), so with the default
// GOGC of 100 the collector runs again and again over memory it cannot
// free. Prepare sets GOGC to 300, and a soft memory limit of three
// quarters of the machine's (or the container's) memory, so that the
// heap's growth yields to the limit rather than to an out-of-memory kill.
// GOGC and GOMEMLIMIT, when set, are left as they are.
//
// docs/reachability.md has the figures.
package heaptune

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Settings are what Prepare set: the bytes of heap marked for huge pages
// first, the collector's percent (GOGC) and the soft memory limit, -1 for
// one left as it was.
type Settings struct {
	HugePages   int64
	GCPercent   int
	MemoryLimit int64
}

// Prepare marks heap for huge pages where the kernel leaves that to the
// program, and the heap mapped later as it is mapped (see hugePages), and
// sets the collector (see gcPlan). Call it first in main, before the heap
// grows.
func Prepare() Settings {
	s := Settings{HugePages: hugePages()}
	total := memory(memTotal(readFile("/proc/meminfo")), containerLimit())
	s.GCPercent, s.MemoryLimit = gcPlan(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"), total)
	if s.GCPercent >= 0 {
		debug.SetGCPercent(s.GCPercent)
	}
	if s.MemoryLimit >= 0 {
		debug.SetMemoryLimit(s.MemoryLimit)
	}
	return s
}

// gcPercent is the collector's percent Prepare sets: the heap may grow to
// four times what the last collection kept.
const gcPercent = 300

// gcPlan returns the collector's percent and the soft memory limit to set
// (-1 to leave one as it is): gcPercent unless GOGC is set, and three
// quarters of the memory unless GOMEMLIMIT is set or the memory is not
// known (0).
func gcPlan(gogc, gomemlimit string, memory int64) (percent int, limit int64) {
	percent, limit = gcPercent, -1
	if gogc != "" {
		percent = -1
	}
	if gomemlimit == "" && memory > 0 {
		limit = memory / 4 * 3
	}
	return percent, limit
}

// memory is the memory the process may use: the machine's (MemTotal), or
// the container's limit where lower; 0 when neither is known.
func memory(memTotal, cgroupMax int64) int64 {
	if cgroupMax > 0 && (memTotal == 0 || cgroupMax < memTotal) {
		return cgroupMax
	}
	return memTotal
}

// containerLimit is the memory limit of the process's cgroup as a
// container sees it (its own cgroup at the root of the hierarchy): v2's
// memory.max, else v1's memory.limit_in_bytes; 0 for none.
func containerLimit() int64 {
	if n := cgroupLimit(readFile("/sys/fs/cgroup/memory.max")); n > 0 {
		return n
	}
	return cgroupLimit(readFile("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
}

// cgroupLimit returns a cgroup memory limit in bytes, 0 for "max" or
// none. (Version 1 writes no limit as a number near 2^63, which gcPlan
// leaves to the memory, being above it.)
func cgroupLimit(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

func readFile(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	return string(b)
}

const (
	// maxReserve bounds the heap Prepare marks; the runtime's metadata
	// for it costs about 5 ms per GiB at start.
	maxReserve = 4 << 30
	// minReserve is the least worth marking: below it, nothing is.
	minReserve = 64 << 20
	hugePage   = 2 << 20
)

// plan returns how many bytes of heap to map and mark for huge pages, 0
// for none, from the transparent huge page mode
// (/sys/kernel/mm/transparent_hugepage/enabled), the overcommit mode
// (/proc/sys/vm/overcommit_memory), /proc/meminfo and $GODEBUG.
//
// It marks none when the kernel already backs every heap with huge pages
// ("always") or never does ("never"); when overcommit is strict (2), as
// the reservation would count against the commit limit; and when
// GODEBUG=disablethp=1 asks the Go runtime to keep huge pages off its
// heap. Otherwise a quarter of the memory, at most maxReserve: marking
// costs no memory until a page is touched.
func plan(thp, overcommit, meminfo, godebug string) int64 {
	if thpMode(thp) != "madvise" || strings.TrimSpace(overcommit) == "2" || godebugSet(godebug, "disablethp", "1") {
		return 0
	}
	n := min(memTotal(meminfo)/4, maxReserve) &^ (hugePage - 1)
	if n < minReserve {
		return 0
	}
	return n
}

// thpMode returns the selected mode of a transparent huge page setting,
// "always [madvise] never", or "" when there is none.
func thpMode(s string) string {
	i := strings.IndexByte(s, '[')
	j := strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return ""
	}
	return s[i+1 : j]
}

// memTotal returns MemTotal of /proc/meminfo in bytes, 0 if missing.
func memTotal(meminfo string) int64 {
	for line := range strings.Lines(meminfo) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0
		}
		return kb << 10
	}
	return 0
}

// godebugSet reports whether $GODEBUG sets key to value; the last setting
// of a key wins, as in the runtime.
func godebugSet(godebug, key, value string) bool {
	set := false
	for kv := range strings.SplitSeq(godebug, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == key {
			set = v == value
		}
	}
	return set
}
