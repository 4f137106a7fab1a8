//go:build linux && !race && !msan && !asan

package heaptune

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

const childEnv = "HUGEHEAP_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "1":
		child()
	case "follow", "still":
		followChild(os.Getenv(childEnv) == "follow")
	case "below":
		belowChild()
	case "dirty":
		dirtyChild()
	default:
		os.Exit(m.Run())
	}
}

// followChild marks a stretch of 64 MiB as Prepare does, starts follow
// when asked to, then allocates and touches 384 MiB of heap in 16 MiB
// pieces, a few milliseconds apart. It prints, for each piece, whether
// its mapping is marked (1 or 0), then the process's AnonHugePages in
// kB.
func followChild(following bool) {
	const stretch, piece = 64 << 20, 16 << 20
	start, n := mark(stretch)
	if n == 0 {
		fmt.Println("madvise refused")
		return
	}
	if following {
		go follow(start, time.Millisecond)
	}
	var pieces [][]byte
	for range 384 << 20 / piece {
		b := make([]byte, piece)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		pieces = append(pieces, b)
		time.Sleep(5 * time.Millisecond)
	}
	for _, b := range pieces {
		flags, _ := mapping(uintptr(unsafe.Pointer(&b[0])))
		hg := 0
		if strings.Contains(" "+flags+" ", " hg ") {
			hg = 1
		}
		fmt.Println(hg)
	}
	fmt.Println(anonHugePages())
}

// belowChild marks a stretch of 64 MiB as Prepare does and prints the
// stretch's offset in its arena, then the VmFlags of the mappings holding
// the page just below the stretch and the first page of its arena.
func belowChild() {
	start, n := mark(64 << 20)
	if n == 0 {
		fmt.Println("madvise refused")
		return
	}
	fmt.Println(start & (arena - 1))
	for _, addr := range []uintptr{start - 4096, start &^ (arena - 1)} {
		flags, _ := mapping(addr)
		fmt.Println(flags)
	}
}

// dirtyChild leaves 32 MiB of used heap free at the top of the heap, as
// a collection during the packages' initialization can, then marks a
// stretch of 512 MiB as Prepare does. It prints the process's resident
// memory before and after mark, in kB.
func dirtyChild() {
	b := make([]byte, 32<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	b = nil
	runtime.GC()
	before := residentKB()
	mark(512 << 20)
	fmt.Println(before)
	fmt.Println(residentKB())
}

// residentKB is the process's resident memory in kB (VmRSS).
func residentKB() int64 { return procKB("/proc/self/status", "VmRSS:") }

// TestMarkTouchesNoFreshMemory checks that marking a stretch costs no
// resident memory when used heap lies free at the top of the heap: the
// runtime zeroes an allocation that overlaps used heap, and one
// allocation of the whole stretch was then zeroed whole (in reachgate,
// about one run in 150 took 15 s and 4.2 GB so).
func TestMarkTouchesNoFreshMemory(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=dirty")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("child printed %q", out)
	}
	before, _ := strconv.ParseInt(lines[0], 10, 64)
	after, _ := strconv.ParseInt(lines[1], 10, 64)
	t.Logf("resident before mark %d kB, after %d kB", before, after)
	if grew := after - before; grew > 64<<10 {
		t.Errorf("marking 512 MiB made %d MiB resident", grew>>10)
	}
}

// anonHugePages is the process's memory in transparent huge pages, in
// kB, from /proc/self/smaps_rollup.
func anonHugePages() int64 { return procKB("/proc/self/smaps_rollup", "AnonHugePages:") }

