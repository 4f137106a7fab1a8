package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

func newOverlaysCmd() *cobra.Command {
	p := run.OverlaysParams{}
	cmd := &cobra.Command{
		Use:   "overlays",
		Short: "List the configured overlays; --format json is a GitHub Actions matrix to fan check out over",
		Long: `overlays lists the overlays of reachgate.yaml. --format json writes one
line, {"include":[{"overlay":NAME,"path":...,"environment":...,"promotesTo":...}]},
for strategy.matrix: ${{ fromJSON(...) }}: one job per overlay, each running
check --shard ${{ matrix.overlay }}. With --base REF the overlays are those
that REF's reachgate.yaml configures, as check judges a pull request, so the
pull request cannot shrink the fan-out.`,
		Example: `  reachgate overlays --base "$BASE_SHA" --format json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Common = common(cmd)
			return run.Overlays(p, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&p.Base, "base", "", "read the overlays from this ref's reachgate.yaml (the pull request's base)")
	cmd.Flags().StringVarP(&p.Format, "format", "o", "txt", "output format: txt, json")
	return cmd
}

func newMergeCmd() *cobra.Command {
	p := run.MergeParams{}
	cmd := &cobra.Command{
		Use:   "merge REPORT...",
		Short: "Join the per-overlay reports of a fanned-out check into the report of the whole check",
		Long: `merge reads the reports that "reachgate check --shard OVERLAY --output
json=FILE" wrote, one per overlay, and writes the report one check of every
overlay writes: the same formats (--format, --output), the same bytes and
the same exit code (0 pass, 1 failed, 2 input errors). The evidence format
also needs each shard's evidence document (--evidence).

Reports of different commits, configuration, rules or reachgate versions,
an overlay reported twice, and an overlay no report has are refused (exit
2, naming the file and the field): a missing part never passes.`,
		Example: `  reachgate merge shards/*/report.json --output json=report.json --output sarif=reachgate.sarif`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Reports = args
			if !cmd.Flags().Changed("color") {
				p.Color = isTerminal(cmd)
			}
			return run.Merge(p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&p.Evidence, "evidence", nil, "a shard's evidence document (repeatable), for the evidence format")
	f.StringVarP(&p.Format, "format", "o", "text", "format on stdout: "+strings.Join(report.Formats(), ", "))
	f.StringArrayVar(&p.Outputs, "output", nil, "also write FORMAT=FILE (repeatable), as check does")
	f.BoolVar(&p.Color, "color", false, "colour text output (default: when stdout is a terminal)")
	f.StringVar(&p.Marker, "marker", "reachgate:check", "sticky comment key, written as a hidden marker at the top of the markdown")
	return cmd
}
