package report

import (
	"io"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

type historyWriter func(io.Writer, *model.History) error

var historyFormats = []format[historyWriter]{
	{"md", []string{"markdown"}, writeHistoryMarkdown},
	{"text", []string{"txt"}, writeHistoryText},
	{"json", nil, writeHistoryJSON},
}

// HistoryFormats lists the history formats.
func HistoryFormats() []string { return names(historyFormats) }

// WriteHistory renders an overlay's reachability history.
func WriteHistory(w io.Writer, format string, h *model.History) error {
	f, err := lookup("history", historyFormats, format)
	if err != nil {
		return err
	}
	return f(w, h)
}

// ChangelogLines are the changelog of one entry, one line per change:
//
//	2026-11-30 #42 (Alice Example): +app/worker → app/postgres TCP 5432
//
// with "-" for a removed flow, "~" for changed ports (before → after),
// "+workload"/"-workload" for workloads; an entry whose inputs changed
// but whose reachability did not gets one line saying so.
func ChangelogLines(e model.HistoryEntry) []string {
	prefix := e.Date.UTC().Format("2006-01-02")
	if e.PR > 0 {
		prefix += " #" + strconv.Itoa(e.PR)
	}
	prefix += " (" + e.Author + "): "
	var out []string
	switch e.Event {
	case "error":
		return []string{prefix + "does not render: " + firstLine(e.Error) + " [" + shortCommit(e.Commit) + "]"}
	case "created":
		out = append(out, prefix+"overlay created with "+plural(len(changeRows(e.Diff.Added)), "flow", "flows")+" ["+shortCommit(e.Commit)+"]")
	case "removed":
		return []string{prefix + "overlay removed: " + plural(len(changeRows(e.Diff.Removed)), "flow", "flows") + " gone [" + shortCommit(e.Commit) + "]"}
	}
	if e.Event == "changed" && e.Diff.Empty() {
		return []string{prefix + "no reachability change [" + shortCommit(e.Commit) + "]"}
	}
	for _, set := range []struct {
		sign string
		cs   []model.ConnectionChange
	}{{"+", e.Diff.Added}, {"-", e.Diff.Removed}, {"~", e.Diff.Changed}} {
		for _, r := range changeRows(set.cs) {
			c := r.first
			ports := ""
			switch {
			case c.Before == nil:
				ports = c.After.Ports.String()
			case c.After == nil:
				ports = c.Before.Ports.String()
			default:
				ports = c.Before.Ports.String() + " → " + c.After.Ports.String()
			}
			out = append(out, prefix+set.sign+peerName(c.Src, r.src)+" → "+peerName(c.Dst, r.dst)+" "+ports)
		}
	}
	for _, p := range sortedPeers(e.Diff.WorkloadsAdded) {
		out = append(out, prefix+"+workload "+p.String())
	}
	for _, p := range sortedPeers(e.Diff.WorkloadsRemoved) {
		out = append(out, prefix+"-workload "+p.String())
	}
	return out
}

// peerName is "namespace/name" for a workload, else the grouped row's
// text (an external endpoint and its ranges).
func peerName(p model.Peer, row string) string {
	if p.Workload != nil {
		return p.Workload.Key()
	}
	return row
}

func writeHistoryText(w io.Writer, h *model.History) error {
	ew := newErrWriter(w)
	for i := len(h.Entries) - 1; i >= 0; i-- {
		for _, l := range ChangelogLines(h.Entries[i]) {
			ew.line(l)
		}
	}
	return ew.flush()
}

// writeHistoryMarkdown writes the changelog, newest first, one bullet per
// change, with the commit of each entry.
func writeHistoryMarkdown(w io.Writer, h *model.History) error {
	var b strings.Builder
	b.WriteString("## Reachability history: " + mdText(h.Environment) + "\n\n")
	b.WriteString(mdCode(h.Path) + ", first-parent history of " + mdCode(refName(h.Until)))
	if !h.Since.IsZero() {
		b.WriteString(" since " + h.Since.UTC().Format("2006-01-02"))
	}
	b.WriteString(": " + plural(len(h.Entries), "change", "changes") + " in " + plural(h.Commits, "commit", "commits") + ".\n\n")
	for i := len(h.Entries) - 1; i >= 0; i-- {
		e := h.Entries[i]
		b.WriteString("### " + e.Date.UTC().Format("2006-01-02") + " " + mdCode(shortCommit(e.Commit)) + " " + mdText(e.Subject) + "\n\n")
		for _, l := range ChangelogLines(e) {
			b.WriteString("- " + mdText(l) + "\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type historyDoc struct {
	FormatVersion string `json:"formatVersion"`
	Kind          string `json:"kind"`
	*model.History
	Entries []historyEntryDoc `json:"entries"`
}

type historyEntryDoc struct {
	model.HistoryEntry
	Changelog []string  `json:"changelog"`
	Diff      *jsonDiff `json:"diff"`
}

func writeHistoryJSON(w io.Writer, h *model.History) error {
	doc := historyDoc{FormatVersion: FormatVersion, Kind: "ReachgateHistory", History: h, Entries: []historyEntryDoc{}}
	for _, e := range h.Entries {
		d := e.Diff
		if d == nil {
			d = &model.Diff{}
		}
		doc.Entries = append(doc.Entries, historyEntryDoc{HistoryEntry: e, Changelog: ChangelogLines(e), Diff: toJSONDiff(d)})
	}
	return writeJSON(w, doc)
}
