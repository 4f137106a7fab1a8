package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/internal/textdiff"
	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

// A fanned-out check (overlays --base for the matrix, check --shard per
// overlay, merge) must be the whole check, byte for byte: every format
// check writes, stdout and the exit code. Nothing is normalised: the
// tests pin the time (CheckParams.Now) and the version, which are all
// that differs between two runs of one check.

const fanOutVersion = "v0.0.0-fanout"

// matrixOverlays is the fan-out's matrix: reachgate overlays --base BASE
// --format json, read the way the workflow's fromJSON does.
func matrixOverlays(t *testing.T, dir, base string) []string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, run.Overlays(run.OverlaysParams{Common: run.Common{Dir: dir}, Base: base, Format: "json"}, &out))
	require.Equal(t, 1, strings.Count(out.String(), "\n"), "one line, for $GITHUB_OUTPUT: %s", out.String())
	var m struct {
		Include []struct {
			Overlay string `json:"overlay"`
		} `json:"include"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &m))
	var names []string
	for _, o := range m.Include {
		names = append(names, o.Overlay)
	}
	return names
}

// outputsIn are --output FORMAT=FILE for every check format, in dir.
func outputsIn(dir string) []string {
	var out []string
	for _, f := range report.Formats() {
		out = append(out, f+"="+filepath.Join(dir, f))
	}
	return out
}

type shardFiles struct{ reports, evidence []string }

// runShards runs check --shard for each overlay, writing its JSON report
// and its evidence document.
func runShards(t *testing.T, p run.CheckParams, names []string) shardFiles {
	t.Helper()
	dir := t.TempDir()
	var sf shardFiles
	for _, n := range names {
		ps := p
		ps.Shard = n
		rep, ev := filepath.Join(dir, n+".json"), filepath.Join(dir, n+".evidence.json")
		ps.Outputs = []string{"json=" + rep, "evidence=" + ev}
		var out, errOut bytes.Buffer
		err := run.Check(context.Background(), ps, &out, &errOut)
		require.Contains(t, []int{0, 1}, exitCode(err), "shard %s: %v\n%s", n, err, errOut.String())
		sf.reports = append(sf.reports, rep)
		sf.evidence = append(sf.evidence, ev)
	}
	return sf
}

// requireFanOutIsTheCheck runs the whole check and the fan-out, and
// requires the same bytes in every output and the same exit code, which
// it returns.
func requireFanOutIsTheCheck(t *testing.T, p run.CheckParams) int {
	t.Helper()
	p.Version, p.Marker, p.Format = fanOutVersion, "reachgate:check", "text"
	single, merged := t.TempDir(), t.TempDir()
	ps := p
	ps.Outputs = outputsIn(single)
	var out, errOut bytes.Buffer
	checkErr := run.Check(context.Background(), ps, &out, &errOut)
	require.Contains(t, []int{0, 1}, exitCode(checkErr), "check: %v\n%s", checkErr, errOut.String())

	names := matrixOverlays(t, p.Dir, p.Base)
	sf := runShards(t, p, names)
	// The artifacts come back in any order.
	slices.Reverse(sf.reports)
	var mout, merrOut bytes.Buffer
	mergeErr := run.Merge(run.MergeParams{Reports: sf.reports, Evidence: sf.evidence, Format: "text", Outputs: outputsIn(merged), Marker: "reachgate:check"}, &mout, &merrOut)
	require.Contains(t, []int{0, 1}, exitCode(mergeErr), "merge: %v\n%s", mergeErr, merrOut.String())

	assert.Equal(t, exitCode(checkErr), exitCode(mergeErr), "exit code")
	if checkErr != nil {
		assert.Equal(t, checkErr.Error(), mergeErr.Error())
	}
	requireSame(t, "stdout (text)", out.String(), mout.String())
	for _, f := range report.Formats() {
		a, err := os.ReadFile(filepath.Join(single, f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(merged, f))
		require.NoError(t, err)
		requireSame(t, f, string(a), string(b))
	}
	return exitCode(checkErr)
}

func requireSame(t *testing.T, what, single, merged string) {
	t.Helper()
	if single != merged {
		t.Errorf("%s: the merged output differs from the whole check's (- check, + merge):\n%s", what,
			textdiff.Unified("check", "merge", single, merged, 3))
	}
}

func TestFanOutOfAPassingCheck(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	names := matrixOverlays(t, dir, "main")
	cfg, err := config.Parse("reachgate.yaml", []byte(readFile(t, dir, "reachgate.yaml")))
	require.NoError(t, err)
	assert.Equal(t, cfg.OverlayNames(), names, "the matrix is the configured overlays, in order")
	assert.Equal(t, 0, requireFanOutIsTheCheck(t, run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now}))
}

// A pull request that opens a flow in prod: findings, a diff, the
// promotion from staging, and the base's waivers, one used in prod only
// (unused in the other shards, so only the merge can tell it is used)
// and one used nowhere.
func TestFanOutOfAFailingCheck(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	writeFile(t, dir, "waivers.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - rule: NP016
    object: NetworkPolicy/app/allow-postgres-from-worker
    reason: worker reads reference data during the migration
    owner: team-shop
    expires: "2026-12-31"
  - rule: NP001
    object: NetworkPolicy/app/no-such-policy
    reason: left over
    owner: team-shop
    expires: "2026-12-31"
`)
	git(t, dir, "commit", "-qam", "waivers")
	prodChange(t, dir)
	p := run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now}
	assert.Equal(t, 1, requireFanOutIsTheCheck(t, p))

	r, err := run.BuildReport(context.Background(), p)
	require.NoError(t, err)
	var unused []string
	for _, o := range r.Overlays {
		for _, f := range o.Findings {
			if f.RuleID == "waiver/unused" {
				unused = append(unused, o.Name+": "+f.Message)
			}
		}
	}
	require.Len(t, unused, 1, "the scenario has one unused waiver")
	assert.Contains(t, unused[0], "no-such-policy")

	// After expiry both waivers are reported by every shard; the merge
	// keeps them once.
	p.Now = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, 1, requireFanOutIsTheCheck(t, p))
}

