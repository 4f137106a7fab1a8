package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/reachgate/reachgate/internal/buildinfo"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "reachgate",
		Short: "Gate Kubernetes NetworkPolicy changes on who-can-reach-whom",
		Long: `reachgate renders each Kustomize overlay of a GitOps repository, computes
which workloads and external addresses can reach which (and which policy
rule allows each flow), evaluates Rego compliance rules and connectivity
expectations, and reports the difference a pull request makes.

Exit codes: 0 pass, 1 policy failures (or denied, for explain), 2 usage or
input errors.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Get().String(),
	}
	root.SetVersionTemplate("reachgate {{.Version}}\n")
	useFlagUsages(root)
	root.PersistentFlags().String("config", "", "configuration file (default reachgate.yaml at the repository root)")
	root.PersistentFlags().StringP("dir", "C", "", "repository directory (default the current directory)")
	root.AddCommand(
		newCheckCmd(),
		newRenderCmd(),
		newReachCmd(),
		newExplainCmd(),
		newDiffCmd(),
		newPromoteCmd(),
		newTestCmd(),
		newRulesCmd(),
		newValidateCmd(),
		newVerifyCmd(),
		newObserveCmd(),
		newSuggestCmd(),
		newCommentCmd(),
		newAuditCmd(),
		newHistoryCmd(),
		newReviewCmd(),
		newReportCmd(),
		newInitCmd(),
		newExpectCmd(),
		newExerciseCmd(),
		newOverlaysCmd(),
		newMergeCmd(),
	)
	return root
}

func common(cmd *cobra.Command) run.Common {
	cfg, _ := cmd.Flags().GetString("config")
	dir, _ := cmd.Flags().GetString("dir")
	return run.Common{Config: cfg, Dir: dir}
}

func newRenderCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "render OVERLAY",
		Short:   "Print an overlay's rendered objects; fails on objects the model or the API server would refuse",
		Example: `  reachgate render prod > prod.yaml`,
		Long:    "OVERLAY is an overlay name from reachgate.yaml or a path to a kustomization directory or a directory of manifests.",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run.Render(cmd.Context(), run.RenderParams{Common: common(cmd), Overlay: args[0]}, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

func newReachCmd() *cobra.Command {
	p := run.ReachParams{}
	cmd := &cobra.Command{
		Use:     "reach OVERLAY",
		Short:   "Print who can reach whom in an overlay, with the policies behind each flow",
		Example: `  reachgate reach prod --namespace app -o md`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlay = common(cmd), args[0]
			return run.Reach(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&p.Format, "format", "o", "txt", "output format: "+strings.Join(report.MatrixFormats(), ", "))
	cmd.Flags().StringVar(&p.Workload, "workload", "", "only flows from or to this workload (namespace/name)")
	cmd.Flags().StringVar(&p.Namespace, "namespace", "", "only flows from or to this namespace")
	cmd.Flags().BoolVar(&p.EveryRange, "every-range", false, "txt and md: one row per external address range, not one per endpoint reached the same way")
	return cmd
}

func newExplainCmd() *cobra.Command {
	p := run.ExplainParams{}
	cmd := &cobra.Command{
		Use:     "explain OVERLAY SRC DST",
		Short:   "Say whether SRC can reach DST and which policies decide it",
		Example: `  reachgate explain prod app/frontend app/postgres --port 5432/TCP`,
		Long: `SRC and DST are namespace/workload (namespace/workload[Kind] where
workloads of several kinds share the name), an IP address, a CIDR or address
range, the name of an external endpoint from reachgate.yaml, or any peer label
reachgate prints, such as internet(0.0.0.0/5,8.0.0.0/7). Exits 1 when the
traffic is denied.`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlay, p.Src, p.Dst = common(cmd), args[0], args[1], args[2]
			return run.Explain(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&p.Port, "port", "", "one port to ask about, like 5432/TCP or 53/UDP (default: any)")
	cmd.Flags().StringVarP(&p.Format, "format", "o", "txt", "output format: txt, json")
	return cmd
}

func newCheckCmd() *cobra.Command {
	p := run.CheckParams{}
	cmd := &cobra.Command{
		Use:     "check [OVERLAY...]",
		Short:   "Run the whole gate: render base and head, rules, expectations, reachability diff",
		Example: `  reachgate check --base main --output json=report.json --output sarif=reachgate.sarif`,
		Long: `check renders every overlay (or those named) at the base ref and at the
head, evaluates the Rego rules (read from the base ref unless --rules-from
head) and the connectivity expectations on the head, and diffs the
reachability of base and head.

