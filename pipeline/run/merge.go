package run

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/report"
)

// MergeParams are the options of `reachgate merge`.
type MergeParams struct {
	// Reports are the per-overlay reports (check --shard NAME --output
	// json=FILE).
	Reports []string
	// Evidence are the shards' evidence documents, needed for the
	// evidence format only.
	Evidence []string
	Format   string
	Outputs  []string
	Color    bool
	Marker   string
}

// maxShardReport bounds one per-overlay report read by merge.
const maxShardReport = 512 << 20

// shardReport is one per-overlay report as read.
type shardReport struct {
	file    string
	r       *model.Report
	version string
}

// Merge joins the reports of a fanned-out check into the report of the
// whole check and writes it as check does: the same formats, the same
// bytes and the same exit code as one check of every overlay. Reports
// that are not parts of one check (other commits, configuration, rules,
// reachgate version), an overlay reported twice and an overlay no report
// has are input errors (exit 2): a missing part never passes.
func Merge(p MergeParams, w, stderr io.Writer) error {
	outs, err := parseOutputs(p.Outputs)
	if err != nil {
		return err
	}
	format := formatOr(p.Format, "text")
	wantEvidence := format == "evidence" || slices.ContainsFunc(outs, func(o output) bool { return o.format == "evidence" })
	if len(p.Reports) == 0 {
		return inputError(errors.New("merge needs the per-overlay reports (reachgate check --shard OVERLAY --output json=FILE)"))
	}
	var shards []shardReport
	for _, f := range p.Reports {
		s, err := readShard(f)
		if err != nil {
			return inputError(err)
		}
		shards = append(shards, s)
	}
	r, err := mergeShards(shards)
	if err != nil {
		return inputError(err)
	}
	var evidence []*report.Evidence
	if wantEvidence {
		if len(p.Evidence) == 0 {
			return inputError(errors.New("the evidence format needs every shard's evidence document (--evidence FILE, written by check --shard OVERLAY --output evidence=FILE)"))
		}
		for _, f := range p.Evidence {
			e, err := readEvidenceFile(f)
			if err != nil {
				return inputError(err)
			}
			evidence = append(evidence, e)
		}
	}
	opts := report.Options{Color: p.Color, Marker: "<!-- " + formatOr(p.Marker, "reachgate:check") + " -->", Version: shards[0].version}
	write := func(w io.Writer, format string) error {
		if format == "evidence" {
			return report.WriteMergedEvidence(w, r, opts, evidence)
		}
		return report.Write(w, format, r, opts)
	}
	// The evidence is the one output that can still be refused (a
	// missing shard document): refuse before writing anything.
	if wantEvidence {
		if err := write(io.Discard, "evidence"); err != nil {
			return inputError(err)
		}
	}
	return deliver("merge", r, format, outs, w, stderr, write)
}

func readShard(file string) (shardReport, error) {
	st, err := os.Stat(file)
	if err != nil {
		return shardReport{}, err
	}
	if !st.Mode().IsRegular() {
		return shardReport{}, fmt.Errorf("%s: not a regular file", file)
	}
	if st.Size() > maxShardReport {
		return shardReport{}, fmt.Errorf("%s: %d bytes, more than the %d a report may have", file, st.Size(), maxShardReport)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return shardReport{}, err
	}
	r, version, err := report.ReadJSONTool(bytes.NewReader(data))
	if err != nil {
		return shardReport{}, fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case r.Shard == nil:
		return shardReport{}, fmt.Errorf("%s: shard is missing: not a per-overlay report (reachgate check --shard OVERLAY --output json=FILE writes one)", file)
	case r.Shard.Overlay == "" || len(r.Shard.Overlays) == 0:
		return shardReport{}, fmt.Errorf("%s: shard.overlay and shard.overlays are needed", file)
	case len(r.Overlays) == 0:
		return shardReport{}, fmt.Errorf("%s: overlays is empty: the shard of %s reports nothing", file, r.Shard.Overlay)
	case r.Overlays[0].Name != r.Shard.Overlay:
		return shardReport{}, fmt.Errorf("%s: overlays[0].name %q: the shard is of %q", file, r.Overlays[0].Name, r.Shard.Overlay)
	}
	return shardReport{file: file, r: r, version: version}, nil
}

func readEvidenceFile(file string) (*report.Evidence, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if st.Size() > report.MaxEvidenceSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an evidence document may have", file, st.Size(), report.MaxEvidenceSize)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return report.ReadEvidence(file, data)
}

