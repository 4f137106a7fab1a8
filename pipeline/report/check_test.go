package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

func render(t *testing.T, format string, r *model.Report, opts Options) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Write(&b, format, r, opts))
	return b.String()
}

// cells counts the cells of a table line: pipes not escaped by a
// backslash, less one.
func cells(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if line[i] == '|' && (i == 0 || line[i-1] != '\\') {
			n++
		}
	}
	return n - 1
}

// assertTablesWellFormed checks every Markdown table: rows start and end
// with a pipe and have as many cells as the header; <details> and code
// fences are balanced.
func assertTablesWellFormed(t *testing.T, md string) {
	t.Helper()
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") {
			continue
		}
		require.Less(t, i+1, len(lines), "table header at the end")
		require.Regexp(t, `^\|(---\|)+$`, lines[i+1], "separator after header %q", lines[i])
		want := cells(lines[i])
		require.Equal(t, want, cells(lines[i+1]))
		j := i + 2
		for ; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			assert.True(t, strings.HasSuffix(lines[j], " |"), "row %d is cut: %q", j, lines[j])
			assert.Equal(t, want, cells(lines[j]), "row %d: %q", j, lines[j])
		}
		require.True(t, j == len(lines) || lines[j] == "", "a blank line ends the table at line %d", j)
		i = j
	}
	assert.Equal(t, strings.Count(md, "<details>"), strings.Count(md, "</details>"), "details balanced")
	depth := 0
	for _, l := range lines {
		switch l {
		case "<details>":
			depth++
			assert.Equal(t, 1, depth, "details nested")
		case "</details>":
			depth--
			assert.Equal(t, 0, depth, "closing a details that is not open")
		}
	}
	assert.Equal(t, 0, depth)
	assert.Equal(t, 0, strings.Count(md, "```")%2, "code fences balanced")
}

func TestCheckFormatsRegistry(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"text", "markdown", "json", "junit", "sarif", "github", "evidence"}, Formats())
	r := fixtureReport(t)
	assert.Equal(t, render(t, "markdown", r, Options{}), render(t, "md", r, Options{}))
	err := Write(&bytes.Buffer{}, "html", r, Options{})
	require.EqualError(t, err, `unknown report format "html": want text, markdown, json, junit, sarif, github, evidence`)
	// A nil report renders as an empty one in every format.
	for _, f := range Formats() {
		assert.NotPanics(t, func() { _ = Write(&bytes.Buffer{}, f, nil, Options{}) }, f)
	}
}

func TestCheckTextColour(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	plain := render(t, "text", r, Options{})
	colour := render(t, "text", r, Options{Color: true})
	assert.NotContains(t, plain, "\x1b[")
	assert.Contains(t, colour, "\x1b[")
	assert.Equal(t, plain, regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colour, ""))
	assert.True(t, strings.HasSuffix(plain, "FAIL: 2 of 3 overlays failed at severity error\n"), "verdict is the last line")
	assert.Contains(t, plain, "[waived by @platform-team until 2027-01-31: migration, ticket OPS-12]")
	assert.Contains(t, plain, "  flows: +2 -1 ~1; workloads: +1 -0\n")
}

func TestCheckMarkdownLinks(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	md := render(t, "markdown", r, Options{})
	assert.Contains(t, md, "[bases/app/backend-api.yaml:1](https://github.com/acme/gitops/blob/"+headSHA+"/bases/app/backend-api.yaml#L1)")
	// The rule behind a removed flow is linked at the base commit.
	assert.Contains(t, md, "[`app/allow-frontend`](https://github.com/acme/gitops/blob/"+baseSHA+"/bases/app/networkpolicies.yaml#L30) egress[1]")

	enterprise := *r
	enterprise.ServerURL = "https://ghe.example.com/"
	md = render(t, "markdown", &enterprise, Options{})
	assert.Contains(t, md, "(https://ghe.example.com/acme/gitops/blob/"+headSHA+"/bases/app/backend-api.yaml#L1)")

	noRepo := *r
	noRepo.Repository = ""
	md = render(t, "markdown", &noRepo, Options{})
	assert.NotContains(t, md, "](http")
	assert.Contains(t, md, "| bases/app/backend-api.yaml:1 |")

	noCommit := *r
	noCommit.Head.Commit = ""
	md = render(t, "markdown", &noCommit, Options{})
	assert.NotContains(t, md, "/blob//")
	assert.Contains(t, md, "| bases/app/backend-api.yaml:1 |")
}