// The pull request moves prod to a copy and changes the configuration: the
// configuration change (a finding about the run) and the directory Argo CD
// deploys that no overlay covers (judged by the first overlay's shard)
// are in the merged report as in the whole check.
func TestFanOutJudgesUnjudgedDirectoriesOnce(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	saved := t.TempDir()
	copyTree(t, saved, "overlays/prod")
	prodChange(t, dir)
	require.NoError(t, os.Rename(filepath.Join(saved, "overlays/prod"), filepath.Join(dir, "overlays/prod-v2")))
	editFile(t, dir, "reachgate.yaml", func(s string) string {
		return strings.Replace(s, "path: overlays/prod\n", "path: overlays/prod-v2\n", 1)
	})
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "prod moves")
	p := run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now}
	r, err := run.BuildReport(context.Background(), p)
	require.NoError(t, err)
	require.NotEmpty(t, findingsOf(r, "overlays/prod-v2", "overlay/unjudged"), "the scenario has an unjudged directory")
	assert.Equal(t, 1, requireFanOutIsTheCheck(t, p))
}

// With --rules-from head the head's configuration judges; the overlay it
// drops is still judged (the base lists it), and the base's matrix has a
// job for it.
func TestFanOutWithRulesFromHead(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	dropProdFromConfig(t, dir)
	git(t, dir, "commit", "-qam", "prod leaves the gate")
	assert.Equal(t, 1, requireFanOutIsTheCheck(t, run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", RulesFrom: "head", Now: now}))
}

// A synthetic repository with many overlays, each a different set of
// namespaces (so each has its own address blocks, which split the
// external address space of all of them), and a pull request that changes
// one policy.
func TestFanOutOfASyntheticRepository(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 120, Namespaces: 8, Seed: 7})
	dir := syntheticPR(t, c, synth.TreeOptions{Change: true}, func(dir string) { splitOverlays(t, dir, 4) })
	names := matrixOverlays(t, dir, "main")
	require.Len(t, names, 4)
	p := run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", FailOn: "info", Now: now}
	requireFanOutIsTheCheck(t, p)

	// The scenario needs every shard to see every overlay: checked alone,
	// an overlay's reachability is split at fewer address boundaries.
	alone, whole := p, p
	alone.Overlays = names[:1]
	assert.NotEqual(t, evidenceReachability(t, whole, names[0]), evidenceReachability(t, alone, names[0]),
		"%s's matrix depends on the other overlays' address blocks", names[0])
}

// evidenceReachability is the reachability the evidence of a check
// records for one overlay.
func evidenceReachability(t *testing.T, p run.CheckParams, overlay string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "evidence.json")
	p.Outputs = []string{"evidence=" + file}
	err := run.Check(context.Background(), p, &bytes.Buffer{}, &bytes.Buffer{})
	require.Contains(t, []int{0, 1}, exitCode(err), "%v", err)
	var doc struct {
		Overlays []struct {
			Name         string          `json:"name"`
			Reachability json.RawMessage `json:"reachability"`
		} `json:"overlays"`
	}
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Dir(file), "evidence.json")), &doc))
	for _, o := range doc.Overlays {
		if o.Name == overlay {
			return string(o.Reachability)
		}
	}
	t.Fatalf("no overlay %s in the evidence", overlay)
	return ""
}

