package main

import (
	"github.com/reachgate/reachgate/internal/buildinfo"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

func newAuditCmd() *cobra.Command {
	p := run.AuditParams{}
	cmd := &cobra.Command{
		Use:   "audit OVERLAY (--kubeconfig FILE [--context C] | --live-file FILE)",
		Short: "Compare what a cluster runs with what git says: policy, reachability and workload drift (read-only)",
		Long: `audit renders OVERLAY from git (the work tree, or --ref) and reads the
live state of its cluster with client-go: Namespaces, Pods (labels,
addresses, hostNetwork, owners), Services and NetworkPolicies in the
namespaces the overlay manages and the inventory's. It reports
NetworkPolicies missing live, live but not in git, or with another spec
(field by field); flows allowed live and not by git, and the reverse
(computed with the pods' real addresses); and workloads running in a
managed namespace that git does not declare, with whether a default deny
covers them. It only gets and lists (docs/audit.md has the ClusterRole).

Exit codes: 0 no drift, 1 drift, 2 input errors.`,
		Example: `  reachgate audit prod --kubeconfig ~/.kube/prod --context prod-eu1 --format markdown`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlay, p.Version = common(cmd), args[0], buildinfo.Version()
			if !cmd.Flags().Changed("color") {
				p.Color = isTerminal(cmd)
			}
			return run.Audit(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default $KUBECONFIG, else ~/.kube/config)")
	f.StringVar(&p.Context, "context", "", "kubeconfig context (default the current one)")
	f.StringVar(&p.LiveFile, "live-file", "", "read live objects from this file (kubectl get namespaces,pods,services,networkpolicies -A -o yaml) instead of a cluster")
	f.StringVar(&p.Ref, "ref", "", "git ref to compare with (default: the work tree)")
	f.StringVarP(&p.Format, "format", "o", "text", "format on stdout: "+strings.Join(report.AuditFormats(), ", "))
	f.StringArrayVar(&p.Outputs, "output", nil, "also write FORMAT=FILE (repeatable)")
	f.BoolVar(&p.Color, "color", false, "colour text output (default: when stdout is a terminal)")
	return cmd
}

func newHistoryCmd() *cobra.Command {
	p := run.HistoryParams{}
	cmd := &cobra.Command{
		Use:   "history OVERLAY",
		Short: "Print how an overlay's reachability changed, commit by commit, with author, date and pull request",
		Long: `history walks the first-parent history of the branch (or --until REF),
renders OVERLAY at every commit that changed a file its render reads, and
prints the reachability change each made, as a changelog:

  2026-11-30 #42 (Alice Example): +app/worker → app/postgres TCP 5432

The pull request number comes from the merge commit's subject ("Merge pull
request #42" or a squash merge's "(#42)"). Renders are cached by the digest
of their inputs, so a revert costs nothing.`,
		Example: `  reachgate history prod --since 2026-10-01 --format md`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlay = common(cmd), args[0]
			return run.History(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Since, "since", "", "only changes from this day on (YYYY-MM-DD, UTC)")
	f.StringVar(&p.Until, "until", "", "ref whose first-parent history is read (default HEAD)")
	f.StringVarP(&p.Format, "format", "o", "md", "output format: "+strings.Join(report.HistoryFormats(), ", "))
	return cmd
}

func newReviewCmd() *cobra.Command {
	p := run.ReviewParams{}
	cmd := &cobra.Command{
		Use:   "review",
		Short: "List what a scheduled policy review must look at; keep it as one sticky GitHub issue",
		Long: `review lists the waivers that expired or expire soon (review.expiringWithin
in reachgate.yaml, default 30d), the NetworkPolicy and expectations files
nobody changed for longer than review.maxAge (default 180d, from git), the
rules failing at HEAD, and, with --kubeconfig, the live drift of the
overlays named by --audit.

With --repo it keeps the result as one issue, found by its hidden marker
and written by the token's identity (GITHUB_TOKEN): created or updated
while something is due, closed when nothing is. Issues anybody else wrote
are never edited.`,
		Example: `  GITHUB_TOKEN=... reachgate review --repo acme/policies --kubeconfig kubeconfig --audit prod=prod-eu1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Token = common(cmd), os.Getenv("GITHUB_TOKEN")
			return run.Review(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&p.Format, "format", "o", "md", "output format: "+strings.Join(report.ReviewFormats(), ", "))
	f.StringVar(&p.Kubeconfig, "kubeconfig", "", "kubeconfig for the live audits of --audit")
	f.StringArrayVar(&p.Audit, "audit", nil, "audit this overlay live: OVERLAY or OVERLAY=CONTEXT (repeatable)")
	f.StringVar(&p.Repo, "repo", "", "keep the review as a sticky issue in this repository (owner/name)")
	f.StringVar(&p.APIURL, "api-url", os.Getenv("GITHUB_API_URL"), "REST API root (GitHub Enterprise: https://HOST/api/v3/)")
	f.StringVar(&p.Author, "author", "", "login whose issues count as the review's (default: the token's identity)")
	f.StringVar(&p.Marker, "marker", "reachgate:policy-review", "sticky issue key, written as a hidden marker at the top of the body")
	return cmd
}

func newReportCmd() *cobra.Command {
	p := run.ReportParams{}
	cmd := &cobra.Command{
		Use:   "report --evidence FILE... [--format html|md|predicate]",
		Short: "Turn evidence documents into an audit report: controls per environment, exceptions, changes, reachability, digests",
		Long: `report reads one or more evidence documents (reachgate check --output
evidence=FILE; for example a quarter's artifacts of the compliance-evidence
workflow) and writes one report: per control its status per environment
and the rules behind it, the waivers in force, the reachability changes
between the checks of the period, who can reach whom in each environment,
and the digest of every document and judged input. The HTML page is
self-contained (it works offline) and prints well. --format predicate
writes the in-toto predicate the workflow attests one document with.`,
		Example: `  reachgate report --evidence q3/*.json --format html > audit-q3.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run.Report(p, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringArrayVar(&p.Evidence, "evidence", nil, "evidence document (repeatable; a shell glob expands to several)")
	cmd.Flags().StringVarP(&p.Format, "format", "o", "html", "output format: "+strings.Join(report.EvidenceReportFormats(), ", "))
	return cmd
}