func TestCheckMarkdownEscaping(t *testing.T) {
	t.Parallel()
	r := &model.Report{FailOn: model.SeverityError, Overlays: []model.OverlayReport{{
		Name: "dev</summary>", Environment: "dev</summary>",
		Findings: []model.Finding{{
			RuleID: "NP|1", Severity: model.SeverityError,
			Message:  "a | b <details> </details> @admin\nsecond line `code`",
			Location: model.Location{File: "x.yaml", Line: 2},
		}},
	}}}
	md := render(t, "markdown", r, Options{})
	assertTablesWellFormed(t, md)
	assert.Contains(t, md, "a \\| b &lt;details&gt; &lt;/details&gt; &#64;admin<br>second line \\`code\\`")
	assert.Contains(t, md, "`NP\\|1`")
	assert.Contains(t, md, "<summary><b>dev&lt;/summary&gt;</b>")
	assert.NotContains(t, md, "@admin")
}

func TestCheckMarkdownRulesFromHead(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	r.RulesFrom = "head"
	md := render(t, "markdown", r, Options{})
	assert.Contains(t, md, "**Rules changed in this pull request** (1): judged with the rules of the head `feature/worker`.\n")
	r.RulesChanged = nil
	md = render(t, "markdown", r, Options{})
	assert.Contains(t, md, "**Rules:** unchanged in this pull request; judged with the rules of the head `feature/worker`.\n")
}

// bigReport is a check whose dev diff has thousands of changes: two
// unrelated synthetic clusters.
func bigReport(t *testing.T) *model.Report {
	t.Helper()
	a := synth.Cluster(synth.Options{Workloads: 200, Namespaces: 8, Seed: 1})
	b := synth.Cluster(synth.Options{Workloads: 200, Namespaces: 8, Seed: 2})
	ms := reach.ComputeAll(a, b)
	d := reach.Diff(ms[0], ms[1])
	require.Greater(t, len(d.Added)+len(d.Removed)+len(d.Changed), 2000, "a big diff")
	r := fixtureReport(t)
	r.Overlays[0].Diff = d
	var infos []model.Finding
	for i := range 300 {
		infos = append(infos, model.Finding{
			RuleID: "NP016", Severity: model.SeverityInfo, Message: fmt.Sprintf("label %d has no selector that reads it", i),
			Location: model.Location{File: "bases/app/backend-api.yaml", Line: i + 1},
		})
	}
	r.Overlays[0].Findings = append(r.Overlays[0].Findings, infos...)
	return r
}

func TestCheckMarkdownTrimming(t *testing.T) {
	t.Parallel()
	r := bigReport(t)
	d := r.Overlays[0].Diff
	opts := Options{Marker: "<!-- reachgate:policy-gate/check -->"}

	full := checkMarkdown(r, Options{Marker: opts.Marker, MaxMarkdown: 1 << 30})
	require.Greater(t, utf8.RuneCountInString(full), DefaultMaxMarkdown, "the full comment is too long")
	assert.NotContains(t, full, "Shortened")

	md := render(t, "markdown", r, opts)
	assert.LessOrEqual(t, utf8.RuneCountInString(md), DefaultMaxMarkdown)
	assert.True(t, strings.HasPrefix(md, opts.Marker+"\n## ❌ reachgate"), "marker first")
	assertTablesWellFormed(t, md)
	assert.True(t, strings.HasSuffix(md, "</sub>\n"), "the footer survives")

	// What was left out is said, in the stated order.
	note := regexp.MustCompile(`(?m)^> Shortened to fit GitHub's 65,536-character comment limit: (.*) left out\.`).FindStringSubmatch(md)
	require.NotNil(t, note, "the note says what was left out")
	assert.Equal(t, "the egress and ingress rule columns and rows beyond "+count(rowsIn(t, md))+" per table", note[1])
	assert.NotContains(t, md, "Egress rule", "provenance columns dropped")
	// The dev diff is larger than a graph holds, prod has no changes:
	// no graph to drop, and none drawn.
	assert.NotContains(t, md, "```mermaid")
	shown := rowsIn(t, md)
	require.GreaterOrEqual(t, shown, minRows, "the budget still shows a good number of rows")
	// Rows group the ranges of one endpoint: what is left out is counted
	// in flows.
	left := func(cs []model.ConnectionChange) int {
		n := 0
		for _, r := range changeRows(cs)[shown:] {
			n += r.flows
		}
		return n
	}
	assert.Less(t, len(changeRows(d.Added)), len(d.Added), "some rows group ranges")
	assert.Contains(t, md, "_… "+count(left(d.Added))+" more added flows not shown; see the report artifact._")
	assert.Contains(t, md, "_… "+count(left(d.Removed))+" more removed flows not shown; see the report artifact._")
	assert.Contains(t, md, "#### Added flows ("+count(len(d.Added))+" flows in "+count(len(changeRows(d.Added)))+" rows)")
	// Info findings are still there, up to the row limit.
	assert.Contains(t, md, "ℹ️ info")

	// Deterministic.
	assert.Equal(t, md, render(t, "markdown", r, opts))
}

