package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/render"
	"github.com/reachgate/reachgate/pipeline/scaffold"
)

// InitParams are the options of `reachgate init`.
type InitParams struct {
	Common
	// DryRun prints what would be written instead of writing it.
	DryRun bool
	// Version is the reachgate release the workflows pin.
	Version string
}

// baseDirs are directory names that hold bases and components, never
// overlays.
var baseDirs = map[string]bool{"base": true, "bases": true, "components": true, "component": true}

// Init proposes reachgate's files for a repository: reachgate.yaml with
// the overlays it finds and the inventory written out, an expectations
// file per overlay recorded from today's reachability, and the GitHub
// workflows. A file that exists is kept, so running it again changes
// nothing.
func Init(ctx context.Context, p InitParams, w, stderr io.Writer) error {
	ws, err := p.open()
	if err != nil {
		return err
	}
	plan := &initPlan{ws: ws, dryRun: p.DryRun, w: w}
	cfg := ws.Config
	if ws.ConfigData == nil {
		if cfg, err = plan.propose(ctx, stderr); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "kept %s (it exists); expectations are recorded for its overlays\n", config.FileName)
	}
	ws.Config = cfg
	var matrices []*model.Matrix
	type recorded struct {
		o *Overlay
		m *model.Matrix
	}
	var overlays []recorded
	for _, oc := range cfg.Overlays {
		o := ws.LoadDir(ctx, oc.Name, oc.Environment, oc.Path)
		if o.Err != nil {
			fmt.Fprintf(stderr, "warning: %s: %v\n", oc.Name, o.Err)
			continue
		}
		printProblems(stderr, o)
		m, err := reach.ComputeContext(ctx, o.Cluster)
		if err != nil {
			return err
		}
		matrices = append(matrices, m)
		overlays = append(overlays, recorded{o, m})
	}
	if ws.ConfigData == nil {
		plan.proposal.Databases = scaffold.Databases(matrices)
		data := scaffold.ConfigYAML(plan.proposal)
		if _, err := config.Parse(config.FileName, data); err != nil {
			return fmt.Errorf("init wrote a reachgate.yaml that does not parse (a bug): %w", err)
		}
		if err := plan.write(config.FileName, data, plan.summary()); err != nil {
			return err
		}
	}
	for _, r := range overlays {
		file := expectationsFile(ws, r.o)
		if file == "" {
			file = path.Join(r.o.Path, "expectations.yaml")
		}
		data := scaffold.ExpectationsYAML(r.o.Name, r.m, nil)
		if err := plan.write(file, data, fmt.Sprintf("%s's reachability today, as expectations", r.o.Name)); err != nil {
			return err
		}
	}
	for _, f := range sortedFiles(scaffold.Workflows(p.Version)) {
		if err := plan.write(f.name, f.data, "the GitHub workflows (reusable reachgate workflow)"); err != nil {
			return err
		}
	}
	if p.DryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
		return nil
	}
	if plan.wrote == 0 {
		fmt.Fprintln(w, "nothing to do: every file exists")
		return nil
	}
	fmt.Fprintln(w, "next: review the files, commit them, and run `reachgate check` (docs/adoption.md)")
	return nil
}

// initPlan writes (or, in a dry run, prints) init's files.
type initPlan struct {
	ws       *Workspace
	dryRun   bool
	w        io.Writer
	proposal scaffold.Config
	wrote    int
}

