package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/gitref"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/render"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/validate"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // policy failures at or above --fail-on, mismatches
	ExitInput  = 2 // usage or input errors
)

// ExitError carries the exit code a command wants; main turns it into
// the process status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func inputError(err error) error { return &ExitError{Code: ExitInput, Err: err} }

// Common are the options every overlay command shares.
type Common struct {
	Config string // --config: reachgate.yaml to use
	Dir    string // repository directory; "" = current directory
}

func (c Common) open() (*Workspace, error) {
	dir, err := repoDir(c.Dir)
	if err != nil {
		return nil, err
	}
	ws, err := OpenWorkTree(dir, c.Config)
	if err != nil {
		return nil, inputError(err)
	}
	return ws, nil
}

// openFor opens the workspace an overlay argument belongs to: -C's (or
// the working directory's) repository, unless arg is a directory outside
// it that is not a configured overlay. Such a directory is its own
// root (see ownRoot), read with that root's reachgate.yaml.
// target is arg as the workspace's Target reads it.
func (c Common) openFor(arg string) (ws *Workspace, target string, err error) {
	ws, err = c.open()
	if err != nil {
		return nil, "", err
	}
	if _, ok := ws.Config.Overlay(arg); ok {
		return ws, arg, nil
	}
	abs := arg
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(ws.Dir, arg)
	}
	if _, inside := within(ws.Root, abs); inside {
		return ws, arg, nil
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return ws, arg, nil // Target says what is wrong with it
	}
	own, err := OpenWorkTree(ownRoot(abs), c.Config)
	if err != nil {
		return nil, "", inputError(err)
	}
	return own, abs, nil
}

