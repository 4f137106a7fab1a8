// Command testsummary reads `go test -json` on stdin and prints what
// `go test` prints (a line per package, the output of failed tests), then
// one summary line that counts the tests and names every skipped test
// with its reason, so that a test skipped for a missing tool (Chromium,
// Graphviz, root) is seen. It exits 1 when a test or a package failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	os.Exit(summarize(os.Stdin, os.Stdout))
}

func summarize(r io.Reader, w io.Writer) int {
	out := map[string][]string{} // package/test -> output
	var started []event          // tests in the order they first spoke
	var passed, failed int
	var skipped []string
	badPkg := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(w, sc.Text()) // build errors come as plain text
			continue
		}
		key := e.Package + "/" + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			badPkg = true
		case "output":
			if _, ok := out[key]; !ok && e.Test != "" {
				started = append(started, e)
			}
			out[key] = append(out[key], e.Output)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			} else {
				passed++
			}
			delete(out, key)
		case "skip":
			if e.Test == "" {
				fmt.Fprintf(w, "?   \t%s\t[no test files]\n", e.Package)
			} else {
				skipped = append(skipped, e.Test+" ("+reason(out[key])+")")
			}
			delete(out, key)
		case "fail":
			if e.Test == "" {
				badPkg = true
				// A test binary killed (out of memory, by a signal)
				// ends the package with tests still running, which
				// test2json never ends: they failed, and their output
				// says how far they got.
				for _, t := range started {
					k := t.Package + "/" + t.Test
					if lines, ok := out[k]; ok && t.Package == e.Package {
						failed++
						fmt.Fprint(w, strings.Join(lines, ""))
						delete(out, k)
					}
				}
				fmt.Fprint(w, strings.Join(out[key], "")) // ends "FAIL\tpkg\t1.2s"
			} else {
				failed++
				fmt.Fprint(w, strings.Join(out[key], ""))
			}
			delete(out, key)
		}
	}
	line := fmt.Sprintf("tests: %d passed, %d failed, %d skipped", passed, failed, len(skipped))
	if len(skipped) > 0 {
		line += ": " + strings.Join(skipped, "; ")
	}
	fmt.Fprintln(w, line)
	if failed > 0 || badPkg || sc.Err() != nil {
		return 1
	}
	return 0
}

// reason is what a skipped test said, without the file:line prefix.
func reason(lines []string) string {
	var rs []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		if _, msg, ok := strings.Cut(l, ".go:"); ok {
			if _, m, ok := strings.Cut(msg, ": "); ok {
				l = m
			}
		}
		rs = append(rs, l)
	}
	if len(rs) == 0 {
		return "no reason given"
	}
	return strings.Join(rs, " ")
}
