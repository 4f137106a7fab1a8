package workflowlint

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checks here close what actionlint does not look at: the supply
// chain of the workflows (actions pinned by commit), the gate binary
// (built so that nothing of the pull request can reach into the build),
// and privileged workflows that check out the pull request.

// problem is one finding of a check: "file:line: message".
type problem struct {
	file string
	line int
	msg  string
}

func (p problem) String() string { return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.msg) }

// parsed is a workflow with its source lines.
type parsed struct {
	file  string
	wf    *actionlint.Workflow
	lines []string
}

func parse(t *testing.T, file string) parsed {
	t.Helper()
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	wf, errs := actionlint.Parse(src)
	require.Empty(t, errs, file)
	return parsed{file: filepath.Base(file), wf: wf, lines: strings.Split(string(src), "\n")}
}

func line(pos *actionlint.Pos) int {
	if pos == nil {
		return 0
	}
	return pos.Line
}

var (
	fullSHA       = regexp.MustCompile(`^[0-9a-f]{40}$`)
	versionRemark = regexp.MustCompile(`#\s*v\d+(\.\d+)*\s*$`)
)

// checkPinned: every action and reusable workflow from another repository
// is used by a full commit SHA, with the version it is in a comment (what
// Dependabot updates).
func checkPinned(p parsed) []problem {
	var out []problem
	check := func(uses *actionlint.String) {
		if uses == nil {
			return
		}
		u := uses.Value
		if strings.HasPrefix(u, "./") || strings.HasPrefix(u, "docker://") {
			return
		}
		_, ref, ok := strings.Cut(u, "@")
		switch {
		case !ok || !fullSHA.MatchString(ref):
			out = append(out, problem{p.file, line(uses.Pos), fmt.Sprintf("%s: use a full 40-hex commit SHA, not %q", u, ref)})
		case uses.Pos != nil && !versionRemark.MatchString(p.lines[uses.Pos.Line-1]):
			out = append(out, problem{p.file, line(uses.Pos), fmt.Sprintf("%s: say which version the SHA is in a comment: # vX.Y.Z", u)})
		}
	}
	for _, j := range p.wf.Jobs {
		if j.WorkflowCall != nil {
			check(j.WorkflowCall.Uses)
		}
		for _, s := range j.Steps {
			if a, ok := s.Exec.(*actionlint.ExecAction); ok {
				check(a.Uses)
			}
		}
	}
	return out
}

// goBuild finds go build, go run and go install (and go test, which builds).
var goBuild = regexp.MustCompile(`(^|[\s;&|(])go\s+(build|run|install|test)\b`)

// hardenedEnv is the environment a Go build in a workflow needs so that no
// file of the checkout but the module's own go.mod/go.sum steers it: no
// go.work (GOWORK=off), no user configuration file (GOENV=off), no
// changes to go.mod or go.sum (-mod=readonly), and no toolchain switch
// asked for by a go.mod or go.work (GOTOOLCHAIN=local).
var hardenedEnv = map[string]func(string) bool{
	"GOWORK":      func(v string) bool { return v == "off" },
	"GOENV":       func(v string) bool { return v == "off" },
	"GOFLAGS":     func(v string) bool { return slices.Contains(strings.Fields(v), "-mod=readonly") },
	"GOTOOLCHAIN": func(v string) bool { return v == "local" },
}

func envValue(envs []*actionlint.Env, name string) (string, bool) {
	// The innermost (step) wins.
	for i := len(envs) - 1; i >= 0; i-- {
		if envs[i] == nil {
			continue
		}
		for _, v := range envs[i].Vars {
			if v.Name.Value == name {
				return v.Value.Value, true
			}
		}
	}
	return "", false
}

// checkGoBuilds: a step that builds Go has the hardened environment, and
// setup-go in its job restores no cache (a pull request's run may have
// saved a poisoned build cache under the same key). make is not allowed
// to build the gate: a Makefile include is one more file that steers it.
func checkGoBuilds(p parsed) []problem {
	var out []problem
	for _, j := range p.wf.Jobs {
		builds := false
		for _, s := range j.Steps {
			r, ok := s.Exec.(*actionlint.ExecRun)
			if !ok || r.Run == nil || !goBuild.MatchString(r.Run.Value) {
				continue
			}
			builds = true
			envs := []*actionlint.Env{p.wf.Env, j.Env, s.Env}
			for _, name := range slices.Sorted(func(yield func(string) bool) {
				for k := range hardenedEnv {
					if !yield(k) {
						return
					}
				}
			}) {
				v, ok := envValue(envs, name)
				if !ok || !hardenedEnv[name](v) {
					out = append(out, problem{p.file, line(s.Pos), fmt.Sprintf("job %s builds Go without %s set as a hardened build needs (got %q)", j.ID.Value, name, v)})
				}
			}
		}
		if !builds {
			continue
		}
		for _, s := range j.Steps {
			a, ok := s.Exec.(*actionlint.ExecAction)
			if !ok || !strings.HasPrefix(a.Uses.Value, "actions/setup-go@") {
				continue
			}
			if in := a.Inputs["cache"]; in == nil || in.Value.Value != "false" {
				out = append(out, problem{p.file, line(s.Pos), fmt.Sprintf("job %s builds Go: setup-go needs cache: false", j.ID.Value)})
			}
		}
	}
	return out
}

