package report

import (
	"io"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

// PredicateType is the in-toto predicate type of a reachgate evidence
// attestation; docs/schemas/evidence-predicate-v1.json describes it.
const PredicateType = "https://reachgate.dev/attestation/evidence/v1"

// evidencePredicate is what an attestation of an evidence document says
// about it: the check it records, in a few fields a policy engine can read
// without the document, and the document's own digest. Version 1.
type evidencePredicate struct {
	PredicateVersion string             `json:"predicateVersion"`
	Evidence         predicateEvidence  `json:"evidence"`
	Tool             jsonTool           `json:"tool"`
	Repository       string             `json:"repository,omitempty"`
	Commit           string             `json:"commit,omitempty"`
	CheckedAt        time.Time          `json:"checkedAt"`
	FailOn           model.Severity     `json:"failOn"`
	Passed           bool               `json:"passed"`
	RulesFrom        string             `json:"rulesFrom"`
	Rules            []string           `json:"rules"`
	Environments     []predicateEnv     `json:"environments"`
	Controls         []predicateControl `json:"controls"`
}

type predicateEvidence struct {
	FormatVersion string `json:"formatVersion"`
	SHA256        string `json:"sha256"`
}

type predicateEnv struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	InputDigest string `json:"inputDigest,omitempty"`
	Passed      bool   `json:"passed"`
}

type predicateControl struct {
	Control string            `json:"control"`
	Results map[string]string `json:"results"`
}

func writeEvidencePredicate(w io.Writer, r *evidenceReport) error {
	d := r.latest.doc
	p := evidencePredicate{
		PredicateVersion: "1",
		Evidence:         predicateEvidence{FormatVersion: r.latest.version, SHA256: r.latest.SHA256},
		Tool:             d.Tool, Repository: d.Repository, Commit: d.Head.Commit, CheckedAt: d.CheckedAt,
		FailOn: d.FailOn, Passed: d.Passed, RulesFrom: d.RulesFrom,
		Rules: []string{}, Environments: []predicateEnv{}, Controls: []predicateControl{},
	}
	for _, ru := range d.Rules {
		p.Rules = append(p.Rules, ru.ID)
	}
	for _, o := range d.Overlays {
		p.Environments = append(p.Environments, predicateEnv{Name: o.Name, Path: o.Path, InputDigest: o.InputDigest, Passed: o.Passed})
	}
	for _, c := range d.Controls {
		p.Controls = append(p.Controls, predicateControl{Control: c.Control, Results: c.Results})
	}
	return writeJSON(w, p)
}
