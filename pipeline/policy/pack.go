package policy

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Pack is a set of rule files compiled in with a repository's own rules:
// the built-in pack, embedded in the binary.
type Pack struct {
	// FS holds *.rego files, tests (*_test.rego) included.
	FS fs.FS
	// Name says where the pack's rules come from in listings and
	// errors, e.g. "built-in v1.2.3".
	Name string
}

// BuiltinPrefix starts the file names of a pack's modules ("builtin/
// default_deny.rego"). A repository's modules are named by their path in
// its file system, which is absolute, so the two never collide.
const BuiltinPrefix = "builtin/"

// packFiles lists the pack's .rego files, sorted.
func (p *Pack) files() ([]string, error) {
	var out []string
	err := fs.WalkDir(p.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(name, ".rego") {
			out = append(out, name)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// isLib reports whether a pack file is part of its library (lib/): the
// helpers and the test fixtures a repository's own rule tests may use.
func isLib(name string) bool { return strings.HasPrefix(name, "lib/") }

// withPack adds the pack's modules to a repository's: its rules and
// library, and for tests (withTests) the library's test fixtures; the
// pack's own rule tests run with the pack (go test), not with the
// repository's. A repository module in one of the pack's packages is an
// error: it would merge into a built-in rule, or redefine it.
func withPack(modules map[string]*ast.Module, p *Pack, withTests bool) (map[string]*ast.Module, error) {
	if p == nil {
		return modules, nil
	}
	files, err := p.files()
	if err != nil {
		return nil, fmt.Errorf("rule pack %s: %w", p.Name, err)
	}
	owned := map[string]string{} // package -> pack file
	out := make(map[string]*ast.Module, len(modules)+len(files))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.rego") && !(withTests && isLib(f)) {
			continue
		}
		src, err := fs.ReadFile(p.FS, f)
		if err != nil {
			return nil, fmt.Errorf("rule pack %s: %w", p.Name, err)
		}
		name := BuiltinPrefix + f
		m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{
			ProcessAnnotation: true,
			RegoVersion:       ast.RegoV1,
			Capabilities:      Capabilities(),
		})
		if err != nil {
			return nil, fmt.Errorf("rule pack %s: %w", p.Name, err)
		}
		out[name] = m
		owned[m.Package.Path.String()] = name
	}
	var clashes model.InputErrors
	for _, f := range sortedKeys(modules) {
		m := modules[f]
		pkg := m.Package.Path.String()
		if other, clash := owned[pkg]; clash {
			line := 0
			if m.Package.Location != nil {
				line = m.Package.Location.Row
			}
			clashes = append(clashes, &model.InputError{
				Location: model.Location{File: f, Line: line},
				Message:  fmt.Sprintf("package %s is also in the %s pack (%s)", strings.TrimPrefix(pkg, "data."), p.Name, path.Base(other)),
			})
			continue
		}
		out[f] = m
	}
	if len(clashes) > 0 {
		// A copy of the whole pack (the old layout) is one problem, not
		// one per file.
		const fix = ": a copy of a built-in rule is not needed, the pack is in the binary; " +
			"remove the copy, give your rule a package of its own, or set rules.builtin: false to judge with your own rules only"
		if len(clashes) > 3 {
			first := clashes[0]
			first.Message += fmt.Sprintf(", and so are %d more of your packages", len(clashes)-1)
			clashes = clashes[:1]
		}
		for _, c := range clashes {
			c.Message += fix
		}
		return nil, clashes
	}
	return out, nil
}

// disable marks the pack's rules with its name and takes the rules that
// ids names out of evaluation. An id that no rule has is an error naming
// its place in rules.disable.
func disable(rules []RuleInfo, p *Pack, ids []string) (active, off []RuleInfo, err error) {
	turnOff := map[string]bool{}
	known := map[string]bool{}
	for i := range rules {
		if p != nil && strings.HasPrefix(rules[i].Source.File, BuiltinPrefix) {
			rules[i].Origin = p.Name
		}
		known[rules[i].ID] = true
	}
	var errs model.InputErrors
	for i, id := range ids {
		if !known[id] {
			errs = append(errs, &model.InputError{
				Field:   fmt.Sprintf("rules.disable[%d]", i),
				Message: fmt.Sprintf("no rule has id %q (reachgate rules lists them)", id),
			})
		}
		turnOff[id] = true
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	active = []RuleInfo{}
	for _, r := range rules {
		if turnOff[r.ID] {
			r.Disabled = true
			off = append(off, r)
			continue
		}
		active = append(active, r)
	}
	return active, off, nil
}
