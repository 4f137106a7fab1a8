// Package yamlfile decodes small YAML files of reachgate's own formats
// (reachgate.yaml, expectations, waivers) strictly, and finds the line of
// any field so that every problem names file, line and field.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/reachgate/reachgate/pipeline/model"
)

// File is a decoded file with its node tree and the problems found in it.
type File struct {
	Name string
	root *yaml.Node
	// Errs are the problems recorded with Add.
	Errs model.InputErrors
}

// Decode parses data into out; unknown fields are errors. A syntax error
// comes back as a *model.InputError with its line; unknown fields (each
// with the fields that are known there) and type errors come back
// together, each with its line, as model.InputErrors.
func Decode(name string, data []byte, out any) (*File, error) {
	f := &File{Name: name, root: &yaml.Node{}}
	if err := yaml.Unmarshal(data, f.root); err != nil {
		return nil, &model.InputError{Location: model.Location{File: name, Line: errLine(err)}, Message: errMessage(err)}
	}
	var errs model.InputErrors
	if len(f.root.Content) > 0 {
		unknownFields(name, f.root.Content[0], reflect.TypeOf(out), "", &errs)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &model.InputError{Location: model.Location{File: name, Line: errLine(err)}, Message: errMessage(err)}
		}
		for _, e := range te.Errors {
			line := lineOf(e)
			if strings.Contains(e, " not found in type ") && reported(errs, line) {
				continue // unknownFields said it, with the field's name
			}
			errs = append(errs, f.typeError(line, stripLine(e)))
		}
	}
	switch len(errs) {
	case 0:
		return f, nil
	case 1:
		return nil, errs[0]
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Location.Line < errs[j].Location.Line })
	return nil, errs
}

var cannotUnmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (.+)$")

// yamlKinds name YAML's tags for people.
var yamlKinds = map[string]string{"str": "text", "int": "a number", "float": "a number", "bool": "true or false", "seq": "a list", "map": "a mapping", "null": "nothing", "timestamp": "a date"}

// typeError names the field of a value that does not fit its type:
// "overlays.0.ports.0.port: "x" is text, want int".
func (f *File) typeError(line int, msg string) *model.InputError {
	e := &model.InputError{Location: model.Location{File: f.Name, Line: line}, Message: msg}
	m := cannotUnmarshal.FindStringSubmatch(msg)
	if m == nil {
		return e
	}
	got := yamlKinds[m[1]]
	if got == "" {
		got = m[1]
	}
	e.Message = fmt.Sprintf("is %s, want %s", got, goKind(m[3]))
	if m[2] != "" {
		e.Message = fmt.Sprintf("%q is %s, want %s", m[2], got, goKind(m[3]))
	}
	if len(f.root.Content) > 0 {
		e.Field = valuePath(f.root.Content[0], line, m[2], "")
	}
	return e
}

// goKind names a Go type for people.
func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "text"
	case t == "bool":
		return "true or false"
	case strings.Contains(t, "."):
		return "a mapping"
	}
	return t
}

// valuePath finds the dotted path of the value on line whose text (or,
// for a collection, whose start) is there.
func valuePath(n *yaml.Node, line int, text, at string) string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Line == line && (v.Value == text || v.Kind != yaml.ScalarNode) {
				if p := valuePath(v, line, text, at+k.Value+"."); p != "" && v.Kind != yaml.ScalarNode {
					return p
				}
				return at + k.Value
			}
			if p := valuePath(v, line, text, at+k.Value+"."); p != "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := valuePath(c, line, text, at+strconv.Itoa(i)+"."); p != "" {
				return p
			}
			if c.Line == line && c.Kind == yaml.ScalarNode && c.Value == text {
				return at + strconv.Itoa(i)
			}
		}
	}
	return ""
}

func reported(errs model.InputErrors, line int) bool {
	for _, e := range errs {
		if e.Location.Line == line {
			return true
		}
	}
	return false
}

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// unknownFields reports every key of n that typ does not decode, naming
// it by its dotted path ("overlays.0.pth") and saying what is known there.
func unknownFields(file string, n *yaml.Node, typ reflect.Type, at string, errs *model.InputErrors) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if reflect.PointerTo(typ).Implements(unmarshaler) {
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		structFields(typ, fields, &names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok {
				*errs = append(*errs, &model.InputError{
					Location: model.Location{File: file, Line: n.Content[i].Line},
					Field:    at + key,
					Message:  "unknown field" + suggest(key, names),
				})
				continue
			}
			unknownFields(file, n.Content[i+1], ft, at+key+".", errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			unknownFields(file, c, typ.Elem(), at+strconv.Itoa(i)+".", errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			unknownFields(file, n.Content[i+1], typ.Elem(), at+n.Content[i].Value+".", errs)
		}
	}
}

// structFields maps the YAML names of typ's fields (those of inlined
// structs included) to their types, as yaml.v3 names them.
func structFields(typ reflect.Type, out map[string]reflect.Type, names *[]string) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			t := f.Type
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Kind() == reflect.Struct {
				structFields(t, out, names)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
		*names = append(*names, name)
	}
}

