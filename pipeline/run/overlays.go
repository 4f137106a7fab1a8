package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/reachgate/reachgate/pipeline/gitref"
)

// OverlaysParams are the options of `reachgate overlays`.
type OverlaysParams struct {
	Common
	// Base reads the overlays from this ref's configuration: in a pull
	// request the base's reachgate.yaml decides what is judged.
	Base   string
	Format string
}

// matrixOverlay is one entry of the GitHub Actions matrix.
type matrixOverlay struct {
	Overlay     string `json:"overlay"`
	Path        string `json:"path"`
	Environment string `json:"environment"`
	PromotesTo  string `json:"promotesTo,omitempty"`
}

// Overlays lists the configured overlays: as a table, or as a GitHub
// Actions matrix ({"include":[{"overlay":NAME,...}]}, one line) to fan
// check out over with fromJSON. With Base, the configuration is the one
// at that ref (unless it has none: then, as in check, the work tree's),
// so a pull request cannot shrink the fan-out.
func Overlays(p OverlaysParams, w io.Writer) error {
	format := formatOr(p.Format, "txt")
	if format != "txt" && format != "json" {
		return inputError(fmt.Errorf("--format %q: want txt or json", p.Format))
	}
	ws, err := p.Common.open()
	if err != nil && p.Base == "" {
		return err
	}
	if p.Base != "" {
		dir, derr := repoDir(p.Dir)
		if derr != nil {
			return inputError(derr)
		}
		repo, rerr := gitref.Open(dir)
		if rerr != nil {
			return inputError(fmt.Errorf("--base needs a git repository: %w", rerr))
		}
		base, berr := OpenCommit(repo, p.Base, p.Config)
		if berr != nil {
			return inputError(fmt.Errorf("base: %w", berr))
		}
		if adopted(base) || ws == nil {
			ws = base
		}
	}
	if ws.ConfigErr != nil {
		return inputError(ws.ConfigErr)
	}
	list := []matrixOverlay{}
	for _, o := range ws.Config.Overlays {
		env := o.Environment
		if env == "" {
			env = o.Name
		}
		list = append(list, matrixOverlay{Overlay: o.Name, Path: o.Path, Environment: env, PromotesTo: o.PromotesTo})
	}
	if len(list) == 0 {
		return inputError(errors.New("no overlays configured: list them in reachgate.yaml (a fan-out needs names)"))
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Include []matrixOverlay `json:"include"`
		}{list})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OVERLAY\tPATH\tENVIRONMENT\tPROMOTES TO")
	for _, o := range list {
		to := o.PromotesTo
		if to == "" {
			to = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Overlay, o.Path, o.Environment, to)
	}
	return tw.Flush()
}
