package workflowlint

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// action is the part of action.yml the tests run: its composite steps.
type action struct {
	Inputs map[string]struct {
		Default  string `yaml:"default"`
		Required bool   `yaml:"required"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID    string            `yaml:"id"`
			If    string            `yaml:"if"`
			Uses  string            `yaml:"uses"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) action {
	t.Helper()
	data, err := os.ReadFile("../../action.yml")
	require.NoError(t, err)
	var a action
	require.NoError(t, yaml.Unmarshal(data, &a))
	require.Equal(t, "composite", a.Runs.Using)
	return a
}

// TestActionIsHardened: the install step, which may build Go, has the
// hardened environment the workflows' builds have; every input reaches a
// script through the environment, never through the script's text; and
// nothing it uses is unpinned.
func TestActionIsHardened(t *testing.T) {
	a := readAction(t)
	for _, s := range a.Runs.Steps {
		if s.Uses != "" {
			assert.Regexp(t, `@[0-9a-f]{40}$`, s.Uses, "step %s uses an unpinned action", s.ID)
		}
		assert.NotContains(t, s.Run, "${{", "step %s: an expression in a script is an injection", s.ID)
		if s.ID == "install" {
			for name, ok := range hardenedEnv {
				assert.True(t, ok(s.Env[name]), "install step: %s=%q", name, s.Env[name])
			}
		}
	}
}

// fakeRunner is the environment GitHub gives a composite action's step on
// a runner: RUNNER_*, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_ACTION_PATH.
type fakeRunner struct {
	temp, output, path string
	env                []string
}

func newRunner(t *testing.T, osName, arch, server, caFile string) *fakeRunner {
	dir := t.TempDir()
	r := &fakeRunner{temp: filepath.Join(dir, "temp"), output: filepath.Join(dir, "output"), path: filepath.Join(dir, "path")}
	require.NoError(t, os.Mkdir(r.temp, 0o755))
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	r.env = []string{
		"RUNNER_OS=" + osName, "RUNNER_ARCH=" + arch, "RUNNER_TEMP=" + r.temp,
		"GITHUB_OUTPUT=" + r.output, "GITHUB_PATH=" + r.path, "GITHUB_ACTION_PATH=" + root,
		"GITHUB_SERVER_URL=" + server, "CURL_CA_BUNDLE=" + caFile,
	}
	return r
}

// step runs one step of action.yml as GitHub does (bash -e, its env with
// the inputs put in), and returns its output and error.
func (r *fakeRunner) step(t *testing.T, a action, id string, inputs, extra map[string]string) (string, error) {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.ID != id {
			continue
		}
		env := append([]string{}, r.env...)
		for k, v := range s.Env {
			for name, in := range a.Inputs {
				val, ok := inputs[name]
				if !ok {
					val = in.Default
				}
				v = strings.ReplaceAll(v, "${{ inputs."+name+" }}", val)
			}
			for name, val := range extra {
				v = strings.ReplaceAll(v, "${{ "+name+" }}", val)
			}
			require.NotContains(t, v, "${{", "env %s of step %s: an expression the test does not know", k, id)
			env = append(env, k+"="+v)
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	t.Fatalf("action.yml has no step %s", id)
	return "", nil
}

func (r *fakeRunner) outputs(t *testing.T) map[string]string {
	data, err := os.ReadFile(r.output)
	require.NoError(t, err)
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	return out
}

// releaseServer speaks GitHub's release download wire format: GET
// /OWNER/REPO/releases/download/TAG/NAME answers 302 to the asset store,
// which serves the bytes as application/octet-stream; an unknown asset is
// a 404. tamper, when set, changes the bytes of one asset.
type releaseServer struct {
	*httptest.Server
	dist, tag string
	mu        sync.Mutex
	requests  []string
	tamper    string
}

func newReleaseServer(t *testing.T, dist, tag string) *releaseServer {
	rs := &releaseServer{dist: dist, tag: tag}
	prefix := "/reachgate/reachgate/releases/download/" + tag + "/"
	rs.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.requests = append(rs.requests, r.Method+" "+r.URL.Path)
		rs.mu.Unlock()
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, prefix):
			name := strings.TrimPrefix(r.URL.Path, prefix)
			if _, err := os.Stat(filepath.Join(dist, name)); err != nil || strings.Contains(name, "/") {
				http.Error(w, "Not Found", http.StatusNotFound)
				return
			}
			w.Header().Set("Location", rs.URL+"/github-production-release-asset/8421/"+name+"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=f00d")
			w.WriteHeader(http.StatusFound)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/github-production-release-asset/8421/"):
			name := strings.TrimPrefix(r.URL.Path, "/github-production-release-asset/8421/")
			data, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				http.Error(w, "Not Found", http.StatusNotFound)
				return
			}
			if name == rs.tamper {
				data = append(data, 0)
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", "attachment; filename="+name)
			_, _ = w.Write(data)
		default:
			http.Error(w, "Not Found", http.StatusNotFound)
		}
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *releaseServer) caFile(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rs.Certificate().Raw}), 0o644))
	return f
}

var runnerArch = map[string]string{"amd64": "X64", "arm64": "ARM64"}

