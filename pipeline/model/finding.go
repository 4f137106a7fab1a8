package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Severity orders findings: info < warning < error.
type Severity uint8

const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "info"
}

// ParseSeverity accepts info, warning and error.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "info":
		return SeverityInfo, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "error":
		return SeverityError, nil
	}
	return 0, fmt.Errorf("unknown severity %q: want info, warning or error", s)
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Finding is one problem a user has to look at: a rule violation, a failed
// connectivity expectation, or bad input.
type Finding struct {
	RuleID      string    `json:"ruleId"`
	Title       string    `json:"title,omitempty"`
	Severity    Severity  `json:"severity"`
	Message     string    `json:"message"`
	Object      ObjectRef `json:"object"`
	Field       string    `json:"field,omitempty"`
	Location    Location  `json:"location"`
	Controls    []string  `json:"controls"`
	Remediation string    `json:"remediation,omitempty"`
	// Waived holds the waiver that accepts this finding; waived findings
	// are reported but do not fail the gate.
	Waived *Waiver `json:"waived,omitempty"`
	// Baseline is BaselineNew or BaselineExisting when check compared the
	// head's findings with the base's; "" when there was nothing to
	// compare with.
	Baseline string `json:"baseline,omitempty"`
}

// The baseline states of a finding.
const (
	// BaselineNew: the base, judged by the same rules, does not have it.
	BaselineNew = "new"
	// BaselineExisting: the base has it too.
	BaselineExisting = "existing"
)

func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Location.String())
	b.WriteString(": ")
	b.WriteString(f.Severity.String())
	b.WriteString(" ")
	b.WriteString(f.RuleID)
	b.WriteString(": ")
	if f.Object.Name != "" {
		b.WriteString(f.Object.String())
		if f.Field != "" {
			b.WriteString(" ")
			b.WriteString(f.Field)
		}
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// Waiver accepts a finding of one rule on one object until it expires.
type Waiver struct {
	RuleID  string   `json:"rule" yaml:"rule"`
	Object  string   `json:"object" yaml:"object"` // Kind/namespace/name, globs allowed
	Reason  string   `json:"reason" yaml:"reason"`
	Owner   string   `json:"owner" yaml:"owner"`
	Expires string   `json:"expires" yaml:"expires"` // YYYY-MM-DD
	Source  Location `json:"source" yaml:"-"`
}

// InputError is a problem with what the user gave reachgate: a manifest,
// a kustomization, the configuration. It names the file, the object and the
// field so the user can fix it without guessing.
type InputError struct {
	Location Location
	Object   ObjectRef
	Field    string
	Message  string
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Location.String())
	b.WriteString(": ")
	if e.Object.Name != "" || e.Object.Kind != "" {
		b.WriteString(e.Object.String())
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Finding turns a bad input into a reportable finding with rule id
// "input/invalid".
func (e *InputError) Finding() Finding {
	return Finding{
		RuleID:   "input/invalid",
		Title:    "Invalid input",
		Severity: SeverityError,
		Message:  e.Message,
		Object:   e.Object,
		Field:    e.Field,
		Location: e.Location,
		Controls: []string{},
	}
}

// InputErrors is a list of input problems reported together.
type InputErrors []*InputError

func (es InputErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// MarshalJSON keeps Findings readable by machines: nil slices become [].
// It leaves <, > and & as they are, as the report writers do for every
// other string ("a -> b", not "a -\u003e b"); an encoder that escapes
// HTML escapes them in what it writes either way.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	if f.Controls == nil {
		f.Controls = []string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain(f)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
