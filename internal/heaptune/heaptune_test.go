package heaptune

import "testing"

func TestPlan(t *testing.T) {
	const (
		madvise = "always [madvise] never\n"
		mem24G  = "MemTotal:       24576000 kB\nMemFree:        20000000 kB\n"
		mem7G   = "MemTotal:        7110000 kB\n"
	)
	for _, c := range []struct {
		name                              string
		thp, overcommit, meminfo, godebug string
		want                              int64
	}{
		{"madvise, large machine: capped", madvise, "0\n", mem24G, "", maxReserve},
		{"madvise, heuristic overcommit", madvise, "1", mem24G, "", maxReserve},
		{"madvise, 7 GB runner: a quarter, in huge pages", madvise, "0", mem7G, "", (7110000 << 10 / 4) &^ (hugePage - 1)},
		{"already always", "[always] madvise never", "0", mem24G, "", 0},
		{"never", "always madvise [never]", "0", mem24G, "", 0},
		{"no THP setting (not built in)", "", "0", mem24G, "", 0},
		{"malformed setting", "madvise", "0", mem24G, "", 0},
		{"strict overcommit", madvise, "2\n", mem24G, "", 0},
		{"GODEBUG disables THP for the heap", madvise, "0", mem24G, "gctrace=1,disablethp=1", 0},
		{"GODEBUG's last setting wins", madvise, "0", mem24G, "disablethp=1,disablethp=0", maxReserve},
		{"GODEBUG other settings", madvise, "0", mem24G, "madvdontneed=1", maxReserve},
		{"tiny machine", madvise, "0", "MemTotal: 200000 kB\n", "", 0},
		{"no meminfo", madvise, "0", "", "", 0},
		{"meminfo in other units", madvise, "0", "MemTotal: 24576000 MB\n", "", 0},
		{"meminfo not a number", madvise, "0", "MemTotal: lots kB\n", "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := plan(c.thp, c.overcommit, c.meminfo, c.godebug); got != c.want {
				t.Errorf("plan = %d, want %d", got, c.want)
			}
		})
	}
}

func TestGCPlan(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct {
		name                string
		gogc, gomemlimit    string
		memTotal, cgroupMax int64
		wantPercent         int
		wantLimit           int64
	}{
		{"defaults", "", "", 16 * gib, 0, gcPercent, 12 * gib},
		{"GOGC set", "100", "", 16 * gib, 0, -1, 12 * gib},
		{"GOGC off", "off", "", 16 * gib, 0, -1, 12 * gib},
		{"GOMEMLIMIT set", "", "2GiB", 16 * gib, 0, gcPercent, -1},
		{"a container's limit", "", "", 16 * gib, 4 * gib, gcPercent, 3 * gib},
		{"a cgroup limit above the memory", "", "", 4 * gib, 16 * gib, gcPercent, 3 * gib},
		{"cgroup v1 without a limit", "", "", 4 * gib, 9223372036854771712, gcPercent, 3 * gib},
		{"memory not known", "", "", 0, 0, gcPercent, -1},
		{"only the cgroup's known", "", "", 0, 8 * gib, gcPercent, 6 * gib},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, l := gcPlan(c.gogc, c.gomemlimit, memory(c.memTotal, c.cgroupMax))
			if p != c.wantPercent || l != c.wantLimit {
				t.Errorf("gcPlan = %d, %d; want %d, %d", p, l, c.wantPercent, c.wantLimit)
			}
		})
	}
}

func TestCgroupLimit(t *testing.T) {
	for s, want := range map[string]int64{"max\n": 0, "": 0, "8589934592\n": 8 << 30, "0": 0, "-1": 0, "junk": 0,
		"9223372036854771712\n": 9223372036854771712} {
		if got := cgroupLimit(s); got != want {
			t.Errorf("cgroupLimit(%q) = %d, want %d", s, got, want)
		}
	}
}
