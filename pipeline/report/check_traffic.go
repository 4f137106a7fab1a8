package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The traffic section of a check report (check --flows): what the head
// does to observed traffic.

// blockedByChange are the blocked flows the base allowed: those this
// change blocks.
func blockedByChange(t *model.TrafficImpact) []model.ImpactFlow {
	var out []model.ImpactFlow
	for _, f := range t.Blocked {
		if f.BaseAllowed {
			out = append(out, f)
		}
	}
	return out
}

// trafficHeadline is "Traffic this change blocks: 3 flows seen 1,245
// times between ... and ...".
func trafficHeadline(title string, fs []model.ImpactFlow) string {
	n, seen, w := model.Totals(fs)
	if n == 0 {
		return title + ": none"
	}
	s := title + ": " + plural(n, "flow", "flows") + " seen " + plural(int(seen), "time", "times")
	if t := windowText(w); t != "" {
		s += " between " + t
	}
	return s
}

func impactLine(f *model.ImpactFlow) string {
	s := flowText(&f.Flow) + ", " + seenText(f.Flow.Count, f.Flow.First, f.Flow.Last)
	if f.Side != "" {
		s += "; denied on " + f.Side
	}
	return s
}

func trafficText(ew *errWriter, t *model.TrafficImpact) {
	in := &t.Input
	ew.line("  observed traffic: ", plural(int(in.Flows), "flow", "flows"), windowSuffix(in.Window))
	if in.MalformedCount > 0 {
		ew.line("    malformed lines left out: ", count(int(in.MalformedCount)))
		for _, m := range in.Malformed {
			ew.line("      ", m.File, ":", strconv.Itoa(m.Line), ": ", m.Message)
		}
	}
	blocked := blockedByChange(t)
	ew.line("  ", trafficHeadline("traffic this change blocks", blocked))
	for i := range blocked {
		ew.line("    - ", impactLine(&blocked[i]))
	}
	if n := len(t.Blocked) - len(blocked); n > 0 {
		ew.line("  also denied by the base, yet forwarded (see reachgate observe): ", plural(n, "flow", "flows"))
	}
	ew.line("  ", trafficHeadline("traffic this change unblocks", t.Unblocked))
	for i := range t.Unblocked {
		ew.line("    + ", impactLine(&t.Unblocked[i]))
	}
	if len(t.Unknown) > 0 {
		ew.line("  unknown endpoints: ", count(len(t.Unknown)))
	}
}

func trafficMarkdown(b *strings.Builder, t *model.TrafficImpact, maxRows int) {
	blocked := blockedByChange(t)
	b.WriteString("#### Observed traffic\n\n")
	b.WriteString("**" + mdText(trafficHeadline("Traffic this change blocks", blocked)) + "**\n\n")
	table := func(fs []model.ImpactFlow, why bool) {
		if len(fs) == 0 {
			return
		}
		if why {
			b.WriteString("| flow | seen | last seen | denied on | why |\n|---|---:|---|---|---|\n")
		} else {
			b.WriteString("| flow | seen | last seen |\n|---|---:|---|\n")
		}
		for i, f := range fs {
			if maxRows >= 0 && i >= maxRows {
				b.WriteString("\n_" + plural(len(fs)-i, "more flow", "more flows") + " in the JSON report._\n")
				break
			}
			row := "| " + mdCodeCell(flowText(&f.Flow)) + " | " + count(int(f.Flow.Count)) + " | " + stamp(f.Flow.Last)
			if why {
				row += " | " + f.Side + " | " + mdText(f.Reason)
			}
			b.WriteString(row + " |\n")
		}
		b.WriteString("\n")
	}
	table(blocked, true)
	b.WriteString("**" + mdText(trafficHeadline("Traffic this change unblocks", t.Unblocked)) + "**\n\n")
	table(t.Unblocked, false)
	in := &t.Input
	var notes []string
	if n := len(t.Blocked) - len(blocked); n > 0 {
		notes = append(notes, plural(n, "forwarded flow", "forwarded flows")+" the base denies too (`reachgate observe` lists them as unenforced)")
	}
	if len(t.Unknown) > 0 {
		notes = append(notes, plural(len(t.Unknown), "endpoint", "endpoints")+" not mapped to a workload")
	}
	if in.MalformedCount > 0 {
		notes = append(notes, plural(int(in.MalformedCount), "malformed line", "malformed lines")+" left out")
	}
	b.WriteString("_" + plural(int(in.Flows), "observed flow", "observed flows") + " from " + mdText(strings.Join(in.Sources, ", ")))
	if t := windowText(in.Window); t != "" {
		b.WriteString(" between " + t)
	}
	if len(notes) > 0 {
		b.WriteString("; " + strings.Join(notes, "; "))
	}
	b.WriteString("._\n\n")
}