// rowsIn is how many rows the added-flows table of md shows.
func rowsIn(t *testing.T, md string) int {
	t.Helper()
	_, after, ok := strings.Cut(md, "#### Added flows (")
	require.True(t, ok)
	n := 0
	for _, l := range strings.Split(after, "\n")[4:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		n++
	}
	return n
}

// minLimit is the smallest limit at which the comment fits at detail d
// (the note names the limit, so the size depends on it a little).
func minLimit(r *model.Report, d mdDetail) int {
	n := utf8.RuneCountInString(renderCheckMarkdown(r, Options{}, d, DefaultMaxMarkdown))
	for l := n - 10; ; l++ {
		if utf8.RuneCountInString(renderCheckMarkdown(r, Options{}, d, l)) <= l {
			return l
		}
	}
}

func TestCheckMarkdownTrimmingOrder(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	full := checkMarkdown(r, Options{})
	n := utf8.RuneCountInString(full)
	require.Contains(t, full, "```mermaid")
	require.Contains(t, full, "Egress rule")
	fitsIn := func(md string, limit int) {
		t.Helper()
		assert.LessOrEqual(t, utf8.RuneCountInString(md), limit)
		assertTablesWellFormed(t, md)
	}

	// 1) Just too small for everything: the graph goes first.
	md := checkMarkdown(r, Options{MaxMarkdown: n - 1})
	fitsIn(md, n-1)
	assert.NotContains(t, md, "```mermaid")
	assert.Contains(t, md, "Egress rule")
	assert.Contains(t, md, "comment limit: Mermaid graphs left out.")

	// 2) Then the provenance columns.
	limit := minLimit(r, mdDetail{noGraphs: true, maxRows: -1}) - 1
	md = checkMarkdown(r, Options{MaxMarkdown: limit})
	fitsIn(md, limit)
	assert.NotContains(t, md, "Egress rule")
	assert.Contains(t, md, "comment limit: Mermaid graphs and the egress and ingress rule columns left out.")
	assert.Contains(t, md, "ℹ️ info")

	// 3) Rows beyond N (the fixture's tables are shorter than minRows,
	// so nothing to cut) and 4) info findings.
	limit = minLimit(r, mdDetail{noGraphs: true, noProvenance: true, maxRows: -1}) - 1
	md = checkMarkdown(r, Options{MaxMarkdown: limit})
	fitsIn(md, limit)
	assert.Contains(t, md, "comment limit: Mermaid graphs, the egress and ingress rule columns and info findings left out.")
	assert.NotContains(t, md, "ℹ️ info")
	assert.Contains(t, md, "#### Findings (5)")
	assert.Contains(t, md, "_… 1 info finding not shown; see the report artifact._")

	// Rows go below minRows only after the info findings.
	limit = minLimit(r, mdDetail{noGraphs: true, noProvenance: true, noInfo: true, maxRows: -1}) - 1
	md = checkMarkdown(r, Options{MaxMarkdown: limit})
	fitsIn(md, limit)
	assert.Contains(t, md, "rule columns, rows beyond 3 per table and info findings left out.")
	assert.Contains(t, md, "_… 1 more finding not shown; see the report artifact._")

	// 5) Too small for the sections: the summary alone; 6) the verdict.
	md = checkMarkdown(r, Options{MaxMarkdown: 1500})
	fitsIn(md, 1500)
	assert.NotContains(t, md, "<details>")
	assert.Contains(t, md, "the per-environment sections left out")
	assert.Contains(t, md, "| **staging** |")
	limit = minLimit(r, mdDetail{noDetails: true, maxRows: 1})
	md = checkMarkdown(r, Options{MaxMarkdown: limit})
	fitsIn(md, limit)
	assert.Contains(t, md, "| **dev** |")
	assert.NotContains(t, md, "| **prod** |")
	assert.Contains(t, md, "_… 2 more environments not shown; see the report artifact._")
	md = checkMarkdown(r, Options{Marker: "<!-- m -->", MaxMarkdown: 30})
	assert.LessOrEqual(t, utf8.RuneCountInString(md), 30)
	assert.True(t, strings.HasPrefix(md, "<!-- m -->\n## ❌"))
}

