// Package run orchestrates reachgate: it is the only package that imports
// its siblings. Each command of the CLI is one function here that takes
// its parameters and an io.Writer.
package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/par"
	"github.com/reachgate/reachgate/internal/yamlfile"
	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/gitref"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/render"
	"github.com/reachgate/reachgate/pipeline/validate"
)

// Workspace is one version of the repository: the work tree on disk or a
// commit read from git into memory, with its configuration.
//
// Every file it reads is a regular file inside the root, within
// gitref.DefaultLimits, and every render within render.DefaultLimits: the
// head of a pull request is hostile.
type Workspace struct {
	FS filesys.FileSystem
	// Root is the repository root inside FS: an absolute directory on
	// disk, "/" for a commit.
	Root   string
	Config *config.Config
	// ConfigData is the configuration file as read; nil without one.
	// ConfigErr is why it could not be used (Config is then the default):
	// check judges a head by the base's configuration, so a head's broken
	// file is a finding there rather than the end of the run.
	ConfigData []byte
	ConfigErr  error
	Ref        model.RefInfo
	// Dir is the directory relative overlay paths are read from (-C, else
	// the working directory); "" for a commit.
	Dir string
	// renderer renders its overlays, all within one budget.
	renderer *render.Renderer
	// validated is what validation made of objects, shared with another
	// workspace (share); nil for none.
	validated *validate.Memo
}

// OpenWorkTree opens the repository (or plain directory) at dir on disk.
// configPath overrides where reachgate.yaml is read from. When only the
// configuration is at fault, the workspace comes back too, with ConfigErr.
func OpenWorkTree(dir, configPath string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root := abs
	if r, err := gitref.Open(abs); err == nil {
		root = r.Dir
	}
	fsys, err := gitref.WorkTree(root, gitref.DefaultLimits)
	if err != nil {
		return nil, err
	}
	ws := &Workspace{FS: fsys, Root: root, Ref: model.RefInfo{Ref: "work tree"}, Dir: abs}
	return ws, ws.loadConfig(configPath)
}

// OpenCommit opens a commit of repo, read into memory; a configuration
// error is returned with the workspace, as by OpenWorkTree.
func OpenCommit(repo *gitref.Repo, ref, configPath string) (*Workspace, error) {
	sha, err := repo.Resolve(ref)
	if err != nil {
		return nil, err
	}
	fsys, err := repo.Tree(sha)
	if err != nil {
		return nil, err
	}
	ws := &Workspace{FS: fsys, Root: "/", Ref: model.RefInfo{Ref: ref, Commit: sha}}
	return ws, ws.loadConfig(configPath)
}

// render is the workspace's renderer, made on first use.
func (ws *Workspace) render() *render.Renderer {
	if ws.renderer == nil {
		ws.renderer = render.NewRenderer(ws.FS, ws.Root, render.DefaultLimits)
	}
	return ws.renderer
}

// share makes ws and other reuse what the other's renders and
// validations made of the files and objects they both have: the base's
// and the head's workspaces of one check. Call it before either renders;
// unshare once they are rendered.
func (ws *Workspace) share(other *Workspace) {
	ws.render().Share(other.render())
	ws.validated = validate.NewMemo()
	other.validated = ws.validated
}

// unshare lets go of the validations ws shares (see share); what the
// renders share stays, for later renders.
func (ws *Workspace) unshare() { ws.validated = nil }

// view is the workspace seen through another view of its file system,
// rendering within the same budget.
func (ws *Workspace) view(fsys filesys.FileSystem) *Workspace {
	v := *ws
	v.FS = fsys
	v.renderer = ws.render().View(fsys)
	return &v
}

// Abs turns a repository-relative path into a path inside FS.
func (ws *Workspace) Abs(p string) string {
	if filepath.IsAbs(p) && ws.Root != "/" {
		return p
	}
	if ws.Root == "/" {
		return path.Join("/", p)
	}
	return filepath.Join(ws.Root, p)
}

