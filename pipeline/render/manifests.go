package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Manifests reads a plain directory of manifests, with paths relative to
// the root of fsys. See ManifestsRoot.
func Manifests(fsys filesys.FileSystem, dir string) ([]model.Object, []*model.InputError, error) {
	return ManifestsRoot(fsys, ".", dir)
}

// ManifestsRoot reads every .yaml, .yml and .json file under dir (or the
// file dir itself) inside the repository at root, in lexical order.
// Hidden directories are skipped. Multi-document files are split into
// their documents and List kinds (List, and FooList with an items list)
// into their items; kustomize's and reachgate's configuration files
// (apiVersion kustomize.config.k8s.io/... or reachgate.dev/..., such as
// an overlay's expectations.yaml) are not manifests and are skipped.
//
// A document that is not a Kubernetes object at all — a mapping with
// none of apiVersion, kind and metadata (a Helm values.yaml, a tool's
// settings), a list of anything but objects (a JSON array of names), a
// bare value — is skipped: it comes back in skipped, with its file and
// line, for the caller to warn about, as netpol-analyzer does. An object
// that is malformed is not skipped: a mapping with one of those keys is
// an object with a mistake, and so is a list holding objects.
//
// A document that cannot be read (malformed YAML, not a mapping, a symlink
// leaving the repository) is reported and the others still load: the
// objects that loaded come back together with a *model.InputError or
// model.InputErrors. A directory without any object is an error
// ("no objects").
func ManifestsRoot(fsys filesys.FileSystem, root, dir string) (objs []model.Object, skipped []*model.InputError, err error) {
	return NewRenderer(fsys, root, DefaultLimits).Manifests(context.Background(), dir)
}

func readManifests(ctx context.Context, rd *Renderer, dir string) ([]model.Object, []*model.InputError, error) {
	fsys := rd.fsys
	t, err := newTree(fsys, rd.root, rd.limits.FileBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("read manifests %s: %w", dir, err)
	}
	rel, err := t.relative(dir)
	if err != nil {
		return nil, nil, &model.InputError{Location: model.Location{File: filepath.ToSlash(dir)}, Message: err.Error()}
	}
	if !t.exists(rel) {
		return nil, nil, &model.InputError{Location: model.Location{File: rel}, Message: "no such file or directory"}
	}
	// A directory reached through a symlink that leaves the repository
	// is not walked: nothing outside the root is listed or read.
	if target, bad := t.escapes(rel); bad {
		return nil, nil, &model.InputError{Location: model.Location{File: rel}, Message: fmt.Sprintf("%s resolves to %s, outside the repository", rel, target)}
	}
	r := &manifestReader{t: t, rd: rd}
	if !t.isDir(rel) {
		r.file(rel)
	} else {
		top := t.abs(rel)
		err := fsys.Walk(top, func(p string, info os.FileInfo, err error) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			fr, ok := within(t.lexical, p)
			if !ok {
				return nil
			}
			if err != nil {
				r.fail(model.Location{File: fr}, "%v", err)
				return nil
			}
			if info.IsDir() {
				if p != top && strings.HasPrefix(info.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !isManifestFile(fr) {
				return nil
			}
			if info.Mode()&os.ModeSymlink != 0 {
				if target, bad := t.escapes(fr); bad {
					r.fail(model.Location{File: fr}, "symlink to %s, outside the repository", target)
					return nil
				}
				if t.isDir(fr) {
					r.fail(model.Location{File: fr}, "symlinked directory is not followed")
					return nil
				}
			}
			r.file(fr)
			return nil
		})
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read manifests %s: %w", rel, err)
		}
	}
	if len(r.objs) == 0 && len(r.errs) == 0 {
		msg := "no objects: no .yaml, .yml or .json manifest here"
		if n := len(r.skipped); n > 0 {
			msg = fmt.Sprintf("no objects: the %d document(s) here are not Kubernetes objects", n)
		}
		return nil, r.skipped, &model.InputError{Location: model.Location{File: rel}, Message: msg}
	}
	return r.objs, r.skipped, asError(r.errs)
}