func TestCheckMarkdownTrimmingInfoBeforeShortTables(t *testing.T) {
	t.Parallel()
	r := bigReport(t)
	// Tables of minRows rows with every info finding still in: 1 short.
	limit := minLimit(r, mdDetail{noGraphs: true, noProvenance: true, maxRows: minRows}) - 1
	md := checkMarkdown(r, Options{MaxMarkdown: limit})
	assert.LessOrEqual(t, utf8.RuneCountInString(md), limit)
	assertTablesWellFormed(t, md)
	assert.Contains(t, md, "per table and info findings left out.")
	assert.NotContains(t, md, "ℹ️ info")
	assert.Contains(t, md, "_… 301 info findings not shown; see the report artifact._")
	assert.GreaterOrEqual(t, rowsIn(t, md), minRows, "dropping the info findings made room for the rows")
}

func TestCheckJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]*model.Report{"fixture": fixtureReport(t), "big": bigReport(t), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := Options{Marker: "<!-- reachgate:x -->", Version: "v1"}
			js := render(t, "json", r, opts)
			back, err := ReadJSON(strings.NewReader(js))
			require.NoError(t, err)
			for _, f := range []string{"markdown", "text", "junit", "sarif", "github", "json"} {
				assert.Equal(t, render(t, f, r, opts), render(t, f, back, opts), "%s from the JSON equals %s from the report", f, f)
			}
		})
	}
}

// The check report is written a piece at a time (jsonStream): it must be
// the document encoding/json writes for the same values, whatever the
// overlays hold. Each report's JSON is read back into jsonReport and
// written whole; a comma, a brace or a field out of place differs.
func TestCheckJSONStreamsTheWholeDocument(t *testing.T) {
	t.Parallel()
	full := fixtureReport(t)
	full.FailOnNew, full.Baseline = true, "main"
	full.Shard = &model.Shard{Overlay: "prod", Overlays: []string{"prod", "staging"}, ConfigDigest: "sha256:" + strings.Repeat("c", 64)}
	dev := &full.Overlays[0]
	dev.Resolved = slices.Clone(dev.Findings[:1])
	dev.Traffic = &model.TrafficImpact{Input: model.FlowInput{Flows: 1}, Unknown: []model.UnknownEndpoint{{Endpoint: "10.0.0.9", Reason: "no workload has this address", Count: 1}}}
	full.Overlays = append(full.Overlays, model.OverlayReport{Name: "empty"})
	reports := map[string]*model.Report{"fixture": fixtureReport(t), "big": bigReport(t), "empty": {}, "full": full,
		"no overlays": {Overlays: []model.OverlayReport{}}}
	for name, r := range reports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			writtenWhole[jsonReport](t, "json", r)
		})
	}
	got := render(t, "json", full, Options{})
	for _, k := range []string{`"resolved": [`, `"shard": {`, `"traffic": {`, `"failOnNew": true`} {
		assert.Contains(t, got, k)
	}
}

// SARIF and evidence are streamed too.
func TestCheckSARIFAndEvidenceStreamTheWholeDocument(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]*model.Report{"fixture": fixtureReport(t), "big": bigReport(t), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Len(t, writtenWhole[sarifLog](t, "sarif", r).Runs, 1)
			writtenWhole[evidenceDoc](t, "evidence", r)
		})
	}
}

