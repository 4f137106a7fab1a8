package verify

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes the result for a terminal: a summary line, the
// timings, what was skipped, warnings, and one line per mismatch in the form
// "src -> dst port/PROTO: engine says X, kernel says Y (detail)".
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "kernel agrees with the engine"
	if !r.OK() {
		verdict = fmt.Sprintf("%d mismatches", len(r.Mismatches))
	}
	fmt.Fprintf(&b, "verify: %s: %d probes over %d pairs (%d workloads, %d external addresses), %d allowed, %d timed out\n",
		verdict, r.Probes, r.Pairs, r.Workloads, r.Externals, r.Allowed, r.Timeouts)
	t := r.Timings
	fmt.Fprintf(&b, "timings: setup %s, rules %s, probes %s, teardown %s, total %s\n",
		round(t.Setup), round(t.Rules), round(t.Probe), round(t.Teardown), round(t.Setup+t.Rules+t.Probe+t.Teardown))
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	section("skipped", r.Skipped)
	section("warnings", r.Warnings)
	ms := make([]string, len(r.Mismatches))
	for i, m := range r.Mismatches {
		ms[i] = m.String()
	}
	section("mismatches", ms)
	_, err := io.WriteString(w, b.String())
	return err
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
