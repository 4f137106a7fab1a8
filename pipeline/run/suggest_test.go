package run_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/run"
)

// TestSuggestWritesProvenPolicies drafts the frontend's policies from the
// recorded export, writes them into the prod overlay, and checks the
// overlay as rendered from disk afterwards.
func TestSuggestWritesProvenPolicies(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	fixture, err := filepath.Abs(hubbleFixture)
	require.NoError(t, err)
	p := run.SuggestParams{Common: run.Common{Dir: dir}, Overlay: "prod", Workload: "app/frontend", Flows: run.FlowParams{Files: []string{fixture}}}
	var out, errOut bytes.Buffer
	require.NoError(t, run.Suggest(context.Background(), p, &out, &errOut), "%s\n%s", out.String(), errOut.String())
	for _, want := range []string{
		"allows app/frontend[Deployment] -> app/backend-api[Deployment] TCP 3000 (seen 200 times)",
		"allows ingress-nginx/ingress-nginx-controller[Deployment] -> app/frontend[Deployment] TCP 3000 (seen 150 times)",
		"not expressed (listed, not widened):\n  reserved:host (10.244.0.1) -> app/frontend[Deployment] TCP 3000 (seen 30 times)",
		"ok   reach on the overlay plus the suggestion allows every observed flow above",
		"ok   it allows nothing the suggestion's selectors do not imply",
		"ok   the rules find nothing new",
		"wrote overlays/prod/suggested-app-frontend.yaml",
	} {
		assert.Contains(t, out.String(), want)
	}
	k, err := os.ReadFile(filepath.Join(dir, "overlays/prod/kustomization.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(k), "  - suggested-app-frontend.yaml\n")
	assert.Contains(t, string(k), "# prod: the strictest environment.", "the kustomization keeps its comments")

	// The overlay as rendered from disk now holds the policies, and reach
	// allows what the frontend was seen doing.
	ws, err := run.OpenWorkTree(dir, "")
	require.NoError(t, err)
	o := ws.Load(context.Background(), "prod")
	require.NoError(t, o.Err)
	assert.Empty(t, o.Problems)
	var names []string
	for _, pol := range o.Cluster.Policies {
		if strings.Contains(pol.Name, "observed") {
			names = append(names, pol.Name)
		}
	}
	assert.Equal(t, []string{"allow-frontend-observed-egress", "allow-frontend-observed-ingress"}, names)
	m := reach.Compute(o.Cluster)
	allowed := func(src, dst string, port uint16) bool {
		a := m.Find(m.PeerIndex(src), m.PeerIndex(dst))
		return a != nil && a.Ports.Contains(model.TCP, port)
	}
	assert.True(t, allowed("app/frontend", "app/backend-api", 3000))
	assert.True(t, allowed("ingress-nginx/ingress-nginx-controller", "app/frontend", 3000))
	assert.False(t, allowed("app/frontend", "app/postgres", 5432), "the dropped flow stays closed")

	// The file is not overwritten without --force.
	err = run.Suggest(context.Background(), p, &bytes.Buffer{}, &bytes.Buffer{})
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, "suggested-app-frontend.yaml exists")
}

// TestSuggestLeavesOutWhatTheOtherEndDenies: the worker was seen reaching
// postgres, whose own ingress denies it; a policy of the worker cannot
// allow that, so it is listed and left out of the policies.
func TestSuggestLeavesOutWhatTheOtherEndDenies(t *testing.T) {
	t.Parallel()
	fixture, err := filepath.Abs(hubbleFixture)
	require.NoError(t, err)
	var out bytes.Buffer
	err = run.Suggest(context.Background(), run.SuggestParams{Common: run.Common{Dir: repoRoot}, Overlay: "prod", Workload: "app/worker",
		Flows: run.FlowParams{Files: []string{fixture}}, DryRun: true}, &out, &bytes.Buffer{})
	require.NoError(t, err, out.String())
	text := out.String()
	assert.Contains(t, text, "app/worker[Deployment] -> app/postgres[StatefulSet] TCP 5432 (seen 5 times): the other end's ingress policies deny it")
	yaml := text[strings.Index(text, "apiVersion:"):]
	assert.NotContains(t, yaml, "postgres", "no rule for a flow the suggestion cannot allow")
	assert.Contains(t, yaml, "name: allow-worker-observed-egress")
	assert.Contains(t, yaml, "port: amqp", "named port of rabbitmq")
	assert.Contains(t, yaml, "k8s-app: kube-dns", "DNS kept")
	_, err = os.Stat(filepath.Join(repoRoot, "overlays/prod/suggested-app-worker.yaml"))
	assert.True(t, os.IsNotExist(err), "--dry-run writes nothing")
}