// writtenWhole renders r in format, reads it back as a T and writes that
// whole (writeJSON): the bytes must be the same.
func writtenWhole[T any](t *testing.T, format string, r *model.Report) T {
	t.Helper()
	got := render(t, format, r, Options{Version: "v1"})
	var doc T
	require.NoError(t, json.Unmarshal([]byte(got), &doc))
	var whole bytes.Buffer
	require.NoError(t, writeJSON(&whole, doc))
	require.Equal(t, whole.String(), got)
	return doc
}

func TestCheckJSONShape(t *testing.T) {
	t.Parallel()
	r := &model.Report{Overlays: []model.OverlayReport{{Name: "dev", Diff: &model.Diff{}}, {Name: "new"}}}
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(render(t, "json", r, Options{Version: "v1.2.3"})), &doc))
	assert.Equal(t, FormatVersion, doc["formatVersion"])
	assert.Equal(t, map[string]any{"name": "reachgate", "version": "v1.2.3"}, doc["tool"])
	assert.Equal(t, []any{}, doc["rulesChanged"])
	assert.Equal(t, true, doc["passed"])
	os := doc["overlays"].([]any)
	dev := os[0].(map[string]any)
	assert.Equal(t, []any{}, dev["findings"])
	diff := dev["diff"].(map[string]any)
	for _, k := range []string{"added", "removed", "changed", "workloadsAdded", "workloadsRemoved"} {
		assert.Equal(t, []any{}, diff[k], k)
	}
	assert.Nil(t, os[1].(map[string]any)["diff"], "no base: diff is null")
}

func TestReadJSONErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`{`, "read report: unexpected EOF"},
		{`{"formatVersion":"1"}`, `read report: formatVersion "1": want "3"`},
		{`{"formatVersion":"3","overlays":[{"diff":{"added":[{"src":{},"dst":{"name":"x"}}]}}]}`, "read report: overlays[0].diff.added[0].src: a peer needs a name or an ipRange"},
		{`{"formatVersion":"3","overlays":[{"diff":{"added":[{"src":{"ipRange":"10.0.0.0/33"},"dst":{"name":"x"}}]}}]}`, `read report: overlays[0].diff.added[0].src: bad ipRange "10.0.0.0/33"`},
		{`{"formatVersion":"3","overlays":[{"diff":{"added":[{"src":{"name":"a"},"dst":{"name":"x"},"after":{"ports":{"ICMP":[]}}}]}}]}`, `ports: unknown protocol "ICMP"`},
		{`{"formatVersion":"3","overlays":[{"diff":{"added":[{"src":{"name":"a"},"dst":{"name":"x"},"after":{"ports":{"TCP":[{"from":9,"to":3}]}}}]}}]}`, `ports: bad TCP range 9-3`},
	} {
		_, err := ReadJSON(strings.NewReader(tc.in))
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestParseIPRange(t *testing.T) {
	t.Parallel()
	for _, r := range []model.IPRange{
		model.PrefixRange(netip.MustParsePrefix("10.0.0.0/8")),
		model.PrefixRange(netip.MustParsePrefix("::/0")),
		{From: netip.MustParseAddr("0.0.0.0"), To: netip.MustParseAddr("10.95.255.255")},
		{From: netip.MustParseAddr("10.0.0.0"), To: netip.MustParseAddr("11.0.255.255")},
		{From: netip.MustParseAddr("203.0.114.0"), To: netip.MustParseAddr("255.255.255.255")},
		{From: netip.MustParseAddr("fd00::1"), To: netip.MustParseAddr("fd00::5")},
		{From: netip.MustParseAddr("fd00::1"), To: netip.MustParseAddr("fd00::1:5")},
	} {
		got, err := parseIPRange(r.String())
		require.NoError(t, err, r.String())
		assert.Equal(t, r, got, r.String())
	}
	for _, bad := range []string{"10.0.0.0/8,12.0.0.0/8", "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "x"} {
		_, err := parseIPRange(bad)
		assert.Error(t, err, bad)
	}
}

func TestCheckSARIF(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	out := render(t, "sarif", r, Options{Version: "v0.9.0"})

	// The fields GitHub code scanning requires, with their types.
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
						Properties map[string]any `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Suppressions        []map[string]any  `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(t, dec.Decode(&log))
	assert.Equal(t, "2.1.0", log.Version)
	assert.Equal(t, "https://json.schemastore.org/sarif-2.1.0.json", log.Schema)
	require.Len(t, log.Runs, 1, "one run: GitHub rejects several runs of one tool and category")
	run := log.Runs[0]
	assert.Equal(t, "reachgate", run.Tool.Driver.Name)
	ids := map[string]int{}
	for i, rule := range run.Tool.Driver.Rules {
		assert.NotEmpty(t, rule.ID)
		assert.NotEmpty(t, rule.ShortDescription.Text)
		assert.Contains(t, []string{"error", "warning", "note"}, rule.DefaultConfiguration.Level)
		assert.Contains(t, rule.Properties["tags"], "security")
		assert.Regexp(t, `^\d+\.\d$`, rule.Properties["security-severity"])
		ids[rule.ID] = i
	}
	// Every rule that judged the report is listed, NP001 too, which found
	// nothing, with its metadata.
	assert.Equal(t, map[string]int{"NP001": 0, "NP003": 1, "NP010": 2, "NP011": 3, "NP016": 4, "expect/allow": 5, "overlay/error": 6}, ids)
	np001 := run.Tool.Driver.Rules[0]
	assert.Equal(t, "Default deny in every namespace", np001.ShortDescription.Text)
	assert.Equal(t, "error", np001.DefaultConfiguration.Level)
	assert.Contains(t, np001.Properties["tags"], "CIS-5.3.2")
	// NP010 is reported by dev and prod for the same file: one result.
	require.Len(t, run.Results, 6)
	fps := map[string]bool{}
	for _, res := range run.Results {
		assert.Equal(t, ids[res.RuleID], res.RuleIndex, "ruleIndex points at the rule")
		assert.Contains(t, []string{"error", "warning", "note"}, res.Level)
		assert.NotEmpty(t, res.Message.Text)
		require.Len(t, res.Locations, 1)
		loc := res.Locations[0].PhysicalLocation
		assert.GreaterOrEqual(t, loc.Region.StartLine, 1)
		assert.NotEmpty(t, loc.ArtifactLocation.URI)
		assert.False(t, strings.HasPrefix(loc.ArtifactLocation.URI, "/") || strings.Contains(loc.ArtifactLocation.URI, ":"), "repo-relative: %s", loc.ArtifactLocation.URI)
		fp := res.PartialFingerprints[fingerprintKey]
		assert.Regexp(t, `^[0-9a-f]{32}$`, fp)
		assert.False(t, fps[fp], "fingerprints differ between findings")
		fps[fp] = true
	}
	byRule := map[string]int{}
	for i, res := range run.Results {
		byRule[res.RuleID] = i
	}
	assert.Equal(t, "NetworkPolicy app/allow-frontend spec.ingress[0].from[0].ipBlock: ipBlock 0.0.0.0/0 overlaps the pod CIDR 10.244.0.0/16 without excepting it | pods match by address [dev, prod]",
		run.Results[byRule["NP010"]].Message.Text)
	assert.Equal(t, []map[string]any{{"kind": "external", "status": "accepted", "justification": "waived by @platform-team until 2027-01-31: migration, ticket OPS-12"}},
		run.Results[byRule["NP011"]].Suppressions)
	assert.Equal(t, "overlays/staging/kustomization.yaml", run.Results[byRule["overlay/error"]].Locations[0].PhysicalLocation.ArtifactLocation.URI)
	assert.Equal(t, "note", run.Results[byRule["NP016"]].Level)

	// Fingerprints survive a line move and a rerun, and change with the message.
	fpOf := func(sarif, rule string) string {
		var l struct {
			Runs []struct {
				Results []struct {
					RuleID              string            `json:"ruleId"`
					PartialFingerprints map[string]string `json:"partialFingerprints"`
				} `json:"results"`
			} `json:"runs"`
		}
		require.NoError(t, json.Unmarshal([]byte(sarif), &l))
		for _, res := range l.Runs[0].Results {
			if res.RuleID == rule {
				return res.PartialFingerprints[fingerprintKey]
			}
		}
		t.Fatalf("no result of %s", rule)
		return ""
	}
	moved := fixtureReport(t)
	moved.Overlays[0].Findings[0].Location.Line = 40
	again := render(t, "sarif", moved, Options{Version: "v0.9.0"})
	assert.Equal(t, fpOf(out, "NP003"), fpOf(again, "NP003"))
	assert.Contains(t, again, `"startLine": 40`)
	moved.Overlays[0].Findings[0].Message += "!"
	assert.NotEqual(t, fpOf(out, "NP003"), fpOf(render(t, "sarif", moved, Options{}), "NP003"))
}

func TestCheckJUnit(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	out := render(t, "junit", r, Options{})
	var doc junitSuites
	require.NoError(t, xml.Unmarshal([]byte(out), &doc))
	require.Len(t, doc.Suites, 3)
	sum := func(f func(s junitSuite) int) (n int) {
		for _, s := range doc.Suites {
			n += f(s)
		}
		return n
	}
	assert.Equal(t, sum(func(s junitSuite) int { return s.Tests }), doc.Tests)
	assert.Equal(t, 2, doc.Failures)
	assert.Equal(t, 1, doc.Errors)
	for _, s := range doc.Suites {
		assert.Equal(t, len(s.Cases), s.Tests, s.Name)
		failures, errors := 0, 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				failures++
			}
			if c.Error != nil {
				errors++
			}
		}
		assert.Equal(t, failures, s.Failures, s.Name)
		assert.Equal(t, errors, s.Errors, s.Name)
	}
	dev := doc.Suites[0]
	names := []string{}
	for _, c := range dev.Cases {
		names = append(names, c.Name)
	}
	// Every rule that judged the report is a case, NP001 too, which found
	// nothing: the evidence of what was checked.
	assert.Equal(t, []string{"NP001: Default deny in every namespace", "NP003: DNS unreachable", "NP010: ipBlock covers pods", "NP011: Wide port range", "NP016: Unused label", "expect/allow: Required flow is denied"}, names)
	assert.Nil(t, dev.Cases[0].Failure, "NP001 passes")
	assert.Nil(t, dev.Cases[0].SystemOut)
	assert.Equal(t, "NP001: Default deny in every namespace", doc.Suites[1].Cases[0].Name, "and is checked in prod")
	assert.Equal(t, "error", dev.Cases[1].Failure.Type)
	assert.Contains(t, dev.Cases[5].Failure.Text, "must be allowed (queue)\nbut")
	assert.Nil(t, dev.Cases[3].Failure, "waived findings do not fail")
	assert.Contains(t, dev.Cases[3].SystemOut.Text, "[waived by @platform-team")
	assert.Nil(t, dev.Cases[2].Failure, "warnings do not fail at fail-on error")
	// Warnings fail when the gate fails on warnings.
	r.FailOn = model.SeverityWarning
	doc = junitSuites{}
	require.NoError(t, xml.Unmarshal([]byte(render(t, "junit", r, Options{})), &doc))
	assert.Equal(t, "warning", doc.Suites[0].Cases[2].Failure.Type)
	assert.Equal(t, "warning", doc.Suites[1].Cases[2].Failure.Type, "prod fails NP010 too")
}

