package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

var evidenceOnce struct {
	sync.Once
	dir           string
	first, second string
}

// twoEvidence writes, once for all tests, the evidence of two checks of
// main a month apart, the second after app/worker was allowed to reach
// app/postgres in prod (and a rule that finds it waived).
func twoEvidence(t *testing.T) (string, string) {
	t.Helper()
	evidenceOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reachgate-evidence-")
		require.NoError(t, err)
		evidenceOnce.dir = dir
		evidenceOnce.first, evidenceOnce.second = makeEvidence(t, dir)
	})
	require.NotEmpty(t, evidenceOnce.second, "making the evidence failed in another test")
	return evidenceOnce.first, evidenceOnce.second
}

func makeEvidence(t *testing.T, out string) (string, string) {
	dir := newRepo(t)
	check := func(name string, at time.Time) string {
		f := filepath.Join(out, name)
		err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "none", Head: "HEAD", Outputs: []string{"evidence=" + f}, Now: at}, io.Discard, io.Discard)
		require.Contains(t, []int{0, 1}, exitCode(err), "%v", err)
		return f
	}
	first := check("2026-10-01.json", time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC))
	writeFile(t, dir, "overlays/prod/worker-db.yaml", workerToPostgres("5432"))
	addResource(t, dir, "prod", "worker-db.yaml")
	writeFile(t, dir, "waivers.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - {rule: NP016, object: "*/*/*", reason: worker writes audit rows until the outbox lands, owner: team-payments, expires: "2027-01-31"}
`)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "worker-db")
	second := check("2026-11-01.json", time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	return first, second
}

func reportOf(t *testing.T, format string, files ...string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, run.Report(run.ReportParams{Evidence: files, Format: format}, &b))
	return b.String()
}

func TestReportEvidenceMarkdown(t *testing.T) {
	t.Parallel()
	first, second := twoEvidence(t)
	// The order of the files does not matter: documents sort by time.
	md := reportOf(t, "md", second, first)
	assert.Contains(t, md, "Period: 2026-10-01 09:00 UTC to 2026-11-01 09:00 UTC (2 evidence documents)")
	assert.Contains(t, md, "| PCI DSS v4.0 1.3.2 | `NP001, NP004, NP009, NP019, ORG001` | pass | pass | pass |")
	assert.Regexp(t, "\\| 2026-11-01 09:00 \\| `[0-9a-f]{7}` \\| prod \\| \\+ \\| `app/worker` \\| `app/postgres` \\| TCP 5432 \\|", md)
	assert.Equal(t, 1, strings.Count(md, "| + |"), "one flow changed, in prod only")
	for _, f := range []string{first, second} {
		assert.Contains(t, md, "`"+f+"`")
	}
	assert.Regexp(t, "prod: `sha256:[0-9a-f]{64}`", md)
	assert.Contains(t, md, "| `NP016` | `*/*/*` | team-payments | worker writes audit rows until the outbox lands | 2027-01-31 | prod |")
	assert.Contains(t, md, "| PCI DSS v4.0 7.2.1 | `NP016` | pass | pass | pass with exceptions |")
	assert.Contains(t, md, "FAIL (failed runs: 1)", "the worker's new flow breaks other rules too")
}

func TestReportPredicate(t *testing.T) {
	t.Parallel()
	_, second := twoEvidence(t)
	p := reportOf(t, "predicate", second)
	assert.Contains(t, p, `"predicateVersion": "1"`)
	assert.Regexp(t, `"sha256": "[0-9a-f]{64}"`, p)
	assert.Contains(t, p, `"name": "prod"`)
	err := run.Report(run.ReportParams{Evidence: []string{second, second}, Format: "predicate"}, io.Discard)
	assert.Equal(t, 2, exitCode(err))

	// The predicate matches its published schema, and the schema can
	// refuse: a predicate without its evidence digest does not match.
	schema, err := os.ReadFile(filepath.Join(repoRoot, "docs", "schemas", "evidence-predicate-v1.json"))
	require.NoError(t, err)
	match := func(doc string) (bool, []any) {
		var d, s any
		require.NoError(t, json.Unmarshal([]byte(doc), &d))
		require.NoError(t, json.Unmarshal(schema, &s))
		rs, err := rego.New(rego.Query("x := json.match_schema(input.doc, input.schema)"), rego.Input(map[string]any{"doc": d, "schema": s})).Eval(context.Background())
		require.NoError(t, err)
		res := rs[0].Bindings["x"].([]any)
		errs, _ := res[1].([]any)
		return res[0].(bool), errs
	}
	ok, errs := match(p)
	assert.True(t, ok, "%v", errs)
	ok, _ = match(strings.Replace(p, `"sha256"`, `"md5"`, 1))
	assert.False(t, ok)
}

func TestReportBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notEvidence := filepath.Join(dir, "report.json")
	require.NoError(t, os.WriteFile(notEvidence, []byte(`{"formatVersion":"1","kind":"ReachgateAudit"}`), 0o644))
	unknown := filepath.Join(dir, "extra.json")
	require.NoError(t, os.WriteFile(unknown, []byte(`{"formatVersion":"1","kind":"ReachgateEvidence","surprise":1}`), 0o644))
	for _, c := range []struct {
		p    run.ReportParams
		want string
	}{
		{run.ReportParams{}, "report needs --evidence FILE"},
		{run.ReportParams{Evidence: []string{notEvidence}, Format: "pdf"}, `--format "pdf"`},
		{run.ReportParams{Evidence: []string{notEvidence}}, notEvidence + `: kind "ReachgateAudit": want ReachgateEvidence`},
		{run.ReportParams{Evidence: []string{unknown}}, unknown + `: not an evidence document: json: unknown field "surprise"`},
		{run.ReportParams{Evidence: []string{filepath.Join(dir, "nope.json")}}, "nope.json: no such file"},
	} {
		err := run.Report(c.p, io.Discard)
		assert.Equal(t, 2, exitCode(err), c.want)
		assert.ErrorContains(t, err, c.want)
	}
}

func TestReportHTMLSelfContained(t *testing.T) {
	t.Parallel()
	first, second := twoEvidence(t)
	page := reportOf(t, "html", first, second)
	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	for _, bad := range []string{"src=", "url(", "@import", "http://", "https://", "<script", "<link"} {
		assert.NotContains(t, page, bad, "nothing is loaded from elsewhere")
	}
	assert.NotContains(t, strings.ReplaceAll(page, `href="#`, ""), "href=", "links stay within the page")
	assert.Contains(t, page, "@media print")
	assert.Equal(t, strings.Count(page, "<tr"), strings.Count(page, "</tr>"))
}

// TestReportHTMLInBrowser loads the report in headless Chromium with every
// network request refused, and prints it to PDF as an auditor would: the
// page renders its sections offline, and the print stylesheet drops the
// screen-only contents box and keeps every section.
func TestReportHTMLInBrowser(t *testing.T) {
	t.Parallel()
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no headless Chromium (apt-get install chromium, scripts/deps.sh)")
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("no pdftotext (apt-get install poppler-utils, scripts/deps.sh): cannot read the printed report")
	}
	first, second := twoEvidence(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	require.NoError(t, os.WriteFile(page, []byte(reportOf(t, "html", first, second)), 0o644))
	chrome := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir(),
			"--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer"}
		out, err := exec.CommandContext(ctx, browser, append(base, args...)...).Output()
		require.NoError(t, err)
		return out
	}
	dom := string(chrome("--dump-dom", "file://"+page))
	assert.Contains(t, dom, `<table id="controls-table">`)
	assert.Contains(t, dom, `<nav class="toc" id="contents">`)

	pdf := filepath.Join(dir, "report.pdf")
	chrome("--print-to-pdf="+pdf, "file://"+page)
	txt, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
	require.NoError(t, err)
	text := string(txt)
	for _, want := range []string{"Network segmentation audit report", "Controls", "PCI DSS v4.0 1.3.1", "Exceptions",
		"Changes over the period", "app/worker", "app/postgres", "Reachability per environment", "Evidence and digests"} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "Contents", "the contents box is for the screen")
	pages, err := exec.Command(strings.TrimSuffix(pdftotext, "pdftotext")+"pdfinfo", pdf).Output()
	require.NoError(t, err)
	assert.Regexp(t, `Pages:\s+([5-9]|[1-9][0-9])`, string(pages), "each section starts on its own page")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if evidenceOnce.dir != "" {
		os.RemoveAll(evidenceOnce.dir)
	}
	os.Exit(code)
}
