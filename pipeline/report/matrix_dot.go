package report

import (
	"bufio"
	"io"
	"strings"
)

var dotReplacer = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", `\n`)

// dotQuote is a DOT double-quoted string.
func dotQuote(s string) string { return `"` + dotReplacer.Replace(s) + `"` }

// writeMatrixDOT draws the matrix for Graphviz, titled with what it
// leaves out, if anything: a cluster per namespace,
// external ranges as ellipses, one edge per connection labelled with its
// ports (dashed when address-dependent, with two arrow heads when both
// directions allow the same ports).
func writeMatrixDOT(w io.Writer, v *matrixView, opts MatrixOptions) error {
	g := matrixGraph(v, opts.Title)
	warnPicture(opts, "dot", len(g.edges), 0, 0)
	b := bufio.NewWriterSize(w, 64<<10)
	b.WriteString("digraph reachability {\n")
	label := g.title
	for _, n := range g.notes {
		label += "\n" + n.text
		for _, it := range n.items {
			label += "\n" + it
		}
	}
	if label = strings.TrimPrefix(label, "\n"); label != "" {
		b.WriteString("  label=" + dotQuote(label) + ";\n  labelloc=t;\n")
	}
	b.WriteString("  rankdir=LR;\n  fontname=\"Helvetica\";\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	nss, byNS, external := g.groups()
	for _, ns := range nss {
		b.WriteString("  subgraph " + dotQuote("cluster_"+ns) + " {\n")
		b.WriteString("    label=" + dotQuote(ns) + ";\n")
		for _, n := range byNS[ns] {
			b.WriteString("    " + dotQuote(n.id) + " [label=" + dotQuote(n.name+"\n"+n.detail) + "];\n")
		}
		b.WriteString("  }\n")
	}
	for _, n := range external {
		b.WriteString("  " + dotQuote(n.id) + " [label=" + dotQuote(n.name+"\n"+n.detail) + ", shape=ellipse];\n")
	}
	for _, e := range g.edges {
		attrs := "label=" + dotQuote(e.label())
		if e.addrDep {
			attrs += ", style=dashed"
		}
		if e.both {
			attrs += ", dir=both"
		}
		b.WriteString("  " + dotQuote(e.from.id) + " -> " + dotQuote(e.to.id) + " [" + attrs + "];\n")
	}
	b.WriteString("}\n")
	return b.Flush()
}