// TestActionInstallsAVerifiedRelease builds a release with
// scripts/release.sh (this runner's platform only), serves it the way
// GitHub serves release assets, and runs the action's steps on a fake
// runner: the binary is installed only when it matches checksums.txt,
// and check writes its reports.
func TestActionInstallsAVerifiedRelease(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "git", "go", "tar", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	arch := runnerArch[runtime.GOARCH]
	if runtime.GOOS != "linux" || arch == "" {
		t.Skip("the release built here must run here: linux/amd64 or linux/arm64")
	}
	const tag = "v9.8.7"
	dist := filepath.Join(t.TempDir(), "dist")
	rel := exec.Command("bash", "scripts/release.sh")
	rel.Dir = "../.."
	rel.Env = append(os.Environ(), "VERSION="+tag, "ALLOW_DIRTY=1", "DIST="+dist, "PLATFORMS=linux/"+runtime.GOARCH, "NO_SBOM=1", "NO_IMAGE=1")
	out, err := rel.CombinedOutput()
	require.NoError(t, err, "%s", out)
	asset := "reachgate_9.8.7_linux_" + runtime.GOARCH + ".tar.gz"
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^[0-9a-f]{64}  `+asset+`$`, string(sums))

	srv := newReleaseServer(t, dist, tag)
	ca := srv.caFile(t)
	a := readAction(t)

	t.Run("installs", func(t *testing.T) {
		r := newRunner(t, "Linux", arch, srv.URL, ca)
		out, err := r.step(t, a, "install", map[string]string{"version": tag}, nil)
		require.NoError(t, err, out)
		bin := r.outputs(t)["path"]
		require.NotEmpty(t, bin)
		assert.True(t, strings.HasPrefix(bin, r.temp+"/"), "installed under RUNNER_TEMP: %s", bin)
		v, err := exec.Command(bin, "--version").Output()
		require.NoError(t, err)
		assert.Contains(t, string(v), "reachgate v9.8.7 (commit ")
		p, err := os.ReadFile(r.path)
		require.NoError(t, err)
		assert.Equal(t, filepath.Dir(bin)+"\n", string(p))
		srv.mu.Lock()
		assert.Contains(t, srv.requests, "GET /github-production-release-asset/8421/"+asset, "followed the redirect")
		assert.Contains(t, srv.requests, "GET /reachgate/reachgate/releases/download/v9.8.7/checksums.txt")
		srv.mu.Unlock()

		// check runs the installed binary on a repository and writes
		// its reports; its exit code is the step's.
		repo := t.TempDir()
		gitIn(t, repo, "init", "-q", "-b", "main")
		write(t, repo, map[string]string{"m/all.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n"})
		gitIn(t, repo, "add", "-A")
		gitIn(t, repo, "commit", "-qm", "m")
		outDir := filepath.Join(r.temp, "report")
		out, err = r.step(t, a, "check", map[string]string{"directory": repo, "overlays": "m", "output-directory": outDir},
			map[string]string{"steps.install.outputs.path": bin, "runner.temp": r.temp})
		require.NoError(t, err, out)
		for _, f := range []string{"report.json", "reachgate.sarif", "reachgate-junit.xml"} {
			assert.FileExists(t, filepath.Join(outDir, f))
		}
		assert.Equal(t, "0", r.outputs(t)["exit-code"])

		// Inputs are data, not shell.
		out, err = r.step(t, a, "check", map[string]string{"directory": repo, "overlays": "m $(touch pwned)", "output-directory": outDir},
			map[string]string{"steps.install.outputs.path": bin, "runner.temp": r.temp})
		require.Error(t, err)
		assert.Contains(t, out, "overlay '$(touch' is not an overlay name or path")
		assert.NoFileExists(t, filepath.Join(repo, "pwned"))
		out, err = r.step(t, a, "check", map[string]string{"directory": repo, "fail-on": "never"},
			map[string]string{"steps.install.outputs.path": bin, "runner.temp": r.temp})
		require.Error(t, err)
		assert.Contains(t, out, "fail-on 'never' is not error, warning or info")
	})

	t.Run("refuses a tampered archive", func(t *testing.T) {
		srv.mu.Lock()
		srv.tamper = asset
		srv.mu.Unlock()
		defer func() { srv.mu.Lock(); srv.tamper = ""; srv.mu.Unlock() }()
		r := newRunner(t, "Linux", arch, srv.URL, ca)
		out, err := r.step(t, a, "install", map[string]string{"version": tag}, nil)
		require.Error(t, err)
		assert.Contains(t, out, "::error title=reachgate install::"+asset+" has SHA-256 ")
		assert.Contains(t, out, "not installed")
		assert.NoFileExists(t, filepath.Join(r.temp, "reachgate-install", tag, "reachgate"))
	})

	for name, tc := range map[string]struct {
		os, arch, version, want string
	}{
		"no release for the platform": {"Linux", otherArch(arch), tag, "download " + srv.URL + "/reachgate/reachgate/releases/download/v9.8.7/reachgate_9.8.7_linux_"},
		"windows":                     {"Windows", arch, tag, "no reachgate release for runner OS 'Windows'"},
		"no such release":             {"Linux", arch, "v9.9.9", "download " + srv.URL + "/reachgate/reachgate/releases/download/v9.9.9/checksums.txt failed"},
		"not a version":               {"Linux", arch, "v1.2.3;touch pwned", "version 'v1.2.3;touch pwned' is not a release tag like v1.2.3"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRunner(t, tc.os, tc.arch, srv.URL, ca)
			out, err := r.step(t, a, "install", map[string]string{"version": tc.version}, nil)
			require.Error(t, err)
			assert.Contains(t, out, tc.want)
			_, statErr := os.Stat(r.output)
			assert.True(t, os.IsNotExist(statErr), "no output when nothing is installed")
		})
	}

	t.Run("plain http is refused", func(t *testing.T) {
		plain := httptest.NewServer(srv.Config.Handler)
		defer plain.Close()
		r := newRunner(t, "Linux", arch, plain.URL, ca)
		out, err := r.step(t, a, "install", map[string]string{"version": tag}, nil)
		require.Error(t, err)
		assert.Contains(t, out, `Protocol "http" not supported or disabled`)
	})
}

func otherArch(a string) string {
	if a == "X64" {
		return "ARM64"
	}
	return "X64"
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	run(t, dir, []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}, "git", args...)
}