// headRef matches expressions that name the pull request's code.
var headRef = regexp.MustCompile(`pull_request\.head\.|github\.head_ref|workflow_run\.head_(sha|branch|repository)|refs/pull/|merge_commit_sha`)

// checkPrivilegedCheckout: a workflow that runs with the base's
// privileges on a pull request's behalf (pull_request_target,
// workflow_run) never checks out or fetches the pull request's code.
func checkPrivilegedCheckout(p parsed) []problem {
	privileged := ""
	for _, e := range p.wf.On {
		if n := e.EventName(); n == "pull_request_target" || n == "workflow_run" {
			privileged = n
		}
	}
	if privileged == "" {
		return nil
	}
	var out []problem
	for _, j := range p.wf.Jobs {
		for _, s := range j.Steps {
			switch x := s.Exec.(type) {
			case *actionlint.ExecAction:
				if !strings.HasPrefix(x.Uses.Value, "actions/checkout@") {
					continue
				}
				for _, k := range []string{"ref", "repository"} {
					if in := x.Inputs[k]; in != nil && headRef.MatchString(in.Value.Value) {
						out = append(out, problem{p.file, line(s.Pos), fmt.Sprintf("%s workflow checks out the pull request's code (%s: %s)", privileged, k, in.Value.Value)})
					}
				}
			case *actionlint.ExecRun:
				if x.Run != nil && (headRef.MatchString(x.Run.Value) && regexp.MustCompile(`\bgit\s+(fetch|checkout|switch|worktree|pull)\b`).MatchString(x.Run.Value) ||
					regexp.MustCompile(`\bgh\s+pr\s+checkout\b`).MatchString(x.Run.Value)) {
					out = append(out, problem{p.file, line(s.Pos), privileged + " workflow fetches the pull request's code in a script"})
				}
			}
		}
	}
	return out
}

var checks = map[string]func(parsed) []problem{
	"pinned":   checkPinned,
	"gobuild":  checkGoBuilds,
	"checkout": checkPrivilegedCheckout,
}

func TestWorkflowsAreHardened(t *testing.T) {
	files, err := filepath.Glob("../../.github/workflows/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		p := parse(t, f)
		for name, check := range checks {
			for _, pr := range check(p) {
				t.Errorf("%s [%s]", pr, name)
			}
		}
	}
}

// TestHardeningChecksFail proves each check can fail, on a workflow that
// breaks it.
func TestHardeningChecksFail(t *testing.T) {
	for _, tc := range []struct {
		check, file string
		want        []string
	}{
		{"pinned", "testdata/unpinned.yml", []string{
			`unpinned.yml:11: actions/checkout@v4: use a full 40-hex commit SHA, not "v4"`,
			`unpinned.yml:12: actions/setup-go@d35c59a: use a full 40-hex commit SHA, not "d35c59a"`,
			`unpinned.yml:15: actions/cache@5a3ec84eff668545956fd18022155c47e93e2684: say which version the SHA is in a comment: # vX.Y.Z`,
			`unpinned.yml:20: octo-org/workflows/.github/workflows/x.yml@main: use a full 40-hex commit SHA, not "main"`,
		}},
		{"gobuild", "testdata/gobuild.yml", []string{
			`gobuild.yml:14: job build builds Go: setup-go needs cache: false`,
			`gobuild.yml:17: job build builds Go without GOENV set as a hardened build needs (got "")`,
			`gobuild.yml:17: job build builds Go without GOFLAGS set as a hardened build needs (got "-mod=mod")`,
			`gobuild.yml:17: job build builds Go without GOTOOLCHAIN set as a hardened build needs (got "auto")`,
			`gobuild.yml:17: job build builds Go without GOWORK set as a hardened build needs (got "")`,
		}},
		{"checkout", "testdata/prt-checkout.yml", []string{
			`prt-checkout.yml:11: pull_request_target workflow checks out the pull request's code (ref: ${{ github.event.pull_request.head.sha }})`,
			`prt-checkout.yml:14: pull_request_target workflow fetches the pull request's code in a script`,
		}},
	} {
		t.Run(tc.check, func(t *testing.T) {
			var got []string
			for _, pr := range checks[tc.check](parse(t, tc.file)) {
				got = append(got, pr.String())
			}
			slices.Sort(got)
			assert.Equal(t, tc.want, got)
		})
	}
}