func (ws *Workspace) loadConfig(configPath string) error {
	p := configPath
	if p == "" {
		p = config.FileName
	}
	ws.Config = config.Default()
	var data []byte
	var ok bool
	var err error
	if configPath != "" && filepath.IsAbs(configPath) {
		if rel, inside := within(ws.Root, configPath); inside && ws.Root != "/" {
			data, ok, err = ws.ReadFile(rel)
		} else {
			// --config names a file outside the repository: the
			// operator's own, read as given (still a regular file within
			// the size limit).
			data, ok, err = readOutside(configPath)
		}
	} else {
		data, ok, err = ws.ReadFile(p)
	}
	switch {
	case err != nil:
		ws.ConfigErr = fmt.Errorf("read configuration: %w", err)
		return ws.ConfigErr
	case !ok && configPath == "":
		return nil
	case !ok:
		ws.ConfigErr = fmt.Errorf("read configuration: %s does not exist", p)
		return ws.ConfigErr
	}
	ws.ConfigData = data
	cfg, err := config.Parse(p, data)
	if err != nil {
		ws.ConfigErr = err
		return err
	}
	ws.Config = cfg
	return nil
}

// readOutside reads a file the operator named outside the repository.
func readOutside(p string) ([]byte, bool, error) {
	fsys, err := gitref.WorkTree(filepath.Dir(p), gitref.DefaultLimits)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, err
	}
	data, err := fsys.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return data, err == nil, err
}