// ownRoot is where a directory outside the current repository is read
// from: the root of its git repository, else the nearest directory above
// it with a reachgate.yaml, else itself.
func ownRoot(dir string) string {
	if r, err := gitref.Open(dir); err == nil {
		return r.Dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, config.FileName)); err == nil && fi.Mode().IsRegular() {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// loadOne loads an overlay and reports its problems on stderr; the
// objects with problems are left out and the rest is analysed. It fails
// only when nothing rendered.
func loadOne(ctx context.Context, ws *Workspace, arg string, stderr io.Writer) (*Overlay, error) {
	o := ws.Load(ctx, arg)
	if o.Err != nil {
		return nil, inputError(o.Err)
	}
	printProblems(stderr, o)
	return o, nil
}

// printProblems names the overlay's invalid objects and its policies of
// kinds reachgate does not evaluate, one line each, and warns about the
// documents it skipped.
func printProblems(stderr io.Writer, o *Overlay) {
	for _, p := range o.Problems {
		// A problem names files and objects of the pull request: no line
		// of it may become a workflow command in a CI log.
		fmt.Fprint(stderr, report.EscapeWorkflowCommands(fmt.Sprintln("error:", p)))
	}
	for _, p := range o.Unevaluated() {
		fmt.Fprintf(stderr, "error: %s: %s: %s\n", p.Source, p.Object, p.Message())
	}
	for _, s := range o.Skipped {
		fmt.Fprintln(stderr, "warning:", s)
	}
}

// leftOut is how a command ends whose output left invalid objects, or
// policies of kinds reachgate does not evaluate, out: it printed them
// (loadOne did), and exit code 2 says the input needs fixing (or the
// answer checking by other means) even though the rest was analysed. It
// takes precedence over a command's own failure, whose answer may be
// wrong without those objects.
func leftOut(os ...*Overlay) error {
	var parts []string
	for _, o := range os {
		var what []string
		if n := len(o.Problems); n > 0 {
			what = append(what, fmt.Sprintf("%d invalid object(s)", n))
		}
		if n := len(o.Unevaluated()); n > 0 {
			what = append(what, fmt.Sprintf("%d policy(ies) of kinds reachgate does not evaluate", n))
		}
		if len(what) > 0 {
			parts = append(parts, o.Name+": "+strings.Join(what, " and "))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return inputError(fmt.Errorf("%s left out of the analysis", strings.Join(parts, "; ")))
}

// RenderParams are the options of `reachgate render`.
type RenderParams struct {
	Common
	Overlay string
}

// Render prints the rendered overlay. The objects are decoded through the
// model, so invalid ones make it fail (after printing everything).
func Render(ctx context.Context, p RenderParams, w, stderr io.Writer) error {
	ws, target, err := p.openFor(p.Overlay)
	if err != nil {
		return err
	}
	o := ws.Load(ctx, target)
	if o.Err != nil {
		return inputError(o.Err)
	}
	if err := render.WriteYAML(w, o.Objects); err != nil {
		return err
	}
	printProblems(stderr, o)
	if len(o.Problems) > 0 {
		return inputError(fmt.Errorf("%s: %d invalid object(s)", o.Name, len(o.Problems)))
	}
	return nil
}

// ReachParams are the options of `reachgate reach`.
type ReachParams struct {
	Common
	Overlay    string
	Format     string
	Workload   string
	Namespace  string
	EveryRange bool
}

// Reach prints who can reach whom.
func Reach(ctx context.Context, p ReachParams, w, stderr io.Writer) error {
	ws, target, err := p.openFor(p.Overlay)
	if err != nil {
		return err
	}
	o, err := loadOne(ctx, ws, target, stderr)
	if err != nil {
		return err
	}
	// The matrix is the model's alone: let the rendered documents go
	// before the engine's allocations pile up on top of them.
	o.Objects, o.Cluster.Objects = nil, nil
	opts := report.MatrixOptions{Workload: p.Workload, Namespace: p.Namespace, Title: o.Name, EveryRange: p.EveryRange,
		Warn: func(msg string) { fmt.Fprintln(stderr, "warning:", msg) }}
	if report.FromFlows(p.Format, opts) {
		// The document lists flows, never pairs: the engine groups them
		// as it makes them, and no list of pairs is kept.
		m, flows, err := reach.ComputeFlowsContext(ctx, o.Cluster)
		if err != nil {
			return err
		}
		if err := report.WriteMatrixFlows(w, m, flows, opts); err != nil {
			return err
		}
		return leftOut(o)
	}
	m, err := reach.ComputeContext(ctx, o.Cluster)
	if err != nil {
		return err
	}
	// The engine's connection blocks are garbage now, copied into the
	// matrix's sorted connections. The collector would find that only
	// when the heap had grown to four times what it last kept (heaptune
	// sets GOGC to 300): the writer's flows and document would take fresh
	// memory on top of them, which costs the kernel every page. Collected
	// here, the writer reuses the blocks' memory (see the figures in
	// docs/reachability.md, "The commands at scale").
	runtime.GC()
	if err := report.WriteMatrix(w, p.Format, m, opts); err != nil {
		return err
	}
	return leftOut(o)
}

// ExplainParams are the options of `reachgate explain`.
type ExplainParams struct {
	Common
	Overlay  string
	Src, Dst string
	Port     string // "5432/TCP", "" for any
	Format   string
}

// Explain says whether Src can reach Dst and why. It exits 1 when the
// answer is "denied", so scripts can use it as a probe.
func Explain(ctx context.Context, p ExplainParams, w, stderr io.Writer) error {
	var q *model.PortQuery
	if p.Port != "" {
		proto, r, err := model.ParsePortSpec(p.Port)
		if err != nil || r.From != r.To {
			if err == nil {
				err = fmt.Errorf("port %q: explain takes one port, like 5432/TCP", p.Port)
			}
			return inputError(err)
		}
		q = &model.PortQuery{Protocol: proto, Port: r.From}
	}
	ws, target, err := p.openFor(p.Overlay)
	if err != nil {
		return err
	}
	o, err := loadOne(ctx, ws, target, stderr)
	if err != nil {
		return err
	}
	xs, err := reach.NewExplainer(o.Cluster).Explain(p.Src, p.Dst, q)
	if err != nil {
		return inputError(err)
	}
	if err := report.WriteExplanation(w, p.Format, xs); err != nil {
		return err
	}
	if err := leftOut(o); err != nil {
		return err
	}
	for _, x := range xs {
		if x.Allowed {
			return nil
		}
	}
	return &ExitError{Code: ExitFailed, Err: errors.New("denied")}
}

// ValidateParams are the options of `reachgate validate`.
type ValidateParams struct {
	Common
	Overlays   []string
	Kubeconfig string // server-side dry run against this cluster when set
}

// Validate checks overlays offline (and against a server when asked),
// reporting every problem with file, object and field.
func Validate(ctx context.Context, p ValidateParams, w, stderr io.Writer) error {
	ws, err := p.open()
	if err != nil {
		return err
	}
	targets := p.Overlays
	if len(targets) == 0 {
		targets = ws.Config.OverlayNames()
	}
	if len(targets) == 0 {
		return inputError(errors.New("no overlay given and none configured in reachgate.yaml"))
	}
	bad := 0
	for _, t := range targets {
		o := ws.Load(ctx, t)
		if o.Err != nil {
			fmt.Fprintf(w, "%s: %v\n", t, o.Err)
			bad++
			continue
		}
		problems := o.Problems
		if p.Kubeconfig != "" {
			server, err := validate.Server(ctx, p.Kubeconfig, o.Objects)
			if err != nil {
				return fmt.Errorf("server-side validation of %s: %w", t, err)
			}
			problems = dedupe(append(problems, server...))
		}
		for _, e := range problems {
			fmt.Fprintln(w, e)
		}
		for _, s := range o.Skipped {
			fmt.Fprintln(w, "warning:", s)
		}
		verdict := "valid"
		if len(problems) > 0 {
			verdict = fmt.Sprintf("%d problem(s)", len(problems))
			bad++
		}
		fmt.Fprintf(w, "%s: %d objects, %s\n", o.Name, len(o.Objects), verdict)
	}
	if bad > 0 {
		return inputError(fmt.Errorf("%d of %d overlay(s) invalid", bad, len(targets)))
	}
	return nil
}

// parseFailOn parses --fail-on.
func parseFailOn(s string) (model.Severity, error) {
	if s == "" {
		return model.SeverityError, nil
	}
	sev, err := model.ParseSeverity(s)
	if err != nil {
		return 0, inputError(fmt.Errorf("--fail-on: %w", err))
	}
	return sev, nil
}

func joinNames(xs []string) string { return strings.Join(xs, ", ") }
