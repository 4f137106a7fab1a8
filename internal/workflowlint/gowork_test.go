package workflowlint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The attack of issue 11: the gate is built from the base commit, but the
// pull request's checkout is around it. A go.work the head adds at the
// root can use the base's module and replace any of its dependencies
// with code of the pull request, which then runs as the gate.
//
// TestGoWorkCannotHijackTheGate reproduces it on a temporary repository
// whose base is a tiny gate (it prints the name its library gives) and
// whose head adds a hostile go.work and library. It first shows the attack
// works against a build inside the checkout, then runs the steps
// policy-gate.yml runs, read from the workflow itself, and checks the
// binary they build is the base's.

const (
	extractStep = "Extract the base commit outside the work tree"
	buildStep   = "Build reachgate from the base commit"
)

func TestGoWorkCannotHijackTheGate(t *testing.T) {
	for _, tool := range []string{"git", "go", "bash", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	goVersion := strings.TrimPrefix(run(t, "", nil, "go", "env", "GOVERSION"), "go")
	goVersion = regexp.MustCompile(`^\d+\.\d+`).FindString(goVersion)
	require.NotEmpty(t, goVersion)

	ws := t.TempDir() // the pull request's checkout, $GITHUB_WORKSPACE
	git := func(args ...string) string {
		return run(t, ws, []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"},
			"git", args...)
	}
	git("init", "-q", "-b", "main")
	write(t, ws, map[string]string{
		"go.mod":     "module example.com/gate\n\ngo " + goVersion + "\n\nrequire example.com/lib v1.0.0\n\nreplace example.com/lib => ./lib\n",
		"lib/go.mod": "module example.com/lib\n\ngo " + goVersion + "\n",
		"lib/lib.go": "package lib\n\nfunc Name() string { return \"base\" }\n",
		"cmd/reachgate/main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/lib\"\n)\n\n" +
			"func main() { fmt.Println(\"gate built from\", lib.Name()) }\n",
	})
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	base := git("rev-parse", "HEAD")

	// The head: a go.work at the root that takes the base's module (where
	// the old workflow put it) and replaces its library with its own.
	write(t, ws, map[string]string{
		"go.work":     "go " + goVersion + "\n\nuse ./.reachgate-base\n\nreplace example.com/lib => ./evil\n",
		"evil/go.mod": "module example.com/lib\n\ngo " + goVersion + "\n",
		"evil/lib.go": "package lib\n\nfunc Name() string { return \"the pull request\" }\n",
	})
	git("add", "-A")
	git("commit", "-q", "-m", "head")

	offline := []string{"GOPROXY=off", "GOFLAGS=-buildvcs=false"}
	gocache := run(t, "", nil, "go", "env", "GOCACHE")

	// The attack, against a build inside the checkout (the old workflow:
	// the base checked out to .reachgate-base, go build there).
	old := filepath.Join(ws, ".reachgate-base")
	require.NoError(t, os.Mkdir(old, 0o755))
	run(t, ws, nil, "bash", "-c", `git archive "$0" | tar -x -C .reachgate-base`, base)
	hijacked := filepath.Join(t.TempDir(), "reachgate")
	run(t, old, offline, "go", "build", "-o", hijacked, "./cmd/reachgate")
	assert.Equal(t, "gate built from the pull request", run(t, "", nil, hijacked),
		"the attack works against a build inside the checkout")
	require.NoError(t, os.RemoveAll(old))

	// The workflows' own steps, in every job that builds the gate.
	for _, g := range gateJobs {
		t.Run(g.file+"/"+g.job, func(t *testing.T) {
			steps := gateSteps(t, "../../.github/workflows/"+g.file, g.job)
			temp := t.TempDir() // $RUNNER_TEMP
			output := filepath.Join(temp, "github_output")
			expand := func(s string) string {
				return strings.NewReplacer(
					"${{ runner.temp }}", temp,
					"${{ github.event.pull_request.base.sha }}", base,
					"${{ steps.base.outputs.go }}", goVersion,
				).Replace(s)
			}
			for _, name := range []string{extractStep, buildStep} {
				s := steps[name]
				require.NotNil(t, s, "%s job %s has no step %q", g.file, g.job, name)
				r := s.Exec.(*actionlint.ExecRun)
				dir := ws
				if r.WorkingDirectory != nil {
					dir = expand(r.WorkingDirectory.Value)
				}
				env := []string{"RUNNER_TEMP=" + temp, "GITHUB_OUTPUT=" + output, "GITHUB_WORKSPACE=" + ws, "GOPROXY=off"}
				if s.Env != nil {
					for _, v := range s.Env.Vars {
						require.False(t, strings.Contains(v.Value.Value, "${{") && expand(v.Value.Value) == v.Value.Value,
							"step %q: env %s has an expression the test does not know: %s", name, v.Name.Value, v.Value.Value)
						env = append(env, v.Name.Value+"="+expand(v.Value.Value))
					}
				}
				// The workflow starts from an empty build cache (a restored
				// one could be poisoned); this test does not exercise that,
				// and reuses the machine's cache, which only saves compiling
				// the standard library again. It is the last GOCACHE, so it
				// wins.
				env = append(env, "GOCACHE="+gocache)
				require.NotContains(t, expand(r.Run.Value), "${{", "step %q", name)
				// GitHub runs a run: script with bash -e on Linux.
				run(t, dir, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", expand(r.Run.Value))
			}
			out, err := os.ReadFile(output)
			require.NoError(t, err)
			assert.Equal(t, "go="+goVersion+"\n", string(out), "the Go version comes from the base's go.mod")
			assert.Equal(t, "gate built from base", run(t, "", nil, filepath.Join(temp, "reachgate")),
				"the go.work of the pull request is not used")
		})
	}
}

// gateJobs are the jobs that build the gate from the base commit of a
// pull request, with the same two steps.
var gateJobs = []struct{ file, job string }{
	{"policy-gate.yml", "check"},
	{"reachgate-fanout.yml", "overlays"},
	{"reachgate-fanout.yml", "shard"},
	{"reachgate-fanout.yml", "merge"},
}

// gateSteps returns the run steps of a workflow's job by name.
func gateSteps(t *testing.T, file, name string) map[string]*actionlint.Step {
	t.Helper()
	p := parse(t, file)
	job := p.wf.Jobs[name]
	require.NotNil(t, job, "%s: no job %s", file, name)
	out := map[string]*actionlint.Step{}
	for _, s := range job.Steps {
		if _, ok := s.Exec.(*actionlint.ExecRun); ok && s.Name != nil {
			out[s.Name.Value] = s
		}
	}
	return out
}

// run runs a command in dir with the test's environment plus env, and
// returns its trimmed standard output; it fails the test on an error.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %s in %s: %s", name, strings.Join(args, " "), dir, stderr.String())
	return strings.TrimSpace(stdout.String())
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}
