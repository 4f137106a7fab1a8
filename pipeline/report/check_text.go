package report

import (
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

type painter bool

func (p painter) paint(code, s string) string {
	if !p || s == "" {
		return s
	}
	return code + s + ansiReset
}

// writeCheckText prints the report for a terminal: per overlay PASS or
// FAIL, the flow counts and changes, the findings, then a verdict line.
func writeCheckText(w io.Writer, r *model.Report, opts Options) error {
	p := painter(opts.Color)
	ew := newErrWriter(w)
	ew.line(p.paint(ansiBold, "reachgate check") + ": " + refsLine(r))
	for i := range r.Overlays {
		o := &r.Overlays[i]
		for _, n := range omittedNotes(omittedFromFindings(o.Findings)) {
			ew.line(p.paint(ansiYellow, "warning: "+overlayTitle(o)+": "+n.text))
			for _, it := range n.items {
				ew.line("  ", it)
			}
		}
	}
	if len(r.RulesChanged) > 0 {
		ew.line(p.paint(ansiYellow, "Rules changed since the base") + " (judged with the rules of " + rulesFromName(r) + "):")
		for _, c := range r.RulesChanged {
			ew.line("  ", c.File, " (", c.Change, ")")
		}
	}
	if r.Baseline != "" && r.Baseline != "base" {
		ew.line("Findings compared with the base: ", r.Baseline)
	}
	if r.ConfigDiff != "" {
		ew.line(p.paint(ansiYellow, "Configuration changed since the base") + " (the head is judged by the base's):")
		for _, l := range strings.Split(strings.TrimSuffix(r.ConfigDiff, "\n"), "\n") {
			ew.line("  ", l)
		}
	}
	failed := 0
	for i := range r.Overlays {
		o := &r.Overlays[i]
		ew.line()
		verdict := p.paint(ansiGreen+ansiBold, "PASS")
		if r.OverlayFailed(o) {
			failed++
			verdict = p.paint(ansiRed+ansiBold, "FAIL")
		}
		head := p.paint(ansiBold, overlayTitle(o))
		if o.Path != "" {
			head += " (" + o.Path + ")"
		}
		ew.line(head, ": ", verdict)
		if o.Error != "" {
			ew.line("  ", p.paint(ansiRed, "error: "), strings.ReplaceAll(lineEnds.Replace(o.Error), "\n", "\n  "))
		}
		switch {
		case o.Diff == nil && o.Error == "":
			ew.line("  flows: no base to compare with")
		case o.Diff != nil && o.Diff.Empty():
			ew.line("  flows: no changes")
		case o.Diff != nil:
			ew.line("  flows: ", flowCounts(o.Diff), workloadCounts(o.Diff))
			for _, l := range diffLines(o.Diff) {
				color := ansiGreen
				switch l[0] {
				case '-':
					color = ansiRed
				case '~':
					color = ansiYellow
				}
				ew.line("  ", p.paint(color, l))
			}
		}
		if o.Traffic != nil {
			trafficText(ew, o.Traffic)
		}
		e, wn, in, wv := o.Counts()
		ew.line("  findings: ", plural(e, "error", "errors"), ", ", plural(wn, "warning", "warnings"), ", ", count(in), " info, ", count(wv), " waived")
		// New findings first; those the base has too after them.
		fresh, existing := splitBaseline(o.Findings)
		if len(fresh) > 0 && len(existing) > 0 {
			ew.line("  new, not on the base: ", count(len(fresh)))
		}
		for _, f := range fresh {
			textFinding(ew, p, "  ", f)
		}
		if len(existing) > 0 {
			ew.line("  existing, on the base too: ", count(len(existing)))
			for _, f := range existing {
				textFinding(ew, p, "    ", f)
			}
		}
		if len(o.Resolved) > 0 {
			ew.line("  resolved by this change: ", count(len(o.Resolved)))
			for _, f := range o.Resolved {
				ew.line("    ", p.paint(ansiGreen, strings.ReplaceAll(lineEnds.Replace(f.String()), "\n", "\n      ")))
			}
		}
	}
	if hs := fixHints(r); len(hs) > 0 {
		ew.line()
		ew.line(p.paint(ansiBold, "How to fix") + ":")
		for _, h := range hs {
			ew.line("  ", h.rule, " ", lineEnds.Replace(h.text))
		}
	}
	ew.line()
	threshold := " at severity " + r.FailOn.String()
	if r.FailOnNew {
		threshold += " (new findings only)"
	}
	switch {
	case len(r.Overlays) == 0:
		ew.line(p.paint(ansiGreen+ansiBold, "PASS"), ": no overlays checked")
	case failed > 0:
		ew.line(p.paint(ansiRed+ansiBold, "FAIL"), ": ", count(failed), " of ", plural(len(r.Overlays), "overlay", "overlays"), " failed", threshold)
	default:
		ew.line(p.paint(ansiGreen+ansiBold, "PASS"), ": ", plural(len(r.Overlays), "overlay", "overlays"), " passed", threshold)
	}
	return ew.flush()
}

// textFinding prints one finding, coloured by severity.
func textFinding(ew *errWriter, p painter, indent string, f model.Finding) {
	line := strings.ReplaceAll(lineEnds.Replace(f.String()), "\n", "\n"+indent+"  ")
	switch {
	case f.Waived != nil:
		ew.line(indent, p.paint(ansiDim, line+" "+waiverText(f.Waived)))
	case f.Severity == model.SeverityError:
		ew.line(indent, p.paint(ansiRed, line))
	case f.Severity == model.SeverityWarning:
		ew.line(indent, p.paint(ansiYellow, line))
	default:
		ew.line(indent, line)
	}
}

// fixHint is a rule's remediation.
type fixHint struct{ rule, title, text string }

// fixHints are the remediations of the rules with findings that are not
// waived, once per rule, in the order the findings come: the finding's
// own, else its rule's.
func fixHints(r *model.Report) []fixHint {
	byRule := map[string]string{}
	for _, ru := range r.Rules {
		byRule[ru.ID] = ru.Remediation
	}
	var out []fixHint
	seen := map[string]bool{}
	for i := range r.Overlays {
		for _, f := range r.Overlays[i].Findings {
			text := f.Remediation
			if text == "" {
				text = byRule[f.RuleID]
			}
			if f.Waived != nil || text == "" || seen[f.RuleID] {
				continue
			}
			seen[f.RuleID] = true
			out = append(out, fixHint{f.RuleID, f.Title, text})
		}
	}
	return out
}

// splitBaseline separates the findings the base does not have (or that
// were not compared) from those it has too, keeping their order.
func splitBaseline(fs []model.Finding) (fresh, existing []model.Finding) {
	for _, f := range fs {
		if f.Baseline == model.BaselineExisting {
			existing = append(existing, f)
		} else {
			fresh = append(fresh, f)
		}
	}
	return fresh, existing
}

// refsLine is "base main (0123abc) -> head feature (4567def); rules from base".
func refsLine(r *model.Report) string {
	s := "base " + refName(r.Base) + " -> head " + refName(r.Head)
	if r.RulesFrom != "" {
		s += "; rules from " + r.RulesFrom
	}
	return s
}

func refName(ref model.RefInfo) string {
	name := ref.Ref
	if name == "" {
		name = "(none)"
	}
	if ref.Commit != "" {
		name += " (" + shortCommit(ref.Commit) + ")"
	}
	return name
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

func rulesFromName(r *model.Report) string {
	switch r.RulesFrom {
	case "base":
		return "the base " + refName(r.Base)
	case "head":
		return "the head " + refName(r.Head)
	case "":
		return "an unnamed ref"
	}
	return r.RulesFrom
}

// overlayTitle names an overlay by environment, and by name when the two
// differ.
func overlayTitle(o *model.OverlayReport) string {
	switch {
	case o.Environment == "" && o.Name == "":
		return o.Path
	case o.Environment == "":
		return o.Name
	case o.Name == "" || o.Name == o.Environment:
		return o.Environment
	}
	return o.Environment + " (" + o.Name + ")"
}

// flowCounts is "+2 -1 ~1", counting rows as they are printed (the
// address ranges of one endpoint reached the same way are one row).
func flowCounts(d *model.Diff) string {
	return "+" + count(rowCount(d.Added)) + " -" + count(rowCount(d.Removed)) + " ~" + count(rowCount(d.Changed))
}

// rowCount is how many rows the changes print as.
func rowCount(cs []model.ConnectionChange) int {
	if len(cs) < 2 {
		return len(cs)
	}
	return len(changeRows(cs))
}

func workloadCounts(d *model.Diff) string {
	if len(d.WorkloadsAdded)+len(d.WorkloadsRemoved) == 0 {
		return ""
	}
	return "; workloads: +" + count(len(d.WorkloadsAdded)) + " -" + count(len(d.WorkloadsRemoved))
}

// waiverText is "[waived by OWNER until DATE: REASON]".
func waiverText(w *model.Waiver) string {
	s := "[waived"
	if w.Owner != "" {
		s += " by " + w.Owner
	}
	if w.Expires != "" {
		s += " until " + w.Expires
	}
	if w.Reason != "" {
		s += ": " + w.Reason
	}
	return s + "]"
}
