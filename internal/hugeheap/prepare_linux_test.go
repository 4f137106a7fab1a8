//go:build linux && !race && !msan && !asan

package hugeheap

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

const childEnv = "HUGEHEAP_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		child()
		return
	}
	os.Exit(m.Run())
}

// child does what reachgate's main does, then allocates and touches 256
// MiB of heap and prints what Prepare marked and the mapping the 256 MiB
// landed in: its VmFlags and its AnonHugePages in kB.
func child() {
	marked := Prepare()
	b := make([]byte, 256<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	flags, huge := mapping(uintptr(unsafe.Pointer(&b[0])))
	fmt.Printf("%d\n%s\n%d\n", marked, flags, huge)
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

// TestPrepareMarksTheHeap runs a process that calls Prepare as main does
// and checks that the heap it then allocates is in a mapping marked for
// huge pages (VmFlags "hg"), backed by some, when this machine's settings
// let Prepare mark anything; and that nothing is marked when they do not.
func TestPrepareMarksTheHeap(t *testing.T) {
	for _, godebug := range []string{"", "disablethp=1"} {
		t.Run("GODEBUG="+godebug, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1", "GODEBUG="+godebug)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var marked, huge int64
			var flags string
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 3 {
				t.Fatalf("child printed %q", out)
			}
			marked, _ = strconv.ParseInt(lines[0], 10, 64)
			flags = lines[1]
			huge, _ = strconv.ParseInt(lines[2], 10, 64)
			want := plan(readFile("/sys/kernel/mm/transparent_hugepage/enabled"), readFile("/proc/sys/vm/overcommit_memory"),
				readFile("/proc/meminfo"), godebug)
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
			if !hg {
				t.Errorf("the heap allocated after Prepare is in a mapping without hg: %s", flags)
			}
			if huge < 2048 {
				t.Errorf("256 MiB touched in a marked mapping, %d kB of it in huge pages", huge)
			}
		})
	}
}
