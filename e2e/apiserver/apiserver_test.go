//go:build e2e

// Package apiserver_test runs the repository's manifests through a real
// kube-apiserver: server-side dry runs of every rendered overlay and of the
// Argo CD manifests, and the broken-object cases of pipeline/validate,
// whose verdicts the API server and the offline validation must share.
//
//	scripts/kube/build.sh && scripts/kube/up.sh /tmp/kas
//	REACHGATE_KUBECONFIG=/tmp/kas/kubeconfig go test -tags e2e ./e2e/apiserver/...
//	scripts/kube/down.sh /tmp/kas
package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/render"
	"github.com/reachgate/reachgate/pipeline/validate"
	"github.com/reachgate/reachgate/pipeline/validate/validatetest"
)

// argoCDVersion is the Argo CD release whose CRDs the argocd/ manifests
// target; scripts/kube/lib.sh names the same.
const argoCDVersion = "v3.6.1"

var crds = []string{"applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io", "prometheusrules.monitoring.coreos.com",
	"adminnetworkpolicies.policy.networking.k8s.io", "baselineadminnetworkpolicies.policy.networking.k8s.io",
	"ciliumnetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io"}

func kubeconfig(t *testing.T) string {
	t.Helper()
	kc := os.Getenv("REACHGATE_KUBECONFIG")
	if kc == "" {
		t.Fatal("REACHGATE_KUBECONFIG is not set: start an API server with scripts/kube/up.sh DIR and set it to DIR/kubeconfig")
	}
	_, err := os.Stat(kc)
	require.NoError(t, err)
	return kc
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig(t)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "kubectl %v: %s", args, stderr.String())
	return string(out)
}

var installOnce sync.Once

// crdSource is a module on the Go module proxy whose files include CRDs
// (the proxy delivers a module's files even when it asks for a newer Go).
type crdSource struct {
	module, version, dir string
	files                []string
}

var crdSources = []crdSource{
	// Argo CD's own CRDs, for argocd/.
	{"github.com/argoproj/argo-cd/v3", argoCDVersion, "manifests/crds",
		[]string{"application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"}},
	// The Prometheus operator's PrometheusRule, for the overlays' alerts.
	{"github.com/prometheus-operator/prometheus-operator", prometheusOperatorVersion, "example/prometheus-operator-crd",
		[]string{"monitoring.coreos.com_prometheusrules.yaml"}},
	// AdminNetworkPolicy and BaselineAdminNetworkPolicy v1alpha1 in the
	// shape reachgate decodes (the v1alpha1 types of the module in
	// go.mod; v0.1.7 is the last release that ships their CRDs; v0.1.1's
	// peers had another shape), for the guardrails of overlays/prod-cilium.
	{"sigs.k8s.io/network-policy-api", "v0.1.7", "config/crd/standard",
		[]string{"policy.networking.k8s.io_adminnetworkpolicies.yaml", "policy.networking.k8s.io_baselineadminnetworkpolicies.yaml"}},
	// Cilium's policy CRDs, from the module whose schema render checks
	// them against, for overlays/prod-cilium.
	{"github.com/cilium/cilium", "v1.20.2", "pkg/k8s/apis/cilium.io/client/crds/v2",
		[]string{"ciliumnetworkpolicies.yaml", "ciliumclusterwidenetworkpolicies.yaml"}},
}

// TestCiliumCRDsAreThoseRenderChecks keeps the Cilium CRDs the API server
// dry-runs against at the version of the module whose schema render (and
// so `reachgate validate`) checks Cilium policies with: go.mod's.
func TestCiliumCRDsAreThoseRenderChecks(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	want := ""
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/cilium/cilium" {
			want = f[1]
		}
	}
	require.NotEmpty(t, want, "go.mod no longer requires github.com/cilium/cilium")
	found := false
	for _, s := range crdSources {
		if s.module == "github.com/cilium/cilium" {
			found = true
			assert.Equal(t, want, s.version, "the e2e's Cilium CRDs and go.mod's module differ")
		}
	}
	assert.True(t, found, "the e2e installs no Cilium CRDs")
}

// prometheusOperatorVersion is the release whose PrometheusRule CRD the
// overlays' prometheusrule-policy-drops.yaml is checked against (the
// version of the apis module in go.mod whose main module the proxy has).
const prometheusOperatorVersion = "v0.94.0"

