// Package report renders what reachgate computed: reachability matrices,
// diffs between two matrices, check reports and explanations, each in
// several formats. Every format is one renderer in its own file, found
// through a small registry; renderers write to an io.Writer, sort what
// they print, and never change their input.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// FormatVersion is the version of every JSON document this package writes.
// Version 2 wrote matrices as flows with an allowances table (reach
// --format json, the evidence and check's reachability), where version 1
// listed every pair; version 3 lists a matrix's rules and grants once,
// where version 2 wrote them out in every allowance, and names the L7
// rules and section of a Cilium rule in every rule reference.
const FormatVersion = "3"

// DefaultMaxMarkdown is GitHub's limit on the length of a comment, in
// characters.
const DefaultMaxMarkdown = 65536

// Options shape a check report.
type Options struct {
	// Color turns on ANSI colours in the text format.
	Color bool
	// MaxMarkdown caps the Markdown report, in characters (runes), marker
	// line included; DefaultMaxMarkdown when zero or less.
	MaxMarkdown int
	// Marker is a hidden HTML comment put on the first line of the
	// Markdown report, e.g. "<!-- reachgate:policy-gate/check -->", so a
	// sticky comment can be found again.
	Marker string
	// Version is reachgate's version, recorded in JSON, SARIF and JUnit.
	Version string
}

// MatrixOptions shape a reachability matrix.
type MatrixOptions struct {
	// Workload and Namespace focus the matrix on the connections that
	// touch a workload ("name", or "namespace/name"; a name alone may also
	// be an external endpoint) or a namespace.
	Workload, Namespace string
	// Title heads the document in the formats that have a heading.
	Title string
	// EveryRange lists each external range on its own row in the text and
	// Markdown formats, instead of one row for the ranges of an endpoint
	// that a workload reaches (or is reached from) the same way.
	EveryRange bool
	// Warn, when set, is told when a picture is past what its reader
	// draws (see pictureWarning): the matrix is written all the same.
	Warn func(msg string)
}

// One format of one kind of document. aliases are accepted but not listed.
type format[F any] struct {
	name    string
	aliases []string
	write   F
}

type (
	checkWriter   func(io.Writer, *model.Report, Options) error
	matrixWriter  func(io.Writer, *matrixView, MatrixOptions) error
	diffWriter    func(io.Writer, string, *model.Diff) error
	explainWriter func(io.Writer, []model.Explanation) error
)

var checkFormats = []format[checkWriter]{
	{"text", []string{"txt"}, writeCheckTextSafe},
	{"markdown", []string{"md"}, writeCheckMarkdown},
	{"json", nil, writeCheckJSON},
	{"junit", nil, writeCheckJUnit},
	{"sarif", nil, writeCheckSARIF},
	{"github", nil, writeCheckGitHub},
	{"evidence", nil, writeCheckEvidence},
}

var matrixFormats = []format[matrixWriter]{
	{"txt", []string{"text"}, writeMatrixTextSafe},
	{"json", nil, writeMatrixJSON},
	{"jsonl", nil, writeMatrixJSONL},
	{"csv", nil, writeMatrixCSV},
	{"md", []string{"markdown"}, writeMatrixMarkdown},
	{"dot", nil, writeMatrixDOT},
	{"mermaid", nil, writeMatrixMermaid},
	{"html", nil, writeMatrixHTML},
}

var diffFormats = []format[diffWriter]{
	{"txt", []string{"text"}, writeDiffTextSafe},
	{"json", nil, writeDiffJSON},
	{"md", []string{"markdown"}, writeDiffMarkdown},
}

var explainFormats = []format[explainWriter]{
	{"txt", []string{"text"}, writeExplainTextSafe},
	{"json", nil, writeExplainJSON},
}

func lookup[F any](kind string, fs []format[F], name string) (F, error) {
	for _, f := range fs {
		if f.name == name {
			return f.write, nil
		}
		for _, a := range f.aliases {
			if a == name {
				return f.write, nil
			}
		}
	}
	var zero F
	return zero, fmt.Errorf("unknown %s format %q: want %s", kind, name, strings.Join(names(fs), ", "))
}

func names[F any](fs []format[F]) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

// Formats lists the check report formats, for flag help.
func Formats() []string { return names(checkFormats) }

// MatrixFormats lists the reachability matrix formats.
func MatrixFormats() []string { return names(matrixFormats) }

// DiffFormats lists the diff formats.
func DiffFormats() []string { return names(diffFormats) }

// ExplainFormats lists the explanation formats.
func ExplainFormats() []string { return names(explainFormats) }

// Write renders a check report.
func Write(w io.Writer, format string, r *model.Report, opts Options) error {
	f, err := lookup("report", checkFormats, format)
	if err != nil {
		return err
	}
	if r == nil {
		r = &model.Report{}
	}
	return f(w, r, opts)
}

// WriteMatrix renders a reachability matrix, focused on a workload or a
// namespace when opts asks for it.
func WriteMatrix(w io.Writer, format string, m *model.Matrix, opts MatrixOptions) error {
	f, err := lookup("matrix", matrixFormats, format)
	if err != nil {
		return err
	}
	if m == nil {
		m = &model.Matrix{}
	}
	v, err := newMatrixView(m, opts)
	if err != nil {
		return err
	}
	return f(w, v, opts)
}

// WriteDiff renders what changed between two matrices; name says what was
// compared (an overlay, or "staging -> prod").
func WriteDiff(w io.Writer, format string, name string, d *model.Diff) error {
	f, err := lookup("diff", diffFormats, format)
	if err != nil {
		return err
	}
	if d == nil {
		d = &model.Diff{}
	}
	return f(w, name, d)
}

// WriteExplanation renders the answers of reach's explainer.
func WriteExplanation(w io.Writer, format string, xs []model.Explanation) error {
	f, err := lookup("explain", explainFormats, format)
	if err != nil {
		return err
	}
	return f(w, xs)
}