func TestCheckGitHubCommands(t *testing.T) {
	t.Parallel()
	r := &model.Report{FailOn: model.SeverityError, Overlays: []model.OverlayReport{{
		Name: "dev",
		Findings: []model.Finding{
			{RuleID: "NP:1", Title: "a, b", Severity: model.SeverityWarning, Message: "100% wrong\r\nnext: line, too",
				Location: model.Location{File: "dir,x/a:b.yaml", Line: 3}},
			{RuleID: "NP2", Severity: model.SeverityError, Message: "no file"},
			{RuleID: "NP3", Severity: model.SeverityInfo, Message: "fyi", Location: model.Location{File: "c.yaml"}},
		},
	}}}
	got := strings.Split(strings.TrimSpace(render(t, "github", r, Options{})), "\n")
	assert.Equal(t, []string{
		"::error title=NP2::no file",
		"::warning file=dir%2Cx/a%3Ab.yaml,line=3,title=NP%3A1 a%2C b::100%25 wrong%0D%0Anext: line, too",
		"::notice file=c.yaml,title=NP3::fyi",
	}, got)
}

func TestCheckDoesNotMutate(t *testing.T) {
	t.Parallel()
	r := fixtureReport(t)
	d := r.Overlays[0].Diff
	// Reverse the added flows: renderers sort a copy.
	for i, j := 0, len(d.Added)-1; i < j; i, j = i+1, j-1 {
		d.Added[i], d.Added[j] = d.Added[j], d.Added[i]
	}
	first := d.Added[0]
	before := render(t, "json", r, Options{})
	for _, f := range Formats() {
		_ = render(t, f, r, Options{})
	}
	assert.Equal(t, first, d.Added[0], "input order kept")
	assert.Equal(t, before, render(t, "json", r, Options{}))
	assert.Equal(t, render(t, "markdown", fixtureReport(t), Options{}), render(t, "markdown", r, Options{}), "output sorted")
}

