package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

type observedFlowJSON struct {
	Src        string `json:"src"`
	Dst        string `json:"dst"`
	SrcLabel   string `json:"srcLabel"`
	DstLabel   string `json:"dstLabel"`
	Protocol   string `json:"protocol"`
	Port       uint16 `json:"port"`
	Verdict    string `json:"verdict"`
	DropReason string `json:"dropReason,omitempty"`
	Count      int64  `json:"count"`
	First      string `json:"first"`
	Last       string `json:"last"`
}

func flowJSON(f *model.ObservedFlow) observedFlowJSON {
	return observedFlowJSON{Src: f.Src, Dst: f.Dst, SrcLabel: f.SrcLabel, DstLabel: f.DstLabel,
		Protocol: f.Protocol.String(), Port: f.Port, Verdict: f.Verdict, DropReason: f.DropReason,
		Count: f.Count, First: timeJSON(f.First), Last: timeJSON(f.Last)}
}

func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

type droppedJSON struct {
	observedFlowJSON
	Side          string          `json:"side"`
	Reason        string          `json:"reason"`
	OverlayAllows bool            `json:"overlayAllows"`
	Expected      *model.Location `json:"expectation,omitempty"`
}

type judgedJSON struct {
	observedFlowJSON
	Side   string `json:"side"`
	Reason string `json:"reason"`
}

type unknownJSON struct {
	Endpoint string `json:"endpoint"`
	Reason   string `json:"reason"`
	Count    int64  `json:"count"`
	First    string `json:"first"`
	Last     string `json:"last"`
}

func unknownsJSON(us []model.UnknownEndpoint) []unknownJSON {
	out := make([]unknownJSON, len(us))
	for i, u := range us {
		out[i] = unknownJSON{u.Endpoint, u.Reason, u.Count, timeJSON(u.First), timeJSON(u.Last)}
	}
	return out
}

type inputJSON struct {
	model.FlowInput
	Window windowJSON `json:"window"`
}

type windowJSON struct {
	First   string  `json:"first"`
	Last    string  `json:"last"`
	Seconds float64 `json:"seconds"`
}

func flowInputJSON(in model.FlowInput) inputJSON {
	if in.Sources == nil {
		in.Sources = []string{}
	}
	if in.Malformed == nil {
		in.Malformed = []model.LineError{}
	}
	if in.Skipped == nil {
		in.Skipped = []model.Tally{}
	}
	return inputJSON{FlowInput: in, Window: windowJSON{timeJSON(in.Window.First), timeJSON(in.Window.Last), in.Window.Duration().Seconds()}}
}

type observeJSON struct {
	Overlay     string    `json:"overlay"`
	Environment string    `json:"environment"`
	Path        string    `json:"path"`
	Input       inputJSON `json:"input"`
	Summary     struct {
		Violations            int `json:"violations"`
		ExpectationViolations int `json:"expectationViolations"`
		Unenforced            int `json:"unenforced"`
		Denied                int `json:"denied"`
		Allowed               int `json:"allowed"`
		UnusedRules           int `json:"unusedRules"`
		UnusedPairs           int `json:"unusedPairs"`
		Unknown               int `json:"unknown"`
	} `json:"summary"`
	Violations  []droppedJSON      `json:"violations"`
	Unenforced  []judgedJSON       `json:"unenforced"`
	Denied      []droppedJSON      `json:"denied"`
	Allowed     []observedFlowJSON `json:"allowed"`
	UnusedRules []unusedRuleJSON   `json:"unusedRules"`
	UnusedPairs []unusedPairJSON   `json:"unusedPairs"`
	Unknown     []unknownJSON      `json:"unknown"`
}

type unusedRuleJSON struct {
	Policy      string         `json:"policy"`
	Direction   string         `json:"direction"`
	Rule        int            `json:"rule"`
	Source      model.Location `json:"source"`
	Connections int            `json:"connections"`
}

type unusedPairJSON struct {
	Src     string        `json:"src"`
	Dst     string        `json:"dst"`
	Allowed model.PortSet `json:"allowed"`
	Seen    model.PortSet `json:"seen"`
}

func writeObserveJSON(w io.Writer, rs []*model.ObserveReport) error {
	doc := struct {
		FormatVersion string        `json:"formatVersion"`
		Overlays      []observeJSON `json:"overlays"`
	}{FormatVersion, []observeJSON{}}
	for _, r := range rs {
		o := observeJSON{Overlay: r.Overlay, Environment: r.Environment, Path: r.Path, Input: flowInputJSON(r.Input),
			Violations: []droppedJSON{}, Unenforced: []judgedJSON{}, Denied: []droppedJSON{}, Allowed: []observedFlowJSON{},
			UnusedRules: []unusedRuleJSON{}, UnusedPairs: []unusedPairJSON{}, Unknown: unknownsJSON(r.Unknown)}
		s := &o.Summary
		s.Violations, s.ExpectationViolations, s.Unenforced = len(r.Violations), r.ExpectationViolations(), len(r.Unenforced)
		s.Denied, s.Allowed, s.UnusedRules, s.UnusedPairs, s.Unknown = len(r.Denied), len(r.Allowed), len(r.UnusedRules), r.UnusedPairsTotal, len(r.Unknown)
		dropped := func(d *model.DroppedFlow) droppedJSON {
			return droppedJSON{flowJSON(&d.Flow), d.Side, d.Reason, d.OverlayAllows, d.Expected}
		}
		for i := range r.Violations {
			o.Violations = append(o.Violations, dropped(&r.Violations[i]))
		}
		for i := range r.Denied {
			o.Denied = append(o.Denied, dropped(&r.Denied[i]))
		}
		for i := range r.Unenforced {
			u := &r.Unenforced[i]
			o.Unenforced = append(o.Unenforced, judgedJSON{flowJSON(&u.Flow), u.Side, u.Reason})
		}
		for i := range r.Allowed {
			o.Allowed = append(o.Allowed, flowJSON(&r.Allowed[i]))
		}
		for _, u := range r.UnusedRules {
			o.UnusedRules = append(o.UnusedRules, unusedRuleJSON{u.Rule.Policy, u.Rule.Direction.String(), u.Rule.Rule, u.Rule.Source, u.Connections})
		}
		for _, p := range r.UnusedPairs {
			o.UnusedPairs = append(o.UnusedPairs, unusedPairJSON{p.Src, p.Dst, p.Allowed, p.Seen})
		}
		doc.Overlays = append(doc.Overlays, o)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
