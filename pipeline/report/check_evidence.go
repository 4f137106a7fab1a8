package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The evidence document: what an auditor asks of a network-segmentation
// control, answered from one check. For each control the rules mapped to
// it and their result per environment; for each environment the digest of
// what was judged, every rule's result, the expectations, the findings
// with the waivers in force, and who can reach whom with the policy behind
// every allowed flow.

// evidenceDoc is written a piece at a time (see jsonStream): the fields
// before the overlays, then each overlay's fields before its findings,
// the findings, and the fields after them.
type evidenceDoc struct {
	evidenceDocHead
	Overlays []evidenceOverlay `json:"overlays"`
}

type evidenceDocHead struct {
	FormatVersion string             `json:"formatVersion"`
	Kind          string             `json:"kind"`
	Tool          jsonTool           `json:"tool"`
	CheckedAt     time.Time          `json:"checkedAt"`
	Repository    string             `json:"repository,omitempty"`
	Base          model.RefInfo      `json:"base"`
	Head          model.RefInfo      `json:"head"`
	RulesFrom     string             `json:"rulesFrom"`
	RulesChanged  []model.RuleChange `json:"rulesChanged"`
	FailOn        model.Severity     `json:"failOn"`
	Passed        bool               `json:"passed"`
	Rules         []model.Rule       `json:"rules"`
	Controls      []evidenceControl  `json:"controls"`
}

// evidenceControl is one control with the rules mapped to it and, per
// overlay, the worst result of those rules.
type evidenceControl struct {
	Control string            `json:"control"`
	Rules   []string          `json:"rules"`
	Results map[string]string `json:"results"`
}

type evidenceOverlay struct {
	evidenceOverlayHead
	Findings []model.Finding `json:"findings"`
	evidenceOverlayTail
}

type evidenceOverlayHead struct {
	overlayFields
	Rules        []evidenceRuleResult `json:"rules"`
	Expectations evidenceExpectations `json:"expectations"`
}

type evidenceOverlayTail struct {
	// Reachability is the head matrix; null when the overlay could not be
	// evaluated, or has more than maxEvidenceFlows flows
	// (ReachabilityOmitted says so).
	Reachability        *jsonMatrix `json:"reachability"`
	ReachabilityOmitted string      `json:"reachabilityOmitted,omitempty"`
}

// maxEvidenceFlows bounds the matrix an evidence document holds: about
// 30 MB of indented JSON. A 5,000-workload cluster has 39,000 flows;
// `reachgate reach --format json` writes them.
const maxEvidenceFlows = 20_000

type evidenceRuleResult struct {
	ID string `json:"id"`
	// Result is, from best to worst: pass (no finding), warn (unwaived
	// findings below failOn only), waived (waived findings, and no
	// unwaived one at or above failOn), fail (an unwaived finding at or
	// above failOn) or error (the overlay was not evaluated).
	Result   string `json:"result"`
	Findings int    `json:"findings"` // unwaived, any severity
	Waived   int    `json:"waived"`
}

type evidenceExpectations struct {
	Checked int `json:"checked"`
	Failed  int `json:"failed"`
}

// Results from best to worst.
var resultRank = map[string]int{"pass": 0, "warn": 1, "waived": 2, "fail": 3, "error": 4}

// writeCheckEvidence writes the evidence document.
func writeCheckEvidence(w io.Writer, r *model.Report, opts Options) error {
	return writeEvidence(w, r, opts, evidenceReachability)
}

// WriteMergedEvidence writes the evidence document of a report merged
// from per-overlay reports (reachgate merge). The report has no matrices:
// each overlay's reachability is taken from the evidence document of its
// shard, so the result is the document one whole check writes.
func WriteMergedEvidence(w io.Writer, r *model.Report, opts Options, shards []*Evidence) error {
	type found struct {
		o    *evidenceOverlay
		file string
	}
	byName := map[string]found{}
	for _, e := range shards {
		switch {
		case e.doc.Head.Commit != r.Head.Commit:
			return fmt.Errorf("%s: head.commit %q: the reports are of %q", e.File, e.doc.Head.Commit, r.Head.Commit)
		case e.doc.Base.Commit != r.Base.Commit:
			return fmt.Errorf("%s: base.commit %q: the reports are of %q", e.File, e.doc.Base.Commit, r.Base.Commit)
		}
		for i := range e.doc.Overlays {
			o := &e.doc.Overlays[i]
			if prev, ok := byName[o.Name]; ok {
				return fmt.Errorf("%s: overlays[%d].name: overlay %s is also in %s", e.File, i, o.Name, prev.file)
			}
			byName[o.Name] = found{o, e.File}
		}
	}
	for i := range r.Overlays {
		if _, ok := byName[r.Overlays[i].Name]; !ok {
			return fmt.Errorf("no evidence document has overlay %s", r.Overlays[i].Name)
		}
	}
	return writeEvidence(w, r, opts, func(o *model.OverlayReport) (*jsonMatrix, string) {
		f := byName[o.Name]
		return f.o.Reachability, f.o.ReachabilityOmitted
	})
}