func TestCheckEvidence(t *testing.T) {
	t.Parallel()
	// The document as a reader sees it.
	var doc struct {
		Kind     string
		Passed   bool
		Rules    []model.Rule
		Controls []evidenceControl
		Overlays []struct {
			Rules        []evidenceRuleResult
			Expectations evidenceExpectations
			Reachability *struct{ Flows []any }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(render(t, "evidence", fixtureReport(t), Options{Version: "v0.9.0"})), &doc))
	assert.Equal(t, "ReachgateEvidence", doc.Kind)
	assert.False(t, doc.Passed)
	assert.Len(t, doc.Rules, 5)
	results := func(rs []evidenceRuleResult) map[string]string {
		out := map[string]string{}
		for _, r := range rs {
			out[r.ID] = r.Result
		}
		return out
	}
	require.Len(t, doc.Overlays, 3)
	dev, prod, staging := doc.Overlays[0], doc.Overlays[1], doc.Overlays[2]
	assert.Equal(t, map[string]string{"NP001": "pass", "NP003": "fail", "NP010": "warn", "NP011": "waived", "NP016": "warn"}, results(dev.Rules))
	assert.Equal(t, evidenceExpectations{Checked: 4, Failed: 1}, dev.Expectations)
	assert.Equal(t, "pass", results(prod.Rules)["NP003"])
	assert.Equal(t, "error", results(staging.Rules)["NP001"])
	require.NotNil(t, dev.Reachability)
	assert.NotEmpty(t, dev.Reachability.Flows)
	assert.Nil(t, staging.Reachability)
	// A control takes the worst result of its rules.
	require.Len(t, doc.Controls, 2)
	assert.Equal(t, evidenceControl{Control: "SOC2-CC6.6", Rules: []string{"NP003"},
		Results: map[string]string{"dev": "fail", "prod": "pass", "staging": "error"}}, doc.Controls[1])
	assert.Equal(t, "warn", doc.Controls[0].Results["prod"], "CIS-5.3.2 covers NP010, which warns")
}

func TestCheckEvidenceOmitsHugeMatrices(t *testing.T) {
	t.Parallel()
	// A full mesh of 150 workloads where every pair is allowed on its own
	// port: every connection is a flow of its own.
	m := &model.Matrix{}
	for i := range 150 {
		m.Peers = append(m.Peers, model.Peer{Workload: &model.Workload{Namespace: "ns", Name: fmt.Sprintf("w%03d", i), Kind: "Deployment"}})
	}
	for s := range int32(150) {
		for d := range int32(150) {
			if s != d {
				m.Allowances = append(m.Allowances, &model.Allowance{Ports: model.SinglePort(model.TCP, uint16(1+len(m.Allowances)), uint16(1+len(m.Allowances)))})
				m.Connections = append(m.Connections, model.Connection{Src: s, Dst: d, Allowance: int32(len(m.Allowances) - 1)})
			}
		}
	}
	r := &model.Report{FailOn: model.SeverityError, Overlays: []model.OverlayReport{{Name: "big", Matrix: m}}}
	var doc struct{ Overlays []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(render(t, "evidence", r, Options{})), &doc))
	assert.Nil(t, doc.Overlays[0]["reachability"])
	assert.Contains(t, doc.Overlays[0]["reachabilityOmitted"], "22350 flows (22350 connections)")
	assert.Contains(t, doc.Overlays[0]["reachabilityOmitted"], "reachgate reach big --format json")
}
