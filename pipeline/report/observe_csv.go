package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/reachgate/reachgate/pipeline/model"
)

// writeObserveCSV writes one row per observed flow with its category.
func writeObserveCSV(w io.Writer, rs []*model.ObserveReport) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"overlay", "category", "src", "dst", "protocol", "port", "verdict", "count", "first", "last", "side", "reason"})
	row := func(r *model.ObserveReport, cat string, f *model.ObservedFlow, side, reason string) {
		cw.Write([]string{r.Overlay, cat, f.SrcLabel, f.DstLabel, f.Protocol.String(), strconv.Itoa(int(f.Port)), f.Verdict,
			strconv.FormatInt(f.Count, 10), timeJSON(f.First), timeJSON(f.Last), side, reason})
	}
	for _, r := range rs {
		for i := range r.Violations {
			v := &r.Violations[i]
			row(r, "violation", &v.Flow, v.Side, v.Reason)
		}
		for i := range r.Unenforced {
			u := &r.Unenforced[i]
			row(r, "unenforced", &u.Flow, u.Side, u.Reason)
		}
		for i := range r.Denied {
			d := &r.Denied[i]
			row(r, "denied", &d.Flow, d.Side, d.Reason)
		}
		for i := range r.Allowed {
			row(r, "allowed", &r.Allowed[i], "", "")
		}
		for _, u := range r.Unknown {
			cw.Write([]string{r.Overlay, "unknown", u.Endpoint, "", "", "", "", strconv.FormatInt(u.Count, 10), timeJSON(u.First), timeJSON(u.Last), "", u.Reason})
		}
	}
	cw.Flush()
	return cw.Error()
}