// procKB is the value in kB of the line of file that starts with field
// ("VmRSS:"), -1 when there is none.
func procKB(file, field string) int64 {
	b, _ := os.ReadFile(file)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// child does what reachgate's main does, then allocates and touches 256
// MiB of heap and prints what Prepare set, the collector's percent and
// memory limit as the runtime has them, and the mapping the 256 MiB
// landed in: its VmFlags and its AnonHugePages in kB. On stderr it
// writes the address of the 256 MiB and the process's anonymous
// mappings, for a failure to be read.
func child() {
	s := Prepare()
	b := make([]byte, 256<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	flags, huge := mapping(addr)
	percent := debug.SetGCPercent(100)
	fmt.Fprintf(os.Stderr, "the 256 MiB at %x; anonymous mappings:\n", addr)
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		for _, line := range strings.Split(string(maps), "\n") {
			if f := strings.Fields(line); len(f) == 5 {
				fmt.Fprintln(os.Stderr, line)
			}
		}
	}
	fmt.Printf("%d\n%s\n%d\n%d %d\n%d %d\n", s.HugePages, flags, huge, s.GCPercent, s.MemoryLimit, percent, debug.SetMemoryLimit(-1))
}

// mapping returns the VmFlags and AnonHugePages of the mapping holding
// addr, from /proc/self/smaps.
func mapping(addr uintptr) (flags string, hugeKB int64) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", -1
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if r, _, ok := strings.Cut(line, " "); ok && strings.Contains(r, "-") && !strings.HasSuffix(r, ":") {
			lo, hi, _ := strings.Cut(r, "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(addr) >= l && uint64(addr) < h
			continue
		}
		if !in {
			continue
		}
		if v, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			hugeKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			flags = strings.TrimSpace(v)
		}
	}
	return flags, hugeKB
}

// runChild runs a process that calls Prepare as main does, with env
// added, and returns what it printed, line by line, and what it wrote
// on stderr.
func runChild(t *testing.T, env ...string) ([]string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 5 {
		t.Fatalf("child printed %q", out)
	}
	return lines, stderr.String()
}

// TestPrepareMarksTheHeap checks, in a process that calls Prepare as main
// does, that the heap it then allocates is in a mapping marked for huge
// pages (VmFlags "hg"), backed by some, when this machine's settings let
// Prepare mark anything; and that nothing is marked when they do not.
//
// Once, in CI (go test ./... compiling and testing beside it), the 256
// MiB landed in a mapping without the mark, with no huge pages; 750 runs
// here, idle and under load, did not do it again, and the cause is not
// known. A marked heap is a matter of speed, not of
// results, so a child that misses runs again, up to three times, and its
// mappings are logged; the test fails when every run misses.
func TestPrepareMarksTheHeap(t *testing.T) {
	for _, godebug := range []string{"", "disablethp=1"} {
		t.Run("GODEBUG="+godebug, func(t *testing.T) {
			want := plan(readFile("/sys/kernel/mm/transparent_hugepage/enabled"), readFile("/proc/sys/vm/overcommit_memory"),
				readFile("/proc/meminfo"), godebug)
			var miss string
			for attempt := 1; attempt <= 3; attempt++ {
				lines, stderr := runChild(t, "GODEBUG="+godebug)
				marked, _ := strconv.ParseInt(lines[0], 10, 64)
				flags := lines[1]
				huge, _ := strconv.ParseInt(lines[2], 10, 64)
				if marked != want {
					t.Fatalf("Prepare marked %d bytes, plan says %d", marked, want)
				}
				hg := strings.Contains(" "+flags+" ", " hg ")
				t.Logf("marked %d MiB; the 256 MiB landed in a mapping with VmFlags %q, %d kB in huge pages", marked>>20, flags, huge)
				if want == 0 {
					if hg {
						t.Errorf("nothing to mark, yet the heap's mapping is marked hg: %s", flags)
					}
					return
				}
				switch {
				case !hg:
					miss = "the heap allocated after Prepare is in a mapping without hg: " + flags
				case huge < 2048:
					miss = fmt.Sprintf("256 MiB touched in a marked mapping, %d kB of it in huge pages", huge)
				default:
					return
				}
				t.Logf("run %d of 3: %s\n%s", attempt, miss, stderr)
			}
			t.Error(miss)
		})
	}
}

