package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reachgate/reachgate/internal/synth"
)

// The scale benchmarks run the reachgate command as a user does: a new
// process (this test binary, as reachgate), on a synthetic GitOps
// repository (synth.WriteTree), its output written to a file. ns/op is the
// command's wall time, cpu-s/op the CPU time it used (user and system: on
// a machine others load, wall time on 2 idle cores is about half of it),
// peak-MiB its peak resident memory, out-MB the size of what it wrote. The sizes are DESIGN's budget, 5,000 workloads in 50
// namespaces with 3,000 policies; REACHGATE_BENCH_SIZES picks others, as
// workloads/namespaces/policies separated by commas:
//
//	go test ./cmd/reachgate -run '^$' -bench Scale -benchtime 3x
//	REACHGATE_BENCH_SIZES=500/20/300,20000/100/10000 go test ./cmd/reachgate -run '^$' -bench Scale -benchtime 1x
//
// NPA, the path of a netpol-analyzer binary (its cmd/netpolicy), adds
// BenchmarkScaleNetpolAnalyzer: `netpolicy list --dirpath REPO -o json`
// on the same repositories. netpol-analyzer refuses a named port in a rule
// towards addresses, so with NPA set every scale benchmark writes the
// policies' ports as numbers (synth.TreeOptions.NumberedPorts), and the
// figures of both tools are for the same input.
//
//	NPA=/path/to/netpolicy REACHGATE_BENCH_SIZES=500/20/300 go test ./cmd/reachgate -run '^$' -bench Scale -benchtime 1x

// benchExecEnv makes this test binary run as reachgate (see TestMain).
const benchExecEnv = "REACHGATE_BENCH_EXEC"

type benchSize struct{ workloads, namespaces, policies int }

func (s benchSize) String() string {
	return fmt.Sprintf("workloads=%d/namespaces=%d/policies=%d", s.workloads, s.namespaces, s.policies)
}

func benchSizes(b *testing.B) []benchSize {
	env := os.Getenv("REACHGATE_BENCH_SIZES")
	if env == "" {
		return []benchSize{{5000, 50, 3000}}
	}
	var out []benchSize
	for f := range strings.SplitSeq(env, ",") {
		var s benchSize
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d/%d/%d", &s.workloads, &s.namespaces, &s.policies); err != nil || s.workloads < 1 || s.namespaces < 1 || s.policies < 0 {
			b.Fatalf("REACHGATE_BENCH_SIZES: %q is not workloads/namespaces/policies", f)
		}
		out = append(out, s)
	}
	return out
}

// writeRepo writes the synthetic cluster of size s under dir (judged by
// the built-in rules), committed on main; with a change (Change or Bump),
// the work tree then changes one file as a pull request would.
func writeRepo(b *testing.B, dir string, s benchSize, change synth.TreeOptions) {
	b.Helper()
	o := synth.Options{Workloads: s.workloads, Namespaces: s.namespaces, Seed: 42, PolicyRatio: float64(s.policies) / float64(s.workloads)}
	c := synth.Cluster(o)
	numbered := os.Getenv("NPA") != ""
	if _, err := synth.WriteTree(dir, c, synth.TreeOptions{NumberedPorts: numbered}); err != nil {
		b.Fatal(err)
	}
	if !change.Change && !change.Bump {
		return
	}
	gitRun(b, dir, "init", "-q", "-b", "main")
	gitRun(b, dir, "add", "-A")
	gitRun(b, dir, "commit", "-q", "-m", "base")
	change.NumberedPorts = numbered
	written, err := synth.WriteTree(dir, c, change)
	if err != nil {
		b.Fatal(err)
	}
	if st := gitRun(b, dir, "status", "--porcelain"); strings.Count(st, "\n") != 1 {
		b.Fatalf("the change should touch one file of %d, git status:\n%s", len(written), st)
	}
}