// splitOverlays replaces the synthetic tree's one overlay with n, overlay
// k holding every base whose index is not k modulo n.
func splitOverlays(t *testing.T, dir string, n int) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "bases"))
	require.NoError(t, err)
	var bases []string
	for _, e := range entries {
		if e.IsDir() {
			bases = append(bases, e.Name())
		}
	}
	require.Greater(t, len(bases), n)
	var list strings.Builder
	for k := range n {
		name := fmt.Sprintf("part-%d", k)
		fmt.Fprintf(&list, "  - {name: %s, path: overlays/%s}\n", name, name)
		var kust strings.Builder
		kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
		for i, b := range bases {
			if i%n != k {
				fmt.Fprintf(&kust, "  - ../../bases/%s\n", b)
			}
		}
		writeFile(t, dir, "overlays/"+name+"/kustomization.yaml", kust.String())
	}
	editFile(t, dir, "reachgate.yaml", func(s string) string {
		return strings.Replace(s, "  - {name: prod, path: overlays/prod}\n", list.String(), 1)
	})
}

// editJSON rewrites a report as a document and writes it to a new file.
func editJSON(t *testing.T, file string, edit func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Dir(file), filepath.Base(file))), &doc))
	edit(doc)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "edited-"+filepath.Base(file))
	require.NoError(t, os.WriteFile(out, b, 0o644))
	return out
}

