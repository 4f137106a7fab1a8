// Package validatetest loads the broken-object cases that the offline
// validation tests and the API server e2e tests share: one txtar file per
// case under pipeline/validate/testdata/cases, with the manifests in
// objects.yaml and the API server's verdict in want.txt, one error a line.
package validatetest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/txtar"
	"sigs.k8s.io/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Case is one scenario.
type Case struct {
	Name    string
	File    string // the txtar file
	Objects []model.Object
	Want    []string // error lines in Lines order; empty when the objects are valid
	// RealCreate is set by a comment line "real-create: why": the API
	// server rejects the objects on a real create only, not in a dry run
	// (node ports, for one, are allocated and range-checked only for real).
	RealCreate bool
	YAML       []byte // objects.yaml as written
	archive    *txtar.Archive
}

// Load reads every *.txtar case in dir.
func Load(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		return nil, err
	}
	var cases []Case
	for _, f := range files {
		c, err := load(f)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func load(file string) (Case, error) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		return Case{}, err
	}
	c := Case{Name: strings.TrimSuffix(filepath.Base(file), ".txtar"), File: file, archive: ar}
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		c.RealCreate = c.RealCreate || strings.HasPrefix(l, "real-create:")
	}
	for _, f := range ar.Files {
		switch f.Name {
		case "objects.yaml":
			c.YAML = f.Data
			if c.Objects, err = Objects("objects.yaml", f.Data); err != nil {
				return Case{}, fmt.Errorf("%s: %w", file, err)
			}
		case "want.txt":
			for _, l := range strings.Split(string(f.Data), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					c.Want = append(c.Want, l)
				}
			}
		}
	}
	if len(c.Objects) == 0 {
		return Case{}, fmt.Errorf("%s: no objects.yaml", file)
	}
	return c, nil
}

// Lines renders input errors as want.txt lines, in a canonical order (by
// line, then text), so that verdicts compare as sets.
func Lines(errs []*model.InputError) []string {
	errs = slices.Clone(errs)
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Location.Line != errs[j].Location.Line {
			return errs[i].Location.Line < errs[j].Location.Line
		}
		return errs[i].Error() < errs[j].Error()
	})
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// Update rewrites the case's want.txt with got.
func (c Case) Update(got []string) error {
	data := []byte(strings.Join(got, "\n"))
	if len(got) > 0 {
		data = append(data, '\n')
	}
	found := false
	for i := range c.archive.Files {
		if c.archive.Files[i].Name == "want.txt" {
			c.archive.Files[i].Data, found = data, true
		}
	}
	if !found {
		c.archive.Files = append(c.archive.Files, txtar.File{Name: "want.txt", Data: data})
	}
	return os.WriteFile(c.File, txtar.Format(c.archive), 0o644)
}

// Objects splits a multi-document YAML stream into objects, each with the
// line its document starts on.
func Objects(name string, data []byte) ([]model.Object, error) {
	var out []model.Object
	line, start := 1, 1
	var doc bytes.Buffer
	flush := func() error {
		defer doc.Reset()
		var m map[string]any
		if err := yaml.Unmarshal(doc.Bytes(), &m); err != nil {
			return fmt.Errorf("%s:%d: %w", name, start, err)
		}
		if m == nil {
			return nil
		}
		o := model.Object{APIVersion: str(m, "apiVersion"), Source: model.Location{File: name, Line: start}, Doc: m}
		o.Kind = str(m, "kind")
		if md, ok := m["metadata"].(map[string]any); ok {
			o.Name, o.Namespace = str(md, "name"), str(md, "namespace")
		}
		out = append(out, o)
		return nil
	}
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(l, "\r\n") == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			start = line + 1
		} else {
			if strings.TrimSpace(doc.String()) == "" && (strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#")) {
				start = line + 1 // a document starts at its first line of content
			} else {
				doc.WriteString(l)
			}
		}
		line++
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
