package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/gitref"
	"github.com/reachgate/reachgate/pipeline/live"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
)

// AuditParams are the options of `reachgate audit`.
type AuditParams struct {
	Common
	Overlay string
	// Kubeconfig and Context select the cluster; LiveFile reads live
	// objects exported with kubectl instead.
	Kubeconfig, Context string
	LiveFile            string
	// Ref is the git side: a ref, or "" for the work tree.
	Ref     string
	Format  string
	Outputs []string
	Color   bool
	Version string
	Now     time.Time
}

// Audit compares an overlay rendered from git with what the cluster runs
// and writes the drift. The error is an *ExitError with code 1 on drift,
// 2 for input errors.
func Audit(ctx context.Context, p AuditParams, w, stderr io.Writer) error {
	format := formatOr(p.Format, "text")
	if !slices.Contains(report.AuditFormats(), format) && format != "txt" && format != "md" {
		return inputError(fmt.Errorf("--format %q: want one of %s", format, joinNames(report.AuditFormats())))
	}
	outs, err := parseAuditOutputs(p.Outputs)
	if err != nil {
		return err
	}
	if p.LiveFile != "" && (p.Kubeconfig != "" || p.Context != "") {
		return inputError(errors.New("--live-file and --kubeconfig/--context exclude each other"))
	}
	a, err := BuildAudit(ctx, p)
	if err != nil {
		return err
	}
	opts := report.Options{Color: p.Color, Version: p.Version}
	if err := report.WriteAudit(w, format, a, opts); err != nil {
		return err
	}
	for _, o := range outs {
		if err := writeFile(o.file, func(f io.Writer) error { return report.WriteAudit(f, o.format, a, opts) }); err != nil {
			return err
		}
	}
	if len(a.Problems) > 0 {
		return inputError(fmt.Errorf("audit: %s: %d invalid object(s) left out of the git side", a.Overlay, len(a.Problems)))
	}
	if a.Drifted() {
		return &ExitError{Code: ExitFailed, Err: errors.New("audit: the cluster drifted from git")}
	}
	return nil
}

func parseAuditOutputs(specs []string) ([]output, error) {
	var out []output
	for _, s := range specs {
		f, file, ok := strings.Cut(s, "=")
		if !ok || file == "" || !slices.Contains(report.AuditFormats(), f) {
			return nil, inputError(fmt.Errorf("--output %q: want FORMAT=FILE with FORMAT one of %s", s, joinNames(report.AuditFormats())))
		}
		out = append(out, output{f, file})
	}
	return out, nil
}

// BuildAudit renders the overlay, reads the cluster (or the file of live
// objects) in the namespaces the overlay manages and the inventory's, and
// compares them.
func BuildAudit(ctx context.Context, p AuditParams) (*model.Audit, error) {
	ws, err := auditWorkspace(p)
	if err != nil {
		return nil, err
	}
	o := ws.Load(ctx, p.Overlay)
	if o.Err != nil {
		return nil, inputError(o.Err)
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	managed := managedNamespaces(o)
	namespaces := slices.Clone(managed)
	for _, n := range ws.Config.Inventory.Namespaces {
		namespaces = append(namespaces, n.Name)
	}
	slices.Sort(namespaces)
	namespaces = slices.Compact(namespaces)

	var st *live.State
	if p.LiveFile != "" {
		data, err := os.ReadFile(p.LiveFile)
		if err != nil {
			return nil, inputError(err)
		}
		if st, err = live.ReadFile(p.LiveFile, data, namespaces); err != nil {
			return nil, inputError(err)
		}
	} else {
		if st, err = live.Read(ctx, live.Options{Kubeconfig: p.Kubeconfig, Context: p.Context, Namespaces: namespaces}); err != nil {
			return nil, fmt.Errorf("read the cluster: %w", err)
		}
	}
	liveCluster, info := st.Cluster(ws.BaseCluster())
	ms, err := reach.ComputeAllContext(ctx, o.Cluster, liveCluster)
	if err != nil {
		return nil, err
	}
	d, err := reach.DiffContext(ctx, ms[0], ms[1])
	if err != nil {
		return nil, err
	}
	a := &model.Audit{
		Overlay: o.Name, Environment: o.Environment, Path: o.Path, Git: ws.Ref, Cluster: st.Source,
		AuditedAt: now, Namespaces: namespaces,
		Policies:  live.PolicyDrift(o.Cluster.Policies, liveCluster.Policies, namespaces),
		Flows:     live.FlowDrift(d, o.Cluster, liveCluster),
		Notes:     append([]string{}, info.Notes...),
		GitMatrix: ms[0], LiveMatrix: ms[1], Problems: o.Findings(),
	}
	if a.Problems == nil {
		a.Problems = []model.Finding{}
	}
	a.Unmanaged, a.NotRunning = live.Workload(o.Cluster, liveCluster, ms[1], managed, info.Pods)
	return a, nil
}

func auditWorkspace(p AuditParams) (*Workspace, error) {
	if p.Ref == "" {
		return p.open()
	}
	dir, err := repoDir(p.Dir)
	if err != nil {
		return nil, err
	}
	repo, err := gitref.Open(dir)
	if err != nil {
		return nil, inputError(fmt.Errorf("--ref needs a git repository: %w", err))
	}
	ws, err := OpenCommit(repo, p.Ref, p.Config)
	if err != nil {
		return nil, inputError(err)
	}
	return ws, nil
}

// managedNamespaces are the namespaces an overlay renders objects into,
// or renders itself.
func managedNamespaces(o *Overlay) []string {
	var out []string
	for _, obj := range o.Objects {
		switch {
		case obj.Kind == "Namespace" && obj.Namespace == "":
			out = append(out, obj.Name)
		case obj.Namespace != "":
			out = append(out, obj.Namespace)
		}
	}
	if o.Cluster != nil {
		for _, w := range o.Cluster.Workloads {
			if !w.Inventory {
				out = append(out, w.Namespace)
			}
		}
		for _, p := range o.Cluster.Policies {
			out = append(out, p.Namespace)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
