package policy

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

// APIVersion is the apiVersion of expectations and waivers files.
const APIVersion = "reachgate.dev/v1alpha1"

// yamlFile decodes one small YAML file strictly (unknown fields are errors)
// and keeps its node tree to find the line of any field.
type yamlFile struct {
	file string
	root *yaml.Node
	errs model.InputErrors
}

func decodeStrict(file string, data []byte, out any) (*yamlFile, error) {
	f := &yamlFile{file: file, root: &yaml.Node{}}
	if err := yaml.Unmarshal(data, f.root); err != nil {
		return nil, &model.InputError{Location: model.Location{File: file, Line: yamlErrLine(err)}, Message: yamlErrMessage(err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return nil, &model.InputError{Location: model.Location{File: file, Line: yamlErrLine(err)}, Message: yamlErrMessage(err)}
	}
	return f, nil
}

// line finds the line of a dotted path such as "allow.3.port", falling back
// to the nearest ancestor present in the file.
func (f *yamlFile) line(path string) int {
	n := f.root
	if n == nil || len(n.Content) == 0 {
		return 0
	}
	n = n.Content[0]
	line := n.Line
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

// add records a problem at a dotted path; field is how the user reads it
// ("allow[3].port").
func (f *yamlFile) add(path, field, format string, args ...any) {
	f.errs = append(f.errs, &model.InputError{
		Location: model.Location{File: f.file, Line: f.line(path)},
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
	})
}

func (f *yamlFile) header(apiVersion, kind, wantKind string) {
	if apiVersion != APIVersion {
		f.add("apiVersion", "apiVersion", "apiVersion %q: want %s", apiVersion, APIVersion)
	}
	if kind != wantKind {
		f.add("kind", "kind", "kind %q: want %s", kind, wantKind)
	}
}

func yamlErrMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	return msg
}

func yamlErrLine(err error) int {
	var line int
	if _, e := fmt.Sscanf(yamlErrMessage(err), "line %d:", &line); e == nil {
		return line
	}
	return 0
}