// JSON.

type impactJSON struct {
	observedFlowJSON
	BaseAllowed bool   `json:"baseAllowed"`
	Side        string `json:"side,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

type trafficJSON struct {
	Input     inputJSON     `json:"input"`
	Blocked   []impactJSON  `json:"blocked"`
	Unblocked []impactJSON  `json:"unblocked"`
	Unknown   []unknownJSON `json:"unknown"`
}

func toTrafficJSON(t *model.TrafficImpact) *trafficJSON {
	if t == nil {
		return nil
	}
	conv := func(fs []model.ImpactFlow) []impactJSON {
		out := make([]impactJSON, len(fs))
		for i := range fs {
			out[i] = impactJSON{flowJSON(&fs[i].Flow), fs[i].BaseAllowed, fs[i].Side, fs[i].Reason}
		}
		return out
	}
	return &trafficJSON{Input: flowInputJSON(t.Input), Blocked: conv(t.Blocked), Unblocked: conv(t.Unblocked), Unknown: unknownsJSON(t.Unknown)}
}

func fromTrafficJSON(j *trafficJSON, where string) (*model.TrafficImpact, error) {
	if j == nil {
		return nil, nil
	}
	parseTime := func(s, field string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return t, fmt.Errorf("%s.%s: %w", where, field, err)
		}
		return t, nil
	}
	t := &model.TrafficImpact{Input: j.Input.FlowInput}
	var err error
	if t.Input.Window.First, err = parseTime(j.Input.Window.First, "input.window.first"); err != nil {
		return nil, err
	}
	if t.Input.Window.Last, err = parseTime(j.Input.Window.Last, "input.window.last"); err != nil {
		return nil, err
	}
	conv := func(fs []impactJSON, field string) ([]model.ImpactFlow, error) {
		out := make([]model.ImpactFlow, len(fs))
		for i, f := range fs {
			proto, err := model.ParseProtocol(f.Protocol)
			if err != nil {
				return nil, fmt.Errorf("%s.%s[%d].protocol: %w", where, field, i, err)
			}
			of := model.ObservedFlow{Src: f.Src, Dst: f.Dst, SrcLabel: f.SrcLabel, DstLabel: f.DstLabel, Protocol: proto,
				Port: f.Port, Verdict: f.Verdict, DropReason: f.DropReason, Count: f.Count}
			if of.First, err = parseTime(f.First, fmt.Sprintf("%s[%d].first", field, i)); err != nil {
				return nil, err
			}
			if of.Last, err = parseTime(f.Last, fmt.Sprintf("%s[%d].last", field, i)); err != nil {
				return nil, err
			}
			out[i] = model.ImpactFlow{Flow: of, BaseAllowed: f.BaseAllowed, Side: f.Side, Reason: f.Reason}
		}
		return out, nil
	}
	if t.Blocked, err = conv(j.Blocked, "blocked"); err != nil {
		return nil, err
	}
	if t.Unblocked, err = conv(j.Unblocked, "unblocked"); err != nil {
		return nil, err
	}
	for i, u := range j.Unknown {
		first, err := parseTime(u.First, fmt.Sprintf("unknown[%d].first", i))
		if err != nil {
			return nil, err
		}
		last, err := parseTime(u.Last, fmt.Sprintf("unknown[%d].last", i))
		if err != nil {
			return nil, err
		}
		t.Unknown = append(t.Unknown, model.UnknownEndpoint{Endpoint: u.Endpoint, Reason: u.Reason, Count: u.Count, First: first, Last: last})
	}
	return t, nil
}
