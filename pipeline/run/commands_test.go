package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/run"
)

// An overlay with one invalid NetworkPolicy (a rule inside policyTypes,
// the seed's mistake) next to valid objects.
const invalidOverlay = `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: frontend, labels: {app: frontend}}
spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: api, labels: {app: api}}
spec: {containers: [{name: api, image: api:1, ports: [{containerPort: 3000}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: allow-api-3000}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: 3000}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: default-deny-egress}
spec:
  podSelector: {}
  policyTypes:
    - Egress
    - to: [{podSelector: {matchLabels: {app: api}}}]
`

// badTypeLine is the line of the egress rule pasted into
// default-deny-egress's policyTypes, its second element.
var badTypeLine = 1 + slices.Index(strings.Split(invalidOverlay, "\n"), "    - to: [{podSelector: {matchLabels: {app: api}}}]")

// TestCommandsExit2WhenTheyLeaveObjectsOut: every command that analyses an
// overlay still prints its answer without the invalid object, names it on
// stderr, and exits 2, even where its own answer would exit 0 or 1.
func TestCommandsExit2WhenTheyLeaveObjectsOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "a/all.yaml", invalidOverlay)
	writeFile(t, dir, "b/all.yaml", invalidOverlay)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "overlays")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	common := run.Common{Dir: dir}

	cases := map[string]func(w, stderr *bytes.Buffer) error{
		"reach": func(w, e *bytes.Buffer) error {
			return run.Reach(context.Background(), run.ReachParams{Common: common, Overlay: a, Format: "txt"}, w, e)
		},
		// Allowed: would exit 0. (The answer holds for the objects that
		// loaded; the exit code says it may not hold once the invalid one
		// is fixed.)
		"explain allowed": func(w, e *bytes.Buffer) error {
			return run.Explain(context.Background(), run.ExplainParams{Common: common, Overlay: a, Src: "app/frontend", Dst: "app/api", Port: "3000/TCP", Format: "txt"}, w, e)
		},
		// Denied: would exit 1.
		"explain denied": func(w, e *bytes.Buffer) error {
			return run.Explain(context.Background(), run.ExplainParams{Common: common, Overlay: a, Src: "app/frontend", Dst: "app/api", Port: "4000/TCP", Format: "txt"}, w, e)
		},
		"promote": func(w, e *bytes.Buffer) error {
			return run.Promote(context.Background(), run.PromoteParams{Common: common, From: a, To: b}, w, e)
		},
		"diff": func(w, e *bytes.Buffer) error {
			return run.Diff(context.Background(), run.DiffParams{Common: common, Base: "main", Overlays: []string{a}}, w, e)
		},
		"test": func(w, e *bytes.Buffer) error {
			return run.Test(context.Background(), run.TestParams{Common: common, Overlays: []string{a}}, w, e)
		},
	}
	for name, cmd := range cases {
		t.Run(name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			err := cmd(&out, &stderr)
			var ee *run.ExitError
			require.True(t, errors.As(err, &ee), "%s: %v", name, err)
			assert.Equal(t, run.ExitInput, ee.Code, "%s: %v", name, err)
			assert.Contains(t, err.Error(), "a: 1 invalid object(s)")
			assert.Contains(t, err.Error(), "left out of the analysis")
			// The line and the field are the bad element's, not the
			// object's.
			assert.Contains(t, stderr.String(), fmt.Sprintf("all.yaml:%d: NetworkPolicy app/default-deny-egress: spec.policyTypes[1]: ", badTypeLine))
			assert.NotEmpty(t, out.String(), "the answer is still printed")
		})
	}
}

// TestCommandsStopWhenCancelled: a command whose context has ended (the
// user pressed Ctrl-C) returns the context's error and prints no answer,
// whichever stage notices: rendering (a context ended from the start), or
// the engine and the comparison (a context only they see ended, so that
// rendering has finished and cannot be the stage that stops).
func TestCommandsStopWhenCancelled(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	common := run.Common{Dir: dir}
	hubble, err := filepath.Abs(hubbleFixture)
	require.NoError(t, err)
	cases := map[string]func(ctx context.Context, w, stderr *bytes.Buffer) error{
		"reach txt": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.Reach(ctx, run.ReachParams{Common: common, Overlay: "prod", Format: "txt"}, w, e)
		},
		"reach json": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.Reach(ctx, run.ReachParams{Common: common, Overlay: "prod", Format: "json"}, w, e)
		},
		"promote": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.Promote(ctx, run.PromoteParams{Common: common, From: "staging", To: "prod"}, w, e)
		},
		"diff": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.Diff(ctx, run.DiffParams{Common: common, Base: "main", Overlays: []string{"prod"}}, w, e)
		},
		"test": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.Test(ctx, run.TestParams{Common: common, Overlays: []string{"prod"}}, w, e)
		},
		"history": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.History(ctx, run.HistoryParams{Common: common, Overlay: "prod"}, w, e)
		},
		"suggest": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.Suggest(ctx, run.SuggestParams{Common: common, Overlay: "prod", Workload: "app/frontend", Flows: run.FlowParams{Files: []string{hubble}}, DryRun: true}, w, e)
		},
		"observe": func(ctx context.Context, w, e *bytes.Buffer) error {
			return run.Observe(ctx, run.ObserveParams{Common: common, Overlays: []string{"prod"}, Flows: run.FlowParams{Files: []string{hubble}}, Format: "json"}, w, e)
		},
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for name, cmd := range cases {
		for how, ctx := range map[string]context.Context{"from the start": ended, "in the engine": engineCancelled{context.Background()}} {
			t.Run(name+" "+how, func(t *testing.T) {
				var out, stderr bytes.Buffer
				err := cmd(ctx, &out, &stderr)
				require.ErrorIs(t, err, context.Canceled, "%s\n%s", out.String(), stderr.String())
				// test reports its Rego unit tests before the
				// expectations, which need the engine.
				assert.NotContains(t, out.String(), "expectations", "no answer")
				if name != "test" {
					assert.Empty(t, out.String(), "no answer")
				}
			})
		}
	}
}

