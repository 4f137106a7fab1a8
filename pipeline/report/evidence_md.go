package report

import (
	"io"
	"strings"
)

// writeEvidenceMarkdown is the audit report in Markdown, section for
// section as the HTML page.
func writeEvidenceMarkdown(w io.Writer, r *evidenceReport) error {
	var b strings.Builder
	b.WriteString("# " + mdText(r.title()) + "\n\n")
	latest := r.latest.doc
	verdict := "passed"
	if !latest.Passed {
		verdict = "**failed**"
	}
	b.WriteString("Period: " + mdText(r.period()) + ". Latest check: " + mdCode(refName(latest.Head)) + ", " + verdict +
		" at severity " + latest.FailOn.String() + "; rules from " + mdText(latest.RulesFrom) + ".\n\n")

	b.WriteString("## Controls\n\n")
	cols := append([]string{"Control", "Rules"}, r.envs...)
	mdTable(&b, cols...)
	for _, c := range r.controls {
		cells := []string{mdText(c.control), mdCode(strings.Join(c.rules, ", "))}
		for _, env := range r.envs {
			cell := resultText(c.results[env])
			if n := c.failedRuns[env]; n > 0 {
				cell += " (failed runs: " + count(n) + ")"
			}
			cells = append(cells, cell)
		}
		mdRow(&b, cells...)
	}
	b.WriteString("\n## Exceptions\n\n")
	if len(r.waivers) == 0 {
		b.WriteString("No waiver was in force at the latest check.\n")
	} else {
		mdTable(&b, "Rule", "Object", "Owner", "Reason", "Expires", "Environments")
		for _, wv := range r.waivers {
			mdRow(&b, mdCode(wv.rule), mdCode(wv.object), mdText(wv.owner), mdText(wv.reason), mdText(wv.expires), mdText(wv.overlays))
		}
	}
	b.WriteString("\n## Changes over the period\n\n")
	if len(r.changes) == 0 {
		b.WriteString("No reachability changed between the checks of the period.\n")
	} else {
		mdTable(&b, "Checked", "Commit", "Environment", "", "Source", "Destination", "Ports")
		for _, c := range r.changes {
			mdRow(&b, c.at.UTC().Format("2006-01-02 15:04"), mdCode(shortCommit(c.commit)), mdText(c.overlay), c.sign, mdCode(c.src), mdCode(c.dst), mdText(c.what))
		}
	}
	b.WriteString("\n## Reachability per environment\n")
	for _, env := range r.envs {
		b.WriteString("\n### " + mdText(env) + "\n\n")
		if s := r.omitted[env]; s != "" {
			b.WriteString(mdText(s) + "\n")
			continue
		}
		mdTable(&b, "Source", "Destination", "Ports", "Allowed by")
		for _, f := range r.matrices[env] {
			mdRow(&b, mdCode(f.src), mdCode(f.dst), mdText(f.ports), mdText(f.via))
		}
	}
	b.WriteString("\n## Evidence and digests\n\n")
	mdTable(&b, "Checked", "Document", "Commit", "Result", "Inputs judged")
	for _, d := range r.docs {
		res := "passed"
		if !d.doc.Passed {
			res = "failed"
		}
		var ins []string
		for _, o := range d.doc.Overlays {
			ins = append(ins, o.Name+": "+mdCode(o.InputDigest))
		}
		mdRow(&b, d.doc.CheckedAt.UTC().Format("2006-01-02 15:04"), mdCode(d.File)+"<br>"+mdCode("sha256:"+d.SHA256), mdCode(refName(d.doc.Head)), res, strings.Join(ins, "<br>"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
