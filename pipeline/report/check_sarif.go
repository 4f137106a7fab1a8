package report

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The subset of SARIF 2.1.0 that GitHub code scanning reads.
// https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	// fingerprintKey names reachgate's partial fingerprint; bump the
	// suffix if the hashed fields ever change.
	fingerprintKey = "reachgateFinding/v1"
)

// sarifLog is the document writeCheckSARIF writes a piece at a time (see
// jsonStream): the fields before its list of runs, which has one run, then
// the run's tool before its results.
type sarifLog struct {
	sarifLogHead
	Runs []sarifRun `json:"runs"`
}

type sarifLogHead struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
}

type sarifRun struct {
	sarifRunHead
	Results []sarifResult `json:"results"`
}

type sarifRunHead struct {
	Tool sarifTool `json:"tool"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name,omitempty"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      *sarifText         `json:"fullDescription,omitempty"`
	Help                 *sarifText         `json:"help,omitempty"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags []string `json:"tags"`
	// SecuritySeverity lets GitHub rank the alert as critical, high,
	// medium or low.
	SecuritySeverity string `json:"security-severity"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []sarifSuppress   `json:"suppressions,omitempty"`
	// BaselineState is "new" or "unchanged" when check compared the
	// findings with the base's.
	BaselineState string           `json:"baselineState,omitempty"`
	Properties    sarifResultProps `json:"properties"`
}

type sarifResultProps struct {
	Overlays []string `json:"overlays"`
	Object   string   `json:"object,omitempty"`
	Field    string   `json:"field,omitempty"`
}

type sarifSuppress struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func sarifLevel(s model.Severity) string {
	switch s {
	case model.SeverityError:
		return "error"
	case model.SeverityWarning:
		return "warning"
	}
	return "note"
}

func securitySeverity(s model.Severity) string {
	switch s {
	case model.SeverityError:
		return "8.0"
	case model.SeverityWarning:
		return "5.0"
	}
	return "2.0"
}

// fingerprint identifies a finding across runs and line moves: a hash of
// the rule id, the object and the message.
func fingerprint(f *model.Finding) string {
	h := sha256.New()
	for _, s := range []string{f.RuleID, f.Object.String(), f.Message} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// sarifURI makes a location repo-relative with forward slashes.
func sarifURI(file string) string {
	file = strings.ReplaceAll(file, `\`, "/")
	file = path.Clean(strings.TrimPrefix(file, "./"))
	return strings.TrimPrefix(file, "/")
}

// writeCheckSARIF writes one SARIF run with a result per distinct
// finding; a finding reported by several overlays (a shared base file) is
// one result that lists them. Waived findings carry an accepted
// suppression. Findings without a file point at the overlay's
// kustomization.yaml, line 1, since GitHub needs a location.
func writeCheckSARIF(w io.Writer, r *model.Report, opts Options) error {
	type ruleAcc struct {
		rule  sarifRule
		worst model.Severity
	}
	rules := map[string]*ruleAcc{}
	// Every rule that judged the report is listed, with its metadata,
	// whether or not it found anything.
	for _, ru := range r.Rules {
		acc := &ruleAcc{worst: ru.Severity, rule: sarifRule{ID: ru.ID, Name: ruleName(ru.ID), ShortDescription: sarifText{Text: ru.Title}}}
		if ru.Description != "" {
			acc.rule.FullDescription = &sarifText{Text: ru.Description}
		}
		if ru.Remediation != "" {
			acc.rule.Help = &sarifText{Text: ru.Remediation}
		}
		acc.rule.Properties.Tags = slices.Clone(ru.Controls)
		rules[ru.ID] = acc
	}
	type key struct {
		rule, object, field, message, file string
		line                               int
	}
	var results []*sarifResult
	byKey := map[key]*sarifResult{}

	for i := range r.Overlays {
		o := &r.Overlays[i]
		fs := o.Findings
		if o.Error != "" {
			fs = append(slices.Clone(fs), model.Finding{
				RuleID: "overlay/error", Title: "Overlay could not be evaluated", Severity: model.SeverityError,
				Message: o.Error, Controls: []string{},
			})
		}
		for j := range fs {
			f := &fs[j]
			acc := rules[f.RuleID]
			if acc == nil {
				acc = &ruleAcc{worst: f.Severity, rule: sarifRule{ID: f.RuleID, Name: ruleName(f.RuleID)}}
				rules[f.RuleID] = acc
			}
			acc.worst = max(acc.worst, f.Severity)
			if acc.rule.ShortDescription.Text == "" && f.Title != "" {
				acc.rule.ShortDescription.Text = f.Title
			}
			if acc.rule.Help == nil && f.Remediation != "" {
				acc.rule.Help = &sarifText{Text: f.Remediation}
			}
			for _, c := range f.Controls {
				if !slices.Contains(acc.rule.Properties.Tags, c) {
					acc.rule.Properties.Tags = append(acc.rule.Properties.Tags, c)
				}
			}

			file, line := f.Location.File, f.Location.Line
			if file == "" {
				file = path.Join(sarifURI(o.Path), "kustomization.yaml")
				if o.Path == "" {
					file = "kustomization.yaml"
				}
			}
			line = max(line, 1)
			k := key{f.RuleID, f.Object.String(), f.Field, f.Message, sarifURI(file), line}
			if res := byKey[k]; res != nil {
				if !slices.Contains(res.Properties.Overlays, o.Name) {
					res.Properties.Overlays = append(res.Properties.Overlays, o.Name)
				}
				if f.Baseline == model.BaselineNew {
					res.BaselineState = "new"
				}
				continue
			}
			res := &sarifResult{
				RuleID:  f.RuleID,
				Level:   sarifLevel(f.Severity),
				Message: sarifText{Text: sarifMessage(f)},
				Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
					ArtifactLocation: sarifArtifact{URI: sarifURI(file), URIBaseID: "%SRCROOT%"},
					Region:           sarifRegion{StartLine: line},
				}}},
				PartialFingerprints: map[string]string{fingerprintKey: fingerprint(f)},
				Properties:          sarifResultProps{Overlays: []string{o.Name}, Field: f.Field},
			}
			switch f.Baseline {
			case model.BaselineNew:
				res.BaselineState = "new"
			case model.BaselineExisting:
				res.BaselineState = "unchanged"
			}
			if f.Object.Name != "" {
				res.Properties.Object = f.Object.String()
			}
			if f.Waived != nil {
				res.Suppressions = []sarifSuppress{{Kind: "external", Status: "accepted", Justification: strings.TrimPrefix(strings.TrimSuffix(waiverText(f.Waived), "]"), "[")}}
			}
			byKey[k] = res
			results = append(results, res)
		}
	}

	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	index := map[string]int{}
	driver := sarifDriver{Name: "reachgate", Version: opts.Version, InformationURI: "https://github.com/reachgate/reachgate", Rules: make([]sarifRule, len(ids))}
	for i, id := range ids {
		acc := rules[id]
		rule := acc.rule
		if rule.ShortDescription.Text == "" {
			rule.ShortDescription.Text = id
		}
		// GitHub reads security-severity only for rules tagged security.
		rule.Properties.Tags = append([]string{"security"}, slices.Sorted(slices.Values(rule.Properties.Tags))...)
		rule.DefaultConfiguration = sarifConfiguration{Level: sarifLevel(acc.worst)}
		rule.Properties.SecuritySeverity = securitySeverity(acc.worst)
		driver.Rules[i] = rule
		index[id] = i
	}
	// Results in a stable order: by file, line, rule and message.
	slices.SortStableFunc(results, func(a, b *sarifResult) int {
		pa, pb := a.Locations[0].PhysicalLocation, b.Locations[0].PhysicalLocation
		if c := strings.Compare(pa.ArtifactLocation.URI, pb.ArtifactLocation.URI); c != 0 {
			return c
		}
		if pa.Region.StartLine != pb.Region.StartLine {
			return pa.Region.StartLine - pb.Region.StartLine
		}
		if c := strings.Compare(a.RuleID, b.RuleID); c != 0 {
			return c
		}
		return strings.Compare(a.Message.Text, b.Message.Text)
	})
	for _, res := range results {
		res.RuleIndex = index[res.RuleID]
		slices.Sort(res.Properties.Overlays)
		if len(res.Properties.Overlays) > 1 || len(r.Overlays) > 1 {
			res.Message.Text += " [" + strings.Join(res.Properties.Overlays, ", ") + "]"
		}
	}
	js := newJSONStream(w)
	js.object(sarifLogHead{Schema: sarifSchema, Version: sarifVersion}, "runs", "[")
	js.object(sarifRunHead{Tool: sarifTool{Driver: driver}}, "results", "[")
	js.each(len(results), func(b []byte, i int) ([]byte, error) {
		m, err := marshalCompact(results[i])
		return append(b, m...), err
	})
	js.raw("]}]}")
	return js.close()
}

// ruleName is the id with path separators turned to dashes: SARIF
// wants a name without slashes.
func ruleName(id string) string {
	return strings.NewReplacer("/", "-", " ", "-").Replace(id)
}

// sarifMessage is the finding without its location (SARIF has that):
// "Deployment app/x spec.field: message".
func sarifMessage(f *model.Finding) string {
	var b strings.Builder
	if f.Object.Name != "" {
		b.WriteString(f.Object.String())
		if f.Field != "" {
			b.WriteString(" " + f.Field)
		}
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}
