package report

import (
	"io"
	"strconv"

	"github.com/reachgate/reachgate/pipeline/model"
)

func writeObserveMarkdown(w io.Writer, rs []*model.ObserveReport) error {
	ew := newErrWriter(w)
	for i, r := range rs {
		if i > 0 {
			ew.line()
		}
		in := &r.Input
		ew.line("## Observed traffic: ", mdText(r.Overlay))
		ew.line()
		ew.line(plural(int(in.Flows), "flow", "flows"), " from ", plural(len(in.Sources), "source", "sources"), windowSuffix(in.Window), ".")
		if in.MalformedCount > 0 {
			ew.line()
			ew.line("**", plural(int(in.MalformedCount), "malformed line", "malformed lines"), "** left out:")
			ew.line()
			for _, m := range in.Malformed {
				ew.line("- ", mdCode(m.File+":"+strconv.Itoa(m.Line)), ": ", mdText(m.Message))
			}
		}
		ew.line()
		ew.line("| category | count |")
		ew.line("|---|---:|")
		ew.line("| violations | ", count(len(r.Violations)), " |")
		ew.line("| unenforced | ", count(len(r.Unenforced)), " |")
		ew.line("| denied as intended | ", count(len(r.Denied)), " |")
		ew.line("| allowed and seen | ", count(len(r.Allowed)), " |")
		ew.line("| unused rules | ", count(len(r.UnusedRules)), " |")
		ew.line("| unused pairs | ", count(r.UnusedPairsTotal), " |")
		ew.line("| unknown endpoints | ", count(len(r.Unknown)), " |")
		dropped := func(title string, ds []model.DroppedFlow) {
			if len(ds) == 0 {
				return
			}
			ew.line()
			ew.line("### ", title)
			ew.line()
			ew.line("| flow | seen | last | side | expectation | why |")
			ew.line("|---|---:|---|---|---|---|")
			for _, d := range ds {
				exp := ""
				if d.Expected != nil {
					exp = mdCodeCell(d.Expected.String()) + " says allow"
				}
				side := d.Side
				if d.OverlayAllows {
					side = "overlay allows"
				}
				ew.line("| ", mdCodeCell(flowText(&d.Flow)), " | ", count(int(d.Flow.Count)), " | ", stamp(d.Flow.Last), " | ", side, " | ", exp, " | ", mdText(d.Reason), " |")
			}
		}
		dropped("Violations", r.Violations)
		if len(r.Unenforced) > 0 {
			ew.line()
			ew.line("### Unenforced: forwarded, but the overlay denies them")
			ew.line()
			ew.line("| flow | seen | last | side | why |")
			ew.line("|---|---:|---|---|---|")
			for _, u := range r.Unenforced {
				ew.line("| ", mdCodeCell(flowText(&u.Flow)), " | ", count(int(u.Flow.Count)), " | ", stamp(u.Flow.Last), " | ", u.Side, " | ", mdText(u.Reason), " |")
			}
		}
		dropped("Denied as the overlay intends", r.Denied)
		if len(r.UnusedRules)+len(r.UnusedPairs) > 0 {
			ew.line()
			ew.line("### Unused allowances (nothing seen in ", durationText(in.Window.Duration()), ")")
			ew.line()
			for _, u := range r.UnusedRules {
				ew.line("- rule ", mdCode(u.Rule.String()), " (", mdCode(u.Rule.Source.String()), "): allows ", plural(u.Connections, "connection", "connections"), ", none seen")
			}
			for _, p := range r.UnusedPairs {
				ew.line("- ", mdCode(p.Src+" -> "+p.Dst), ": allowed ", p.Allowed.String(), "; seen ", seenPorts(p.Seen))
			}
			if n := r.UnusedPairsTotal - len(r.UnusedPairs); n > 0 {
				ew.line("- ... and ", plural(n, "more pair", "more pairs"))
			}
		}
		if len(r.Unknown) > 0 {
			ew.line()
			ew.line("### Unknown endpoints")
			ew.line()
			for _, u := range r.Unknown {
				ew.line("- ", mdCode(u.Endpoint), " (", seenText(u.Count, u.First, u.Last), "): ", mdText(u.Reason))
			}
		}
	}
	return ew.flush()
}