// write writes a repository-relative file unless it exists.
func (pl *initPlan) write(name string, data []byte, what string) error {
	abs := pl.ws.Abs(name)
	if _, err := os.Lstat(abs); err == nil {
		fmt.Fprintf(pl.w, "kept %s (it exists)\n", name)
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if pl.dryRun {
		fmt.Fprintf(pl.w, "would write %s: %s\n", name, what)
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if l != "" {
				fmt.Fprint(pl.w, "  | ", l)
			}
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	pl.wrote++
	fmt.Fprintf(pl.w, "wrote %s: %s\n", name, what)
	return nil
}

func (pl *initPlan) summary() string {
	var names []string
	for _, o := range pl.proposal.Overlays {
		names = append(names, o.Name)
	}
	var inv []string
	for _, wl := range pl.proposal.Workloads {
		inv = append(inv, wl.Namespace+"/"+wl.Name)
	}
	dbs := "none found"
	if len(pl.proposal.Databases) > 0 {
		dbs = strings.Join(sortedKeys(pl.proposal.Databases), ", ")
	}
	return fmt.Sprintf("overlays %s; inventory %s; databases %s", strings.Join(names, ", "), strings.Join(inv, ", "), dbs)
}

// propose finds the overlays and what the cluster runs outside the
// repository, and returns the configuration it would write, parsed back
// from its text.
func (pl *initPlan) propose(ctx context.Context, stderr io.Writer) (*config.Config, error) {
	ws := pl.ws
	dirs, err := ws.Dirs()
	if err != nil {
		fmt.Fprintln(stderr, "warning:", err)
	}
	ks := render.FindKustomizations(ws.FS, ws.Root, append([]string{"."}, dirs...))
	used := map[string]bool{}
	for _, k := range ks {
		for _, u := range k.Uses {
			used[u] = true
		}
	}
	def := config.Default()
	pr := scaffold.Config{PodCIDRs: def.Cluster.PodCIDRs, ServiceCIDRs: def.Cluster.ServiceCIDRs}
	pr.Namespaces, pr.Workloads = def.ModelInventory()
	for _, e := range def.Externals {
		pr.Externals = append(pr.Externals, scaffold.External{Name: e.Name, CIDRs: e.CIDRs})
	}
	var clusters []*model.Cluster
	names := map[string]int{}
	for _, k := range ks {
		switch {
		case k.Component || used[k.Dir] || isBaseDir(k.Dir):
			continue
		case k.Err != nil:
			fmt.Fprintf(stderr, "warning: %s: left out: %v\n", k.Dir, k.Err)
			continue
		}
		o := ws.LoadDir(ctx, k.Dir, k.Dir, k.Dir)
		if o.Err != nil {
			fmt.Fprintf(stderr, "warning: %s: left out: %v\n", k.Dir, o.Err)
			continue
		}
		switch {
		case onlyArgoCD(o.Objects):
			pr.ArgoCD = append(pr.ArgoCD, k.Dir)
			continue
		case len(o.Cluster.Policies) == 0 && !hasOwnWorkloads(o.Cluster):
			fmt.Fprintf(stderr, "note: %s: no workloads or NetworkPolicies, not an overlay\n", k.Dir)
			continue
		}
		clusters = append(clusters, o.Cluster)
		pr.Overlays = append(pr.Overlays, scaffold.Overlay{Name: path.Base(k.Dir), Path: k.Dir})
		names[path.Base(k.Dir)]++
	}
	if len(pr.Overlays) == 0 {
		return nil, inputError(fmt.Errorf("no overlay found under %s: reachgate init looks for kustomization.yaml directories (not under base/, bases/ or components/, and not used by another kustomization) that render workloads or NetworkPolicies", ws.Root))
	}
	for i := range pr.Overlays {
		if names[pr.Overlays[i].Name] > 1 || pr.Overlays[i].Path == "." {
			pr.Overlays[i].Name = overlayName(pr.Overlays[i].Path)
		}
	}
	ctls, why := scaffold.FindIngressControllers(clusters)
	for i, c := range ctls {
		pr.Namespaces = append(pr.Namespaces, c.Namespace)
		pr.Workloads = append(pr.Workloads, c.Workload)
		pr.Notes = append(pr.Notes, fmt.Sprintf("The inventory has the %s ingress controller as its Helm chart installs it, because %s: check its namespace and labels against your cluster.", c.Namespace.Name, why[i]))
	}
	pl.proposal = pr
	cfg, err := config.Parse(config.FileName, scaffold.ConfigYAML(pr))
	if err != nil {
		return nil, fmt.Errorf("init wrote a reachgate.yaml that does not parse (a bug): %w", err)
	}
	return cfg, nil
}

func isBaseDir(dir string) bool {
	for _, part := range strings.Split(dir, "/") {
		if baseDirs[part] {
			return true
		}
	}
	return false
}

// overlayName names an overlay after its path: overlays/eu/prod is eu-prod.
func overlayName(dir string) string {
	if dir == "." {
		return "default"
	}
	parts := strings.Split(dir, "/")
	if len(parts) > 1 && (parts[0] == "overlays" || parts[0] == "envs" || parts[0] == "environments") {
		parts = parts[1:]
	}
	return strings.Join(parts, "-")
}

func onlyArgoCD(objs []model.Object) bool {
	if len(objs) == 0 {
		return false
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.APIVersion, "argoproj.io/") {
			return false
		}
	}
	return true
}

func hasOwnWorkloads(c *model.Cluster) bool {
	for _, w := range c.Workloads {
		if !w.Inventory {
			return true
		}
	}
	return false
}

type namedFile struct {
	name string
	data []byte
}

func sortedFiles(m map[string][]byte) []namedFile {
	var out []namedFile
	for k, v := range m {
		out = append(out, namedFile{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ExpectRecordParams are the options of `reachgate expect record`.
type ExpectRecordParams struct {
	Common
	Overlay string
	// Output is the file to write; "" = the overlay's expectations file
	// (from reachgate.yaml, else OVERLAY/expectations.yaml); "-" = stdout.
	Output string
}

// ExpectRecord records an overlay's reachability today as its
// expectations: a snapshot the team then edits. Reasons of entries
// recorded again are kept.
func ExpectRecord(ctx context.Context, p ExpectRecordParams, w, stderr io.Writer) error {
	ws, err := p.open()
	if err != nil {
		return err
	}
	o, err := loadOne(ctx, ws, p.Overlay, stderr)
	if err != nil {
		return err
	}
	file := p.Output
	if file == "" {
		if file = expectationsFile(ws, o); file == "" {
			file = path.Join(o.Path, "expectations.yaml")
		}
	}
	// The reasons of the overlay's expectations file, for the entries
	// recorded again.
	reasons := map[string]string{}
	if exp, problems := readExpectations(ws, &Overlay{Name: o.Name, Path: o.Path}); exp != nil {
		keep(reasons, exp)
	} else if len(problems) > 0 && (file == "-" || fileExists(ws, file)) {
		return inputError(fmt.Errorf("%s: %s; fix or remove it before recording again", problems[0].Location, problems[0].Message))
	}
	m, err := reach.ComputeContext(ctx, o.Cluster)
	if err != nil {
		return err
	}
	data := scaffold.ExpectationsYAML(o.Name, m, reasons)
	if file == "-" {
		_, err := w.Write(data)
		return err
	}
	if err := writeFile(ws.Abs(file), func(f io.Writer) error { _, err := f.Write(data); return err }); err != nil {
		return err
	}
	allow, deny := strings.Count(string(data), "\n  - "), 0
	if i := strings.Index(string(data), "\ndeny:\n"); i >= 0 {
		deny = strings.Count(string(data)[i:], "\n  - ")
		allow -= deny
	}
	fmt.Fprintf(w, "recorded %s: %d allow, %d deny (review it: give each a reason, delete what is incidental)\n", file, allow, deny)
	return leftOut(o)
}

func keep(reasons map[string]string, exp *policy.Expectations) {
	for _, x := range exp.Allow {
		if x.Reason != "" {
			reasons[scaffold.ExpectKey("allow", x.From, x.To, x.Port)] = x.Reason
		}
	}
	for _, x := range exp.Deny {
		if x.Reason != "" {
			reasons[scaffold.ExpectKey("deny", x.From, x.To, x.Port)] = x.Reason
		}
	}
}

func fileExists(ws *Workspace, file string) bool {
	_, ok, _ := ws.ReadFile(file)
	return ok
}
