package render

import (
	"bytes"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/reachgate/reachgate/pipeline/model"
)

// sourceAnnotation tags every document of a resource file, in the copy
// kustomize reads, with "file:line". Kustomize carries annotations through
// patches, name and namespace changes, so each rendered object says
// exactly where it was written. It is removed from rendered objects.
//
// This gives what kustomize's buildMetadata: [originAnnotations] gives
// (the source file) plus the exact line, at a third of the cost: origin
// tracking makes kustomize record every transformer on every object,
// which tripled rendering time and memory in BenchmarkRenderOverlay.
const sourceAnnotation = "reachgate.dev/source"

// tagSources tags each document of a resource file (or each item of a
// List) with sourceAnnotation, in place. Documents it cannot tag safely
// (a "<<" merge key in the way, annotations that are not a mapping) are
// left as they are and located by name later.
func tagSources(file string, docs []document) {
	for i := range docs {
		d := &docs[i]
		if d.node == nil {
			continue
		}
		kind := scalarString(mapValue(d.node, "kind"))
		items := mapValue(d.node, "items")
		if strings.HasSuffix(kind, "List") && items != nil && resolveAlias(items).Kind == yaml.SequenceNode {
			for _, it := range resolveAlias(items).Content {
				tag(it, file+":"+strconv.Itoa(d.lineOf(it)))
			}
		} else {
			tag(d.node, file+":"+strconv.Itoa(d.line))
		}
	}
}

// encodeDocuments writes documents back as one YAML stream, the copy of
// a file kustomize reads.
func encodeDocuments(docs []document) ([]byte, error) {
	// One encoder per document: yaml.v3's emitter keeps every event of
	// its stream, so one encoder for a file of thousands of documents
	// allocated a gigabyte for 5,000 objects (BenchmarkScaleReachJSON).
	var b bytes.Buffer
	written := false
	for i := range docs {
		if docs[i].node == nil {
			continue
		}
		if written {
			b.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(docs[i].node); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		written = true
	}
	return b.Bytes(), nil
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func hasMergeKey(m *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].ShortTag() == "!!merge" {
			return true
		}
	}
	return false
}

// tag sets sourceAnnotation on one object node; false when it cannot.
func tag(obj *yaml.Node, value string) bool {
	obj = resolveAlias(obj)
	if obj.Kind != yaml.MappingNode || hasMergeKey(obj) {
		return false
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: value}
	md := mapValue(obj, "metadata")
	if md == nil {
		obj.Content = append(obj.Content, str("metadata"), &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map",
			Content: []*yaml.Node{str("annotations"), {Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{str(sourceAnnotation), val}}}})
		return true
	}
	if md.Kind != yaml.MappingNode || hasMergeKey(md) {
		return false
	}
	ann := mapValue(md, "annotations")
	switch {
	case ann == nil:
		md.Content = append(md.Content, str("annotations"), &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map",
			Content: []*yaml.Node{str(sourceAnnotation), val}})
	case ann.Kind == yaml.ScalarNode && ann.ShortTag() == "!!null":
		*ann = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{str(sourceAnnotation), val}}
	case ann.Kind == yaml.MappingNode && !hasMergeKey(ann):
		ann.Content = append(ann.Content, str(sourceAnnotation), val)
	default:
		return false
	}
	return true
}

// parseSource reads a sourceAnnotation value.
func parseSource(v string) (model.Location, bool) {
	i := strings.LastIndexByte(v, ':')
	if i <= 0 {
		return model.Location{}, false
	}
	line, err := strconv.Atoi(v[i+1:])
	if err != nil {
		return model.Location{}, false
	}
	return model.Location{File: v[:i], Line: line}, true
}

// where finds the source of a rendered object: its sourceAnnotation; else
// kustomize's origin annotation, when the user's kustomization asked for
// it, and a document of that file; else the best match by kind and name
// among every indexed document and generator entry (for generated
// objects, and objects whose annotations a patch replaced).
func (ix *sourceIndex) where(res *resource.Resource, dir string) model.Location {
	kind, name, ns := res.GetKind(), res.GetName(), res.GetNamespace()
	ann := res.GetAnnotations()
	if loc, ok := parseSource(ann[sourceAnnotation]); ok {
		return loc
	}
	if origin, err := res.GetOrigin(); err == nil && origin != nil {
		switch {
		case origin.Path != "":
			f := path.Join(dir, filepath.ToSlash(origin.Path))
			return model.Location{File: f, Line: ix.locate(f, kind, name, ns)}
		case origin.ConfiguredIn != "" && strings.HasSuffix(origin.ConfiguredBy.Kind, "Generator"):
			f := path.Join(dir, filepath.ToSlash(origin.ConfiguredIn))
			return model.Location{File: f, Line: ix.locate(f, kind, name, ns)}
		}
		// Otherwise kustomize names the last transformer that touched an
		// object it had lost track of: no help.
	}
	return ix.search(kind, name, ns)
}

// matchScore rates how well a document fits a rendered object; ok is
// false when its name has nothing to do with the rendered name.
type matchScore struct{ kind, exact, length, ns int }

func (a matchScore) better(b matchScore) bool {
	if a.kind != b.kind {
		return a.kind > b.kind
	}
	if a.exact != b.exact {
		return a.exact > b.exact
	}
	if a.length != b.length {
		return a.length > b.length
	}
	return a.ns > b.ns
}

func score(d docEntry, kind, name, namespace string) (matchScore, bool) {
	var s matchScore
	switch {
	case d.name == name:
		s.exact, s.length = 1, len(d.name)
	case d.name != "" && strings.Contains(name, d.name):
		s.length = len(d.name)
	default:
		return s, false
	}
	if d.kind == kind {
		s.kind = 1
	}
	if d.namespace == namespace {
		s.ns = 1
	}
	return s, true
}

var noMatch = matchScore{-1, -1, -1, -1}

// locate finds the line of a rendered object in file: the document whose
// name is the rendered name, or is contained in it (name prefixes,
// suffixes and hashes), preferring the same kind, the longest such name
// and the same namespace; the only document of that kind when there is
// one. 0 when nothing fits.
func (ix *sourceIndex) locate(file, kind, name, namespace string) int {
	docs := ix.docs[file]
	if len(docs) == 1 && docs[0].kind == kind {
		return docs[0].line
	}
	line, best := 0, noMatch
	for _, d := range docs {
		if s, ok := score(d, kind, name, namespace); ok && s.better(best) {
			line, best = d.line, s
		}
	}
	return line
}

// search looks for a rendered object of that kind among all indexed
// documents, generator entries included.
func (ix *sourceIndex) search(kind, name, namespace string) model.Location {
	var loc model.Location
	best := noMatch
	for _, f := range sortedKeys(ix.docs) {
		for _, d := range ix.docs[f] {
			if d.kind != kind {
				continue
			}
			if s, ok := score(d, kind, name, namespace); ok && s.better(best) {
				loc, best = model.Location{File: f, Line: d.line}, s
			}
		}
	}
	return loc
}