func moduleDir(t *testing.T, module, version string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = t.TempDir()  // outside the module: go.sum stays as it is
	out, _ := cmd.Output() // may report a go version mismatch, yet extracts the module
	var info struct{ Dir string }
	_ = json.Unmarshal(out, &info)
	if info.Dir == "" {
		gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
		require.NoError(t, err)
		info.Dir = filepath.Join(string(bytes.TrimSpace(gomodcache)), filepath.FromSlash(module)+"@"+version)
	}
	return info.Dir
}

// installArgoCDCRDs installs the CRDs of crdSources (Argo CD's, the
// PrometheusRule, the admin network policies and Cilium's) and waits
// until the API server serves them.
func installArgoCDCRDs(t *testing.T) {
	t.Helper()
	installOnce.Do(func() {
		for _, src := range crdSources {
			dir := filepath.Join(moduleDir(t, src.module, src.version), filepath.FromSlash(src.dir))
			for _, f := range src.files {
				// Server-side: the ApplicationSet CRD is too large for
				// client-side apply's last-applied annotation. A server that
				// has just become ready may still refuse it for a moment.
				args := []string{"--kubeconfig", kubeconfig(t), "apply", "--server-side", "--force-conflicts", "-f", filepath.Join(dir, f)}
				var msg string
				for attempt := 0; attempt < 10; attempt++ {
					out, err := exec.Command("kubectl", args...).CombinedOutput()
					if err == nil {
						msg = ""
						break
					}
					msg = string(out)
					time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
				}
				if len(msg) > 2000 {
					msg = msg[:2000] + "..."
				}
				require.Empty(t, msg, "kubectl apply %s", f)
			}
		}
		// Poll rather than `kubectl wait`: right after creation a CRD has no
		// status.conditions yet, and kubectl wait fails at once on that.
		// (A jsonpath on the missing field fails too, printing the whole
		// CRD.)
		established := func(crd string) bool {
			var obj struct {
				Status struct {
					Conditions []struct{ Type, Status string }
				}
			}
			require.NoError(t, json.Unmarshal([]byte(kubectl(t, "get", "crd", crd, "-o", "json")), &obj))
			for _, c := range obj.Status.Conditions {
				if c.Type == "Established" && c.Status == "True" {
					return true
				}
			}
			return false
		}
		for _, crd := range crds {
			deadline := time.Now().Add(60 * time.Second)
			for !established(crd) {
				require.True(t, time.Now().Before(deadline), "CRD %s not established after 60s", crd)
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
	for _, crd := range crds {
		require.Contains(t, kubectl(t, "get", "crd", crd, "-o", "name"), crd, "the CRDs are not installed")
	}
}

func serverCheck(t *testing.T, objs []model.Object) ([]*model.InputError, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	errs, err := validate.Server(ctx, kubeconfig(t), objs)
	require.NoError(t, err)
	return errs, time.Since(start)
}

// TestDryRunOverlays renders every overlay of the repository and dry-runs
// it: the API server must accept every object.
func TestDryRunOverlays(t *testing.T) {
	root := repoRoot(t)
	installArgoCDCRDs(t)
	dirs, err := filepath.Glob(filepath.Join(root, "overlays", "*", "kustomization.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, k := range dirs {
		dir := filepath.Dir(k)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			objs, err := render.OverlayRoot(filesys.MakeFsOnDisk(), root, dir)
			require.NoError(t, err)
			require.NotEmpty(t, objs)
			errs, took := serverCheck(t, objs)
			for _, e := range errs {
				t.Errorf("rejected: %v", e)
			}
			assert.Empty(t, validate.Objects(objs), "offline validation must agree with the server")
			t.Logf("dry run of %d objects took %v", len(objs), took.Round(time.Millisecond))
		})
	}
}

// TestDryRunArgoCD dry-runs the Argo CD manifests against Argo CD's CRDs.
func TestDryRunArgoCD(t *testing.T) {
	root := repoRoot(t)
	installArgoCDCRDs(t)
	objs, err := render.OverlayRoot(filesys.MakeFsOnDisk(), root, filepath.Join(root, "argocd"))
	require.NoError(t, err)
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.Kind] = true
	}
	assert.Equal(t, map[string]bool{"AppProject": true, "ApplicationSet": true}, kinds)
	errs, took := serverCheck(t, objs)
	for _, e := range errs {
		t.Errorf("rejected: %v", e)
	}
	t.Logf("dry run of %d Argo CD objects took %v", len(objs), took.Round(time.Millisecond))
}

// TestBrokenObjects sends every case of pipeline/validate/testdata/cases to
// the API server: its verdict must be the case's want.txt, which the
// offline validation also gives (checked again here).
func TestBrokenObjects(t *testing.T) {
	installArgoCDCRDs(t)
	cases, err := validatetest.Load(filepath.Join(repoRoot(t), "pipeline", "validate", "testdata", "cases"))
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			errs, _ := serverCheck(t, c.Objects)
			server := validatetest.Lines(errs)
			offline := validatetest.Lines(validate.Objects(c.Objects))
			if c.RealCreate {
				// The dry run lets it through; a real create does not.
				assert.Empty(t, server, "the API server's dry run")
				assert.Equal(t, c.Want, offline, "offline validation")
				out := kubectlCreate(t, c.YAML)
				for _, w := range c.Want {
					assert.Contains(t, out, fieldAndMessage(w), "the API server on a real create")
				}
				return
			}
			if len(c.Want) == 0 {
				assert.Empty(t, server, "the API server")
				assert.Empty(t, offline, "offline validation")
				return
			}
			assert.Equal(t, c.Want, server, "the API server")
			assert.Equal(t, c.Want, offline, "offline validation")
		})
	}
}

