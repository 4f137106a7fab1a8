package doctest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/reachgate/reachgate/internal/textdiff"
)

// A Normaliser replaces one thing in an output that legitimately differs
// between the documentation and a run, in both texts before they are
// compared. The list is short on purpose: everything else must match
// byte for byte.
type Normaliser struct {
	Name string
	re   *regexp.Regexp
	repl string
}

// Normalisers are applied in order.
var Normalisers = []Normaliser{
	{
		// The commit check compares, shortened: the test repository is
		// built afresh from the policy files, so its commits differ from
		// those of the run the documentation shows.
		Name: "the commit in check's first line",
		re:   regexp.MustCompile(`(?m)^(reachgate check: base \S+ )\([0-9a-f]{7,40}\)`),
		repl: "${1}(COMMIT)",
	},
	{
		// A waiver's expiry: the documents write it relative to the day
		// of the run (a week from today), since check judges it against
		// the clock.
		Name: "the date a waived finding is waived until",
		re:   regexp.MustCompile(`(\[waived by [^\]]*? until )\d{4}-\d{2}-\d{2}:`),
		repl: "${1}DATE:",
	},
	{
		// How long the kernel lab took.
		Name: "verify's timings line",
		re:   regexp.MustCompile(`(?m)^timings: .*$`),
		repl: "timings: DURATIONS",
	},
}

// Normalise applies every normaliser, then replaces the absolute path of
// the test repository (repo, when not empty) with "REPO".
func Normalise(s, repo string) string {
	for _, n := range Normalisers {
		s = n.re.ReplaceAllString(s, n.repl)
	}
	if repo != "" {
		s = strings.ReplaceAll(s, repo, "REPO")
	}
	return s
}

// Output turns what a command printed into the form a session shows:
// every line ends in a newline.
func Output(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// Mismatch compares what the command of step s printed (got) with what
// document d shows, after Normalise; repo is the test repository's path.
// When they differ it returns the report a reader needs: the document,
// the line and the command, and a unified diff whose "-" lines are the
// document's, named by the line the output starts on.
func Mismatch(d *Doc, s *Step, got, repo string) (string, bool) {
	want, have := Normalise(s.Output, repo), Normalise(got, repo)
	if want == have {
		return "", false
	}
	return fmt.Sprintf("%s: $ %s\nprints something other than the document shows (- document, + actual):\n%s",
		d.Location(s.Line), s.Command, textdiff.Unified(d.Location(s.Line+1), "actual", want, have, 2)), true
}
