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

type jsonOverlay struct {
	Name         string          `json:"name"`
	Environment  string          `json:"environment"`
	Path         string          `json:"path"`
	Passed       bool            `json:"passed"`
	Error        string          `json:"error,omitempty"`
	InputDigest  string          `json:"inputDigest,omitempty"`
	Expectations int             `json:"expectations"`
	Counts       jsonCounts      `json:"counts"`
	Findings     []model.Finding `json:"findings"`
	// Resolved are the base's findings the head no longer has.
	Resolved []model.Finding `json:"resolved,omitempty"`
	// Diff is null when the overlay has no base to compare with.
	Diff *jsonDiff `json:"diff"`
	// Traffic is what the head does to observed traffic (check --flows).
	Traffic *trafficJSON `json:"traffic,omitempty"`
}

type jsonReport struct {
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
	Overlays      []jsonOverlay      `json:"overlays"`
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
	out := jsonReport{
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
		Overlays:      make([]jsonOverlay, len(r.Overlays)),
		Shard:         r.Shard,
	}
	if out.RulesChanged == nil {
		out.RulesChanged = []model.RuleChange{}
	}
	if out.Rules == nil {
		out.Rules = []model.Rule{}
	}
	for i := range r.Overlays {
		o := &r.Overlays[i]
		e, wn, in, wv := o.Counts()
		jo := jsonOverlay{
			Name: o.Name, Environment: o.Environment, Path: o.Path,
			Passed: !r.OverlayFailed(o), Error: o.Error,
			InputDigest: o.InputDigest, Expectations: o.Expectations,
			Counts:   jsonCounts{e, wn, in, wv},
			Findings: slices.Clone(o.Findings),
			Resolved: slices.Clone(o.Resolved),
			Diff:     toJSONDiff(o.Diff),
			Traffic:  toTrafficJSON(o.Traffic),
		}
		if jo.Findings == nil {
			jo.Findings = []model.Finding{}
		}
		out.Overlays[i] = jo
	}
	return writeJSON(w, out)
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
