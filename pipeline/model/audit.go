package model

import "time"

// Audit compares what git says an environment should enforce with what
// its cluster runs: the NetworkPolicies, who can reach whom, and the
// workloads.
type Audit struct {
	Overlay     string `json:"overlay"`
	Environment string `json:"environment"`
	Path        string `json:"path"`
	// Git is the commit (or work tree) the overlay was rendered from.
	Git RefInfo `json:"git"`
	// Cluster names the live side: the kubeconfig context and server, or
	// the file the live objects were read from.
	Cluster   string    `json:"cluster"`
	AuditedAt time.Time `json:"auditedAt"`
	// Namespaces are the namespaces read live: those the overlay manages
	// and the inventory's.
	Namespaces []string `json:"namespaces"`
	// Policies are the NetworkPolicies that differ between git and live.
	Policies []PolicyDrift `json:"policies"`
	// Flows is the reachability drift: Before is what git allows, After
	// what the cluster allows, between workloads that exist on both sides
	// and the external ranges.
	Flows *Diff `json:"-"`
	// Unmanaged are workloads running in a managed namespace that git does
	// not declare.
	Unmanaged []UnmanagedWorkload `json:"unmanaged"`
	// NotRunning are workloads git declares that have no pod live (a
	// workload scaled to zero, a CronJob between runs): reported, not
	// drift.
	NotRunning []string `json:"notRunning"`
	// Notes are facts the reader should know that are not drift: a
	// namespace that does not exist live, pods of one workload with
	// different labels.
	Notes []string `json:"notes"`
	// Git and Live are the two matrices, kept for pictures.
	GitMatrix  *Matrix `json:"-"`
	LiveMatrix *Matrix `json:"-"`
	// Problems are input errors of the git side (objects left out).
	Problems []Finding `json:"problems"`
}

// Drift states of a NetworkPolicy.
const (
	PolicyMissingLive = "missing-live" // in git, not in the cluster
	PolicyNotInGit    = "not-in-git"   // in the cluster, not in git
	PolicyDiffers     = "differs"      // in both, with different specs
)

// PolicyDrift is one NetworkPolicy whose live state differs from git.
type PolicyDrift struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	State     string `json:"state"`
	// Source is where git defines the policy; empty for not-in-git.
	Source Location `json:"source"`
	// Changes are the spec fields that differ (for differs).
	Changes []FieldChange `json:"changes"`
}

// Key is "namespace/name".
func (p PolicyDrift) Key() string { return p.Namespace + "/" + p.Name }

// FieldChange is one field that differs: its path in the object, as
// "spec.ingress[0].ports[0].port", and its value in git and live as
// compact JSON ("" when absent on that side).
type FieldChange struct {
	Path string `json:"path"`
	Git  string `json:"git"`
	Live string `json:"live"`
}

// UnmanagedWorkload is a workload found live that git does not declare.
type UnmanagedWorkload struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Kind      string            `json:"kind"`
	Labels    map[string]string `json:"labels"`
	Pods      int               `json:"pods"`
	// IngressIsolated and EgressIsolated say whether some policy (a
	// default deny, typically) selects the workload for that direction, so
	// that only what policies allow reaches it or leaves it.
	IngressIsolated bool `json:"ingressIsolated"`
	EgressIsolated  bool `json:"egressIsolated"`
	HostNetwork     bool `json:"hostNetwork,omitempty"`
}

// Key is "namespace/name".
func (u UnmanagedWorkload) Key() string { return u.Namespace + "/" + u.Name }

// Covered reports whether policies isolate the workload both ways.
func (u UnmanagedWorkload) Covered() bool {
	return u.IngressIsolated && u.EgressIsolated && !u.HostNetwork
}

// Drifted reports whether git and the cluster disagree.
func (a *Audit) Drifted() bool {
	return len(a.Policies) > 0 || !a.Flows.Empty() || len(a.Unmanaged) > 0
}
