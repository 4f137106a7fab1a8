package report

import (
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeDiffText prints a summary line, then one line per change: "+" for
// an added flow, "-" for a removed one, "~" for changed ports, each with
// the rules behind it, as in
//
//	~ app/worker[Deployment] => app/rabbitmq[StatefulSet] : TCP 5672,15672 -> TCP 5672   via app/a egress[0] + app/b ingress[1]
//
// then the workloads added and removed.
func writeDiffText(w io.Writer, name string, d *model.Diff) error {
	ew := newErrWriter(w)
	textNotes(ew, "", omittedNotes(d.Omitted))
	ew.line(diffHeadline(name, d))
	for _, l := range diffLines(d) {
		ew.line(l)
	}
	return ew.flush()
}

func diffHeadline(name string, d *model.Diff) string {
	if d.Empty() {
		if name == "" {
			return "No reachability changes."
		}
		return "No reachability changes in " + name + "."
	}
	s := "Reachability changes"
	if name != "" {
		s += " in " + name
	}
	return s + ": " + diffCounts(d)
}

// diffCounts is "2 flows added, 1 removed, 0 changed; 1 workload added",
// counting flows as rows (see flowCounts).
func diffCounts(d *model.Diff) string {
	s := plural(rowCount(d.Added), "flow", "flows") + " added, " + count(rowCount(d.Removed)) + " removed, " + count(rowCount(d.Changed)) + " changed"
	var ws []string
	if n := len(d.WorkloadsAdded); n > 0 {
		ws = append(ws, plural(n, "workload", "workloads")+" added")
	}
	if n := len(d.WorkloadsRemoved); n > 0 {
		ws = append(ws, plural(n, "workload", "workloads")+" removed")
	}
	if len(ws) > 0 {
		s += "; " + strings.Join(ws, ", ")
	}
	return s
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// diffLines renders every change of d, sorted: added, removed and changed
// flows, then added and removed workloads.
func diffLines(d *model.Diff) []string {
	var out []string
	for _, set := range []struct {
		sign string
		cs   []model.ConnectionChange
	}{{"+", d.Added}, {"-", d.Removed}, {"~", d.Changed}} {
		for _, r := range changeRows(set.cs) {
			out = append(out, changeLine(set.sign, r))
		}
	}
	for _, p := range sortedPeers(d.WorkloadsAdded) {
		out = append(out, "+ workload "+p.String())
	}
	for _, p := range sortedPeers(d.WorkloadsRemoved) {
		out = append(out, "- workload "+p.String())
	}
	return out
}

// changeRows sorts changes and groups the external ranges of one endpoint
// that change the same way.
func changeRows(cs []model.ConnectionChange) []flowRow[model.ConnectionChange] {
	return groupRanges(sortedChanges(cs),
		func(c model.ConnectionChange) (model.Peer, model.Peer) { return c.Src, c.Dst },
		func(c model.ConnectionChange) string {
			return portsText(c.Before) + "|" + grantsText(c.Before) + "|" + portsText(c.After) + "|" + grantsText(c.After) + "|" + mayDenyText(c.Src, c.Dst)
		})
}

func changeLine(sign string, r flowRow[model.ConnectionChange]) string {
	c := r.first
	s := sign + " " + r.src + " => " + r.dst + " : "
	var via string
	switch {
	case c.Before == nil:
		s += portsText(c.After)
		via = grantsText(c.After)
	case c.After == nil:
		s += portsText(c.Before)
		via = grantsText(c.Before)
	default:
		s += portsText(c.Before) + " -> " + portsText(c.After)
		via = grantsText(c.After)
	}
	if c.After != nil {
		s += mayDenyText(c.Src, c.Dst)
	}
	if via != "" {
		s += "   via " + via
	}
	return s
}
