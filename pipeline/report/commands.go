package report

import (
	"bufio"
	"bytes"
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
	var b strings.Builder
	e := newCommandEscaper(&b)
	io.WriteString(e, s)
	e.close()
	return b.String()
}

// noCommands runs write with its output escaped on its way to w (see
// commandEscaper).
func noCommands(w io.Writer, write func(io.Writer) error) error {
	e := newCommandEscaper(w)
	if err := write(e); err != nil {
		return err
	}
	return e.close()
}

// commandEscaper is EscapeWorkflowCommands as a writer: it holds back
// each line until its end, then writes it escaped and ended by "\n". The
// text formats stream through it, so that their memory stays flat in the
// size of what they write (`reach --format txt` writes a line per pair:
// 156 MB at 5,000 workloads).
type commandEscaper struct {
	w    *bufio.Writer
	line []byte
	cr   bool // the last byte ended a line with "\r": a "\n" next is the same end
}

func newCommandEscaper(w io.Writer) *commandEscaper {
	return &commandEscaper{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write takes p whole; an error writing to the writer below is close's.
func (e *commandEscaper) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		if e.cr && p[i] == '\n' {
			e.cr = false
			i++
			continue
		}
		e.cr = false
		j := bytes.IndexAny(p[i:], "\r\n")
		if j < 0 {
			e.line = append(e.line, p[i:]...)
			break
		}
		e.line = append(e.line, p[i:i+j]...)
		e.cr = p[i+j] == '\r'
		e.endLine()
		e.w.WriteByte('\n')
		i += j + 1
	}
	return len(p), nil
}

// endLine writes the line held back, escaped if it would be a command.
func (e *commandEscaper) endLine() {
	if rest := bytes.TrimLeftFunc(e.line, unicode.IsSpace); bytes.HasPrefix(rest, []byte("::")) {
		e.w.Write(e.line[:len(e.line)-len(rest)])
		e.w.WriteByte('\\')
		e.w.Write(rest)
	} else {
		e.w.Write(e.line)
	}
	e.line = e.line[:0]
}

// close writes the last line, which no line break ended, and flushes.
func (e *commandEscaper) close() error {
	e.endLine()
	return e.w.Flush()
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
