package report

import (
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/reachgate/reachgate/pipeline/model"
)

// minRows is the fewest rows per table the comment shows before it drops
// info findings to make room for more.
const minRows = 20

// maxGraphEdges is the most changes a Mermaid graph draws: past that the
// picture is unreadable (and GitHub's renderer refuses large graphs).
const maxGraphEdges = 100

// mdDetail is how much detail a rendering of the PR comment keeps. The
// comment drops detail in this order until it fits: graphs, provenance
// columns, rows beyond maxRows per table (down to minRows), info findings
// (and rows below minRows); then, as a last resort, the per-overlay
// sections and rows of the summary table.
type mdDetail struct {
	noGraphs     bool
	noProvenance bool
	maxRows      int // rows per table; unlimited when < 0
	noInfo       bool
	noDetails    bool
}

// mdDropped records what a rendering actually left out, so the comment
// can say so.
type mdDropped struct {
	graphs, provenance, rows, info, details bool
}

// writeCheckMarkdown writes the pull-request comment: the marker, a
// summary table per environment, rule changes, then a folded section per
// overlay with the flow changes, a graph of them and the findings. It
// stays within opts.MaxMarkdown characters.
func writeCheckMarkdown(w io.Writer, r *model.Report, opts Options) error {
	_, err := io.WriteString(w, checkMarkdown(r, opts))
	return err
}

