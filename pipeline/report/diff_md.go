package report

import (
	"io"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeDiffMarkdown writes the diff as Markdown tables: added, removed
// and changed flows with the rules behind them, then workloads.
func writeDiffMarkdown(w io.Writer, name string, d *model.Diff) error {
	var b strings.Builder
	title := "Reachability changes"
	if name != "" {
		title += " in " + name
	}
	b.WriteString("## " + mdText(title) + "\n\n")
	mdNotes(&b, omittedNotes(d.Omitted))
	if d.Empty() {
		b.WriteString("No changes.\n")
	} else {
		b.WriteString(mdText(diffCounts(d)) + ".\n\n")
		writeDiffTables(&b, d, diffTableOpts{heading: "###", provenance: true, maxRows: -1})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// diffTableOpts shape the diff tables of the Markdown diff and of the PR
// comment.
type diffTableOpts struct {
	heading                string // "###"
	link                   linker
	baseCommit, headCommit string
	provenance             bool // the egress and ingress rule columns
	maxRows                int  // rows per table; unlimited when < 0
}

// writeDiffTables writes one table per kind of change. Rows beyond
// maxRows are counted in a line after the table.
func writeDiffTables(b *strings.Builder, d *model.Diff, o diffTableOpts) {
	flowTable := func(title, what string, cs []model.ConnectionChange, portsCol string, row func(c model.ConnectionChange) []string) {
		if len(cs) == 0 {
			return
		}
		rows := changeRows(cs)
		// What the table shows, and the flows its rows group.
		n := count(len(rows))
		if len(rows) < len(cs) {
			n = count(len(cs)) + " flows in " + plural(len(rows), "row", "rows")
		}
		b.WriteString(o.heading + " " + title + " (" + n + ")\n\n")
		cols := []string{"Source", "Destination", portsCol}
		if o.provenance {
			cols = append(cols, "Egress rule", "Ingress rule")
		}
		shown := rowsShown(len(rows), o.maxRows)
		if shown > 0 {
			mdTable(b, cols...)
			for _, r := range rows[:shown] {
				cells := row(r.first)
				cells[0], cells[1] = mdCodeCell(r.src), mdCodeCell(r.dst)
				if !o.provenance {
					cells = cells[:3]
				}
				mdRow(b, cells...)
			}
			b.WriteString("\n")
		}
		left := 0
		for _, r := range rows[shown:] {
			left += r.flows
		}
		omitted(b, left, what, what+"s")
	}
	flowTable("Added flows", "added flow", d.Added, "Ports", func(c model.ConnectionChange) []string {
		return []string{mdCodeCell(c.Src.String()), mdCodeCell(c.Dst.String()), mdPorts(c.After) + mdMayDeny(c.Src, c.Dst),
			mdRefs(o.link, c.After, model.Egress, o.headCommit), mdRefs(o.link, c.After, model.Ingress, o.headCommit)}
	})
	flowTable("Removed flows", "removed flow", d.Removed, "Ports", func(c model.ConnectionChange) []string {
		return []string{mdCodeCell(c.Src.String()), mdCodeCell(c.Dst.String()), mdPorts(c.Before),
			mdRefs(o.link, c.Before, model.Egress, o.baseCommit), mdRefs(o.link, c.Before, model.Ingress, o.baseCommit)}
	})
	flowTable("Changed flows", "changed flow", d.Changed, "Ports before → after", func(c model.ConnectionChange) []string {
		side := func(dir model.Direction) string {
			after := mdRefs(o.link, c.After, dir, o.headCommit)
			if slices.Equal(refKeys(c.Before, dir), refKeys(c.After, dir)) {
				return after
			}
			return mdRefs(o.link, c.Before, dir, o.baseCommit) + " → " + after
		}
		return []string{mdCodeCell(c.Src.String()), mdCodeCell(c.Dst.String()), mdPorts(c.Before) + " → " + mdPorts(c.After) + mdMayDeny(c.Src, c.Dst),
			side(model.Egress), side(model.Ingress)}
	})

	nw := len(d.WorkloadsAdded) + len(d.WorkloadsRemoved)
	if nw == 0 {
		return
	}
	b.WriteString(o.heading + " Workloads (" + count(len(d.WorkloadsAdded)) + " added, " + count(len(d.WorkloadsRemoved)) + " removed)\n\n")
	shown := rowsShown(nw, o.maxRows)
	if shown > 0 {
		mdTable(b, "Workload", "Change")
		n := 0
		for _, p := range sortedPeers(d.WorkloadsAdded) {
			if n++; n > shown {
				break
			}
			mdRow(b, mdCodeCell(p.String()), "added")
		}
		for _, p := range sortedPeers(d.WorkloadsRemoved) {
			if n++; n > shown {
				break
			}
			mdRow(b, mdCodeCell(p.String()), "removed")
		}
		b.WriteString("\n")
	}
	omitted(b, nw-shown, "workload change", "workload changes")
}

// refKeys names the distinct rules of one side, without source lines.
func refKeys(a *model.Allowance, dir model.Direction) []string {
	refs := sideRefs(a, dir)
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = refText(r, dir)
	}
	return out
}

func rowsShown(n, max int) int {
	if max < 0 || n <= max {
		return n
	}
	return max
}

// omitted says how many rows a table left out.
func omitted(b *strings.Builder, n int, one, many string) {
	if n <= 0 {
		return
	}
	b.WriteString("_… " + count(n) + " more " + pluralWord(n, one, many) + " not shown; see the report artifact._\n\n")
}
