package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

// relayFlags are the raw time-window flags; flowFlags turns them into
// run.FlowParams before the command runs.
type relayFlags struct {
	since, until string
	last         time.Duration
}

// flowFlags adds --flows and the Hubble Relay flags to cmd.
func flowFlags(cmd *cobra.Command, p *run.FlowParams) {
	f := cmd.Flags()
	rf := &relayFlags{}
	f.StringArrayVar(&p.Files, "flows", nil, "flow log: hubble observe -o jsonpb or -o json export, or neutral JSON Lines; \"-\" is stdin (repeatable)")
	f.StringVar(&p.Relay.Addr, "hubble-relay", "", "read flows live from Hubble Relay at HOST:PORT (gRPC)")
	f.StringVar(&rf.since, "since", "", "relay: start of the window (RFC 3339 time)")
	f.StringVar(&rf.until, "until", "", "relay: end of the window (RFC 3339 time; default now)")
	f.DurationVar(&rf.last, "last", 0, "relay: the window is the last DURATION (e.g. 1h), instead of --since/--until")
	f.BoolVar(&p.Relay.TLS, "tls", false, "relay: connect with TLS (system roots unless --tls-ca)")
	f.StringVar(&p.Relay.CAFile, "tls-ca", "", "relay: CA certificate file to verify the server with (implies --tls)")
	f.StringVar(&p.Relay.CertFile, "tls-cert", "", "relay: client certificate for mutual TLS")
	f.StringVar(&p.Relay.KeyFile, "tls-key", "", "relay: client key for mutual TLS")
	f.StringVar(&p.Relay.ServerName, "tls-server-name", "", "relay: name to verify the server's certificate for")
	f.StringSliceVar(&p.Relay.Namespaces, "relay-namespace", nil, "relay: only flows from or to these namespaces")
	f.DurationVar(&p.Relay.Timeout, "relay-timeout", 5*time.Minute, "relay: deadline for reading the whole window")
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if err := rf.apply(&p.Relay); err != nil {
			return err
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

func (rf *relayFlags) apply(o *run.RelayOptions) error {
	return run.RelayWindow(o, rf.since, rf.until, rf.last, time.Now())
}

func newObserveCmd() *cobra.Command {
	p := run.ObserveParams{}
	cmd := &cobra.Command{
		Use:   "observe [OVERLAY...] --flows FILE...",
		Short: "Judge observed traffic (Hubble flows) against overlays: violations, unenforced flows, unused allowances, unknown endpoints",
		Long: `observe maps every observed flow onto the overlay's workloads and external
ranges and sorts it: violations (dropped, although the overlay or an
expectation allows it), unenforced (forwarded, although the overlay denies
it), denied as intended, unused allowances (policy rules and pairs never
seen in the window: least-privilege candidates) and unknown endpoints.
Without OVERLAY every configured overlay. Exits 1 when an expectation is
violated or forwarded traffic is denied by the overlay.`,
		Example: `  hubble observe --since 1h -o jsonpb > flows.json
  reachgate observe prod --flows flows.json
  reachgate observe prod --hubble-relay hubble-relay:4245 --tls-ca ca.crt --last 1h -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlays = common(cmd), args
			return run.Observe(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&p.Format, "format", "o", "txt", "output format: "+strings.Join(report.ObserveFormats(), ", "))
	cmd.Flags().IntVar(&p.MaxUnusedPairs, "max-unused-pairs", 200, "list at most this many unused pairs per overlay (all are counted)")
	flowFlags(cmd, &p.Flows)
	return cmd
}

func newSuggestCmd() *cobra.Command {
	p := run.SuggestParams{}
	cmd := &cobra.Command{
		Use:   "suggest OVERLAY --workload NAMESPACE/NAME --flows FILE...",
		Short: "Write least-privilege NetworkPolicies for a workload from observed flows, proven against the overlay",
		Long: `suggest drafts an ingress and an egress NetworkPolicy for the workload that
allow exactly the forwarded flows observed to and from it (workload
selectors from its labels, kubernetes.io/metadata.name for namespaces,
named ports where the container declares them, DNS kept), proves them
(reach on the overlay plus the suggestion allows every such flow and
nothing the selectors do not imply; the rules find nothing new), then
writes them into a file of the overlay and adds it to the kustomization.
What it cannot express (an external address outside every named endpoint,
an unknown peer) is listed, not widened. Exits 1 when the proof fails.`,
		Example: `  reachgate suggest prod --workload app/worker --flows flows.json --dry-run`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlay = common(cmd), args[0]
			return run.Suggest(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&p.Workload, "workload", "", "the workload to write policies for (namespace/name)")
	cmd.Flags().StringVar(&p.Out, "out", "", "file name in the overlay's directory (default suggested-NAMESPACE-NAME.yaml)")
	cmd.Flags().BoolVar(&p.DryRun, "dry-run", false, "print the policies and the proof; write nothing")
	cmd.Flags().BoolVar(&p.Force, "force", false, "overwrite the file if it exists")
	flowFlags(cmd, &p.Flows)
	return cmd
}
