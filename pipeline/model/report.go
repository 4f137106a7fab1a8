package model

import "time"

// ConnectionChange is one flow that differs between two matrices. Before
// is nil for an added flow, After for a removed one; both are set when the
// ports changed.
type ConnectionChange struct {
	Src    Peer       `json:"-"`
	Dst    Peer       `json:"-"`
	Before *Allowance `json:"-"`
	After  *Allowance `json:"-"`
}

// Diff is what changed in who-can-reach-whom between a base and a head
// matrix of one overlay (or between two overlays, for promotion).
type Diff struct {
	Added            []ConnectionChange
	Removed          []ConnectionChange
	Changed          []ConnectionChange
	WorkloadsAdded   []Peer
	WorkloadsRemoved []Peer
	// Omitted are the traffic policies either matrix leaves out (see
	// Matrix.Omitted), each once.
	Omitted []OmittedPolicy
}

// Empty reports whether nothing changed.
func (d *Diff) Empty() bool {
	return d == nil || len(d.Added)+len(d.Removed)+len(d.Changed)+len(d.WorkloadsAdded)+len(d.WorkloadsRemoved) == 0
}

// RefInfo names a git ref and the commit it resolved to.
type RefInfo struct {
	Ref    string `json:"ref"`
	Commit string `json:"commit,omitempty"`
}

// RuleChange is a rule that a pull request adds, removes or modifies.
type RuleChange struct {
	File   string `json:"file"`
	Change string `json:"change"` // added, removed, modified
}

// OverlayReport is the outcome of checking one overlay.
type OverlayReport struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Path        string `json:"path"`
	// Findings are rule violations, failed expectations and input errors
	// of the head, sorted by severity then location.
	Findings []Finding `json:"findings"`
	// Diff compares the base and head reachability; nil when there is no
	// base (a new overlay) or no comparison was asked for.
	Diff *Diff `json:"-"`
	// Matrix is the head reachability.
	Matrix *Matrix `json:"-"`
	// Error is set when the overlay could not be evaluated at all.
	Error string `json:"error,omitempty"`
	// InputDigest is "sha256:<hex>" of the rendered overlay as `reachgate
	// render` prints it, so an auditor can tell what was judged.
	InputDigest string `json:"inputDigest,omitempty"`
	// Expectations is how many connectivity expectations were checked.
	Expectations int `json:"expectations"`
	// Resolved are the base's findings, judged by the same rules, that the
	// head no longer has.
	Resolved []Finding `json:"resolved,omitempty"`
	// Traffic is what the head does to observed traffic (check
	// --flows); nil without flows.
	Traffic *TrafficImpact `json:"-"`
}

// Report is the outcome of one reachgate check.
type Report struct {
	Base     RefInfo         `json:"base"`
	Head     RefInfo         `json:"head"`
	Overlays []OverlayReport `json:"overlays"`
	// RulesFrom says which ref's rules judged the head: "base" or "head".
	RulesFrom string `json:"rulesFrom"`
	// Rules are the compliance rules that judged every overlay, those
	// that found nothing included: the evidence of what was checked.
	Rules        []Rule       `json:"rules"`
	RulesChanged []RuleChange `json:"rulesChanged"`
	// ConfigDiff is the unified diff of the head's reachgate.yaml against
	// the base's, which judged it; "" when the head did not change it.
	ConfigDiff string   `json:"configDiff,omitempty"`
	FailOn     Severity `json:"failOn"`
	// FailOnNew: only new findings (not on the base) fail the gate.
	FailOnNew bool `json:"failOnNew,omitempty"`
	// Baseline says what the findings were compared with: "base" when
	// each is marked new or existing, else why not.
	Baseline string `json:"baseline,omitempty"`
	// Repository is "owner/name" when known; links in Markdown point at
	// files of the head commit there.
	Repository string `json:"repository,omitempty"`
	ServerURL  string `json:"serverUrl,omitempty"`
	// CheckedAt is when the check ran (the time waivers were judged at).
	CheckedAt time.Time `json:"checkedAt"`
	// Shard is set on the report of one overlay of a fanned-out check
	// (check --shard); merge joins such reports into the one report.
	Shard *Shard `json:"shard,omitempty"`
}

// Shard says which part of a whole check a per-overlay report is, and
// what every part must agree on to be merged.
type Shard struct {
	// Overlay is the overlay this report judges (the first overlay's
	// shard also judges the deployed directories no overlay covers).
	Overlay string `json:"overlay"`
	// Overlays are every overlay the whole check judges, in its order.
	Overlays []string `json:"overlays"`
	// ConfigDigest is "sha256:<hex>" of the reachgate.yaml that judged.
	ConfigDigest string `json:"configDigest"`
	// RulesDigest is "sha256:<hex>" of the rule pack that judged: the
	// built-in pack's version, the rules' files and the waivers.
	RulesDigest string `json:"rulesDigest"`
}

// Rule describes one compliance rule from its METADATA.
type Rule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity"`
	Description string   `json:"description,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	Controls    []string `json:"controls"`
}

// Failed reports whether any overlay fails the gate.
func (r *Report) Failed() bool {
	for i := range r.Overlays {
		if r.OverlayFailed(&r.Overlays[i]) {
			return true
		}
	}
	return false
}

// OverlayFailed reports whether the overlay fails the gate: it could not
// be evaluated, or an unwaived finding is at or above FailOn (and new,
// with FailOnNew).
func (r *Report) OverlayFailed(o *OverlayReport) bool {
	if o.Error != "" {
		return true
	}
	for _, f := range o.Findings {
		if f.Waived == nil && f.Severity >= r.FailOn && !(r.FailOnNew && f.Baseline == BaselineExisting) {
			return true
		}
	}
	return false
}

// Counts tallies unwaived findings per severity, and waived ones.
func (o *OverlayReport) Counts() (errors, warnings, infos, waived int) {
	for _, f := range o.Findings {
		if f.Waived != nil {
			waived++
			continue
		}
		switch f.Severity {
		case SeverityError:
			errors++
		case SeverityWarning:
			warnings++
		default:
			infos++
		}
	}
	return
}
