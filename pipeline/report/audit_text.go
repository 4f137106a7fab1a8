package report

import (
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeAuditText prints an audit for a terminal: what was compared, the
// policies, flows and workloads that drifted, then the verdict.
func writeAuditText(w io.Writer, a *model.Audit, opts Options) error {
	p := painter(opts.Color)
	ew := newErrWriter(w)
	title := a.Environment
	if a.Path != "" {
		title += " (" + a.Path + ")"
	}
	ew.line(p.paint(ansiBold, "reachgate audit")+": ", title, " at ", refName(a.Git), " against ", a.Cluster)
	ew.line("namespaces read: ", strings.Join(a.Namespaces, ", "))
	for _, f := range a.Problems {
		ew.line(p.paint(ansiRed, "error: "), f.String())
	}
	ew.line()
	ew.line("policies: ", plural(len(a.Policies), "drifted", "drifted"))
	for _, d := range a.Policies {
		sign, text := policyStateText(d)
		line := sign + " " + d.Key() + ": " + text
		if d.Source.File != "" {
			line += " (" + d.Source.String() + ")"
		}
		ew.line("  ", p.paint(signColor(sign), line))
		for _, c := range d.Changes {
			ew.line("      ", fieldChangeText(c))
		}
	}
	switch {
	case a.Flows.Empty():
		ew.line("flows: live allows what git allows")
	default:
		ew.line("flows (live compared with git): ", flowCounts(a.Flows))
		for _, l := range diffLines(a.Flows) {
			ew.line("  ", p.paint(signColor(l[:1]), l))
		}
	}
	ew.line("unmanaged workloads: ", count(len(a.Unmanaged)))
	for _, u := range a.Unmanaged {
		ew.line("  ", p.paint(ansiRed, u.Namespace+"/"+u.Name+"["+u.Kind+"]"), ": ", unmanagedText(u))
	}
	if len(a.NotRunning) > 0 {
		ew.line("declared in git, no pod running (not drift): ", strings.Join(a.NotRunning, ", "))
	}
	for _, n := range a.Notes {
		ew.line("note: ", n)
	}
	ew.line()
	if a.Drifted() {
		ew.line(p.paint(ansiRed+ansiBold, AuditVerdict(a)))
	} else {
		ew.line(p.paint(ansiGreen+ansiBold, AuditVerdict(a)), ": the cluster enforces what git says")
	}
	return ew.flush()
}

func signColor(sign string) string {
	switch sign {
	case "-":
		return ansiRed
	case "~":
		return ansiYellow
	}
	return ansiGreen
}
