package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Annotations that kustomize adds for origin tracking when a kustomization
// asks for it; they are removed from rendered objects.
const (
	originAnnotation       = "config.kubernetes.io/origin"
	internalAnnotationsPfx = "internal.config.kubernetes.io/"
)

// buildMu serialises kustomize builds: kustomize keeps its OpenAPI schema
// in package globals that a kustomization may change.
var buildMu sync.Mutex

// Overlay renders the kustomization in dir, with paths relative to the
// root of fsys ("/" in memory, the working directory on disk). See
// OverlayRoot.
func Overlay(fsys filesys.FileSystem, dir string) ([]model.Object, error) {
	return OverlayRoot(fsys, ".", dir)
}

// OverlayRoot renders the kustomization in dir (relative to the working
// directory of fsys, or absolute) inside the repository at root.
//
// The kustomization tree is checked first, and nothing is built if it has
// problems: remote resources, components, bases, patches or generator
// files (URLs, git and ssh references) are refused without being fetched;
// so are paths that leave the repository, directly or through a symlink,
// missing files and directories, malformed kustomization files, resource
// and patch files with YAML syntax errors, alias cycles or bombs, and Helm
// charts. Then kustomize builds the overlay with load restrictions
// root-only and plugins disabled (no exec, no KRM functions, no Helm). The
// user's files are never changed. An overlay that renders nothing is an
// error ("the overlay renders no objects").
//
// Each object's Source is the file it came from and the line where its
// document (or List item) starts, exactly, through a source annotation
// that kustomize carries through patches, prefixes and namespace changes.
// Generated objects point at their generator entry (configMapGenerator,
// secretGenerator) or configuration file; objects whose annotations a
// patch replaced wholesale are matched by kind and name. Origin, source
// and internal kustomize annotations are removed from Doc.
//
// Problems with the user's input come back as *model.InputError, or
// model.InputErrors when there are several.
func OverlayRoot(fsys filesys.FileSystem, root, dir string) ([]model.Object, error) {
	return NewRenderer(fsys, root, DefaultLimits).Overlay(context.Background(), dir)
}

// How an overlay is built: with the fast path where it applies (see
// fastBuild), or with krusty alone (for tests that compare the two).
const (
	withFastPath = iota
	krustyOnly
	fastOnly
)

func renderOverlay(ctx context.Context, r *Renderer, dir string) ([]model.Object, error) {
	return renderOverlayHow(ctx, r, dir, withFastPath)
}

// overlayRoot is OverlayRoot built as how says.
func overlayRoot(fsys filesys.FileSystem, root, dir string, how int) ([]model.Object, error) {
	return renderOverlayHow(context.Background(), NewRenderer(fsys, root, DefaultLimits), dir, how)
}

func renderOverlayHow(ctx context.Context, r *Renderer, dir string, how int) ([]model.Object, error) {
	if how == krustyOnly {
		// krusty reads files the memo would have spared the walk.
		without := *r
		without.memo = nil
		objs, _, err := renderOnce(ctx, &without, dir, how)
		return objs, err
	}
	// A render that takes files from the memo counts against a copy of
	// the run's budget: where it fails, or leaves the tree to krusty, the
	// render starts again without the memo, from the budget as it was,
	// and fails as it would have without one. (A Renderer's renders run
	// one after another.)
	own := *r
	values, aliased := r.values.Load(), r.aliased.Load()
	own.values, own.aliased = new(atomic.Int64), new(atomic.Int64)
	own.values.Store(values)
	own.aliased.Store(aliased)
	objs, memoized, err := renderOnce(ctx, &own, dir, how)
	if memoized && err != nil && ctx.Err() == nil {
		without := *r
		without.memo = nil
		objs, _, err = renderOnce(ctx, &without, dir, how)
		return objs, err
	}
	r.values.Add(own.values.Load() - values)
	r.aliased.Add(own.aliased.Load() - aliased)
	return objs, err
}

