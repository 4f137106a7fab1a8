// Package yamlfile decodes small YAML files of reachgate's own formats
// (reachgate.yaml, expectations, waivers) strictly, and finds the line of
// any field so that every problem names file, line and field.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// Decode parses data into out; unknown fields are errors. Syntax and type
// errors come back as a *model.InputError with the line.
func Decode(name string, data []byte, out any) (*File, error) {
	f := &File{Name: name, root: &yaml.Node{}}
	if err := yaml.Unmarshal(data, f.root); err != nil {
		return nil, &model.InputError{Location: model.Location{File: name, Line: errLine(err)}, Message: errMessage(err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return nil, &model.InputError{Location: model.Location{File: name, Line: errLine(err)}, Message: errMessage(err)}
	}
	return f, nil
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
// It returns 0 when no document starts on docLine.
func (ms Manifests) FieldLine(docLine int, field string) int {
	for _, root := range ms {
		if root.Line == docLine || (root.Kind == yaml.MappingNode && len(root.Content) > 0 && root.Content[0].Line == docLine) {
			return lineIn(root, fieldPath(field))
		}
	}
	return 0
}

// fieldPath turns "spec.ingress[0].from" into "spec.ingress.0.from".
func fieldPath(field string) string {
	r := strings.NewReplacer("[", ".", "]", "")
	return r.Replace(field)
}

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

func errMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	return msg
}

func errLine(err error) int {
	var line int
	if _, e := fmt.Sscanf(errMessage(err), "line %d:", &line); e == nil {
		return line
	}
	return 0
}