func gitRun(b *testing.B, dir string, args ...string) string {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// runCLI runs reachgate with args in dir, stdout to a file, and reports
// the time, the peak memory and the output size as metrics. codes are the
// exit codes the run may end with.
func runCLI(b *testing.B, dir string, codes []int, args ...string) {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	runCommand(b, dir, self, []string{benchExecEnv + "=1"}, codes, args...)
}

// runCommand is runCLI for any program, run with env added to this
// process's environment.
func runCommand(b *testing.B, dir, exe string, env []string, codes []int, args ...string) {
	b.Helper()
	outFile := filepath.Join(b.TempDir(), "out")
	var peak, size int64
	var cpu, sys time.Duration
	for b.Loop() {
		out, err := os.Create(outFile)
		if err != nil {
			b.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(exe, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout = out
		cmd.Stderr = &stderr
		err = cmd.Run()
		out.Close()
		code := cmd.ProcessState.ExitCode()
		ok := false
		for _, c := range codes {
			ok = ok || c == code
		}
		if !ok {
			b.Fatalf("%s %s: exit code %d (%v)\n%s", filepath.Base(exe), strings.Join(args, " "), code, err, stderr.String())
		}
		if ru, isRusage := cmd.ProcessState.SysUsage().(*syscall.Rusage); isRusage {
			peak = max(peak, ru.Maxrss*1024) // kilobytes on Linux
			cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			sys += time.Duration(ru.Stime.Nano())
		}
		st, err := os.Stat(outFile)
		if err != nil {
			b.Fatal(err)
		}
		if st.Size() == 0 {
			b.Fatalf("%s %s wrote nothing\n%s", filepath.Base(exe), strings.Join(args, " "), stderr.String())
		}
		size = st.Size()
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	// The kernel's share: on a virtual machine, where a fresh page costs a
	// fault in the hypervisor too, it is most of how one run of the same
	// command differs from another (docs/reachability.md).
	b.ReportMetric(sys.Seconds()/float64(b.N), "sys-s/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(float64(size)/1e6, "out-MB")
}

// BenchmarkScaleReachJSON is `reachgate reach prod --format json` on the
// synthetic repository (DESIGN: under 2 s and 1 GiB at 5,000 workloads).
func BenchmarkScaleReachJSON(b *testing.B) {
	for _, s := range benchSizes(b) {
		b.Run(s.String(), func(b *testing.B) {
			dir := b.TempDir()
			writeRepo(b, dir, s, synth.TreeOptions{})
			runCLI(b, dir, []int{0}, "reach", "prod", "--format", "json")
		})
	}
}

// BenchmarkScaleCheck is `reachgate check --base main --format json` on
// the synthetic repository with one policy changed in the work tree:
// both sides rendered (about 8,000 resources each at 5,000 workloads),
// the built-in rules, expectations, reachability and its diff
// (DESIGN: under 5 s). The change lets in one more port, so the gate
// may fail (exit code 1).
func BenchmarkScaleCheck(b *testing.B) {
	for _, s := range benchSizes(b) {
		b.Run(s.String(), func(b *testing.B) {
			dir := b.TempDir()
			writeRepo(b, dir, s, synth.TreeOptions{Change: true})
			runCLI(b, dir, []int{0, 1}, "check", "--base", "main", "--format", "json")
		})
	}
}

// BenchmarkScaleCheckBump is BenchmarkScaleCheck for a pull request that
// moves one image tag: a file both sides read changed, so both are
// rendered and judged, but nothing the rules read changes save the
// objects (NP014), so the base's rules are evaluated once.
func BenchmarkScaleCheckBump(b *testing.B) {
	for _, s := range benchSizes(b) {
		b.Run(s.String(), func(b *testing.B) {
			dir := b.TempDir()
			writeRepo(b, dir, s, synth.TreeOptions{Bump: true})
			runCLI(b, dir, []int{0, 1}, "check", "--base", "main", "--format", "json")
		})
	}
}

// BenchmarkScaleNetpolAnalyzer runs netpol-analyzer (NPA, the path of its
// netpolicy binary) on the repositories BenchmarkScaleReachJSON reads:
// its connectivity list as JSON, from the manifests under the repository
// (the workloads of kube-system, which reachgate.yaml lists, are not
// among them).
func BenchmarkScaleNetpolAnalyzer(b *testing.B) {
	npa := os.Getenv("NPA")
	if npa == "" {
		b.Skip("NPA=path of netpol-analyzer's netpolicy binary runs it side by side")
	}
	for _, s := range benchSizes(b) {
		b.Run(s.String(), func(b *testing.B) {
			dir := b.TempDir()
			writeRepo(b, dir, s, synth.TreeOptions{})
			runCommand(b, dir, npa, nil, []int{0}, "list", "--dirpath", dir, "-o", "json")
		})
	}
}

// execAsReachgate runs the command line as reachgate when the benchmarks
// started this binary to.
func execAsReachgate() {
	if os.Getenv(benchExecEnv) != "1" {
		return
	}
	main()
}