// mergeShards checks that the shards are the parts of one check and
// joins them.
func mergeShards(shards []shardReport) (*model.Report, error) {
	first := shards[0]
	for _, s := range shards[1:] {
		if err := sameCheck(first, s); err != nil {
			return nil, err
		}
	}
	// Every overlay of the whole check from exactly one report.
	from := map[string]int{} // overlay -> index into shards
	at := map[string]int{}   // overlay -> index into that report's overlays
	for k, s := range shards {
		for i, o := range s.r.Overlays {
			if !slices.Contains(first.r.Shard.Overlays, o.Name) {
				return nil, fmt.Errorf("%s: overlays[%d].name: %s is not one of the check's overlays (%s)", s.file, i, o.Name, joinNames(first.r.Shard.Overlays))
			}
			if prev, ok := from[o.Name]; ok {
				return nil, fmt.Errorf("%s: overlays[%d].name: overlay %s is also reported by %s", s.file, i, o.Name, shards[prev].file)
			}
			from[o.Name], at[o.Name] = k, i
		}
	}
	var missing []string
	for _, n := range first.r.Shard.Overlays {
		if _, ok := from[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no report has overlay %s: the check is incomplete (run check --shard for each of %s)", joinNames(missing), joinNames(first.r.Shard.Overlays))
	}
	unused, err := runFindings(shards)
	if err != nil {
		return nil, err
	}
	out := *first.r
	out.Shard = nil
	out.Overlays = nil
	// The check ran when its first shard did.
	for _, s := range shards {
		if s.r.CheckedAt.Before(out.CheckedAt) {
			out.CheckedAt = s.r.CheckedAt
		}
	}
	for i, n := range first.r.Shard.Overlays {
		o := shards[from[n]].r.Overlays[at[n]]
		if at[n] == 0 {
			// The findings about the run are kept once, with the first
			// overlay; a waiver is unused only if no shard used it.
			fs := []model.Finding{}
			for _, f := range o.Findings {
				if !isRunFinding(f) || i == 0 && (f.RuleID != policy.WaiverUnusedID || unused[findingKey(f)] == len(shards)) {
					fs = append(fs, f)
				}
			}
			o.Findings = fs
		}
		out.Overlays = append(out.Overlays, o)
	}
	if first := out.Overlays[0].Name; first != shards[from[first]].r.Overlays[0].Name {
		return nil, fmt.Errorf("%s: the first overlay of the check, %s, is not the first of its report", shards[from[first]].file, first)
	}
	return &out, nil
}

// sameCheck refuses a report that is not a part of the same check as the
// first one, naming the field that differs.
func sameCheck(a, b shardReport) error {
	type field struct {
		name string
		x, y any
	}
	fields := []field{
		{"tool.version", a.version, b.version},
		{"base.commit", a.r.Base.Commit, b.r.Base.Commit},
		{"base.ref", a.r.Base.Ref, b.r.Base.Ref},
		{"head.commit", a.r.Head.Commit, b.r.Head.Commit},
		{"head.ref", a.r.Head.Ref, b.r.Head.Ref},
		{"shard.configDigest", a.r.Shard.ConfigDigest, b.r.Shard.ConfigDigest},
		{"shard.rulesDigest", a.r.Shard.RulesDigest, b.r.Shard.RulesDigest},
		{"shard.overlays", a.r.Shard.Overlays, b.r.Shard.Overlays},
		{"rulesFrom", a.r.RulesFrom, b.r.RulesFrom},
		{"rules", a.r.Rules, b.r.Rules},
		{"rulesChanged", a.r.RulesChanged, b.r.RulesChanged},
		{"configDiff", a.r.ConfigDiff, b.r.ConfigDiff},
		{"failOn", a.r.FailOn, b.r.FailOn},
		{"failOnNew", a.r.FailOnNew, b.r.FailOnNew},
		{"baseline", a.r.Baseline, b.r.Baseline},
		{"repository", a.r.Repository, b.r.Repository},
		{"serverUrl", a.r.ServerURL, b.r.ServerURL},
	}
	for _, f := range fields {
		if !reflect.DeepEqual(f.x, f.y) {
			return fmt.Errorf("%s: %s %s differs from %s's %s: the reports are not parts of one check", b.file, f.name, show(f.y), a.file, show(f.x))
		}
	}
	return nil
}

func show(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case []string:
		return "[" + joinNames(v) + "]"
	case model.Severity:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	}
	return "(different)"
}

// isRunFinding reports a finding about the run as a whole, which check
// puts with the first overlay and every shard with its own.
func isRunFinding(f model.Finding) bool {
	switch f.RuleID {
	case "config/changed", "overlay/unknown-deploy", policy.WaiverExpiredID, policy.WaiverUnusedID:
		return true
	}
	return false
}

func findingKey(f model.Finding) string {
	return fmt.Sprintf("%s\x00%s\x00%s:%d", f.RuleID, f.Message, f.Location.File, f.Location.Line)
}

// runFindings checks that every shard found the same about the run as a
// whole (the configuration, expired waivers), and counts, per unused
// waiver, the shards it is unused in.
func runFindings(shards []shardReport) (map[string]int, error) {
	unused := map[string]int{}
	var first []model.Finding
	for k, s := range shards {
		var run []model.Finding
		for _, f := range s.r.Overlays[0].Findings {
			switch {
			case f.RuleID == policy.WaiverUnusedID:
				unused[findingKey(f)]++
			case isRunFinding(f):
				run = append(run, f)
			}
		}
		if k == 0 {
			first = run
			continue
		}
		if !reflect.DeepEqual(first, run) {
			return nil, fmt.Errorf("%s: overlays[0].findings: the findings about the run as a whole (config/changed, overlay/unknown-deploy, waiver/expired) differ from %s's: the reports are not parts of one check", s.file, shards[0].file)
		}
	}
	return unused, nil
}
