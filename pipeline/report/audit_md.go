package report

import (
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeAuditMarkdown writes an audit as Markdown: a summary, then a table
// each for the policies, flows and workloads that drifted.
func writeAuditMarkdown(w io.Writer, a *model.Audit, opts Options) error {
	var b strings.Builder
	if opts.Marker != "" {
		b.WriteString(opts.Marker + "\n")
	}
	b.WriteString("## reachgate audit: " + mdText(a.Environment) + "\n\n")
	b.WriteString("Git " + mdCode(refName(a.Git)) + " (" + mdCode(a.Path) + ") against " + mdText(a.Cluster) +
		", at " + a.AuditedAt.UTC().Format("2006-01-02 15:04 MST") + ". Namespaces read: " + mdText(strings.Join(a.Namespaces, ", ")) + ".\n\n")
	verdict := "✅ " + AuditVerdict(a)
	if a.Drifted() {
		verdict = "❌ " + AuditVerdict(a)
	}
	b.WriteString("**" + verdict + "**\n\n")
	for _, f := range a.Problems {
		b.WriteString("- error: " + mdText(f.String()) + "\n")
	}
	if len(a.Policies) > 0 {
		b.WriteString("### NetworkPolicies\n\n")
		mdTable(&b, "Policy", "Drift", "Fields (git → live)", "Source")
		for _, d := range a.Policies {
			_, text := policyStateText(d)
			var fs []string
			for _, c := range d.Changes {
				fs = append(fs, mdCode(fieldChangeText(c)))
			}
			src := ""
			if d.Source.File != "" {
				src = mdCode(d.Source.String())
			}
			mdRow(&b, mdCode(d.Key()), text, strings.Join(fs, "<br>"), src)
		}
		b.WriteString("\n")
	}
	if !a.Flows.Empty() {
		b.WriteString("### Flows (live compared with git)\n\n")
		mdTable(&b, "", "Source", "Destination", "Ports", "Allowed by")
		for _, set := range []struct {
			sign string
			cs   []model.ConnectionChange
		}{{"➕ live only", a.Flows.Added}, {"➖ git only", a.Flows.Removed}, {"🔁 ports differ", a.Flows.Changed}} {
			for _, r := range changeRows(set.cs) {
				c := r.first
				ports, via := portsText(c.After), grantsText(c.After)
				switch {
				case c.After == nil:
					ports, via = portsText(c.Before), grantsText(c.Before)
				case c.Before != nil:
					ports = portsText(c.Before) + " → " + portsText(c.After)
				}
				mdRow(&b, set.sign, mdCode(r.src), mdCode(r.dst), mdCode(ports), mdText(via))
			}
		}
		b.WriteString("\n")
	}
	if len(a.Unmanaged) > 0 {
		b.WriteString("### Unmanaged workloads\n\n")
		mdTable(&b, "Workload", "Pods", "Covered by policies")
		for _, u := range a.Unmanaged {
			mdRow(&b, mdCode(u.Namespace+"/"+u.Name+"["+u.Kind+"]"), count(u.Pods), mdText(strings.SplitN(unmanagedText(u), "; ", 2)[1]))
		}
		b.WriteString("\n")
	}
	if len(a.NotRunning) > 0 {
		b.WriteString("Declared in git with no pod running (not drift): " + mdText(strings.Join(a.NotRunning, ", ")) + "\n\n")
	}
	for _, n := range a.Notes {
		b.WriteString("> " + mdText(n) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
