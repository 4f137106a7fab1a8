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
	"github.com/reachgate/reachgate/pipeline/run"
)

// TestObserveGolden compares observe's categories for the recorded
// Hubble export against the hand-checked golden file.
func TestObserveGolden(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := run.Observe(context.Background(), run.ObserveParams{
		Common: run.Common{Dir: repoRoot}, Overlays: []string{"prod"},
		Flows: run.FlowParams{Files: []string{hubbleFixture}}, Format: "json",
	}, &out, &errOut)
	// The export has an unenforced flow and a flow dropped against an
	// expectation: exit 1.
	require.Equal(t, 1, exitCode(err), "%v\n%s", err, errOut.String())
	golden := filepath.Join("testdata", "observe-prod.golden.json")
	got := strings.ReplaceAll(out.String(), repoRoot+"/", "")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)

	// What the golden says, checked by hand against overlays/prod.
	var doc struct {
		Overlays []struct {
			Summary    map[string]int `json:"summary"`
			Violations []struct {
				SrcLabel, DstLabel string
				Port               int
				Count              int
				OverlayAllows      bool `json:"overlayAllows"`
				Expectation        *model.Location
			} `json:"violations"`
			Unenforced []struct {
				SrcLabel, DstLabel string
				Port, Count        int
				Side               string
			} `json:"unenforced"`
			Allowed []struct {
				SrcLabel, DstLabel string
				Port, Count        int
			} `json:"allowed"`
			Unknown []struct {
				Endpoint string
				Count    int
			} `json:"unknown"`
			Input struct {
				Lines   int
				Flows   int
				Skipped []model.Tally
			} `json:"input"`
		} `json:"overlays"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	o := doc.Overlays[0]
	assert.Equal(t, map[string]int{"violations": 1, "expectationViolations": 1, "unenforced": 1, "denied": 3, "allowed": 10,
		"unusedRules": o.Summary["unusedRules"], "unusedPairs": o.Summary["unusedPairs"], "unknown": 2}, o.Summary)
	require.Len(t, o.Violations, 1)
	v := o.Violations[0]
	assert.Equal(t, "app/backend-api[Deployment] -> app/rabbitmq[StatefulSet] 15672 x6", v.SrcLabel+" -> "+v.DstLabel+" "+itoa(v.Port)+" x"+itoa(v.Count))
	assert.True(t, v.OverlayAllows)
	require.NotNil(t, v.Expectation)
	assert.Equal(t, "overlays/prod/expectations.yaml", v.Expectation.File)
	require.Len(t, o.Unenforced, 1)
	assert.Equal(t, "app/worker[Deployment] -> app/postgres[StatefulSet] 5432 x5 egress and ingress", o.Unenforced[0].SrcLabel+" -> "+o.Unenforced[0].DstLabel+" "+itoa(o.Unenforced[0].Port)+" x"+itoa(o.Unenforced[0].Count)+" "+o.Unenforced[0].Side)
	counts := map[string]int{}
	for _, a := range o.Allowed {
		counts[a.SrcLabel+" -> "+a.DstLabel+" "+itoa(a.Port)] = a.Count
	}
	// backend-api -> redis is aggregated: 80 lines of 1 to 4 flows each.
	assert.Equal(t, 200, counts["app/backend-api[Deployment] -> app/redis[StatefulSet] 6379"])
	assert.Equal(t, 200, counts["app/frontend[Deployment] -> app/backend-api[Deployment] 3000"])
	assert.Equal(t, 40, counts["app/backend-api[Deployment] -> partner-payments(203.0.113.0/24) 443"])
	require.Len(t, o.Unknown, 2)
	assert.Equal(t, "legacy/batch-28931040-q7w2x (10.244.9.9)", o.Unknown[0].Endpoint)
	assert.Equal(t, "reserved:host (10.244.0.1)", o.Unknown[1].Endpoint)
	assert.Equal(t, 30, o.Unknown[1].Count)
	assert.Equal(t, 1405, o.Input.Lines)
	skipped := map[string]int64{}
	for _, s := range o.Input.Skipped {
		skipped[strings.SplitN(s.What, " ", 2)[0]] = s.Count
	}
	assert.Equal(t, int64(10), skipped["L7"])
	assert.Equal(t, int64(3), skipped["lost-events"])
	assert.Equal(t, int64(443), skipped["replies"])
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNum(n)) }

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestObserveFormats renders the same report in every format observe
// offers.
func TestObserveFormats(t *testing.T) {
	t.Parallel()
	for format, want := range map[string]string{
		"txt":  "unenforced (forwarded, but the overlay denies them): 1\n  app/worker[Deployment] -> app/postgres[StatefulSet] TCP 5432, seen 5 times between",
		"md":   "| violations | 1 |",
		"csv":  "prod,unenforced,app/worker[Deployment],app/postgres[StatefulSet],TCP,5432,FORWARDED,5,",
		"json": `"expectationViolations": 1`,
	} {
		var out, errOut bytes.Buffer
		err := run.Observe(context.Background(), run.ObserveParams{
			Common: run.Common{Dir: repoRoot}, Overlays: []string{"prod"},
			Flows: run.FlowParams{Files: []string{hubbleFixture}}, Format: format,
		}, &out, &errOut)
		require.Equal(t, 1, exitCode(err), format)
		assert.Contains(t, out.String(), want, format)
	}
	err := run.Observe(context.Background(), run.ObserveParams{Common: run.Common{Dir: repoRoot}, Overlays: []string{"prod"},
		Flows: run.FlowParams{Files: []string{hubbleFixture}}, Format: "sarif"}, &bytes.Buffer{}, &bytes.Buffer{})
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, "txt, json, md, csv")
}

// TestObserveBadInput: malformed lines are counted and named with their
// line numbers, the rest is used, and a truncated final line is not an
// input error.
func TestObserveBadInput(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile(hubbleFixture)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(good), "\n")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	var b strings.Builder
	b.WriteString(lines[0])
	b.WriteString("this is not json\n")                                         // line 2
	b.WriteString(`{"flow":{"time":"yesterday","verdict":"FORWARDED"}}` + "\n") // line 3
	b.WriteString(`{"src":"app/frontend","dst":"8.8.8.8","port":53}` + "\n")    // line 4: no verdict
	b.WriteString(lines[1])
	b.WriteString(lines[2][:len(lines[2])/2]) // line 6: cut off, no newline
	require.NoError(t, os.WriteFile(bad, []byte(b.String()), 0o644))

	var out, errOut bytes.Buffer
	err = run.Observe(context.Background(), run.ObserveParams{Common: run.Common{Dir: repoRoot}, Overlays: []string{"prod"},
		Flows: run.FlowParams{Files: []string{bad}}, Format: "json"}, &out, &errOut)
	require.Equal(t, 2, exitCode(err), "%v", err)
	assert.ErrorContains(t, err, "3 malformed flow line(s)")
	for _, want := range []string{bad + ":2: not JSON", bad + ":3: not a Hubble GetFlowsResponse", bad + ":4: neutral format: verdict is missing", bad + ":6: truncated final line"} {
		assert.Contains(t, errOut.String(), want)
	}
	var doc struct {
		Overlays []struct {
			Input struct {
				Lines          int
				MalformedCount int
				Truncated      int
				Flows          int
			}
		}
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	in := doc.Overlays[0].Input
	assert.Equal(t, 6, in.Lines)
	assert.Equal(t, 4, in.MalformedCount)
	assert.Equal(t, 1, in.Truncated)
	assert.Positive(t, in.Flows, "the good lines are still used")

	// Only a truncated final line: reported, not an input error.
	cut := filepath.Join(dir, "cut.json")
	require.NoError(t, os.WriteFile(cut, []byte(lines[0]+lines[1][:40]), 0o644))
	out.Reset()
	errOut.Reset()
	err = run.Observe(context.Background(), run.ObserveParams{Common: run.Common{Dir: repoRoot}, Overlays: []string{"prod"},
		Flows: run.FlowParams{Files: []string{cut}}}, &out, &errOut)
	assert.NotEqual(t, 2, exitCode(err), "%v", err)
	assert.Contains(t, out.String(), cut+":2: truncated final line")

	// A file that is not there is an input error naming it.
	err = run.Observe(context.Background(), run.ObserveParams{Common: run.Common{Dir: repoRoot}, Overlays: []string{"prod"},
		Flows: run.FlowParams{Files: []string{filepath.Join(dir, "missing.json")}}}, &out, &errOut)
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, "missing.json")
}

// removeFromProd makes a head commit that deletes one policy from the
// prod overlay with a patch.
func removeFromProd(t *testing.T, dir, policy string) {
	t.Helper()
	git(t, dir, "checkout", "-qb", "feature")
	writeFile(t, dir, "overlays/prod/patches/remove-"+policy+".yaml", `$patch: delete
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: `+policy+`
  namespace: app
`)
	k, err := os.ReadFile(filepath.Join(dir, "overlays/prod/kustomization.yaml"))
	require.NoError(t, err)
	s := strings.Replace(string(k), "  - path: patches/remove-internet-egress.yaml\n", "  - path: patches/remove-internet-egress.yaml\n  - path: patches/remove-"+policy+".yaml\n", 1)
	require.NotEqual(t, string(k), s)
	writeFile(t, dir, "overlays/prod/kustomization.yaml", s)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "prod: remove "+policy)
}

// TestCheckFlowsPreviewsTheImpact: removing the policy that lets the
// frontend into the API blocks the 200 observed frontend -> API flows.
func TestCheckFlowsPreviewsTheImpact(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	removeFromProd(t, dir, "allow-backend-api-from-frontend")
	fixture, err := filepath.Abs(hubbleFixture)
	require.NoError(t, err)
	p := run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now, Marker: "reachgate:check",
		Flows: run.FlowParams{Files: []string{fixture}}}
	r, err := run.BuildReport(context.Background(), p)
	require.NoError(t, err)
	prod := overlayReport(t, r, "prod")
	require.NotNil(t, prod.Traffic)
	np018 := findingsOf(r, "prod", "NP018")
	require.Len(t, np018, 1, "%v", prod.Findings)
	f := np018[0]
	assert.Equal(t, model.SeverityError, f.Severity)
	assert.Equal(t, model.ObjectRef{Kind: "Deployment", Namespace: "app", Name: "backend-api"}, f.Object)
	assert.Contains(t, f.Message, "app/frontend[Deployment] -> app/backend-api[Deployment] on 3000/TCP was seen forwarded 200 time(s), last at 2026-11-30T10:5")
	// Overlays the change does not touch see no blocked traffic.
	assert.Empty(t, findingsOf(r, "staging", "NP018"))
	assert.Empty(t, findingsOf(r, "dev", "NP018"))

	var md bytes.Buffer
	p.Format = "markdown"
	err = run.Check(context.Background(), p, &md, &bytes.Buffer{})
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, md.String(), "**Traffic this change blocks: 1 flow seen 200 times between 2026-11-30 10:0")
	assert.Contains(t, md.String(), "**Traffic this change unblocks: none**")
	// The same section survives the JSON report (comment --report).
	var js bytes.Buffer
	p.Format = "json"
	_ = run.Check(context.Background(), p, &js, &bytes.Buffer{})
	assert.Contains(t, js.String(), `"traffic"`)
	assert.Contains(t, js.String(), `"baseAllowed": true`)
}
