package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/observe"
	"github.com/reachgate/reachgate/pipeline/run"
	"github.com/reachgate/reachgate/pipeline/verify"
)

func endpointKey(e observe.Endpoint) string {
	if _, name, ok := strings.Cut(e.Workload, "/"); ok {
		return e.Namespace + "/" + name
	}
	return e.IP.String()
}

// recordedVerdicts reads a recording: flow "src -> dst PROTO port" to its
// verdict.
func recordedVerdicts(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	c, err := observe.Read(context.Background(), observe.Source{Name: file, R: f})
	require.NoError(t, err)
	require.Zero(t, c.Input.MalformedCount)
	out := map[string]string{}
	for _, r := range c.Records {
		out[endpointKey(r.Src)+" -> "+endpointKey(r.Dst)+" "+r.Protocol.String()+" "+itoa(int(r.Port))] = r.Verdict
	}
	return out
}

// TestKernelRoundTrip records the prod overlay's traffic as the kernel
// enforces it, judges it with observe (nothing wrong), then removes one
// policy in a head commit: check --flows must report exactly the
// recorded forwarded flows that the removal blocks, which a second
// recording, of the head, tells independently of the engine.
func TestKernelRoundTrip(t *testing.T) {
	if err := verify.CanRun(); err != nil {
		t.Skipf("skipping the kernel round trip: %v (CI runs it as root)", err)
	}
	ctx := context.Background()
	dir := newRepo(t)
	tmp := t.TempDir()
	baseFlows := filepath.Join(tmp, "base.json")
	var out, errOut bytes.Buffer
	require.NoError(t, run.Verify(ctx, run.VerifyParams{Common: run.Common{Dir: dir}, Overlay: "prod", RecordFlows: baseFlows}, &out, &errOut), "%s%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "recorded ")

	// observe on the unchanged overlay: the kernel did what git says.
	out.Reset()
	err := run.Observe(ctx, run.ObserveParams{Common: run.Common{Dir: dir}, Overlays: []string{"prod"},
		Flows: run.FlowParams{Files: []string{baseFlows}}, Format: "json"}, &out, &errOut)
	require.NoError(t, err, "%s", errOut.String())
	var doc struct {
		Overlays []struct {
			Summary map[string]int `json:"summary"`
		} `json:"overlays"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	s := doc.Overlays[0].Summary
	assert.Zero(t, s["violations"])
	assert.Zero(t, s["unenforced"])
	assert.Zero(t, s["unknown"])
	assert.Positive(t, s["allowed"])
	assert.Positive(t, s["denied"], "the lab's denied probes are dropped as the overlay intends")

	// The head removes the frontend's way into the API.
	removeFromProd(t, dir, "allow-backend-api-from-frontend")
	headFlows := filepath.Join(tmp, "head.json")
	out.Reset()
	require.NoError(t, run.Verify(ctx, run.VerifyParams{Common: run.Common{Dir: dir}, Overlay: "prod", RecordFlows: headFlows}, &out, &errOut), "%s%s", out.String(), errOut.String())
	before, after := recordedVerdicts(t, baseFlows), recordedVerdicts(t, headFlows)
	want := map[string]bool{}
	for k, v := range before {
		if v == model.VerdictForwarded && after[k] == model.VerdictDropped {
			want[k] = true
		}
	}
	require.NotEmpty(t, want, "the removal blocks something the kernel forwarded")

	r, err := run.BuildReport(ctx, run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now,
		Flows: run.FlowParams{Files: []string{baseFlows}}})
	require.NoError(t, err)
	prod := overlayReport(t, r, "prod")
	require.NotNil(t, prod.Traffic)
	got := map[string]bool{}
	for _, b := range prod.Traffic.Blocked {
		require.True(t, b.BaseAllowed, "the lab forwarded only what the base allows: %v", b.Flow)
		got[b.Flow.Src+" -> "+b.Flow.Dst+" "+b.Flow.Protocol.String()+" "+itoa(int(b.Flow.Port))] = true
	}
	assert.Equal(t, want, got, "check --flows reports exactly what the kernel stops forwarding")
	assert.Len(t, findingsOf(r, "prod", "NP018"), len(want))
	assert.Empty(t, prod.Traffic.Unblocked)
}