The base is --base, else the pull request's base in GitHub Actions, else the
merge-base of HEAD with the default branch; --base none checks the head
alone. The head is the work tree unless --head names a ref.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlays, p.Version = common(cmd), args, buildinfo.Version()
			if !cmd.Flags().Changed("color") {
				p.Color = isTerminal(cmd)
			}
			return run.Check(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Base, "base", "", "base ref (default: from the GitHub event, else the merge-base with the default branch; \"none\" for no base)")
	f.StringVar(&p.Head, "head", "", "head ref (default: the work tree)")
	f.StringVar(&p.RulesFrom, "rules-from", "base", "which ref's rules, params and waivers judge the head: base or head")
	f.StringVar(&p.FailOn, "fail-on", "error", "lowest severity that fails the check: error, warning or info (the judging reachgate.yaml's failOn can make it stricter)")
	f.BoolVar(&p.FailOnNew, "fail-on-new", false, "fail only on findings the base does not have (adopting the gate without fixing history first)")
	f.StringVarP(&p.Format, "format", "o", "text", "format on stdout: "+strings.Join(report.Formats(), ", "))
	f.StringArrayVar(&p.Outputs, "output", nil, "also write FORMAT=FILE (repeatable), e.g. --output json=report.json --output sarif=reachgate.sarif")
	f.BoolVar(&p.Color, "color", false, "colour text output (default: when stdout is a terminal)")
	f.StringVar(&p.Marker, "marker", "reachgate:check", "sticky comment key, written as a hidden marker at the top of the markdown")
	f.StringVar(&p.Shard, "shard", "", "judge this overlay only, as one job of a fan-out whose reports reachgate merge joins")
	flowFlags(cmd, &p.Flows)
	return cmd
}

