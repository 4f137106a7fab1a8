// Package deploy finds the directories of a repository that Argo CD
// deploys, from the Applications and ApplicationSets the repository holds,
// so that check can tell whether every one of them is judged.
package deploy

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Source is one repository directory an Application or ApplicationSet
// deploys.
type Source struct {
	Path   string
	Object model.ObjectRef
	At     model.Location
}

// Sources returns the directories that the Applications and
// ApplicationSets among objs deploy, sorted by path. dirs lists every
// directory of the repository (slash-separated, relative to its root);
// git directory generators are matched against it with path.Match, as
// Argo CD matches them, and a deployed path that is not among dirs is
// taken to be another repository's. Problems are what cannot be told
// without running Argo CD (an unknown generator, a template expression
// left unresolved): never silently dropped.
func Sources(objs []model.Object, dirs []string) (out []Source, problems []string) {
	have := map[string]bool{}
	for _, d := range dirs {
		have[path.Clean(d)] = true
	}
	add := func(o model.Object, p string) {
		p = path.Clean(strings.TrimPrefix(p, "/"))
		if have[p] {
			out = append(out, Source{Path: p, Object: o.ObjectRef, At: o.Source})
		}
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.APIVersion, "argoproj.io/") {
			continue
		}
		spec, _ := o.Doc["spec"].(map[string]any)
		switch o.Kind {
		case "Application":
			for _, p := range sourcePaths(spec) {
				add(o, p)
			}
		case "ApplicationSet":
			tmpl, _ := spec["template"].(map[string]any)
			tspec, _ := tmpl["spec"].(map[string]any)
			paths := sourcePaths(tspec)
			gens, _ := spec["generators"].([]any)
			params, unknown := generate(gens, dirs)
			for _, u := range unknown {
				problems = append(problems, fmt.Sprintf("%s (%s): %s", o.ObjectRef, o.Source, u))
			}
			for _, p := range paths {
				if !strings.Contains(p, "{{") {
					add(o, p)
					continue
				}
				for _, ps := range params {
					q, ok := substitute(p, ps)
					if !ok {
						problems = append(problems, fmt.Sprintf("%s (%s): cannot resolve the template path %q", o.ObjectRef, o.Source, p))
						break
					}
					add(o, q)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Source) int { return strings.Compare(a.Path, b.Path) })
	return slices.CompactFunc(out, func(a, b Source) bool { return a.Path == b.Path }), problems
}

// sourcePaths are spec.source.path and spec.sources[].path.
func sourcePaths(spec map[string]any) []string {
	var out []string
	if src, ok := spec["source"].(map[string]any); ok {
		if p, ok := src["path"].(string); ok && p != "" {
			out = append(out, p)
		}
	}
	srcs, _ := spec["sources"].([]any)
	for _, s := range srcs {
		if src, ok := s.(map[string]any); ok {
			if p, ok := src["path"].(string); ok && p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// generate returns the parameter sets of the generators: for a git
// directory generator, path and path.basename of each matching directory;
// for a list generator, its elements' string fields. Matrix and merge
// generators contribute their children's parameter sets.
func generate(gens []any, dirs []string) (params []map[string]string, unknown []string) {
	for _, g := range gens {
		gm, _ := g.(map[string]any)
		switch {
		case gm["git"] != nil:
			git, _ := gm["git"].(map[string]any)
			ds, _ := git["directories"].([]any)
			if len(ds) == 0 {
				unknown = append(unknown, "a git generator without directories (files generator) is not evaluated")
				continue
			}
			for _, d := range gitDirectories(ds, dirs) {
				params = append(params, map[string]string{"path": d, "path.path": d, "path.basename": path.Base(d)})
			}
		case gm["list"] != nil:
			list, _ := gm["list"].(map[string]any)
			els, _ := list["elements"].([]any)
			for _, e := range els {
				em, _ := e.(map[string]any)
				ps := map[string]string{}
				for k, v := range em {
					if s, ok := v.(string); ok {
						ps[k] = s
					}
				}
				params = append(params, ps)
			}
		case gm["matrix"] != nil || gm["merge"] != nil:
			inner, _ := gm["matrix"].(map[string]any)
			if inner == nil {
				inner, _ = gm["merge"].(map[string]any)
			}
			children, _ := inner["generators"].([]any)
			ps, u := generate(children, dirs)
			params, unknown = append(params, ps...), append(unknown, u...)
		default:
			var kinds []string
			for k := range gm {
				kinds = append(kinds, k)
			}
			slices.Sort(kinds)
			unknown = append(unknown, fmt.Sprintf("generator %s is not evaluated: the directories it deploys are unknown", strings.Join(kinds, ",")))
		}
	}
	return params, unknown
}

// gitDirectories matches the directories entries (path patterns, some
// with exclude: true) against dirs.
func gitDirectories(entries []any, dirs []string) []string {
	var include, exclude []string
	for _, e := range entries {
		em, _ := e.(map[string]any)
		p, _ := em["path"].(string)
		if ex, _ := em["exclude"].(bool); ex {
			exclude = append(exclude, p)
		} else {
			include = append(include, p)
		}
	}
	var out []string
	for _, d := range dirs {
		if matchAny(include, d) && !matchAny(exclude, d) {
			out = append(out, d)
		}
	}
	return out
}

func matchAny(patterns []string, d string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.TrimPrefix(p, "/"), d); ok {
			return true
		}
	}
	return false
}

// expr is one template expression: {{ .path.basename }}, {{path}},
// {{ index .path.segments 1 }} is not supported.
var expr = regexp.MustCompile(`\{\{-?\s*\.?([A-Za-z0-9_.]+)\s*-?\}\}`)

// substitute fills the template's expressions from ps; ok is false when
// one is left that ps does not give.
func substitute(tmpl string, ps map[string]string) (string, bool) {
	ok := true
	out := expr.ReplaceAllStringFunc(tmpl, func(m string) string {
		key := expr.FindStringSubmatch(m)[1]
		if v, found := ps[key]; found {
			return v
		}
		ok = false
		return m
	})
	return out, ok && !strings.Contains(out, "{{")
}
