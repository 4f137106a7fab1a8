// Package observe judges observed traffic against an overlay. It reads
// flow logs (Hubble's `hubble observe -o jsonpb` and `-o json` exports,
// Hubble Relay's GetFlows stream, and a neutral JSON Lines format for
// other sources), maps each flow's endpoints onto the overlay's workloads
// and external ranges, aggregates repeats, and sorts the flows into
// categories: violations, unenforced flows, unused allowances and unknown
// endpoints. It also drafts least-privilege NetworkPolicies from observed
// flows (Suggest) and writes Hubble flows (WriteHubble) for the kernel
// lab's probes.
//
// Hubble flows are the upstream types of github.com/cilium/cilium/api/v1,
// decoded in the protojson mapping. See docs/observe.md.
package observe
