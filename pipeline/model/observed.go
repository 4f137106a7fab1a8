package model

import "time"

// Verdicts of observed flows, as Hubble names them.
const (
	VerdictForwarded = "FORWARDED"
	VerdictDropped   = "DROPPED"
)

// ObservedFlow is observed traffic from one peer to another on one port
// with one verdict, its repeats aggregated: how often it was seen, first
// and last. Src and Dst are matrix peer keys (Peer.Key: "namespace/name"
// or an external range); the labels are Peer.String().
type ObservedFlow struct {
	Src, Dst           string
	SrcLabel, DstLabel string
	// SrcPeer and DstPeer index the matrix the flow was mapped onto.
	SrcPeer, DstPeer int32
	Protocol         Protocol
	Port             uint16
	Verdict          string
	// DropReason is Hubble's drop_reason_desc (POLICY_DENIED, ...) of a
	// dropped flow.
	DropReason  string
	Count       int64
	First, Last time.Time
}

// Window is the time observed traffic spans.
type Window struct {
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// Duration is the window's length.
func (w Window) Duration() time.Duration {
	if w.First.IsZero() || w.Last.IsZero() {
		return 0
	}
	return w.Last.Sub(w.First)
}

// LineError is an input line that could not be used.
type LineError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Tally is a count of something, with a reason.
type Tally struct {
	What  string `json:"what"`
	Count int64  `json:"count"`
}

// FlowInput says what flows were read and what could not be used.
type FlowInput struct {
	Sources []string `json:"sources"`
	// Lines is how many lines were read; Flows how many flow records
	// (their aggregated counts summed) were used.
	Lines int64 `json:"lines"`
	Flows int64 `json:"flows"`
	// Malformed are lines that could not be decoded, the first ones with
	// their line numbers; MalformedCount counts them all.
	Malformed      []LineError `json:"malformed"`
	MalformedCount int64       `json:"malformedCount"`
	// Truncated counts the malformed lines that were a source's last
	// line without a newline (an export cut off while being written):
	// reported, but no input error.
	Truncated int `json:"truncated"`
	// Skipped counts records that are not connection attempts reachgate
	// judges: replies, non-flow events, ICMP, self traffic, ...
	Skipped []Tally `json:"skipped"`
	Window  Window  `json:"window"`
}

// DroppedFlow is a dropped flow with what the overlay says about it.
type DroppedFlow struct {
	Flow ObservedFlow
	// Side is which side of the overlay denies it: "egress", "ingress",
	// "egress and ingress", or "" when the overlay allows it.
	Side string
	// Reason is explain's one-line reason.
	Reason string
	// OverlayAllows is true when the overlay's policies allow the flow:
	// the cluster drops what git allows.
	OverlayAllows bool
	// Expected is the allow expectation that says the flow must be open,
	// if any.
	Expected *Location
}

// UnenforcedFlow is a forwarded flow that the overlay's policies deny.
type UnenforcedFlow struct {
	Flow   ObservedFlow
	Side   string
	Reason string
}

// UnusedRule is a policy rule that allows connections of which none was
// seen in the window.
type UnusedRule struct {
	Rule RuleRef
	// Connections is how many connections of the matrix it allows.
	Connections int
}

// UnusedPair is a connection the overlay allows on ports none of which
// were seen (Seen empty) or on more ports than were seen.
type UnusedPair struct {
	Src, Dst string // Peer.String()
	Allowed  PortSet
	Seen     PortSet
}

// UnknownEndpoint is an endpoint that could not be mapped to a workload or
// an external range.
type UnknownEndpoint struct {
	Endpoint    string `json:"endpoint"`
	Reason      string `json:"reason"`
	Count       int64  `json:"count"`
	First, Last time.Time
}

// ObserveReport is what `reachgate observe` found for one overlay.
type ObserveReport struct {
	Overlay, Environment, Path string
	Input                      FlowInput
	// Violations are dropped flows the overlay allows or an expectation
	// says must be open; Denied the dropped flows the overlay denies, as
	// intended.
	Violations []DroppedFlow
	Denied     []DroppedFlow
	Unenforced []UnenforcedFlow
	// Allowed are forwarded flows the overlay allows.
	Allowed []ObservedFlow
	// UnusedRules and UnusedPairs are least-privilege candidates;
	// UnusedPairsTotal counts the pairs UnusedPairs was cut from.
	UnusedRules      []UnusedRule
	UnusedPairs      []UnusedPair
	UnusedPairsTotal int
	Unknown          []UnknownEndpoint
}

// ExpectationViolations counts violations an allow expectation covers.
func (r *ObserveReport) ExpectationViolations() int {
	n := 0
	for _, v := range r.Violations {
		if v.Expected != nil {
			n++
		}
	}
	return n
}

// Failed reports whether observe exits 1: an expectation is violated or
// forwarded traffic is denied by the overlay.
func (r *ObserveReport) Failed() bool {
	return r.ExpectationViolations() > 0 || len(r.Unenforced) > 0
}

// TrafficImpact is what a change does to observed traffic (check --flows).
type TrafficImpact struct {
	Input FlowInput
	// Blocked are forwarded flows the head denies; BaseAllowed says which
	// of them the base allowed (those the change blocks).
	Blocked []ImpactFlow
	// Unblocked are dropped flows the head allows and the base denied.
	Unblocked []ImpactFlow
	Unknown   []UnknownEndpoint
}

// ImpactFlow is an observed flow and what base and head say of it.
type ImpactFlow struct {
	Flow        ObservedFlow
	BaseAllowed bool
	// Side is the side of the head that denies it, Reason explain's
	// reason (for Blocked).
	Side   string
	Reason string
}

// Totals sums the flows and how often they were seen, with the window
// they were seen in.
func Totals(fs []ImpactFlow) (flows int, seen int64, w Window) {
	for _, f := range fs {
		flows++
		seen += f.Flow.Count
		if w.First.IsZero() || f.Flow.First.Before(w.First) {
			w.First = f.Flow.First
		}
		if f.Flow.Last.After(w.Last) {
			w.Last = f.Flow.Last
		}
	}
	return
}
