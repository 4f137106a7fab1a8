package report

import (
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeMatrixMarkdown writes the matrix as a table: source, destination,
// ports and the rules behind each side.
func writeMatrixMarkdown(w io.Writer, v *matrixView, opts MatrixOptions) error {
	var b strings.Builder
	title := opts.Title
	if title == "" {
		title = "Reachability"
	}
	b.WriteString("## " + mdText(title) + "\n\n")
	mdNotes(&b, omittedNotes(v.m.Omitted))
	if v.focused {
		b.WriteString("Connections of " + mdText(focusName(opts)) + ": ")
	}
	b.WriteString(plural(v.n, "connection", "connections") + ".\n\n")
	if v.n > 0 {
		mdTable(&b, "Source", "Destination", "Ports", "Egress rule", "Ingress rule")
		for _, r := range v.rows(opts) {
			c := r.first
			mdRow(&b, mdCodeCell(r.src), mdCodeCell(r.dst), mdPorts(c.Allowance)+mdMayDeny(*v.src(c), *v.dst(c)),
				mdRefs(linker{}, c.Allowance, model.Egress, ""), mdRefs(linker{}, c.Allowance, model.Ingress, ""))
		}
		b.WriteString("\n")
	}
	if len(v.unmanaged) > 0 {
		b.WriteString("### Not governed by NetworkPolicy\n\n")
		for _, u := range v.unmanaged {
			b.WriteString("- " + mdCode(u.Workload.String()) + ": " + mdText(u.Reason) + "\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
