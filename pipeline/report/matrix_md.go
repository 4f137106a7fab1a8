package report

import (
	"bufio"
	"io"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeMatrixMarkdown writes the matrix as a table: source, destination,
// ports and the rules behind each side.
func writeMatrixMarkdown(w io.Writer, v *matrixView, opts MatrixOptions) error {
	b := bufio.NewWriterSize(w, 64<<10)
	title := opts.Title
	if title == "" {
		title = "Reachability"
	}
	b.WriteString("## " + mdText(title) + "\n\n")
	mdNotes(b, omittedNotes(v.m.Omitted))
	if v.focused {
		b.WriteString("Connections of " + mdText(focusName(opts)) + ": ")
	}
	b.WriteString(plural(v.n, "connection", "connections") + ".\n\n")
	if v.n > 0 {
		mdTable(b, "Source", "Destination", "Ports", "Egress rule", "Ingress rule")
		v.eachRow(opts, func(r flowRow[viewConn]) {
			c := r.first
			mdRow(b, mdCodeCell(r.src), mdCodeCell(r.dst), mdPorts(c.Allowance)+mdMayDeny(*v.src(c), *v.dst(c)),
				mdRefs(linker{}, c.Allowance, model.Egress, ""), mdRefs(linker{}, c.Allowance, model.Ingress, ""))
		})
		b.WriteString("\n")
	}
	if len(v.unmanaged) > 0 {
		b.WriteString("### Not governed by NetworkPolicy\n\n")
		for _, u := range v.unmanaged {
			b.WriteString("- " + mdCode(u.Workload.String()) + ": " + mdText(u.Reason) + "\n")
		}
		b.WriteString("\n")
	}
	return b.Flush()
}
