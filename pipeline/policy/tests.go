package policy

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

// TestResult is the outcome of one Rego test rule (test_*).
type TestResult struct {
	Package  string         `json:"package"` // e.g. data.reachgate.rules.default_deny_test
	Name     string         `json:"name"`    // e.g. test_missing_egress
	Location model.Location `json:"location"`
	Passed   bool           `json:"passed"`
	Skipped  bool           `json:"skipped,omitempty"`
	// Error is set when the test could not be evaluated (as opposed to
	// evaluating to false).
	Error    string        `json:"error,omitempty"`
	Output   string        `json:"output,omitempty"` // print() output
	Duration time.Duration `json:"duration"`
}

// RunTests runs the Rego unit tests (test_* rules, usually in *_test.rego)
// found under dirs of fsys, compiled with the same restricted capabilities
// as the rules. Results are sorted by package and name.
func RunTests(ctx context.Context, fsys filesys.FileSystem, dirs []string) ([]TestResult, error) {
	return RunTestsWith(ctx, fsys, dirs, nil)
}

// RunTestsWith runs the tests under dirs compiled together with a pack's
// rules and library (and the library's test fixtures), so a repository's
// own rules and tests can use data.reachgate.lib and
// data.reachgate.testing. The pack's own tests are not run.
func RunTestsWith(ctx context.Context, fsys filesys.FileSystem, dirs []string, p *Pack) ([]TestResult, error) {
	modules, err := readModules(fsys, dirs, true)
	if err != nil {
		return nil, err
	}
	if modules, err = withPack(modules, p, true); err != nil {
		return nil, err
	}
	store, err := paramsStore(nil)
	if err != nil {
		return nil, err
	}
	compiler := ast.NewCompiler().
		WithCapabilities(Capabilities()).
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(true)
	ch, err := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(store).
		SetDefaultRegoVersion(ast.RegoV1).
		CapturePrintOutput(true).
		Run(ctx, modules)
	if err != nil {
		if es, ok := err.(ast.Errors); ok {
			return nil, astErrors(es)
		}
		return nil, fmt.Errorf("run rule tests: %w", err)
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{
			Package:  r.Package,
			Name:     r.Name,
			Passed:   r.Pass(),
			Skipped:  r.Skip,
			Output:   string(r.Output),
			Duration: r.Duration,
		}
		if r.Location != nil {
			tr.Location = model.Location{File: r.Location.File, Line: r.Location.Row}
		}
		if r.Error != nil {
			tr.Error = r.Error.Error()
		}
		out = append(out, tr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