func newDiffCmd() *cobra.Command {
	p := run.DiffParams{}
	cmd := &cobra.Command{
		Use:     "diff --base REF [--head REF] [OVERLAY...]",
		Short:   "Print how reachability changes between two refs",
		Example: `  reachgate diff --base main prod -o md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlays = common(cmd), args
			return run.Diff(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&p.Base, "base", "", "base ref (required)")
	cmd.Flags().StringVar(&p.Head, "head", "", "head ref (default: the work tree)")
	cmd.Flags().StringVarP(&p.Format, "format", "o", "txt", "output format: txt, json, md")
	return cmd
}

func newPromoteCmd() *cobra.Command {
	p := run.PromoteParams{}
	cmd := &cobra.Command{
		Use:     "promote FROM TO",
		Short:   "Print the reachability difference between two overlays; fails when TO allows flows FROM does not",
		Example: `  reachgate promote staging prod`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.From, p.To = common(cmd), args[0], args[1]
			return run.Promote(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&p.Format, "format", "o", "txt", "output format: txt, json, md")
	return cmd
}

func newTestCmd() *cobra.Command {
	p := run.TestParams{}
	cmd := &cobra.Command{
		Use:     "test [OVERLAY...]",
		Short:   "Run the Rego unit tests and every overlay's connectivity expectations",
		Example: `  reachgate test prod --verbose`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlays = common(cmd), args
			return run.Test(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVarP(&p.Verbose, "verbose", "v", false, "list passing tests too")
	return cmd
}

func newRulesCmd() *cobra.Command {
	p := run.RulesParams{}
	cmd := &cobra.Command{
		Use:     "rules",
		Short:   "List the compliance rules with their severity and the controls they map to",
		Example: `  reachgate rules -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common = common(cmd)
			return run.Rules(p, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&p.Format, "format", "o", "txt", "output format: txt, json")
	return cmd
}

func newValidateCmd() *cobra.Command {
	p := run.ValidateParams{}
	cmd := &cobra.Command{
		Use:     "validate [OVERLAY|PATH...]",
		Short:   "Check rendered objects as the API server would (offline, or server-side dry-run with --kubeconfig)",
		Example: `  reachgate validate prod --kubeconfig ~/.kube/config`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlays = common(cmd), args
			return run.Validate(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&p.Kubeconfig, "kubeconfig", "", "also dry-run every object against the cluster of this kubeconfig")
	return cmd
}

func newVerifyCmd() *cobra.Command {
	p := run.VerifyParams{}
	cmd := &cobra.Command{
		Use:     "verify OVERLAY",
		Short:   "Enforce the overlay's policies in a network-namespace lab on this kernel and compare with the engine (root)",
		Example: `  sudo reachgate verify prod --record-flows flows.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if p.Cleanup {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common = common(cmd)
			if len(args) > 0 {
				p.Overlay = args[0]
			}
			return run.Verify(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&p.Cleanup, "cleanup", false, "remove namespaces and links left by crashed runs, then exit")
	cmd.Flags().BoolVarP(&p.Verbose, "verbose", "v", false, "log lab progress on stderr")
	cmd.Flags().StringVar(&p.RecordFlows, "record-flows", "", "write every probe as a Hubble flow (FORWARDED or DROPPED as the kernel decided) to this file")
	return cmd
}

func newCommentCmd() *cobra.Command {
	p := run.CommentParams{}
	cmd := &cobra.Command{
		Use:     "comment --report report.json",
		Short:   "Create or update the sticky pull-request comment from a saved check report",
		Example: `  reachgate comment --report report.json --pr 42 --expect-head "$HEAD_SHA" --status`,
		Long: `comment renders the markdown of a report written by
"reachgate check --output json=report.json" and posts it as one sticky comment,
found again by its hidden marker. The token comes from GITHUB_TOKEN and is
never printed. Repository, pull request and API URL default to the GitHub
Actions environment.

The report is not trusted. Nothing is published unless the pull request's
live head is --expect-head and the report's head.commit is that same
commit; statuses (--status, which needs --expect-head) go to that commit
only. Only comments written by the token's identity (--comment-author) are
ever edited or deleted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Token = os.Getenv("GITHUB_TOKEN")
			if p.Summary == "" {
				p.Summary = os.Getenv("GITHUB_STEP_SUMMARY")
			}
			return run.Comment(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Report, "report", "report.json", "report written by check --output json=FILE")
	f.StringVar(&p.Repo, "repo", os.Getenv("GITHUB_REPOSITORY"), "owner/name of the repository")
	f.IntVar(&p.PR, "pr", 0, "pull request number")
	f.StringVar(&p.Marker, "marker", "reachgate:check", "sticky comment key; one comment per key and pull request")
	f.StringVar(&p.APIURL, "api-url", os.Getenv("GITHUB_API_URL"), "REST API root (GitHub Enterprise: https://HOST/api/v3/)")
	f.StringVar(&p.ServerURL, "server-url", os.Getenv("GITHUB_SERVER_URL"), "web root the comment's links point to (default https://github.com)")
	f.BoolVar(&p.Status, "status", false, "also set a commit status reachgate/OVERLAY on the verified head commit (needs --expect-head)")
	f.StringVar(&p.ExpectHead, "expect-head", "", "the commit the gate ran on: refuse unless the pull request's head and the report's head.commit are this commit")
	f.StringVar(&p.CommentAuthor, "comment-author", "", "login whose comments are this tool's, e.g. APP-SLUG[bot] for a GitHub App (default: the token's user, or github-actions[bot])")
	return cmd
}

func newInitCmd() *cobra.Command {
	p := run.InitParams{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set a repository up for reachgate: reachgate.yaml, expectations per overlay, GitHub workflows",
		Long: `init finds the kustomizations of the repository and proposes as overlays
those that are not a base or component (under base/, bases/ or
components/, or used by another kustomization) and render workloads or
NetworkPolicies. It writes reachgate.yaml with the inventory written out
(kube-dns, and the ingress controller the policies or Ingresses point at),
the data stores it finds with the workloads that reach them today, an
expectations.yaml per overlay recorded from today's reachability, and
.github/workflows/reachgate.yml and reachgate-comment.yml calling the
reusable reachgate workflow. A file that exists is kept: running init again
changes nothing.`,
		Example: `  reachgate init --dry-run   # print what it would write
  reachgate init && git add -A && git commit -m "Adopt reachgate"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Version = common(cmd), buildinfo.Version()
			return run.Init(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&p.DryRun, "dry-run", false, "print the files it would write, write nothing")
	return cmd
}

func newExpectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "expect",
		Short:   "Work with connectivity expectations",
		Example: `  reachgate expect record prod`,
	}
	p := run.ExpectRecordParams{}
	record := &cobra.Command{
		Use:   "record OVERLAY",
		Short: "Record an overlay's reachability today as its expectations (a snapshot to edit)",
		Long: `record writes an allow for every flow the overlay has today (per port range;
external endpoints by name) and a deny for every pair of the repository's
workloads with no flow at all, to the overlay's expectations file
(reachgate.yaml's expectations, else OVERLAY/expectations.yaml). Reasons of
entries recorded again are kept. Review the file: give each entry a reason,
delete what is incidental, keep what must hold.`,
		Example: `  reachgate expect record prod
  reachgate expect record overlays/prod -o - | less`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common, p.Overlay = common(cmd), args[0]
			return run.ExpectRecord(cmd.Context(), p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	record.Flags().StringVarP(&p.Output, "output", "o", "", "file to write (\"-\": standard output; default the overlay's expectations file)")
	cmd.AddCommand(record)
	return cmd
}

func isTerminal(cmd *cobra.Command) bool {
	f, ok := cmd.OutOrStdout().(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}
