package model

import "time"

// History is how an overlay's reachability changed over the first-parent
// history of a branch: one entry per commit that changed what the overlay
// renders from.
type History struct {
	Overlay     string    `json:"overlay"`
	Environment string    `json:"environment"`
	Path        string    `json:"path"`
	Until       RefInfo   `json:"until"`
	Since       time.Time `json:"since,omitzero"`
	// Commits is how many first-parent commits were looked at; Rendered
	// how many of them changed the overlay's inputs and were rendered
	// (or found in the cache by their inputs' digest).
	Commits  int            `json:"commits"`
	Rendered int            `json:"rendered"`
	Entries  []HistoryEntry `json:"entries"`
}

// HistoryEntry is one commit that changed an overlay's inputs.
type HistoryEntry struct {
	Commit  string    `json:"commit"`
	Author  string    `json:"author"`
	Date    time.Time `json:"date"`
	Subject string    `json:"subject"`
	// PR is the pull request the commit merged (from "Merge pull request
	// #42" or a squash merge's "(#42)"); 0 when it names none.
	PR int `json:"pr,omitempty"`
	// Event is "created" (the overlay renders for the first time),
	// "changed", "removed" (it no longer exists) or "error" (it does not
	// render: Error says why).
	Event string `json:"event"`
	Error string `json:"error,omitempty"`
	// Diff is the reachability change since the previous entry; for
	// "created", every flow is added.
	Diff *Diff `json:"-"`
	// InputDigest identifies the overlay's inputs at the commit.
	InputDigest string `json:"inputDigest"`
}