func checkMarkdown(r *model.Report, opts Options) string {
	limit := opts.MaxMarkdown
	if limit <= 0 {
		limit = DefaultMaxMarkdown
	}
	r = sortedDiffs(r)
	fits := func(s string) bool { return len(s) <= limit || utf8.RuneCountInString(s) <= limit }
	render := func(d mdDetail) string { return renderCheckMarkdown(r, opts, d, limit) }

	d := mdDetail{maxRows: -1}
	// Every table row takes more than minRowLen characters: with more
	// rows than fit, keeping them all cannot work, whatever else goes.
	allRowsFit := totalRows(r)*minRowLen <= limit
	if allRowsFit {
		if s := render(d); fits(s) {
			return s
		}
	}
	d.noGraphs = true
	if allRowsFit {
		if s := render(d); fits(s) {
			return s
		}
	}
	d.noProvenance = true
	if allRowsFit {
		if s := render(d); fits(s) {
			return s
		}
	}
	// Rows beyond N per table: the largest N that fits, as long as it is
	// at least minRows; below that, info findings go first, then rows
	// again. No table can show more rows than the limit holds.
	maxN := min(longestTable(r), limit/minRowLen+1)
	if n, ok := largestFitting(minRows, maxN, func(n int) bool { d.maxRows = n; return fits(render(d)) }); ok {
		d.maxRows = n
		return render(d)
	}
	d.noInfo = true
	if n, ok := largestFitting(0, maxN, func(n int) bool { d.maxRows = n; return fits(render(d)) }); ok {
		d.maxRows = n
		return render(d)
	}
	// Too many overlays for even their headings: the summary table alone,
	// as many rows as fit.
	d.noDetails = true
	if n, ok := largestFitting(0, len(r.Overlays), func(n int) bool { d.maxRows = n; return fits(render(d)) }); ok {
		d.maxRows = n
		return render(d)
	}
	// A limit too small for anything else: the verdict, cut to size.
	s := markerLine(opts) + headline(r) + "\n"
	for !fits(s) && s != "" {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// largestFitting finds the largest n in [lo, hi] for which fits(n) holds,
// fits being monotone (true up to some n, false after).
func largestFitting(lo, hi int, fits func(n int) bool) (int, bool) {
	if hi < lo {
		hi = lo
	}
	// Cutting rows adds a line saying so, which can be longer than the
	// rows it replaces: try everything first.
	if fits(hi) {
		return hi, true
	}
	if !fits(lo) {
		return 0, false
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, true
}

// minRowLen is less than the length of any table row of the comment.
const minRowLen = 16

// totalRows counts the rows of every table of the comment.
func totalRows(r *model.Report) int {
	n := len(r.Overlays)
	for i := range r.Overlays {
		o := &r.Overlays[i]
		n += len(o.Findings)
		if d := o.Diff; d != nil {
			n += len(d.Added) + len(d.Removed) + len(d.Changed) + len(d.WorkloadsAdded) + len(d.WorkloadsRemoved)
		}
	}
	return n
}

// sortedDiffs returns r with every diff sorted once, so the renderings
// that follow do not sort again. r is not changed.
func sortedDiffs(r *model.Report) *model.Report {
	out := *r
	out.Overlays = slices.Clone(r.Overlays)
	for i := range out.Overlays {
		if d := out.Overlays[i].Diff; d != nil {
			out.Overlays[i].Diff = &model.Diff{
				Added: sortedChanges(d.Added), Removed: sortedChanges(d.Removed), Changed: sortedChanges(d.Changed),
				WorkloadsAdded: sortedPeers(d.WorkloadsAdded), WorkloadsRemoved: sortedPeers(d.WorkloadsRemoved),
				Omitted: d.Omitted,
			}
		}
	}
	return &out
}

// longestTable is the most rows any table of the comment has.
func longestTable(r *model.Report) int {
	n := len(r.RulesChanged)
	for i := range r.Overlays {
		o := &r.Overlays[i]
		n = max(n, len(o.Findings))
		if d := o.Diff; d != nil {
			n = max(n, len(d.Added), len(d.Removed), len(d.Changed), len(d.WorkloadsAdded)+len(d.WorkloadsRemoved))
		}
	}
	return n
}

func markerLine(opts Options) string {
	if opts.Marker == "" {
		return ""
	}
	return opts.Marker + "\n"
}

// headline is the comment's title: the verdict over all environments.
func headline(r *model.Report) string {
	failed := 0
	for i := range r.Overlays {
		if r.OverlayFailed(&r.Overlays[i]) {
			failed++
		}
	}
	n := len(r.Overlays)
	switch {
	case n == 0:
		return "## ✅ reachgate: no environments to check"
	case failed == 0 && n == 1:
		return "## ✅ reachgate: the environment passes"
	case failed == 0:
		return "## ✅ reachgate: all " + count(n) + " environments pass"
	case n == 1:
		return "## ❌ reachgate: the environment fails"
	}
	return "## ❌ reachgate: " + count(failed) + " of " + count(n) + " environments fail"
}

func renderCheckMarkdown(r *model.Report, opts Options, d mdDetail, limit int) string {
	l := newLinker(r)
	var dropped mdDropped

	// The per-overlay sections first: they decide what was left out.
	var body strings.Builder
	if d.noDetails {
		dropped.details = true
	} else {
		for i := range r.Overlays {
			overlaySection(&body, r, &r.Overlays[i], l, d, &dropped)
		}
		fixSection(&body, r)
	}

	var b strings.Builder
	b.WriteString(markerLine(opts))
	b.WriteString(headline(r) + "\n\n")
	b.WriteString(refsParagraph(r, l) + "\n\n")
	for i := range r.Overlays {
		o := &r.Overlays[i]
		notes := omittedNotes(omittedFromFindings(o.Findings))
		for k := range notes {
			notes[k].text = overlayTitle(o) + ": " + notes[k].text
		}
		mdNotes(&b, notes)
	}

	shown := len(r.Overlays)
	if d.noDetails {
		shown = rowsShown(shown, d.maxRows)
	}
	if shown > 0 {
		mdTable(&b, "Environment", "Flows +/-/~", "Errors", "Warnings", "Info", "Waived", "Result")
		for i := range r.Overlays[:shown] {
			o := &r.Overlays[i]
			e, wn, in, wv := o.Counts()
			env := "**" + mdText(overlayTitle(o)) + "**"
			mdRow(&b, env, mdFlows(o), count(e), count(wn), count(in), count(wv), mdResult(r, o))
		}
		b.WriteString("\n")
	}
	omitted(&b, len(r.Overlays)-shown, "environment", "environments")

	rulesParagraph(&b, r, d, &dropped)
	configParagraph(&b, r, d)
	if note := droppedNote(dropped, d, limit); note != "" {
		b.WriteString(note + "\n\n")
	}
	b.WriteString(body.String())
	footer := "<sub>reachgate"
	if opts.Version != "" {
		footer += " " + html.EscapeString(opts.Version)
	}
	footer += " · fails on " + r.FailOn.String() + "</sub>\n"
	b.WriteString(footer)
	return b.String()
}

// refsParagraph says what was compared: "Base `main` (`0123abc`) → head
// `feature` (`4567def`)", with links to the commits when the repository
// is known.
func refsParagraph(r *model.Report, l linker) string {
	ref := func(what string, ri model.RefInfo) string {
		name := ri.Ref
		if name == "" {
			name = "(none)"
		}
		s := what + " " + mdCode(name)
		if ri.Commit != "" {
			c := mdCode(shortCommit(ri.Commit))
			if l.blob != "" && linkableCommit(ri.Commit) {
				c = link(c, strings.TrimSuffix(l.blob, "blob/")+"commit/"+ri.Commit)
			}
			s += " (" + c + ")"
		}
		return s
	}
	return ref("Base", r.Base) + " → " + ref("head", r.Head) + "."
}

func mdFlows(o *model.OverlayReport) string {
	switch {
	case o.Diff == nil && o.Error != "":
		return "—"
	case o.Diff == nil:
		return "new overlay"
	}
	return "+" + count(rowCount(o.Diff.Added)) + " / -" + count(rowCount(o.Diff.Removed)) + " / ~" + count(rowCount(o.Diff.Changed))
}

func mdResult(r *model.Report, o *model.OverlayReport) string {
	switch {
	case o.Error != "":
		return "💥 error"
	case r.OverlayFailed(o):
		return "❌ fail"
	}
	return "✅ pass"
}

func rulesParagraph(b *strings.Builder, r *model.Report, d mdDetail, dropped *mdDropped) {
	from := "base"
	ref := r.Base
	if r.RulesFrom == "head" {
		from, ref = "head", r.Head
	}
	judged := "judged with the rules of the " + from
	if ref.Ref != "" {
		judged += " " + mdCode(ref.Ref)
	}
	if len(r.RulesChanged) == 0 {
		b.WriteString("**Rules:** unchanged in this pull request; " + judged + ".\n\n")
		return
	}
	b.WriteString("**Rules changed in this pull request** (" + count(len(r.RulesChanged)) + "): " + judged)
	if from == "base" {
		b.WriteString("; the changes apply once merged")
	}
	b.WriteString(".\n\n")
	if d.noDetails {
		// The sentence above counts them; the list is detail.
		return
	}
	shown := rowsShown(len(r.RulesChanged), d.maxRows)
	if shown < len(r.RulesChanged) {
		dropped.rows = true
	}
	for _, c := range r.RulesChanged[:shown] {
		b.WriteString("- " + mdCode(c.File) + " (" + mdText(c.Change) + ")\n")
	}
	if shown > 0 {
		b.WriteString("\n")
	}
	omitted(b, len(r.RulesChanged)-shown, "rule change", "rule changes")
}

// configDiffLines is how much of a configuration diff the comment shows.
const configDiffLines = 200

// configParagraph shows the head's change to reachgate.yaml, which the
// base's configuration judged.
func configParagraph(b *strings.Builder, r *model.Report, d mdDetail) {
	if r.Baseline != "" && r.Baseline != "base" {
		b.WriteString("**Findings compared with the base:** " + mdText(r.Baseline) + ".\n\n")
	}
	if r.ConfigDiff == "" {
		return
	}
	b.WriteString("**Configuration changed in this pull request:** the head is judged by the base's `reachgate.yaml`; the change applies once merged.\n\n")
	if d.noDetails {
		return
	}
	lines := strings.Split(strings.TrimSuffix(r.ConfigDiff, "\n"), "\n")
	more := 0
	if len(lines) > configDiffLines {
		lines, more = lines[:configDiffLines], len(lines)-configDiffLines
	}
	text := strings.Join(lines, "\n")
	fence := codeFence(text)
	b.WriteString("<details><summary>reachgate.yaml: base → head</summary>\n\n" + fence + "diff\n" + text + "\n" + fence + "\n\n")
	if more > 0 {
		b.WriteString(fmt.Sprintf("… %d more lines of the diff are not shown.\n\n", more))
	}
	b.WriteString("</details>\n\n")
}

// codeFence is a backtick fence longer than any run of backticks in text,
// so the text cannot close it.
func codeFence(text string) string {
	longest, run := 0, 0
	for _, c := range text {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// droppedNote says what the comment left out to fit.
func droppedNote(x mdDropped, d mdDetail, limit int) string {
	var parts []string
	if x.graphs {
		parts = append(parts, "Mermaid graphs")
	}
	if x.provenance {
		parts = append(parts, "the egress and ingress rule columns")
	}
	if x.rows {
		parts = append(parts, "rows beyond "+count(d.maxRows)+" per table")
	}
	if x.info {
		parts = append(parts, "info findings")
	}
	if x.details {
		parts = append(parts, "the per-environment sections")
	}
	if len(parts) == 0 {
		return ""
	}
	list := parts[0]
	if n := len(parts); n > 1 {
		list = strings.Join(parts[:n-1], ", ") + " and " + parts[n-1]
	}
	return "> [!NOTE]\n> Shortened to fit GitHub's " + count(limit) + "-character comment limit: " + list +
		" left out. The JSON report artifact has everything."
}

// overlaySection writes one folded section.
func overlaySection(b *strings.Builder, r *model.Report, o *model.OverlayReport, l linker, d mdDetail, dropped *mdDropped) {
	e, wn, in, wv := o.Counts()
	summary := "<b>" + htmlText(overlayTitle(o)) + "</b>"
	if o.Path != "" {
		summary += " <code>" + htmlText(o.Path) + "</code>"
	}
	summary += " · " + mdResult(r, o)
	if o.Diff != nil {
		summary += " · " + html.EscapeString(mdFlows(o)) + " flows"
	}
	summary += " · " + plural(e, "error", "errors") + ", " + plural(wn, "warning", "warnings") + ", " + count(in) + " info"
	if wv > 0 {
		summary += ", " + count(wv) + " waived"
	}
	b.WriteString("<details>\n<summary>" + summary + "</summary>\n\n")

	if o.Error != "" {
		b.WriteString("**The overlay could not be evaluated:**\n\n<pre>" + htmlText(o.Error) + "</pre>\n\n")
	}
	switch {
	case o.Diff == nil && o.Error == "":
		b.WriteString("No base to compare with: every flow of this overlay is new.\n\n")
	case o.Diff != nil && o.Diff.Empty():
		b.WriteString("No reachability changes.\n\n")
	case o.Diff != nil:
		dd := o.Diff
		if d.noProvenance && diffEdges(dd) > 0 {
			dropped.provenance = true
		}
		if d.maxRows >= 0 && max(len(dd.Added), len(dd.Removed), len(dd.Changed), len(dd.WorkloadsAdded)+len(dd.WorkloadsRemoved)) > d.maxRows {
			dropped.rows = true
		}
		writeDiffTables(b, o.Diff, diffTableOpts{
			heading: "####", link: l, baseCommit: r.Base.Commit, headCommit: r.Head.Commit,
			provenance: !d.noProvenance, maxRows: d.maxRows,
		})
		n := diffEdges(o.Diff)
		switch {
		case n == 0:
		case n > maxGraphEdges:
			b.WriteString("_Graph left out: " + count(n) + " changed flows are more than the " + count(maxGraphEdges) + " a readable picture holds._\n\n")
		case d.noGraphs:
			dropped.graphs = true
		default:
			b.WriteString("#### Graph of the changes\n\nGreen: added, red dashed: removed, amber thick: changed.\n\n```mermaid\n")
			writeMermaid(b, diffGraph(o.Diff))
			b.WriteString("```\n\n")
		}
	}
	if o.Traffic != nil {
		trafficMarkdown(b, o.Traffic, d.maxRows)
	}
	findingsTable(b, r, o, l, d, dropped)
	b.WriteString("</details>\n\n")
}

// fixSection lists how to fix what the findings point at, once per rule.
func fixSection(b *strings.Builder, r *model.Report) {
	hs := fixHints(r)
	if len(hs) == 0 {
		return
	}
	b.WriteString("<details>\n<summary>How to fix (" + plural(len(hs), "rule", "rules") + ")</summary>\n\n")
	for _, h := range hs {
		s := "- " + mdCodeCell(h.rule)
		if h.title != "" {
			s += " " + mdText(h.title)
		}
		b.WriteString(s + ": " + mdText(h.text) + "\n")
	}
	b.WriteString("\n</details>\n\n")
}

func findingsTable(b *strings.Builder, r *model.Report, o *model.OverlayReport, l linker, d mdDetail, dropped *mdDropped) {
	fs := o.Findings
	infos := 0
	if d.noInfo {
		fs = nil
		for _, f := range o.Findings {
			if f.Severity == model.SeverityInfo {
				infos++
				continue
			}
			fs = append(fs, f)
		}
		if infos > 0 {
			dropped.info = true
		}
	}
	if len(o.Findings) == 0 {
		b.WriteString("No findings.\n\n")
		resolvedList(b, o, d, dropped)
		return
	}
	b.WriteString("#### Findings (" + count(len(o.Findings)) + ")\n\n")
	// New findings first; those the base has too are folded.
	fresh, existing := splitBaseline(fs)
	row := func(f model.Finding) {
		mdRow(b, mdSeverity(f), mdRule(f), link(mdText(f.Location.String()), l.url(f.Location, r.Head.Commit)), mdFinding(f))
	}
	shown := rowsShown(len(fresh), d.maxRows)
	if shown < len(fresh) {
		dropped.rows = true
	}
	if shown > 0 {
		mdTable(b, "Severity", "Rule", "Location", "Finding")
		for _, f := range fresh[:shown] {
			row(f)
		}
		b.WriteString("\n")
	}
	omitted(b, len(fresh)-shown, "finding", "findings")
	if len(existing) > 0 {
		b.WriteString("<details><summary>" + plural(len(existing), "existing finding", "existing findings") + ", on the base too</summary>\n\n")
		shown := rowsShown(len(existing), d.maxRows)
		if shown < len(existing) {
			dropped.rows = true
		}
		if shown > 0 {
			mdTable(b, "Severity", "Rule", "Location", "Finding")
			for _, f := range existing[:shown] {
				row(f)
			}
			b.WriteString("\n")
		}
		omitted(b, len(existing)-shown, "finding", "findings")
		b.WriteString("</details>\n\n")
	}
	if infos > 0 {
		b.WriteString("_… " + plural(infos, "info finding", "info findings") + " not shown; see the report artifact._\n\n")
	}
	resolvedList(b, o, d, dropped)
}

// resolvedList lists the base's findings this change resolves.
func resolvedList(b *strings.Builder, o *model.OverlayReport, d mdDetail, dropped *mdDropped) {
	if len(o.Resolved) == 0 {
		return
	}
	b.WriteString("<details><summary>✅ " + plural(len(o.Resolved), "finding", "findings") + " of the base resolved by this change</summary>\n\n")
	shown := rowsShown(len(o.Resolved), d.maxRows)
	if shown < len(o.Resolved) {
		dropped.rows = true
	}
	if shown > 0 {
		mdTable(b, "Severity", "Rule", "Finding")
		for _, f := range o.Resolved[:shown] {
			mdRow(b, f.Severity.String(), mdRule(f), mdFinding(f))
		}
		b.WriteString("\n")
	}
	omitted(b, len(o.Resolved)-shown, "finding", "findings")
	b.WriteString("</details>\n\n")
}

func mdSeverity(f model.Finding) string {
	s := f.Severity.String()
	if f.Waived != nil {
		return "~~" + s + "~~ waived"
	}
	switch f.Severity {
	case model.SeverityError:
		return "❌ " + s
	case model.SeverityWarning:
		return "⚠️ " + s
	}
	return "ℹ️ " + s
}

func mdRule(f model.Finding) string {
	s := mdCodeCell(f.RuleID)
	if f.Title != "" {
		s += " " + mdText(f.Title)
	}
	return s
}

func mdFinding(f model.Finding) string {
	var s string
	if f.Object.Name != "" {
		s = "**" + mdText(f.Object.String()) + "**"
		if f.Field != "" {
			s += " " + mdCodeCell(f.Field)
		}
		s += ": "
	}
	s += mdText(f.Message)
	if f.Waived != nil {
		s += "<br>_" + mdText(waiverText(f.Waived)) + "_"
	}
	return s
}