// TestMergeRefusesReportsOfDifferentChecks: every way the reports can fail
// to be the parts of one check is an input error (exit 2) naming the file
// and the field, and nothing is written.
func TestMergeRefusesReportsOfDifferentChecks(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	prodChange(t, dir)
	p := run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "feature", Now: now, Version: fanOutVersion}
	names := matrixOverlays(t, dir, "main")
	require.Greater(t, len(names), 1, "the repository has several overlays")
	sf := runShards(t, p, names)
	second := sf.reports[1]
	set := func(field string, v any) func(map[string]any) {
		return func(doc map[string]any) {
			m := doc
			parts := strings.Split(field, ".")
			for _, k := range parts[:len(parts)-1] {
				m = m[k].(map[string]any)
			}
			m[parts[len(parts)-1]] = v
		}
	}
	// Another commit's shard: the head is main, not feature.
	other := p
	other.Head = "main"
	otherShard := runShards(t, other, names[1:2]).reports[0]
	// The whole check's report is not a shard.
	whole := filepath.Join(t.TempDir(), "report.json")
	wp := p
	wp.Outputs = []string{"json=" + whole}
	require.Contains(t, []int{0, 1}, exitCode(run.Check(context.Background(), wp, &bytes.Buffer{}, &bytes.Buffer{})))

	replace := func(i int, file string) []string {
		out := slices.Clone(sf.reports)
		out[i] = file
		return out
	}
	cases := []struct {
		name    string
		reports []string
		file    string // the file the error names
		want    string
	}{
		{"another head commit", replace(1, otherShard), otherShard, "head.commit"},
		{"base commit", replace(1, editJSON(t, second, set("base.commit", "0123456789abcdef0123456789abcdef01234567"))), "", "base.commit"},
		{"config digest", replace(1, editJSON(t, second, set("shard.configDigest", "sha256:00"))), "", "shard.configDigest"},
		{"rule pack", replace(1, editJSON(t, second, set("shard.rulesDigest", "sha256:00"))), "", "shard.rulesDigest"},
		{"reachgate version", replace(1, editJSON(t, second, set("tool.version", "v9.9.9"))), "", "tool.version"},
		{"format version", replace(1, editJSON(t, second, set("formatVersion", "1"))), "", `formatVersion "1"`},
		{"fail-on", replace(1, editJSON(t, second, set("failOn", "warning"))), "", "failOn"},
		{"overlay list", replace(1, editJSON(t, second, set("shard.overlays", []string{names[1]}))), "", "shard.overlays"},
		{"not a shard", replace(1, whole), whole, "shard is missing"},
		{"an overlay twice", append(slices.Clone(sf.reports), editJSON(t, second, func(map[string]any) {})), "", "is also reported by " + second},
		{"a missing overlay", sf.reports[:len(sf.reports)-1], "", "no report has overlay " + names[len(names)-1]},
		{"no such file", replace(1, filepath.Join(dir, "nope.json")), filepath.Join(dir, "nope.json"), "no such file"},
		{"not JSON", replace(1, filepath.Join(dir, "reachgate.yaml")), filepath.Join(dir, "reachgate.yaml"), "read report"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			err := run.Merge(run.MergeParams{Reports: c.reports, Outputs: []string{"json=" + filepath.Join(out, "report.json")}}, &stdout, &stderr)
			require.Error(t, err)
			assert.Equal(t, run.ExitInput, exitCode(err), "%v", err)
			assert.Contains(t, err.Error(), c.want)
			file := c.file
			if file == "" && !strings.HasPrefix(c.want, "no report has") {
				// An edited copy: the error names it.
				file = c.reports[len(c.reports)-1]
				if c.name != "an overlay twice" {
					file = c.reports[1]
				}
			}
			if file != "" {
				assert.Contains(t, err.Error(), file, "the error names the file")
			}
			assert.Empty(t, stdout.String(), "nothing is written")
			assert.NoFileExists(t, filepath.Join(out, "report.json"))
		})
	}

	t.Run("evidence without the shards' documents", func(t *testing.T) {
		err := run.Merge(run.MergeParams{Reports: sf.reports, Format: "evidence"}, &bytes.Buffer{}, &bytes.Buffer{})
		assert.Equal(t, run.ExitInput, exitCode(err))
		assert.ErrorContains(t, err, "--evidence")
		err = run.Merge(run.MergeParams{Reports: sf.reports, Evidence: sf.evidence[1:], Format: "evidence"}, &bytes.Buffer{}, &bytes.Buffer{})
		assert.Equal(t, run.ExitInput, exitCode(err))
		assert.ErrorContains(t, err, "no evidence document has overlay "+names[0])
		err = run.Merge(run.MergeParams{Reports: sf.reports, Evidence: append(slices.Clone(sf.evidence), sf.evidence[0]), Format: "evidence"}, &bytes.Buffer{}, &bytes.Buffer{})
		assert.ErrorContains(t, err, sf.evidence[0]+": overlays[0].name: overlay "+names[0]+" is also in "+sf.evidence[0])
	})

	t.Run("check --shard", func(t *testing.T) {
		ps := p
		ps.Shard, ps.Overlays = names[0], names[:1]
		err := run.Check(context.Background(), ps, &bytes.Buffer{}, &bytes.Buffer{})
		assert.Equal(t, run.ExitInput, exitCode(err))
		assert.ErrorContains(t, err, "name no overlays with it")
		ps.Shard, ps.Overlays = "nosuch", nil
		err = run.Check(context.Background(), ps, &bytes.Buffer{}, &bytes.Buffer{})
		assert.Equal(t, run.ExitInput, exitCode(err))
		assert.ErrorContains(t, err, "--shard nosuch: not an overlay the check judges (have "+strings.Join(names, ", ")+")")
	})
}

// TestOverlaysFromTheBase: a pull request that drops an overlay from its
// reachgate.yaml does not drop its job: the matrix is the base's.
func TestOverlaysFromTheBase(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	cfg, err := config.Parse("reachgate.yaml", []byte(readFile(t, dir, "reachgate.yaml")))
	require.NoError(t, err)
	git(t, dir, "checkout", "-qb", "feature")
	dropProdFromConfig(t, dir)
	assert.NotContains(t, matrixOverlays(t, dir, ""), "prod", "the work tree's configuration")
	assert.Equal(t, cfg.OverlayNames(), matrixOverlays(t, dir, "main"), "the base's configuration")

	var txt bytes.Buffer
	require.NoError(t, run.Overlays(run.OverlaysParams{Common: run.Common{Dir: dir}, Base: "main"}, &txt))
	lines := strings.Split(strings.TrimSpace(txt.String()), "\n")
	require.Len(t, lines, 1+len(cfg.Overlays))
	for i, o := range cfg.Overlays {
		assert.Equal(t, o.Name, strings.Fields(lines[i+1])[0])
		assert.Contains(t, lines[i+1], o.Path)
	}

	err = run.Overlays(run.OverlaysParams{Common: run.Common{Dir: dir}, Base: "no-such-ref"}, &bytes.Buffer{})
	assert.Equal(t, run.ExitInput, exitCode(err))
	assert.ErrorContains(t, err, "no-such-ref")
	err = run.Overlays(run.OverlaysParams{Common: run.Common{Dir: dir}, Format: "yaml"}, &bytes.Buffer{})
	assert.ErrorContains(t, err, `--format "yaml"`)
}
