package report

import (
	"io"
	"strings"
	"unicode"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The text formats print names, paths and messages that come from the
// pull request. In a GitHub Actions log a line that starts with "::"
// (after white space) is a workflow command: "::stop-commands::" would
// silence the gate's own annotations, "::error file=...::" would forge
// one. The runner reads lines ended by "\n", "\r" or "\r\n". So the text
// formats end lines with "\n" only, and put a backslash before a "::"
// that starts a line: `\::error::x` is printed, not run.

var lineEnds = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// EscapeWorkflowCommands returns s with every line break a "\n" and no
// line a GitHub Actions workflow command. Callers that print untrusted
// text to a CI log (problems on stderr, say) use it as the text formats
// do.
func EscapeWorkflowCommands(s string) string {
	if !strings.Contains(s, "::") && !strings.Contains(s, "\r") {
		return s
	}
	lines := strings.SplitAfter(lineEnds.Replace(s), "\n")
	for i, l := range lines {
		if rest := strings.TrimLeftFunc(l, unicode.IsSpace); strings.HasPrefix(rest, "::") {
			lines[i] = l[:len(l)-len(rest)] + `\` + rest
		}
	}
	return strings.Join(lines, "")
}

// noCommands runs write into a buffer and writes its output to w with
// EscapeWorkflowCommands applied.
func noCommands(w io.Writer, write func(io.Writer) error) error {
	var b strings.Builder
	if err := write(&b); err != nil {
		return err
	}
	_, err := io.WriteString(w, EscapeWorkflowCommands(b.String()))
	return err
}

func writeCheckTextSafe(w io.Writer, r *model.Report, opts Options) error {
	return noCommands(w, func(w io.Writer) error { return writeCheckText(w, r, opts) })
}

func writeMatrixTextSafe(w io.Writer, v *matrixView, opts MatrixOptions) error {
	return noCommands(w, func(w io.Writer) error { return writeMatrixText(w, v, opts) })
}

func writeDiffTextSafe(w io.Writer, name string, d *model.Diff) error {
	return noCommands(w, func(w io.Writer) error { return writeDiffText(w, name, d) })
}

func writeExplainTextSafe(w io.Writer, xs []model.Explanation) error {
	return noCommands(w, func(w io.Writer) error { return writeExplainText(w, xs) })
}
