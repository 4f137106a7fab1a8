package report

import (
	"io"
	"strconv"

	"github.com/reachgate/reachgate/pipeline/model"
)

func writeObserveText(w io.Writer, rs []*model.ObserveReport) error {
	ew := newErrWriter(w)
	for i, r := range rs {
		if i > 0 {
			ew.line()
		}
		observeText(ew, r)
	}
	return ew.flush()
}

func observeText(ew *errWriter, r *model.ObserveReport) {
	in := &r.Input
	ew.line("observe ", r.Overlay, " (", r.Path, "): ", plural(int(in.Flows), "flow", "flows"), " from ", plural(len(in.Sources), "source", "sources"), windowSuffix(in.Window))
	if in.MalformedCount > 0 {
		ew.line("  malformed lines: ", count(int(in.MalformedCount)), " (left out)")
		for _, m := range in.Malformed {
			ew.line("    ", m.File, ":", strconv.Itoa(m.Line), ": ", m.Message)
		}
	}
	if len(in.Skipped) > 0 {
		ew.line("  not judged: ", skippedText(in.Skipped))
	}
	ew.line()
	ew.line("violations: ", count(len(r.Violations)), expectationNote(r))
	for _, v := range r.Violations {
		droppedLine(ew, &v)
	}
	ew.line("unenforced (forwarded, but the overlay denies them): ", count(len(r.Unenforced)))
	for _, u := range r.Unenforced {
		ew.line("  ", flowText(&u.Flow), ", ", seenText(u.Flow.Count, u.Flow.First, u.Flow.Last))
		ew.line("      the overlay denies it on ", sideText(u.Side), ": ", u.Reason)
	}
	ew.line("denied as the overlay intends: ", count(len(r.Denied)))
	for _, d := range r.Denied {
		droppedLine(ew, &d)
	}
	ew.line("allowed and seen: ", plural(len(r.Allowed), "flow", "flows"), ", seen ", plural(int(sumFlows(r.Allowed)), "time", "times"))
	ew.line("unused allowances (least-privilege candidates, nothing seen in ", durationText(in.Window.Duration()), "): ",
		plural(len(r.UnusedRules), "rule", "rules"), ", ", plural(r.UnusedPairsTotal, "pair", "pairs"))
	for _, u := range r.UnusedRules {
		ew.line("  rule ", u.Rule.String(), " (", u.Rule.Source.String(), "): allows ", plural(u.Connections, "connection", "connections"), ", none seen")
	}
	for _, p := range r.UnusedPairs {
		ew.line("  ", p.Src, " -> ", p.Dst, ": allowed ", p.Allowed.String(), "; seen ", seenPorts(p.Seen))
	}
	if n := r.UnusedPairsTotal - len(r.UnusedPairs); n > 0 {
		ew.line("  ... and ", plural(n, "more pair", "more pairs"), " (--max-unused-pairs)")
	}
	ew.line("unknown endpoints: ", count(len(r.Unknown)))
	for _, u := range r.Unknown {
		ew.line("  ", u.Endpoint, ", ", seenText(u.Count, u.First, u.Last), ": ", u.Reason)
	}
}

func windowSuffix(w model.Window) string {
	if t := windowText(w); t != "" {
		return ", between " + t + " (" + durationText(w.Duration()) + ")"
	}
	return ""
}

func expectationNote(r *model.ObserveReport) string {
	if n := r.ExpectationViolations(); n > 0 {
		return " (" + count(n) + " against an allow expectation)"
	}
	return ""
}

func droppedLine(ew *errWriter, d *model.DroppedFlow) {
	reason := ""
	if d.Flow.DropReason != "" {
		reason = " (" + d.Flow.DropReason + ")"
	}
	ew.line("  ", flowText(&d.Flow), ", dropped", reason, ", ", seenText(d.Flow.Count, d.Flow.First, d.Flow.Last))
	if d.OverlayAllows {
		ew.line("      the overlay allows it: ", d.Reason)
	} else {
		ew.line("      the overlay denies it on ", sideText(d.Side), ": ", d.Reason)
	}
	if d.Expected != nil {
		ew.line("      an expectation says it must be allowed: ", d.Expected.String())
	}
}

func sideText(s string) string {
	if s == "" {
		return "no side"
	}
	return s
}

func seenPorts(s model.PortSet) string {
	if s.IsEmpty() {
		return "nothing"
	}
	return s.String()
}