// renderOnce renders the overlay in dir; memoized reports whether its
// walk took files from the memo, which is then an error when the fast
// path did not build the tree.
func renderOnce(ctx context.Context, r *Renderer, dir string, how int) (objs []model.Object, memoized bool, err error) {
	t, err := newTree(r.fsys, r.root, r.limits.FileBytes)
	if err != nil {
		return nil, false, fmt.Errorf("render overlay %s: %w", dir, err)
	}
	rel, err := t.relative(dir)
	if err != nil {
		return nil, false, &model.InputError{Location: model.Location{File: filepath.ToSlash(dir)}, Message: err.Error()}
	}
	w := newKustWalker(ctx, r, t)
	top := w.walk(rel, nil)
	memoized = len(w.index.memo) > 0
	if err := ctx.Err(); err != nil {
		return nil, memoized, err
	}
	if len(w.errs) > 0 {
		return nil, memoized, asError(w.errs)
	}
	// The fast path is linear in what the walk read (and Limits bound
	// that); the limits on objects and builds are for krusty, whose time
	// grows with their square.
	var errs model.InputErrors
	fast := false
	if how != krustyOnly {
		objs, fast = fastBuild(w, top)
	}
	if err := ctx.Err(); err != nil {
		return nil, memoized, err
	}
	if !fast && how == fastOnly {
		return nil, memoized, errNotFast
	}
	if !fast && memoized {
		return nil, true, errMemoized
	}
	if !fast {
		if e := w.expansion(top); e != nil {
			return nil, memoized, e
		}
		tagged, e := w.index.taggedFiles()
		if e != nil {
			return nil, memoized, e
		}
		resources, err := build(ctx, t, top, tagged, w.customSchema)
		if err := ctx.Err(); err != nil {
			return nil, memoized, err
		}
		if err != nil {
			return nil, memoized, &model.InputError{Location: model.Location{File: top.file}, Message: "kustomize: " + t.clean(err.Error())}
		}
		for _, res := range resources {
			o, err := w.index.object(res, top.dir)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 && len(errs) == 0 {
		return nil, memoized, &model.InputError{Location: model.Location{File: top.file}, Message: "the overlay renders no objects"}
	}
	if len(errs) > 0 {
		return objs, memoized, asError(errs)
	}
	return objs, memoized, nil
}

// errNotFast is what an overlay built with the fast path only gives for a
// tree the fast path leaves to krusty.
var errNotFast = errors.New("the fast path does not apply")

// errMemoized is what a render that took files from the memo gives for a
// tree the fast path leaves to krusty: it renders again without the memo.
var errMemoized = errors.New("the tree goes to krusty: render it without the memo")

// asError returns nil, the only error, or the list.
func asError(errs model.InputErrors) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

// clean removes the file system's root from kustomize's messages.
func (t *tree) clean(msg string) string {
	for _, p := range []string{t.lexical, string(t.resolved)} {
		if p != string(filepath.Separator) {
			msg = strings.ReplaceAll(msg, p+string(filepath.Separator), "")
		}
	}
	return msg
}

// build runs kustomize on the top kustomization, through a file system
// that serves the tagged copies of the resource files.
func build(ctx context.Context, t *tree, top *kustomization, tagged map[string][]byte, customSchema bool) ([]*resource.Resource, error) {
	fsys := &overlayFS{FileSystem: t.fsys, files: map[string][]byte{}}
	for p, data := range tagged {
		fsys.files[filepath.Clean(t.abs(p))] = data
		if d, f, err := t.fsys.CleanedAbs(t.abs(p)); err == nil {
			fsys.files[d.Join(f)] = data
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.AddManagedbyLabel = false
	opts.Reorder = krusty.ReorderOptionUnspecified // kustomize build's order
	// Kustomize cannot be interrupted: the build runs on its own goroutine
	// and a cancelled render returns at once, leaving it to finish (the
	// limits checked before bound how long it takes).
	type result struct {
		res []*resource.Resource
		err error
	}
	done := make(chan result, 1)
	go func() {
		buildMu.Lock()
		defer buildMu.Unlock()
		if customSchema {
			// A kustomization's openapi field changes kustomize's global
			// schema, and later builds would inherit it.
			defer openapi.ResetOpenAPI()
		}
		if err := ctx.Err(); err != nil {
			done <- result{err: err}
			return
		}
		m, err := krusty.MakeKustomizer(opts).Run(fsys, t.abs(top.dir))
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{res: m.Resources()}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// overlayFS serves some files from memory and everything else from the
// file system underneath.
type overlayFS struct {
	filesys.FileSystem
	files map[string][]byte
}

func (f *overlayFS) ReadFile(p string) ([]byte, error) {
	if b, ok := f.files[filepath.Clean(p)]; ok {
		return bytes.Clone(b), nil
	}
	return f.FileSystem.ReadFile(p)
}

// object turns one rendered resource into a model.Object located in its
// source file.
func (ix *sourceIndex) object(res *resource.Resource, dir string) (model.Object, *model.InputError) {
	ref := model.ObjectRef{Kind: res.GetKind(), Namespace: res.GetNamespace(), Name: res.GetName()}
	loc := ix.where(res, dir)
	v, err := toValue(res.YNode(), 0)
	if err != nil {
		pe := err.(*pathError)
		return model.Object{}, &model.InputError{Location: loc, Object: ref, Field: pe.path.String(), Message: pe.msg}
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return model.Object{}, &model.InputError{Location: loc, Object: ref, Message: "not a mapping"}
	}
	stripBuildAnnotations(doc)
	return model.Object{ObjectRef: ref, APIVersion: res.GetApiVersion(), Source: loc, Doc: doc}, nil
}

// fastObject is object for a resource of the fast path: from the
// document as converted ahead (Renderer.convertAhead), when it is sure to
// be what converting the node would give, which saves converting every
// document twice.
func (ix *sourceIndex) fastObject(res *resource.Resource, dir string) (model.Object, *model.InputError) {
	a, ok := ix.ahead[res.YNode()]
	if !ok || !tagValue(a) {
		return ix.object(res, dir)
	}
	ref := model.ObjectRef{Kind: res.GetKind(), Namespace: res.GetNamespace(), Name: res.GetName()}
	stripBuildAnnotations(a.doc)
	return model.Object{ObjectRef: ref, APIVersion: res.GetApiVersion(), Source: ix.where(res, dir), Doc: a.doc}, nil
}

// tagValue does to a document converted before tagging what tag did to
// its node, and reports whether the result is what toValue gives for the
// node as the fast path leaves it: false where tag could not tag, where
// the tag would take the document over DefaultLimits, and where
// fastItems rewrites the node's annotations.
func tagValue(a aheadDoc) bool {
	lim := &DefaultLimits
	md, ok := a.doc["metadata"].(map[string]any)
	if !ok || a.nodes+2 > lim.DocumentValues || lim.Depth < 3 {
		return false
	}
	var ann map[string]any
	switch v := md["annotations"].(type) {
	case nil: // absent, or null: tag made it a mapping
		if _, present := md["annotations"]; !present && len(md)+1 > lim.MapKeys {
			return false
		}
		ann = map[string]any{}
	case map[string]any:
		if _, dup := v[sourceAnnotation]; dup || len(v)+1 > lim.MapKeys {
			return false
		}
		// fastItems rewrites these on the node.
		if _, ok := v[originAnnotation]; ok {
			return false
		}
		if _, ok := v[transformationsAnnotation]; ok {
			return false
		}
		ann = v
	default:
		return false
	}
	total := len(sourceAnnotation) + len(a.tag)
	for k, v := range ann {
		s, _ := v.(string)
		total += len(k) + len(s)
	}
	if total > lim.AnnotationBytes {
		return false
	}
	ann[sourceAnnotation] = a.tag
	md["annotations"] = ann
	return true
}

func stripBuildAnnotations(doc map[string]any) {
	md, _ := doc["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		return
	}
	for k := range ann {
		if k == sourceAnnotation || k == originAnnotation || strings.HasPrefix(k, internalAnnotationsPfx) {
			delete(ann, k)
		}
	}
	if len(ann) == 0 {
		delete(md, "annotations")
	}
}
