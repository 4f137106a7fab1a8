package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

var mermaidReplacer = strings.NewReplacer(
	"#", "#35;",
	`"`, "#quot;",
	"<", "#lt;",
	">", "#gt;",
	"\r", "",
	"\n", " ",
)

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string { return mermaidReplacer.Replace(s) }

// writeMatrixMermaid draws the matrix as a Mermaid flowchart: a subgraph
// per namespace, external ranges as stadium nodes, edges labelled with
// ports (dotted when address-dependent, with two arrow heads when both
// directions allow the same ports).
func writeMatrixMermaid(w io.Writer, v *matrixView, opts MatrixOptions) error {
	g := matrixGraph(v, opts.Title)
	warnPicture(opts, "mermaid", len(g.edges), 0, 0)
	cw := &countingWriter{w: w}
	b := bufio.NewWriterSize(cw, 64<<10)
	writeMermaid(b, g)
	if err := b.Flush(); err != nil {
		return err
	}
	if len(g.edges) <= mermaidMaxEdges {
		// Its length is known once written.
		warnPicture(opts, "mermaid", 0, 0, cw.units)
	}
	return nil
}

// writeMermaid writes a flowchart. Added edges are solid and green,
// removed ones dashed and red, changed ones thick and amber.
func writeMermaid(b io.StringWriter, g *graph) {
	if g.title != "" {
		b.WriteString("---\ntitle: \"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ").Replace(g.title) + "\"\n---\n")
	}
	b.WriteString("flowchart LR\n")
	// What the matrix leaves out, as a note above the picture (ids in
	// upper case never meet a node's).
	for i, n := range g.notes {
		text := "⚠ " + mermaidText(n.text)
		for _, it := range n.items {
			text += "<br/>" + mermaidText(it)
		}
		b.WriteString("  OMITTED_" + strconv.Itoa(i+1) + "[\"" + text + "\"]\n")
	}
	nss, byNS, external := g.groups()
	// Subgraph ids are upper case, node ids lower case: they never meet.
	seen := map[string]bool{}
	for _, ns := range nss {
		base := "NS_" + sanitizeID(ns)
		id := base
		for i := 2; seen[id]; i++ {
			id = base + "_" + strconv.Itoa(i)
		}
		seen[id] = true
		b.WriteString("  subgraph " + id + " [\"" + mermaidText(ns) + "\"]\n")
		for _, n := range byNS[ns] {
			b.WriteString("    " + n.id + "[\"" + mermaidText(n.name) + "<br/>" + mermaidText(n.detail) + "\"]\n")
		}
		b.WriteString("  end\n")
	}
	for _, n := range external {
		b.WriteString("  " + n.id + "([\"" + mermaidText(n.name) + "<br/>" + mermaidText(n.detail) + "\"])\n")
	}
	var added, removed, changed []string
	for i, e := range g.edges {
		arrow := "-->"
		switch {
		case e.kind == edgeRemoved:
			arrow = "-.->"
			removed = append(removed, strconv.Itoa(i))
		case e.kind == edgeChanged:
			arrow = "==>"
			changed = append(changed, strconv.Itoa(i))
		case e.kind == edgeAdded:
			added = append(added, strconv.Itoa(i))
		case e.addrDep:
			arrow = "-.->"
		}
		if e.both {
			arrow = "<" + arrow
		}
		b.WriteString("  " + e.from.id + " " + arrow + "|\"" + mermaidText(e.label()) + "\"| " + e.to.id + "\n")
	}
	style := func(idx []string, s string) {
		if len(idx) > 0 {
			b.WriteString("  linkStyle " + strings.Join(idx, ",") + " " + s + "\n")
		}
	}
	style(added, "stroke:#1a7f37,color:#1a7f37")
	style(removed, "stroke:#cf222e,color:#cf222e")
	style(changed, "stroke:#9a6700,color:#9a6700")
}
