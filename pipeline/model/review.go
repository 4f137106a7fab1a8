package model

import "time"

// Review is what is due in a scheduled policy review.
type Review struct {
	At  time.Time `json:"at"`
	Ref RefInfo   `json:"ref"`
	// MaxAge and ExpiringWithin are the configured windows, as written.
	MaxAge         string `json:"maxAge"`
	ExpiringWithin string `json:"expiringWithin"`
	// Waivers have expired or expire within ExpiringWithin.
	Waivers []ReviewWaiver `json:"waivers"`
	// Stale are policy and expectations files unchanged for longer than
	// MaxAge.
	Stale []StaleFile `json:"stale"`
	// Failing are the unwaived findings at error severity of the reviewed
	// ref.
	Failing []ReviewFinding `json:"failing"`
	// Drift is the live audit of the overlays that have a cluster.
	Drift []ReviewDrift `json:"drift"`
}

// ReviewWaiver is a waiver that has expired or soon will.
type ReviewWaiver struct {
	Waiver
	Expired bool `json:"expired"`
	// Days until it expires (negative: since it expired).
	Days int `json:"days"`
}

// StaleFile is a file of NetworkPolicies or expectations that nobody
// changed for longer than the review age.
type StaleFile struct {
	File string `json:"file"`
	// Kind is "policies" or "expectations".
	Kind string `json:"kind"`
	// Objects are the policies in the file ("namespace/name"), or the
	// overlay of an expectations file.
	Objects    []string  `json:"objects"`
	Overlays   []string  `json:"overlays"`
	LastChange time.Time `json:"lastChange"`
	Author     string    `json:"author"`
	Commit     string    `json:"commit"`
}

// ReviewFinding is a failing finding of one overlay.
type ReviewFinding struct {
	Overlay string `json:"overlay"`
	Finding
}

// ReviewDrift is the outcome of auditing one overlay's cluster.
type ReviewDrift struct {
	Overlay string `json:"overlay"`
	Cluster string `json:"cluster"`
	// Summary is the audit's verdict line; Error is set when the cluster
	// could not be read.
	Summary string `json:"summary"`
	Drifted bool   `json:"drifted"`
	Error   string `json:"error,omitempty"`
}

// Due reports whether anything needs a person.
func (r *Review) Due() bool {
	if len(r.Waivers)+len(r.Stale)+len(r.Failing) > 0 {
		return true
	}
	for _, d := range r.Drift {
		if d.Drifted || d.Error != "" {
			return true
		}
	}
	return false
}