// notAnObject is why a document is skipped; "" when it is (or tries to
// be) a Kubernetes object.
func notAnObject(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		if mapValue(n, "apiVersion") == nil && mapValue(n, "kind") == nil && mapValue(n, "metadata") == nil {
			return "not a Kubernetes object (no apiVersion, kind or metadata)"
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			if it = resolveAlias(it); it.Kind == yaml.MappingNode && (mapValue(it, "apiVersion") != nil || mapValue(it, "kind") != nil) {
				return ""
			}
		}
		return "not a Kubernetes object (a list)"
	case yaml.ScalarNode:
		return "not a Kubernetes object (a single value)"
	}
	return ""
}

func isManifestFile(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

type manifestReader struct {
	t       *tree
	rd      *Renderer
	objs    []model.Object
	errs    model.InputErrors
	skipped []*model.InputError
}

func (r *manifestReader) fail(loc model.Location, format string, args ...any) {
	r.errs = append(r.errs, &model.InputError{Location: loc, Message: fmt.Sprintf(format, args...)})
}

func (r *manifestReader) file(p string) {
	data, err := r.t.read(p)
	if err != nil {
		r.fail(model.Location{File: p}, "read: %v", err)
		return
	}
	for _, d := range splitDocuments(data) {
		loc := model.Location{File: p, Line: d.line}
		switch {
		case d.err != nil:
			r.fail(loc, "malformed YAML: %v", d.err)
			continue
		case d.node == nil:
			continue
		case notAnObject(d.node) != "":
			r.skipped = append(r.skipped, &model.InputError{Location: loc, Message: notAnObject(d.node) + ": skipped"})
			continue
		case d.node.Kind != yaml.MappingNode:
			r.fail(loc, "a manifest must be a mapping, found %s", nodeKind(d.node))
			continue
		}
		if e := r.rd.objectTooLarge(p, &d); e != nil {
			r.errs = append(r.errs, e)
			continue
		}
		v, err := r.rd.value(d.node, d.offset)
		if err != nil {
			pe := err.(*pathError)
			r.errs = append(r.errs, &model.InputError{
				Location: model.Location{File: p, Line: pe.line}, Field: pe.path.String(), Message: pe.msg,
			})
			continue
		}
		doc := v.(map[string]any)
		apiVersion, _ := doc["apiVersion"].(string)
		if strings.HasPrefix(apiVersion, "kustomize.config.k8s.io/") || strings.HasPrefix(apiVersion, "reachgate.dev/") {
			continue // kustomize's and reachgate's own files (expectations.yaml)
		}
		kind, _ := doc["kind"].(string)
		items, isList := doc["items"].([]any)
		if !strings.HasSuffix(kind, "List") || !isList {
			r.objs = append(r.objs, newObject(doc, loc))
			continue
		}
		var itemNodes []*yaml.Node // for lines; missing when items came through a merge key
		if n := mapValue(d.node, "items"); n != nil && resolveAlias(n).Kind == yaml.SequenceNode {
			itemNodes = resolveAlias(n).Content
		}
		for i, it := range items {
			iloc := loc
			if len(itemNodes) == len(items) {
				iloc.Line = d.lineOf(itemNodes[i])
			}
			m, ok := it.(map[string]any)
			if !ok {
				r.errs = append(r.errs, &model.InputError{Location: iloc, Field: fieldPath{"items", i}.String(),
					Message: "a list item must be a mapping, found " + describe(it)})
				continue
			}
			if kind != "List" {
				// Items of a typed list (DeploymentList) may leave out
				// their type.
				if _, ok := m["kind"]; !ok {
					m["kind"] = strings.TrimSuffix(kind, "List")
				}
				if _, ok := m["apiVersion"]; !ok && apiVersion != "" {
					m["apiVersion"] = apiVersion
				}
			}
			r.objs = append(r.objs, newObject(m, iloc))
		}
	}
}

// newObject names a document by its kind, namespace and name.
func newObject(doc map[string]any, loc model.Location) model.Object {
	md, _ := doc["metadata"].(map[string]any)
	return model.Object{
		ObjectRef: model.ObjectRef{
			Kind:      text(doc["kind"]),
			Namespace: text(md["namespace"]),
			Name:      text(md["name"]),
		},
		APIVersion: text(doc["apiVersion"]),
		Source:     loc,
		Doc:        doc,
	}
}

// text is a scalar as written; "" for nothing or a collection.
func text(v any) string {
	switch x := v.(type) {
	case nil, map[string]any, []any:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}