// suggest is "; did you mean path?" for a near miss, else the fields
// known there.
func suggest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		d := distance(strings.ToLower(key), strings.ToLower(n))
		if d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return "; did you mean " + best + "?"
	}
	return " (known here: " + strings.Join(names, ", ") + ")"
}

// distance is the edit distance of a and b, a swap of neighbours
// counting as one edit (optimal string alignment).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Line finds the line of a dotted path such as "externals.2.cidrs.0",
// falling back to the nearest ancestor present in the file.
func (f *File) Line(path string) int {
	n := f.root
	if n == nil || len(n.Content) == 0 {
		return 0
	}
	return lineIn(n.Content[0], path)
}

// Has reports whether the file writes a dotted path such as
// "inventory" or "rules.params", even with an empty or null value.
func (f *File) Has(path string) bool {
	n := f.root
	if n == nil || len(n.Content) == 0 {
		return false
	}
	n = n.Content[0]
	for _, part := range strings.Split(path, ".") {
		if n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

// Manifests are the documents of a multi-document YAML file.
type Manifests []*yaml.Node

// ParseManifests parses every document of data; it stops at the first
// document that does not parse, keeping those before it.
func ParseManifests(data []byte) Manifests {
	var docs Manifests
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return docs
		}
		if len(n.Content) > 0 {
			docs = append(docs, n.Content[0])
		}
	}
}

// FieldLine finds the line of field, written the way Kubernetes names
// fields ("spec.ingress[0].from[1].ipBlock"), in the document whose first
// key is on docLine, falling back to the nearest ancestor the document
// has (a field a kustomize patch or transformer set is not in the file).
// It returns 0 when no document starts on docLine. Index the documents to
// look up many fields.
func (ms Manifests) FieldLine(docLine int, field string) int {
	return ms.Index().FieldLine(docLine, field)
}

// ManifestIndex finds the documents of Manifests by the line they start
// on.
type ManifestIndex map[int]*yaml.Node

// Index indexes the documents by their line and the line of their first
// key; where documents share a line, the first is kept.
func (ms Manifests) Index() ManifestIndex {
	ix := make(ManifestIndex, 2*len(ms))
	add := func(line int, root *yaml.Node) {
		if _, ok := ix[line]; !ok {
			ix[line] = root
		}
	}
	for _, root := range ms {
		add(root.Line, root)
		if root.Kind == yaml.MappingNode && len(root.Content) > 0 {
			add(root.Content[0].Line, root)
		}
	}
	return ix
}

// FieldLine is Manifests.FieldLine on the indexed documents.
func (ix ManifestIndex) FieldLine(docLine int, field string) int {
	if root, ok := ix[docLine]; ok {
		return lineIn(root, fieldPath(field))
	}
	return 0
}

// fieldPath turns "spec.ingress[0].from" into "spec.ingress.0.from".
func fieldPath(field string) string {
	return indexBrackets.Replace(field)
}

var indexBrackets = strings.NewReplacer("[", ".", "]", "")

// lineIn walks a dotted path from n, returning the line of the deepest
// node found.
func lineIn(n *yaml.Node, path string) int {
	line := n.Line
	if path == "" {
		return line
	}
	for _, part := range strings.Split(path, ".") {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					next = n.Content[i+1]
					line = n.Content[i].Line
				}
			}
		case yaml.SequenceNode:
			if idx, err := strconv.Atoi(part); err == nil && idx >= 0 && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// Add records a problem at a dotted path; field is how the user reads it
// ("allow[3].port"), "" to use the path itself.
func (f *File) Add(path, field, format string, args ...any) {
	if field == "" {
		field = path
	}
	f.Errs = append(f.Errs, &model.InputError{
		Location: model.Location{File: f.Name, Line: f.Line(path)},
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
	})
}

// errMessage is a YAML error without the package's prefix and the line
// (the location says it).
func errMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	return stripLine(msg)
}

func errLine(err error) int {
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "), "yaml: ")
	return lineOf(msg)
}

// lineOf reads the line of "line 3: ...".
func lineOf(msg string) int {
	var line int
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		return line
	}
	return 0
}

// stripLine drops a leading "line 3: ".
func stripLine(msg string) string {
	if lineOf(msg) > 0 {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}
