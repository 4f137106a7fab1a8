package render

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/bytesize"
	"github.com/reachgate/reachgate/pipeline/model"
)

// Limits bound the time and memory one render may take. A pull request's
// files are hostile: each limit is checked on the files before kustomize
// sees them, and going over one is an input error that names the file, the
// line and the limit. docs/security.md ("Bounds") lists them with their
// reasons.
type Limits struct {
	// FileBytes is the most one file may hold.
	FileBytes int64
	// ObjectBytes is the most one object (a document, or an item of a
	// List) may take in its file: the API server refuses larger requests.
	ObjectBytes int64
	// DocumentValues is the most values (mappings, lists and scalars,
	// counted after expanding aliases) one document may hold.
	DocumentValues int64
	// RunValues is the most values all the files read by one Renderer may
	// hold together: the limit per run, for the head and for the base.
	RunValues int64
	// MapKeys is the most keys one mapping may have: kustomize looks keys
	// up one by one, so its time grows with the square of a mapping's size.
	MapKeys int
	// AnnotationBytes is the most an object's annotations may take, keys
	// and values together, as the API server counts them.
	AnnotationBytes int
	// Depth is the deepest nesting a document may have.
	Depth int
	// Objects is the most objects one overlay may render: kustomize checks
	// every object it adds against all the others.
	Objects int64
	// Builds is the most objects kustomize may build for one overlay,
	// each object counted once for every kustomization it passes through
	// (a kustomization included twice is built twice).
	Builds int64
}

// DefaultLimits are the limits of every render.
var DefaultLimits = Limits{
	FileBytes:       16 << 20,
	ObjectBytes:     3 << 20,
	DocumentValues:  1 << 20,
	RunValues:       4 << 20,
	MapKeys:         1000,
	AnnotationBytes: 256 << 10,
	Depth:           500,
	Objects:         10000,
	Builds:          50000,
}

// A Renderer renders the overlays (and directories of manifests) of one
// version of a repository, all within one set of Limits: the values
// decoded by every render it does count towards Limits.RunValues.
type Renderer struct {
	fsys   filesys.FileSystem
	root   string
	limits Limits
	// values counts the values decoded so far, aliased those that came
	// through aliases.
	values, aliased *atomic.Int64
	// memo holds the objects its fast path made of each resource file,
	// for the renders after it (see Share).
	memo *memo
}

// NewRenderer renders the repository at root (relative to the working
// directory of fsys, or absolute) within limits.
func NewRenderer(fsys filesys.FileSystem, root string, limits Limits) *Renderer {
	return &Renderer{fsys: fsys, root: root, limits: limits, values: new(atomic.Int64), aliased: new(atomic.Int64), memo: newMemo()}
}

// View renders the same repository, within the same limits and budget,
// through another view of its file system (one that records what is
// read, say).
func (r *Renderer) View(fsys filesys.FileSystem) *Renderer {
	v := *r
	v.fsys = fsys
	return &v
}

// Overlay renders the kustomization in dir: see OverlayRoot. It stops
// when ctx is done; kustomize itself cannot be interrupted, so a build
// under way is left to finish in the background.
func (r *Renderer) Overlay(ctx context.Context, dir string) ([]model.Object, error) {
	return renderOverlay(ctx, r, dir)
}

// Manifests reads a plain directory of manifests: see ManifestsRoot.
func (r *Renderer) Manifests(ctx context.Context, dir string) ([]model.Object, []*model.InputError, error) {
	return readManifests(ctx, r, dir)
}

// converter returns a converter for one document, against the run's
// budget.
func (r *Renderer) converter(offset int) *converter {
	return &converter{offset: offset, lim: &r.limits, run: r.values, runAliased: r.aliased}
}

// value converts one document and adds its values to the run's.
func (r *Renderer) value(n *yaml.Node, offset int) (any, error) {
	c := r.converter(offset)
	v, err := c.value(n)
	r.values.Add(c.nodes)
	r.aliased.Add(c.aliased)
	return v, err
}

// convertAhead converts, on every core, the documents of a large file
// that checkDocument will convert one by one, without the budget per run:
// checkDocument then only adds what each holds to the run's count, in
// order, and converts again only a document that fails, or that the
// run's budget does not cover, so its error is the one a conversion in
// order gives.
func (r *Renderer) convertAhead(file string, docs []document, data []byte) {
	if len(docs) < 2 || len(data) < parallelBytes {
		return
	}
	parallel(len(docs), func(i int) bool {
		r.convertDoc(file, &docs[i])
		return true
	})
}

// convertDoc converts one document ahead (see convertAhead).
func (r *Renderer) convertDoc(file string, d *document) {
	if d.node == nil || r.objectTooLarge(file, d) != nil {
		return
	}
	c := &converter{offset: d.offset, lim: &r.limits}
	v, err := c.value(d.node)
	d.ahead = converted{nodes: c.nodes, aliased: c.aliased, ok: err == nil}
	if err == nil {
		d.ahead.value = v
	}
}

// counted adds a document converted ahead to the run's count, if it
// converted and the run's budget covers it.
func (r *Renderer) counted(d *document) bool {
	if !d.ahead.ok || r.values.Load()+d.ahead.nodes > r.limits.RunValues {
		return false
	}
	r.values.Add(d.ahead.nodes)
	r.aliased.Add(d.ahead.aliased)
	return true
}

// objectTooLarge reports the first object of a document (the document, or
// an item of a List) over Limits.ObjectBytes.
func (r *Renderer) objectTooLarge(file string, d *document) *model.InputError {
	line, n, ok := d.largestObject()
	if ok && n > r.limits.ObjectBytes {
		return &model.InputError{
			Location: model.Location{File: file, Line: line},
			Message: fmt.Sprintf("object is %s, more than %s, the largest request the API server accepts (the limit per object)",
				bytesize.Format(n), bytesize.Format(r.limits.ObjectBytes)),
		}
	}
	return nil
}