// engineCancelled is a context that only the reachability engine sees
// ended: its Err is context.Canceled when called from package reach, nil
// from anywhere else.
type engineCancelled struct{ context.Context }

func (engineCancelled) Err() error {
	pc, _, _, _ := runtime.Caller(1)
	if f := runtime.FuncForPC(pc); f != nil && strings.HasPrefix(f.Name(), "github.com/reachgate/reachgate/pipeline/reach.") {
		return context.Canceled
	}
	return nil
}

// TestReachJSONHoldsThePairsOfJSONL: `reach --format json` on this
// repository's overlays (its flows grouped as the engine makes them,
// reach.ComputeFlows) holds exactly the pairs `--format jsonl` lists, each
// with the same allowance, and the same peers and allowances.
func TestReachJSONHoldsThePairsOfJSONL(t *testing.T) {
	t.Parallel()
	for _, overlay := range []string{"dev", "prod", "prod-cilium"} {
		reachOut := func(format string) []byte {
			var out, stderr bytes.Buffer
			err := run.Reach(context.Background(), run.ReachParams{Common: run.Common{Dir: repoRoot}, Overlay: overlay, Format: format}, &out, &stderr)
			require.NoError(t, err, "%s: %s", format, stderr.String())
			return out.Bytes()
		}
		var doc struct {
			Peers       []json.RawMessage `json:"peers"`
			Allowances  []json.RawMessage `json:"allowances"`
			Connections int               `json:"connections"`
			Flows       []struct {
				Srcs, Dsts []int
				Allowance  int
			} `json:"flows"`
		}
		require.NoError(t, json.Unmarshal(reachOut("json"), &doc), overlay)
		var got []string
		for _, f := range doc.Flows {
			for _, s := range f.Srcs {
				for _, d := range f.Dsts {
					got = append(got, fmt.Sprintf("%s %s %d", doc.Peers[s], doc.Peers[d], f.Allowance))
				}
			}
		}
		slices.Sort(got)

		lines := strings.Split(strings.TrimSpace(string(reachOut("jsonl"))), "\n")
		var header struct {
			Allowances  []json.RawMessage `json:"allowances"`
			Connections int               `json:"connections"`
		}
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &header), overlay)
		var want []string
		for _, l := range lines[1:] {
			var p struct {
				Src, Dst  json.RawMessage
				Allowance int
			}
			require.NoError(t, json.Unmarshal([]byte(l), &p), overlay)
			want = append(want, fmt.Sprintf("%s %s %d", p.Src, p.Dst, p.Allowance))
		}
		slices.Sort(want)
		require.NotEmpty(t, want, overlay)
		assert.Equal(t, want, got, overlay)
		assert.Equal(t, len(want), doc.Connections, overlay)
		assert.Equal(t, header.Connections, doc.Connections, overlay)
		assert.Equal(t, header.Allowances, doc.Allowances, overlay)
	}
}

// TestReachWarnsOfUnreadablePictures: a picture past what its reader
// draws is written with a warning on stderr that says how to focus it;
// this repository's overlays, and a focused picture, draw without one.
func TestReachWarnsOfUnreadablePictures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := synth.WriteTree(dir, synth.Cluster(synth.Options{Workloads: 200, Namespaces: 6, Seed: 42}), synth.TreeOptions{})
	require.NoError(t, err)
	reachOut := func(dir, overlay, format, workload string) (string, string) {
		var out, stderr bytes.Buffer
		err := run.Reach(context.Background(), run.ReachParams{Common: run.Common{Dir: dir}, Overlay: overlay, Format: format, Workload: workload}, &out, &stderr)
		require.NoError(t, err, "%s: %s", format, stderr.String())
		require.NotEmpty(t, out.String(), "the picture is written all the same")
		return out.String(), stderr.String()
	}
	for _, format := range []string{"dot", "mermaid"} {
		_, stderr := reachOut(dir, "prod", format, "")
		assert.Regexp(t, `^warning: the (DOT graph|Mermaid flowchart) has [0-9,]+ edges.*: focus it with --namespace or --workload\n$`, stderr, format)
		_, stderr = reachOut(dir, "prod", format, "ns-01/w-00001")
		assert.Empty(t, stderr, "%s, focused", format)
		for _, overlay := range []string{"dev", "prod", "prod-cilium"} {
			_, stderr := reachOut(repoRoot, overlay, format, "")
			assert.Empty(t, stderr, "%s of %s", format, overlay)
		}
	}
}