// TestMarkCoversTheArenaBelow checks that mark also marks the heap below
// the stretch, from its arena's start: the runtime may start a large
// allocation in the pages freed there and run it on into the stretch, and
// TestPrepareMarksTheHeap then failed in 3 of 150 runs on a busy
// machine, the 256 MiB starting 32 KiB below the stretch.
func TestMarkCoversTheArenaBelow(t *testing.T) {
	if m := thpMode(readFile("/sys/kernel/mm/transparent_hugepage/enabled")); m != "madvise" {
		t.Skipf("transparent huge pages are %q here: Prepare marks the heap only where they are left to the program (madvise)", m)
	}
	// The stretch starts its arena in a few runs in a hundred: there is
	// then nothing below it to check, and the child runs again.
	var lines []string
	for range 10 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=below")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if lines = strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 3 {
			t.Fatalf("child printed %q", out)
		}
		if lines[0] != "0" {
			break
		}
	}
	if lines[0] == "0" {
		t.Fatalf("the stretch started its arena in 10 runs: nothing below it to check")
	}
	for i, where := range []string{"just below the stretch", "at its arena's start"} {
		if flags := lines[1+i]; !strings.Contains(" "+flags+" ", " hg ") {
			t.Errorf("the heap %s (the stretch %s bytes into its arena) is in a mapping without hg: %s", where, lines[0], flags)
		}
	}
}

// TestPrepareSetsTheCollector checks that the runtime has the collector's
// percent and memory limit Prepare reports, gcPlan's, and keeps GOGC and
// GOMEMLIMIT when they are set.
func TestPrepareSetsTheCollector(t *testing.T) {
	total := memTotal(readFile("/proc/meminfo"))
	if total == 0 {
		t.Fatal("no MemTotal in /proc/meminfo")
	}
	for _, c := range []struct {
		env           []string
		percent       string // as the runtime has it, and as Prepare reports it
		limit, report string
	}{
		{nil, "300 300", "", ""},
		{[]string{"GOGC=50"}, "50 -1", "", ""},
		{[]string{"GOMEMLIMIT=1GiB"}, "300 300", "1073741824", "-1"},
	} {
		t.Run(strings.Join(c.env, " "), func(t *testing.T) {
			lines, _ := runChild(t, c.env...)
			set := strings.Fields(lines[3])
			runtime := strings.Fields(lines[4])
			if got := runtime[0] + " " + set[0]; got != c.percent {
				t.Errorf("percent (runtime, reported) = %s, want %s", got, c.percent)
			}
			limit, report := c.limit, c.report
			if limit == "" {
				want := containerLimit()
				if want == 0 || want > total {
					want = total
				}
				limit = strconv.FormatInt(want/4*3, 10)
				report = limit
			}
			if runtime[1] != limit || set[1] != report {
				t.Errorf("memory limit (runtime, reported) = %s %s, want %s %s", runtime[1], set[1], limit, report)
			}
		})
	}
}

// TestFollowMarksTheGrowingHeap checks, in a process that allocates six
// times the stretch it marked, that follow marks the heap the process
// grows into: with it, nearly every piece lands in a marked mapping and
// most of the memory is in huge pages; without it, neither.
func TestFollowMarksTheGrowingHeap(t *testing.T) {
	if m := thpMode(readFile("/sys/kernel/mm/transparent_hugepage/enabled")); m != "madvise" {
		t.Skipf("transparent huge pages are %q here: Prepare marks the heap only where they are left to the program (madvise)", m)
	}
	marked, hugeMiB := map[bool]int{}, map[bool]int64{}
	for _, following := range []bool{true, false} {
		mode := map[bool]string{true: "follow", false: "still"}[following]
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s child: %v\n%s", mode, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 25 {
			t.Fatalf("%s child printed %q", mode, out)
		}
		for _, l := range lines[:24] {
			if l == "1" {
				marked[following]++
			}
		}
		kb, err := strconv.ParseInt(lines[24], 10, 64)
		if err != nil {
			t.Fatalf("%s child printed %q", mode, out)
		}
		hugeMiB[following] = kb >> 10
		t.Logf("%s: %d of 24 pieces of 16 MiB in marked mappings; %d MiB in huge pages", mode, marked[following], hugeMiB[following])
	}
	if marked[true] < 22 || hugeMiB[true] < 256 {
		t.Errorf("with follow, %d of 24 pieces marked and %d MiB in huge pages; want at least 22 and 256 MiB", marked[true], hugeMiB[true])
	}
	if marked[false] > 8 || hugeMiB[false] > 160 {
		t.Errorf("without follow, %d of 24 pieces marked and %d MiB in huge pages: the test cannot tell follow's work from the stretch's", marked[false], hugeMiB[false])
	}
}
