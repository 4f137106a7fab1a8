package run_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

// readmeBlock returns the fenced code block of README.md whose first line
// starts with prefix.
func readmeBlock(t *testing.T, prefix string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	for _, block := range strings.Split(string(data), "```\n")[1:] {
		if strings.HasPrefix(block, prefix) {
			return block
		}
	}
	t.Fatalf("README.md has no code block starting with %q", prefix)
	return ""
}

var shortCommit = regexp.MustCompile(`\(([0-9a-f]{7})\)`)

// TestREADMEExamplesAreRealOutput keeps the worked example of README.md in
// step with what reachgate prints for it: the check of the pull request
// that opens worker -> postgres in prod, verbatim but for the commit, and
// the explanation, whose elided lines ("...") aside every line must come
// out, in order.
func TestREADMEExamplesAreRealOutput(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	writeFile(t, dir, "overlays/prod/network-policies-worker-postgres.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-worker-to-postgres
spec:
  podSelector: {matchLabels: {app: worker}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app: postgres}}}]
      ports: [{protocol: TCP, port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-postgres-from-worker
spec:
  podSelector: {matchLabels: {app: postgres}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: worker}}}]
      ports: [{protocol: TCP, port: 5432}]
`)
	k, err := os.ReadFile(filepath.Join(dir, "overlays/prod/kustomization.yaml"))
	require.NoError(t, err)
	writeFile(t, dir, "overlays/prod/kustomization.yaml", strings.Replace(string(k), "  - network-policies-partners.yaml\n", "  - network-policies-partners.yaml\n  - network-policies-worker-postgres.yaml\n", 1))

	var out, stderr bytes.Buffer
	err = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now}, &out, &stderr)
	require.Error(t, err)
	got := out.String() + "reachgate: " + err.Error() + "\n"
	want := readmeBlock(t, "reachgate check:")
	norm := func(s string) string { return shortCommit.ReplaceAllString(s, "(COMMIT)") }
	assert.Equal(t, norm(want), norm(got), "README.md's check example: paste the real output")

	out.Reset()
	err = run.Explain(context.Background(), run.ExplainParams{Common: run.Common{Dir: dir}, Overlay: "prod", Src: "app/worker", Dst: "app/postgres", Port: "5432/TCP", Format: "txt"}, &out, &stderr)
	require.NoError(t, err)
	block := readmeBlock(t, "$ reachgate explain prod app/worker app/postgres --port 5432/TCP\n")
	real := strings.Split(out.String(), "\n")
	i := 0
	for _, l := range strings.Split(strings.TrimSuffix(block, "\n"), "\n")[1:] {
		if strings.TrimSpace(l) == "..." {
			continue
		}
		for i < len(real) && real[i] != l {
			i++
		}
		if !assert.Less(t, i, len(real), "README.md's explain example: %q is not in the real output (in order):\n%s", l, out.String()) {
			break
		}
		i++
	}
}
