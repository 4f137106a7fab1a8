package report

import (
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// GitHub's escaping of workflow command data and property values
// (toolkit/core command.ts: escapeData, escapeProperty).
var (
	ghDataReplacer     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghPropertyReplacer = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// writeCheckGitHub writes workflow commands that GitHub Actions turns into
// annotations on the pull request's files:
//
//	::error file=F,line=L,title=RULE::message
//
// Errors, warnings and info findings become ::error, ::warning and
// ::notice; waived findings are notices. A finding several overlays report
// is one annotation naming them all. Each overlay with reachability
// changes gets a notice with its counts.
func writeCheckGitHub(w io.Writer, r *model.Report, _ Options) error {
	type annotation struct {
		cmd      string
		rank     int
		props    [][2]string
		message  string
		overlays []string
	}
	var as []*annotation
	byKey := map[string]*annotation{}
	add := func(a *annotation, key, overlay string) {
		if prev := byKey[key]; prev != nil {
			if !slices.Contains(prev.overlays, overlay) {
				prev.overlays = append(prev.overlays, overlay)
			}
			return
		}
		a.overlays = []string{overlay}
		byKey[key] = a
		as = append(as, a)
	}
	for i := range r.Overlays {
		o := &r.Overlays[i]
		name := overlayTitle(o)
		if o.Error != "" {
			add(&annotation{cmd: "error", rank: 0, props: [][2]string{{"title", "reachgate: " + name + " could not be evaluated"}}, message: o.Error},
				"overlay\x00"+o.Name, name)
		}
		for _, f := range o.Findings {
			a := &annotation{message: sarifMessage(&f)}
			switch {
			case f.Waived != nil:
				a.cmd, a.rank = "notice", 3
				a.message += " " + waiverText(f.Waived)
			case f.Severity == model.SeverityError:
				a.cmd, a.rank = "error", 0
			case f.Severity == model.SeverityWarning:
				a.cmd, a.rank = "warning", 1
			default:
				a.cmd, a.rank = "notice", 2
			}
			if f.Location.File != "" {
				a.props = append(a.props, [2]string{"file", f.Location.File})
				if f.Location.Line > 0 {
					a.props = append(a.props, [2]string{"line", strconv.Itoa(f.Location.Line)})
				}
			}
			title := f.RuleID
			if f.Title != "" {
				title += " " + f.Title
			}
			a.props = append(a.props, [2]string{"title", title})
			add(a, strings.Join([]string{a.cmd, f.RuleID, f.Location.String(), a.message}, "\x00"), name)
		}
	}
	slices.SortStableFunc(as, func(a, b *annotation) int { return a.rank - b.rank })

	ew := newErrWriter(w)
	for _, a := range as {
		msg := a.message
		if len(r.Overlays) > 1 {
			msg = "[" + strings.Join(a.overlays, ", ") + "] " + msg
		}
		ew.line(ghCommand(a.cmd, a.props, msg))
	}
	for i := range r.Overlays {
		o := &r.Overlays[i]
		if o.Diff != nil && !o.Diff.Empty() {
			ew.line(ghCommand("notice", [][2]string{{"title", "reachgate: reachability changes in " + overlayTitle(o)}}, diffCounts(o.Diff)))
		}
	}
	return ew.flush()
}

// ghCommand renders one workflow command with escaped properties and data.
func ghCommand(cmd string, props [][2]string, data string) string {
	var b strings.Builder
	b.WriteString("::" + cmd)
	for i, p := range props {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString(",")
		}
		b.WriteString(p[0] + "=" + ghPropertyReplacer.Replace(p[1]))
	}
	b.WriteString("::" + ghDataReplacer.Replace(data))
	return b.String()
}