// kubectlCreate creates the objects for real and returns kubectl's output;
// whatever got created is deleted again.
func kubectlCreate(t *testing.T, yaml []byte) string {
	t.Helper()
	cmd := exec.Command("kubectl", "--kubeconfig", kubeconfig(t), "create", "-f", "-")
	cmd.Stdin = bytes.NewReader(yaml)
	out, err := cmd.CombinedOutput()
	t.Cleanup(func() {
		del := exec.Command("kubectl", "--kubeconfig", kubeconfig(t), "delete", "--ignore-not-found", "-f", "-")
		del.Stdin = bytes.NewReader(yaml)
		_ = del.Run()
	})
	assert.Error(t, err, "kubectl create must fail: %s", out)
	return string(out)
}

// fieldAndMessage strips "file:line: Kind ns/name: " from a want.txt line.
func fieldAndMessage(line string) string {
	parts := strings.SplitN(line, ": ", 3)
	return parts[len(parts)-1]
}

// TestKubectlApplyDefaultRefusesStatus pins what reachgate matches for an
// exported NetworkPolicy with `status: {}`: kubectl apply, with its
// default --validate=strict, is refused by the API server (which is what
// the offline validation reports, and why the policy is left out of the
// matrix); only --validate=warn would let it through.
func TestKubectlApplyDefaultRefusesStatus(t *testing.T) {
	cases, err := validatetest.Load(filepath.Join(repoRoot(t), "pipeline", "validate", "testdata", "cases"))
	require.NoError(t, err)
	var c *validatetest.Case
	for i := range cases {
		if cases[i].Name == "networkpolicy-status" {
			c = &cases[i]
		}
	}
	require.NotNil(t, c)
	ns := exec.Command("kubectl", "--kubeconfig", kubeconfig(t), "apply", "-f", "-")
	ns.Stdin = strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n")
	nsOut, err := ns.CombinedOutput()
	require.NoError(t, err, "%s", nsOut)
	apply := func(args ...string) (string, error) {
		cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig(t), "apply", "--dry-run=server", "-f", "-"}, args...)...)
		cmd.Stdin = bytes.NewReader(c.YAML)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := apply()
	require.Error(t, err, "kubectl apply (default --validate=strict) must be refused: %s", out)
	require.Len(t, c.Want, 1)
	assert.Contains(t, out, `NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: strict decoding error: unknown field "status"`)
	assert.Contains(t, c.Want[0], `NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: strict decoding error: unknown field "status"`)
	out, err = apply("--validate=warn")
	require.NoError(t, err, out)
	assert.Contains(t, out, `unknown field "status"`)
}