// within returns p relative to root when p is inside it.
func within(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// Overlay is one rendered and decoded overlay (or directory of manifests).
type Overlay struct {
	Name, Environment, Path string
	Objects                 []model.Object
	Cluster                 *model.Cluster
	// Problems are input errors: objects that did not decode or that the
	// API server would refuse. They are left out of Cluster; the rest
	// still loads.
	Problems []*model.InputError
	// Skipped are documents of a plain directory that are not Kubernetes
	// objects (a values.yaml, a JSON list): warned about, not analysed.
	Skipped []*model.InputError
	// Err is set when nothing could be rendered.
	Err error
}

// Digest is "sha256:<hex>" of the overlay as `reachgate render` prints
// it; "" when nothing rendered, or when ctx ends first (check digests
// beside the rules, and stops when they do).
func (o *Overlay) Digest(ctx context.Context) string {
	if o.Objects == nil {
		return ""
	}
	h := sha256.New()
	if err := render.WriteYAML(ctxWriter{ctx, h}, o.Objects); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ctxWriter writes to w until ctx ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// SkippedID is the rule id of the warning about a document of a plain
// directory that is not a Kubernetes object.
const SkippedID = "input/skipped"

// Unevaluated are the overlay's traffic policies of kinds reachgate does
// not evaluate, which the matrix ignores.
func (o *Overlay) Unevaluated() []model.OmittedPolicy {
	if o.Cluster == nil {
		return nil
	}
	var out []model.OmittedPolicy
	for _, p := range o.Cluster.Omitted {
		if p.Reason == model.OmitUnevaluated {
			out = append(out, p)
		}
	}
	return out
}

// Findings turns the overlay's problems into findings, its policies of
// kinds reachgate does not evaluate into input/unevaluated-policy errors
// (waivable), and its skipped documents into warnings.
func (o *Overlay) Findings() []model.Finding {
	var out []model.Finding
	for _, p := range o.Problems {
		out = append(out, p.Finding())
	}
	for _, p := range o.Unevaluated() {
		out = append(out, p.Finding())
	}
	for _, s := range o.Skipped {
		f := s.Finding()
		f.RuleID, f.Title, f.Severity = SkippedID, "Not a Kubernetes object", model.SeverityWarning
		f.Remediation = "Move the file out of the directory of manifests if it is not meant to be deployed; if it is, give it an apiVersion and a kind."
		out = append(out, f)
	}
	return out
}

// Target resolves an overlay argument: a configured overlay name, or a
// path (kustomization directory or plain directory of manifests) relative
// to the current directory.
func (ws *Workspace) Target(arg string) (name, env, dir string, err error) {
	if o, ok := ws.Config.Overlay(arg); ok {
		return o.Name, o.Environment, o.Path, nil
	}
	p := arg
	if ws.Root != "/" {
		// Like git -C: a relative path is read from -C's directory.
		abs := arg
		if !filepath.IsAbs(arg) && ws.Dir != "" {
			abs = filepath.Join(ws.Dir, arg)
		}
		abs, err := filepath.Abs(abs)
		if err != nil {
			return "", "", "", err
		}
		if rel, err := filepath.Rel(ws.Root, abs); err == nil && !strings.HasPrefix(rel, "..") {
			p = rel
		} else {
			p = abs
		}
	}
	if !ws.FS.IsDir(ws.Abs(p)) {
		names := ws.Config.OverlayNames()
		hint := "no overlays are configured in reachgate.yaml"
		if len(names) > 0 {
			hint = "configured overlays: " + strings.Join(names, ", ")
		}
		return "", "", "", fmt.Errorf("%q is neither a configured overlay nor a directory (%s)", arg, hint)
	}
	return arg, arg, p, nil
}

// Load renders and decodes an overlay given by name or path.
func (ws *Workspace) Load(ctx context.Context, arg string) *Overlay {
	name, env, dir, err := ws.Target(arg)
	if err != nil {
		return &Overlay{Name: arg, Environment: arg, Err: err}
	}
	return ws.LoadDir(ctx, name, env, dir)
}

// LoadDir renders and decodes the overlay in dir (repository-relative).
// It stops when ctx is done, with ctx's error in Err.
func (ws *Workspace) LoadDir(ctx context.Context, name, env, dir string) *Overlay {
	o := &Overlay{Name: name, Environment: env, Path: dir}
	if !filepath.IsAbs(dir) {
		if _, err := repoPath(dir); err != nil {
			o.Err = fmt.Errorf("overlay %s: %w", name, err)
			return o
		}
	}
	abs := ws.Abs(dir)
	if !ws.FS.IsDir(abs) {
		o.Err = fmt.Errorf("overlay %s: directory %s does not exist", name, dir)
		if ws.FS.Exists(abs) {
			// A file, or a symlink the file system refuses: say which.
			o.Err = fmt.Errorf("overlay %s: %s is not a directory", name, dir)
			if _, err := ws.FS.ReadFile(abs); err != nil {
				o.Err = fmt.Errorf("overlay %s: %w", name, err)
			}
		}
		return o
	}
	var objs []model.Object
	var err error
	if isKustomization(ws.FS, abs) {
		objs, err = ws.render().Overlay(ctx, abs)
	} else {
		objs, o.Skipped, err = ws.render().Manifests(ctx, abs)
	}
	if err != nil {
		o.Err = err
		return o
	}
	o.Objects = objs
	// Objects the API server would refuse are reported and left out, as
	// they would never reach the cluster.
	invalid := map[model.ObjectRef]bool{}
	problems, typed := ws.validated.ObjectsDecoded(objs)
	for _, e := range problems {
		o.Problems = append(o.Problems, e)
		invalid[e.Object] = true
	}
	valid := objs
	if len(invalid) > 0 {
		valid = nil
		var validTyped []any
		for i, obj := range objs {
			if !invalid[obj.ObjectRef] {
				valid = append(valid, obj)
				validTyped = append(validTyped, typed[i])
			}
		}
		typed = validTyped
	}
	// What the validation decoded is not decoded again.
	c, errs := render.DecodeTyped(valid, typed, ws.BaseCluster())
	c.Objects = objs
	// The NetworkPolicies left out as invalid: the matrix omits them, and
	// says which flows they could have denied.
	for _, obj := range objs {
		if invalid[obj.ObjectRef] {
			if op, ok := render.InvalidPolicy(obj); ok {
				c.Omitted = append(c.Omitted, op)
			}
		}
	}
	render.SortOmitted(c.Omitted)
	o.Cluster = c
	o.Problems = dedupe(append(o.Problems, errs...))
	fields := ws.fieldLines()
	for _, p := range o.Problems {
		p.Location.Line = fields.line(p.Location, p.Field)
	}
	return o
}

// fieldLiner moves a location from its object's first line to the line of
// a field of the object, where the object's source file has that field (or
// else its nearest ancestor there: a patch or a transformer may have set
// it). It reads each file once.
type fieldLiner struct {
	ws    *Workspace
	files map[string]yamlfile.ManifestIndex
}

func (ws *Workspace) fieldLines() *fieldLiner {
	return &fieldLiner{ws: ws, files: map[string]yamlfile.ManifestIndex{}}
}

// read reads and indexes the files of locs it has not read yet, on every
// core.
func (fl *fieldLiner) read(locs []model.Location) {
	var todo []string
	for _, loc := range locs {
		if _, ok := fl.files[loc.File]; !ok && loc.File != "" {
			fl.files[loc.File] = nil
			todo = append(todo, loc.File)
		}
	}
	parsed := make([]yamlfile.ManifestIndex, len(todo))
	par.For(len(todo), func(i int) {
		if data, err := fl.ws.FS.ReadFile(fl.ws.Abs(todo[i])); err == nil {
			parsed[i] = yamlfile.ParseManifests(data).Index()
		}
	})
	for i, f := range todo {
		fl.files[f] = parsed[i]
	}
}

// line is the line of field in the object that starts at loc, or loc's
// line.
func (fl *fieldLiner) line(loc model.Location, field string) int {
	if field == "" || loc.File == "" || loc.Line <= 0 {
		return loc.Line
	}
	if _, ok := fl.files[loc.File]; !ok {
		fl.read([]model.Location{loc})
	}
	if line := fl.files[loc.File].FieldLine(loc.Line, field); line > 0 {
		return line
	}
	return loc.Line
}

func dedupe(es []*model.InputError) []*model.InputError {
	seen := map[string]bool{}
	var out []*model.InputError
	for _, e := range es {
		k := e.Error()
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func isKustomization(fsys filesys.FileSystem, dir string) bool {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if fsys.Exists(filepath.Join(dir, n)) {
			return true
		}
	}
	return false
}

// BaseCluster is what the configuration knows before rendering: the
// inventory, the external endpoints and the address ranges.
func (ws *Workspace) BaseCluster() *model.Cluster {
	cfg := ws.Config
	nss, ws2 := cfg.ModelInventory()
	return &model.Cluster{
		Namespaces:   nss,
		Workloads:    ws2,
		Externals:    cfg.ModelExternals(),
		PodCIDRs:     cfg.PodCIDRs(),
		ServiceCIDRs: cfg.ServiceCIDRs(),
	}
}

// ReadFile reads a file of the repository, p relative to its root: ok
// reports whether it exists, err whether it could be read. A path that
// leaves the repository, a symlink out of it, anything but a regular file
// and a file over the limits (gitref.Limits) are refused with an error
// naming the file.
func (ws *Workspace) ReadFile(p string) (data []byte, ok bool, err error) {
	rel, err := repoPath(p)
	if err != nil {
		return nil, true, err
	}
	abs := ws.Abs(rel)
	if !ws.FS.Exists(abs) {
		// A symlink that leads nowhere, or out of the work tree, does
		// not exist for Exists: reading it says which.
		if _, lerr := os.Lstat(abs); ws.Root == "/" || lerr != nil {
			return nil, false, nil
		}
	}
	data, err = ws.FS.ReadFile(abs)
	return data, true, err
}

// repoPath cleans a repository-relative path, refusing absolute paths and
// paths that climb out of the repository.
func repoPath(p string) (string, error) {
	clean := path.Clean(filepath.ToSlash(p))
	switch {
	case path.IsAbs(clean) || filepath.IsAbs(p):
		return "", &fs.PathError{Op: "read", Path: p, Err: errors.New("an absolute path: paths are relative to the repository root")}
	case clean == ".." || strings.HasPrefix(clean, "../"):
		return "", &fs.PathError{Op: "read", Path: p, Err: gitref.ErrOutside}
	}
	return clean, nil
}

// cwd is the working directory, for commands that open the work tree.
// repoDir is -C's directory, checked, or the working directory.
func repoDir(dir string) (string, error) {
	if dir == "" {
		return cwd(), nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", inputError(fmt.Errorf("-C %s: no such directory", dir))
	case err != nil:
		return "", inputError(fmt.Errorf("-C %s: %w", dir, err))
	case !fi.IsDir():
		return "", inputError(fmt.Errorf("-C %s: not a directory", dir))
	}
	return dir, nil
}

func cwd() string {
	d, err := os.Getwd()
	if err != nil {
		return "."
	}
	return d
}

// maxDirs bounds Dirs: a repository with more directories than this is not
// walked further.
const maxDirs = 100_000

var errTooManyDirs = fmt.Errorf("more than %d directories: the rest are not searched", maxDirs)

// Dirs lists every directory of the workspace (slash-separated, relative
// to the root), hidden ones (.git) left out.
func (ws *Workspace) Dirs() ([]string, error) {
	root := ws.Abs(".")
	var out []string
	err := ws.FS.Walk(root, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if !info.IsDir() {
			return nil
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil || rel == "." {
			return nil
		}
		if strings.HasPrefix(info.Name(), ".") {
			return filepath.SkipDir
		}
		if len(out) == maxDirs {
			return errTooManyDirs
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	return out, err
}