// writeEvidence writes the evidence document, with each overlay's
// reachability from reach.
func writeEvidence(w io.Writer, r *model.Report, opts Options, reach func(*model.OverlayReport) (*jsonMatrix, string)) error {
	head := evidenceDocHead{
		FormatVersion: FormatVersion,
		Kind:          "ReachgateEvidence",
		Tool:          jsonTool{Name: "reachgate", Version: opts.Version},
		CheckedAt:     r.CheckedAt.UTC(),
		Repository:    r.Repository,
		Base:          r.Base,
		Head:          r.Head,
		RulesFrom:     r.RulesFrom,
		RulesChanged:  append([]model.RuleChange{}, r.RulesChanged...),
		FailOn:        r.FailOn,
		Passed:        !r.Failed(),
		Rules:         append([]model.Rule{}, r.Rules...),
		Controls:      []evidenceControl{},
	}
	// result[overlay][rule]
	result := map[string]map[string]string{}
	overlays := make([]evidenceOverlayHead, len(r.Overlays))
	for i := range r.Overlays {
		o := &r.Overlays[i]
		eo := evidenceOverlayHead{
			overlayFields: newOverlayFields(r, o),
			Rules:         []evidenceRuleResult{},
			Expectations:  evidenceExpectations{Checked: o.Expectations},
		}
		result[o.Name] = map[string]string{}
		for _, ru := range r.Rules {
			rr := evidenceRuleResult{ID: ru.ID, Result: "pass"}
			if o.Error != "" {
				rr.Result = "error"
			}
			for _, f := range o.Findings {
				if f.RuleID != ru.ID {
					continue
				}
				res := "warn"
				switch {
				case f.Waived != nil:
					rr.Waived++
					res = "waived"
				case f.Severity >= r.FailOn:
					rr.Findings++
					res = "fail"
				default:
					rr.Findings++
				}
				if resultRank[res] > resultRank[rr.Result] {
					rr.Result = res
				}
			}
			result[o.Name][ru.ID] = rr.Result
			eo.Rules = append(eo.Rules, rr)
		}
		for _, f := range o.Findings {
			if f.RuleID == "expect/allow" || f.RuleID == "expect/deny" {
				eo.Expectations.Failed++
			}
		}
		overlays[i] = eo
	}
	rulesOf := map[string][]string{}
	for _, ru := range r.Rules {
		for _, c := range ru.Controls {
			if !slices.Contains(rulesOf[c], ru.ID) {
				rulesOf[c] = append(rulesOf[c], ru.ID)
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(rulesOf)) {
		ec := evidenceControl{Control: c, Rules: rulesOf[c], Results: map[string]string{}}
		for _, o := range r.Overlays {
			worst := "pass"
			for _, id := range ec.Rules {
				if res := result[o.Name][id]; resultRank[res] > resultRank[worst] {
					worst = res
				}
			}
			ec.Results[o.Name] = worst
		}
		head.Controls = append(head.Controls, ec)
	}
	js := newJSONStream(w)
	js.object(head, "overlays", "[")
	for i := range r.Overlays {
		o := &r.Overlays[i]
		if i > 0 {
			js.raw(",")
		}
		js.object(overlays[i], "findings", "[")
		js.findings(o.Findings)
		js.raw("]")
		var tail evidenceOverlayTail
		tail.Reachability, tail.ReachabilityOmitted = reach(o)
		js.rest(tail)
	}
	js.raw("]}")
	return js.close()
}

// evidenceReachability is the overlay's head matrix as flows, or why it
// is left out.
func evidenceReachability(o *model.OverlayReport) (*jsonMatrix, string) {
	if o.Matrix == nil || o.Error != "" {
		return nil, ""
	}
	v, err := newMatrixView(o.Matrix, MatrixOptions{})
	if err != nil {
		return nil, ""
	}
	m := toJSONMatrix(v, MatrixOptions{Title: o.Name})
	if len(m.Flows) > maxEvidenceFlows {
		return nil, fmt.Sprintf("%d flows (%d connections), more than the %d an evidence document holds: reachgate reach %s --format json writes them",
			len(m.Flows), m.Connections, maxEvidenceFlows, o.Name)
	}
	return &m, ""
}
