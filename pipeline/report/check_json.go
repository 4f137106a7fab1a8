package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonCounts struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Info     int `json:"info"`
	Waived   int `json:"waived"`
}

// jsonOverlay is an overlay's part of the report. Its findings are
// written one by one, between the fields before them (jsonOverlayHead)
// and those after (jsonOverlayTail), which encoding/json writes in order
// as if they were declared here.
type jsonOverlay struct {
	jsonOverlayHead
	Findings []model.Finding `json:"findings"`
	// Resolved are the base's findings the head no longer has.
	Resolved []model.Finding `json:"resolved,omitempty"`
	jsonOverlayTail
}

type jsonOverlayHead struct {
	overlayFields
	Expectations int        `json:"expectations"`
	Counts       jsonCounts `json:"counts"`
}

// overlayFields are what the check report and evidence both say first of
// an overlay.
type overlayFields struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Path        string `json:"path"`
	Passed      bool   `json:"passed"`
	Error       string `json:"error,omitempty"`
	InputDigest string `json:"inputDigest,omitempty"`
}

func newOverlayFields(r *model.Report, o *model.OverlayReport) overlayFields {
	return overlayFields{Name: o.Name, Environment: o.Environment, Path: o.Path,
		Passed: !r.OverlayFailed(o), Error: o.Error, InputDigest: o.InputDigest}
}

type jsonOverlayTail struct {
	// Diff is null when the overlay has no base to compare with.
	Diff *jsonDiff `json:"diff"`
	// Traffic is what the head does to observed traffic (check --flows).
	Traffic *trafficJSON `json:"traffic,omitempty"`
}

// jsonReport is the check report; its overlays are written one by one,
// between the fields before them (jsonReportHead) and after
// (jsonReportTail).
type jsonReport struct {
	jsonReportHead
	Overlays []jsonOverlay `json:"overlays"`
	jsonReportTail
}

type jsonReportHead struct {
	FormatVersion string             `json:"formatVersion"`
	Tool          jsonTool           `json:"tool"`
	Passed        bool               `json:"passed"`
	FailOn        model.Severity     `json:"failOn"`
	FailOnNew     bool               `json:"failOnNew,omitempty"`
	Baseline      string             `json:"baseline,omitempty"`
	Base          model.RefInfo      `json:"base"`
	Head          model.RefInfo      `json:"head"`
	Repository    string             `json:"repository,omitempty"`
	ServerURL     string             `json:"serverUrl,omitempty"`
	CheckedAt     time.Time          `json:"checkedAt"`
	RulesFrom     string             `json:"rulesFrom"`
	Rules         []model.Rule       `json:"rules"`
	RulesChanged  []model.RuleChange `json:"rulesChanged"`
	ConfigDiff    string             `json:"configDiff,omitempty"`
}

type jsonReportTail struct {
	// Shard is only in the report of one overlay of a fanned-out check.
	Shard *model.Shard `json:"shard,omitempty"`
}

// writeCheckJSON writes the whole report as a versioned document: refs,
// rule changes, and per overlay the findings (waived ones with their
// waiver) and the reachability diff with ports and provenance. The
// matrices themselves are left out (`reachgate reach --format json`
// writes one); everything the other formats print is there, so ReadJSON
// can render them again.
func writeCheckJSON(w io.Writer, r *model.Report, opts Options) error {
	head := jsonReportHead{
		FormatVersion: FormatVersion,
		Tool:          jsonTool{Name: "reachgate", Version: opts.Version},
		Passed:        !r.Failed(),
		FailOn:        r.FailOn,
		FailOnNew:     r.FailOnNew,
		Baseline:      r.Baseline,
		Base:          r.Base,
		Head:          r.Head,
		Repository:    r.Repository,
		ServerURL:     r.ServerURL,
		CheckedAt:     r.CheckedAt.UTC(),
		RulesFrom:     r.RulesFrom,
		Rules:         slices.Clone(r.Rules),
		RulesChanged:  slices.Clone(r.RulesChanged),
		ConfigDiff:    r.ConfigDiff,
	}
	if head.RulesChanged == nil {
		head.RulesChanged = []model.RuleChange{}
	}
	if head.Rules == nil {
		head.Rules = []model.Rule{}
	}
	js := newJSONStream(w)
	js.object(head, "overlays", "[")
	for i := range r.Overlays {
		o := &r.Overlays[i]
		e, wn, in, wv := o.Counts()
		if i > 0 {
			js.raw(",")
		}
		js.object(jsonOverlayHead{
			overlayFields: newOverlayFields(r, o),
			Expectations:  o.Expectations,
			Counts:        jsonCounts{e, wn, in, wv},
		}, "findings", "[")
		js.findings(o.Findings)
		js.raw("]")
		if len(o.Resolved) > 0 {
			js.raw(`,"resolved":[`)
			js.findings(o.Resolved)
			js.raw("]")
		}
		js.rest(jsonOverlayTail{Diff: toJSONDiff(o.Diff), Traffic: toTrafficJSON(o.Traffic)})
	}
	js.raw("]")
	js.rest(jsonReportTail{Shard: r.Shard})
	return js.close()
}

// ReadJSON reads a report that the json format wrote, so that it can be
// rendered again (`reachgate comment --report report.json`). Matrices are
// not part of that document: Matrix and Base stay nil.
func ReadJSON(r io.Reader) (*model.Report, error) {
	out, _, err := ReadJSONTool(r)
	return out, err
}

// ReadJSONTool is ReadJSON that also returns the version of reachgate
// that wrote the report.
func ReadJSONTool(r io.Reader) (*model.Report, string, error) {
	var j jsonReport
	dec := json.NewDecoder(r)
	if err := dec.Decode(&j); err != nil {
		return nil, "", fmt.Errorf("read report: %w", err)
	}
	if j.FormatVersion != FormatVersion {
		return nil, "", fmt.Errorf("read report: formatVersion %q: want %q", j.FormatVersion, FormatVersion)
	}
	out := &model.Report{
		Base: j.Base, Head: j.Head,
		RulesFrom: j.RulesFrom, Rules: j.Rules, RulesChanged: j.RulesChanged, ConfigDiff: j.ConfigDiff, FailOn: j.FailOn,
		FailOnNew: j.FailOnNew, Baseline: j.Baseline,
		Repository: j.Repository, ServerURL: j.ServerURL, CheckedAt: j.CheckedAt,
		Shard: j.Shard,
	}
	var pr peerReader
	for i, o := range j.Overlays {
		d, err := pr.diff(o.Diff, fmt.Sprintf("overlays[%d].diff", i))
		if err != nil {
			return nil, "", fmt.Errorf("read report: %w", err)
		}
		t, err := fromTrafficJSON(o.Traffic, fmt.Sprintf("overlays[%d].traffic", i))
		if err != nil {
			return nil, "", fmt.Errorf("read report: %w", err)
		}
		out.Overlays = append(out.Overlays, model.OverlayReport{
			Name: o.Name, Environment: o.Environment, Path: o.Path,
			Findings: o.Findings, Resolved: o.Resolved, Diff: d, Error: o.Error,
			InputDigest: o.InputDigest, Expectations: o.Expectations, Traffic: t,
		})
	}
	return out, j.Tool.Version, nil
}
