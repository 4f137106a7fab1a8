package policy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

var pinned = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// memFS builds an in-memory tree from path -> content.
func memFS(t *testing.T, files map[string]string) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	for p, content := range files {
		require.NoError(t, fsys.WriteFile(p, []byte(content)))
	}
	return fsys
}

const okRule = `# METADATA
# title: Something is checked
# description: A test rule.
# custom:
#   id: T001
#   severity: warning
#   remediation: Fix it.
#   controls: ["Control A", "Control B"]
package reachgate.rules.something

import rego.v1

deny contains {"msg": sprintf("workload %s", [w.key]), "object": {"kind": w.kind, "namespace": w.namespace, "name": w.name}, "field": "spec"} if {
	some w in input.workloads
	w.labels.bad == "true"
}
`

func loadErrors(t *testing.T, files map[string]string) model.InputErrors {
	t.Helper()
	_, err := Load(memFS(t, files), []string{"rules"}, Options{})
	require.Error(t, err)
	var errs model.InputErrors
	require.True(t, errors.As(err, &errs), "want model.InputErrors, got %T: %v", err, err)
	return errs
}

func TestLoadRepositoryRules(t *testing.T) {
	t.Parallel()
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{})
	require.NoError(t, err)
	rules := e.Rules()
	require.Len(t, rules, 26)
	for i, r := range rules {
		assert.Regexp(t, `^NP0\d\d$`, r.ID)
		if i > 0 {
			assert.Less(t, rules[i-1].ID, r.ID, "sorted by id")
		}
		assert.NotEmpty(t, r.Title, r.ID)
		assert.NotEmpty(t, r.Description, r.ID)
		assert.NotEmpty(t, r.Remediation, r.ID)
		assert.NotEmpty(t, r.Controls, r.ID)
		assert.True(t, strings.HasPrefix(r.Source.File, repoRego+"/"), "%s: %s", r.ID, r.Source)
		assert.False(t, strings.HasSuffix(r.Source.File, "_test.rego"), r.ID)
		assert.Equal(t, 1, r.Source.Line, "%s: METADATA starts the file", r.ID)
		assert.True(t, strings.HasPrefix(r.Package, "data.reachgate.rules."), r.Package)
	}
	assert.Equal(t, "NP001", rules[0].ID)
	assert.Equal(t, model.SeverityError, rules[0].Severity)
	assert.Contains(t, rules[0].Controls, "CIS Kubernetes Benchmark 5.3.2")
}

func TestLoadReadsMetadataAndSkipsTests(t *testing.T) {
	t.Parallel()
	e, err := Load(memFS(t, map[string]string{
		"rules/something.rego":      okRule,
		"rules/something_test.rego": "package reachgate.rules.something_test\nthis is not rego at all\n",
		"rules/README.md":           "not rego",
	}), []string{"rules"}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []RuleInfo{{
		Rule: model.Rule{ID: "T001", Title: "Something is checked", Severity: model.SeverityWarning,
			Description: "A test rule.", Remediation: "Fix it.", Controls: []string{"Control A", "Control B"}},
		Source: model.Location{File: "rules/something.rego", Line: 1}, InputVersion: 1, Package: "data.reachgate.rules.something",
		sets: e.rules[0].sets,
	}}, e.Rules())
}

func TestLoadRejectsForbiddenBuiltins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ builtin, call string }{
		{"http.send", `http.send({"method": "GET", "url": "https://example.com"})`},
		{"net.lookup_ip_addr", `net.lookup_ip_addr("example.com")`},
		{"opa.runtime", `opa.runtime()`},
		{"rand.intn", `rand.intn("x", 10)`},
	} {
		t.Run(tc.builtin, func(t *testing.T) {
			t.Parallel()
			src := okRule + "\nleak := x if {\n\tx := " + tc.call + "\n}\n"
			errs := loadErrors(t, map[string]string{"rules/something.rego": src})
			require.Len(t, errs, 1)
			assert.Equal(t, model.Location{File: "rules/something.rego", Line: strings.Count(okRule, "\n") + 3}, errs[0].Location)
			assert.Contains(t, errs[0].Message, "builtin "+tc.builtin+" is not allowed")
			assert.Contains(t, errs[0].Error(), "rules/something.rego:")
		})
	}
}

func TestCapabilitiesKeepPureCIDRBuiltins(t *testing.T) {
	t.Parallel()
	have := map[string]bool{}
	for _, b := range Capabilities().Builtins {
		have[b.Name] = true
	}
	for _, name := range []string{"net.cidr_contains", "net.cidr_intersects", "net.cidr_merge", "time.now_ns", "regex.match", "glob.match"} {
		assert.True(t, have[name], name)
	}
	for name := range forbidden {
		assert.False(t, have[name], name)
	}
	assert.NotNil(t, Capabilities().AllowNet)
	assert.Empty(t, Capabilities().AllowNet)
}

func TestLoadReportsBadRegoWithFileAndLine(t *testing.T) {
	t.Parallel()
	errs := loadErrors(t, map[string]string{
		"rules/a.rego": okRule,
		"rules/b.rego": "package reachgate.rules.b\n\nimport rego.v1\n\ndeny contains x if {\n\tx := \n}\n",
	})
	require.NotEmpty(t, errs)
	assert.Equal(t, "rules/b.rego", errs[0].Location.File)
	assert.Equal(t, 7, errs[0].Location.Line, "the parser stops at the closing brace")
	assert.Contains(t, errs[0].Message, "rego_parse_error")
}

func TestLoadReportsCompileErrors(t *testing.T) {
	t.Parallel()
	errs := loadErrors(t, map[string]string{
		"rules/a.rego": okRule + "\nbroken if {\n\tno_such_function(1)\n}\n",
	})
	require.Len(t, errs, 1)
	assert.Equal(t, "rules/a.rego", errs[0].Location.File)
	assert.Equal(t, strings.Count(okRule, "\n")+3, errs[0].Location.Line)
	assert.Contains(t, errs[0].Message, "no_such_function")
}

func TestLoadValidatesMetadata(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, want string
	}{
		{"no metadata", "package reachgate.rules.x\nimport rego.v1\ndeny contains 1 if false\n", "has no METADATA with custom.id"},
		{"bad severity", strings.Replace(okRule, "severity: warning", "severity: fatal", 1), `unknown severity "fatal"`},
		{"no title", strings.Replace(okRule, "# title: Something is checked\n", "", 1), "needs a title"},
		{"controls not a list", strings.Replace(okRule, `controls: ["Control A", "Control B"]`, "controls: CIS", 1), "controls must be a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := loadErrors(t, map[string]string{"rules/x.rego": tc.src})
			require.Len(t, errs, 1)
			assert.Equal(t, "rules/x.rego", errs[0].Location.File)
			assert.Equal(t, 1, errs[0].Location.Line)
			assert.Contains(t, errs[0].Message, tc.want)
		})
	}
}

func TestLoadRejectsDuplicateIDs(t *testing.T) {
	t.Parallel()
	errs := loadErrors(t, map[string]string{
		"rules/a.rego": okRule,
		"rules/b.rego": strings.Replace(okRule, "reachgate.rules.something", "reachgate.rules.other", 1),
	})
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Message, "rule id T001 is used by reachgate.rules.other and reachgate.rules.something")
}

func TestLoadMissingDirectory(t *testing.T) {
	t.Parallel()
	_, err := Load(memFS(t, map[string]string{"other/x.rego": okRule}), []string{"rules"}, Options{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
}

func TestEvaluateFillsFindingFromMetadataAndSource(t *testing.T) {
	t.Parallel()
	e, err := Load(memFS(t, map[string]string{"rules/something.rego": okRule}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "app", Name: "bad", Kind: "Deployment", Labels: map[string]string{"bad": "true"}, Source: model.Location{File: "bases/app/bad.yaml", Line: 7}},
		{Namespace: "app", Name: "good", Kind: "Deployment", Labels: map[string]string{}, Source: model.Location{File: "bases/app/good.yaml", Line: 1}},
	}}
	got, err := e.Evaluate(context.Background(), Input{Overlay: "dev", Cluster: c})
	require.NoError(t, err)
	assert.Equal(t, []model.Finding{{
		RuleID: "T001", Title: "Something is checked", Severity: model.SeverityWarning,
		Message: "workload app/bad", Object: model.ObjectRef{Kind: "Deployment", Namespace: "app", Name: "bad"},
		Field: "spec", Location: model.Location{File: "bases/app/bad.yaml", Line: 7},
		Controls: []string{"Control A", "Control B"}, Remediation: "Fix it.",
	}}, got)
}

func TestEvaluatePinsTime(t *testing.T) {
	t.Parallel()
	rule := strings.Replace(okRule, `sprintf("workload %s", [w.key])`, `sprintf("%d", [time.now_ns()])`, 1)
	e, err := Load(memFS(t, map[string]string{"rules/x.rego": rule}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	c := &model.Cluster{Workloads: []model.Workload{{Namespace: "a", Name: "b", Kind: "Pod", Labels: map[string]string{"bad": "true"}}}}
	got, err := e.Evaluate(context.Background(), Input{Cluster: c})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "1772366400000000000", got[0].Message)
}

func TestEvaluatePrintDoesNotLeak(t *testing.T) {
	// Not parallel: it swaps os.Stdout and os.Stderr.
	rule := strings.Replace(okRule, "some w in input.workloads\n", "some w in input.workloads\n\tprint(\"LEAK\", w.key)\n", 1)
	e, err := Load(memFS(t, map[string]string{"rules/x.rego": rule}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	c := &model.Cluster{Workloads: []model.Workload{{Namespace: "a", Name: "b", Kind: "Pod", Labels: map[string]string{"bad": "true"}}}}
	got, evalErr := e.Evaluate(context.Background(), Input{Cluster: c})
	os.Stdout, os.Stderr = stdout, stderr
	require.NoError(t, w.Close())
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, evalErr)
	assert.Len(t, got, 1, "the rule still runs")
	assert.NotContains(t, string(out), "LEAK")
}

func TestEvaluateIsolatesFailingRule(t *testing.T) {
	t.Parallel()
	// A complete rule with two values is a run-time conflict error.
	bad := `# METADATA
# title: Broken
# custom:
#   id: T002
#   severity: error
package reachgate.rules.broken

import rego.v1

value := w.name if some w in input.workloads

deny contains {"msg": value, "object": {"kind": "Pod", "name": "x"}} if value
`
	e, err := Load(memFS(t, map[string]string{"rules/ok.rego": okRule, "rules/bad.rego": bad}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "a", Name: "one", Kind: "Pod", Labels: map[string]string{"bad": "true"}},
		{Namespace: "a", Name: "two", Kind: "Pod", Labels: map[string]string{}},
	}}
	got, err := e.Evaluate(context.Background(), Input{Cluster: c})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "T001", got[0].RuleID, "the other rule still reports")
	assert.Equal(t, RuleErrorID, got[1].RuleID)
	assert.Contains(t, got[1].Message, "rule T002 failed")
	assert.Contains(t, got[1].Message, "conflict")
	assert.Equal(t, model.Location{File: "rules/bad.rego", Line: 1}, got[1].Location)
}

func TestEvaluateRejectsMalformedResults(t *testing.T) {
	t.Parallel()
	rule := strings.Replace(okRule, `"object": {"kind": w.kind, "namespace": w.namespace, "name": w.name}, `, "", 1)
	e, err := Load(memFS(t, map[string]string{"rules/x.rego": rule}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	c := &model.Cluster{Workloads: []model.Workload{{Namespace: "a", Name: "b", Kind: "Pod", Labels: map[string]string{"bad": "true"}}}}
	got, err := e.Evaluate(context.Background(), Input{Cluster: c})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, RuleErrorID, got[0].RuleID)
	assert.Contains(t, got[0].Message, "has no object")
}

func TestEvaluateSeed(t *testing.T) {
	t.Parallel()
	c := seedCluster(t)
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{Params: seedParams, Now: pinned})
	require.NoError(t, err)
	got, err := e.Evaluate(context.Background(), Input{Overlay: "seed", Environment: "seed", Cluster: c, Matrix: seedMatrix(c)})
	require.NoError(t, err)
	var b strings.Builder
	for _, f := range got {
		b.WriteString(f.String())
		b.WriteString("\n")
	}
	goldenText(t, "seed_findings.golden", []byte(b.String()))

	// The seed's known flaws, spelled out so the golden file cannot drift
	// into accepting them silently.
	ids := map[string]int{}
	for _, f := range got {
		ids[f.RuleID]++
		assert.NotEmpty(t, f.Location.File, "%s has a source", f)
	}
	assert.Equal(t, 1, ids["NP001"], "default-deny-egress is invalid, so app has no egress default deny: one finding naming the five workloads")
	assert.Zero(t, ids["NP002"]+ids["NP009"], "the workloads NP001 names are not repeated one by one")
	assert.Equal(t, 1, ids["NP003"], "backend-api resolves over UDP only")
	assert.Equal(t, 2, ids["NP005"], "allow-metrics-scraping and the podSelector {} peer")
	assert.Equal(t, 3, ids["NP007"], "ingress-nginx, monitoring and backup-agent peers match nothing")
	assert.Equal(t, 1, ids["NP010"], "0.0.0.0/0 holds the pod CIDR")
	assert.Equal(t, 1, ids["NP021"], "443 to every pod of app, which none serves")
	assert.Equal(t, 4, ids["NP022"], "frontend, postgres, redis and worker are cut off from every caller")
	assert.Zero(t, ids["NP008"]+ids["NP016"]+ids["NP017"]+ids[RuleErrorID])
}

func TestEvaluatePromotion(t *testing.T) {
	t.Parallel()
	c := seedCluster(t)
	staging := seedMatrix(c)
	prod := seedMatrix(c)
	// prod opens worker -> postgres, which staging never had.
	b := &matrixBuilder{m: prod, idx: map[string]int32{}}
	for i := range prod.Peers {
		b.idx[prod.Peers[i].Key()] = int32(i)
	}
	b.conn("app/worker", "app/postgres", false, model.Grant{Ports: ports(model.TCP, 5432), Egress: notIsolatedEg, Ingress: ing("app/allow-backend-to-database", 0)})
	b.done()
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{Params: seedParams, Now: pinned})
	require.NoError(t, err)
	got, err := e.Evaluate(context.Background(), Input{Overlay: "prod", Environment: "prod", Cluster: c, Matrix: prod,
		Promotion: &Promotion{From: "staging", Matrix: staging}})
	require.NoError(t, err)
	var promo, db []model.Finding
	for _, f := range got {
		switch f.RuleID {
		case "NP017":
			promo = append(promo, f)
		case "NP016":
			db = append(db, f)
		}
	}
	require.Len(t, promo, 1)
	assert.Equal(t, "app/worker -> app/postgres on TCP 5432 is allowed in prod but not in staging: allowed by app/allow-backend-to-database spec.ingress[0]", promo[0].Message)
	assert.Equal(t, model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "allow-backend-to-database"}, promo[0].Object)
	assert.Equal(t, "spec.ingress[0]", promo[0].Field)
	assert.Equal(t, seedFile, promo[0].Location.File)
	require.Len(t, db, 1, "the same flow reaches the database from an undeclared client")
}

func TestInputDocumentGolden(t *testing.T) {
	t.Parallel()
	c := seedCluster(t)
	m := seedMatrix(c)
	// Keep the golden file readable: four connections (a workload pair, an
	// address-dependent one, one from the internet, one to the metadata
	// service) and the selection.
	pick := func(m *model.Matrix, pairs ...[2]string) []model.Connection {
		var out []model.Connection
		for _, p := range pairs {
			s, d := m.PeerIndex(p[0]), m.PeerIndex(p[1])
			i := slices.IndexFunc(m.Connections, func(c model.Connection) bool { return c.Src == s && c.Dst == d })
			require.GreaterOrEqual(t, i, 0, "%s -> %s", p[0], p[1])
			out = append(out, m.Connections[i])
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i].Src < out[j].Src || (out[i].Src == out[j].Src && out[i].Dst < out[j].Dst)
		})
		return out
	}
	small := *m
	small.Connections = pick(m,
		[2]string{"app/frontend", "app/backend-api"},
		[2]string{"app/backend-api", "kube-system/coredns"},
		[2]string{"0.0.0.0-169.254.169.253", "monitoring/prometheus"},
		[2]string{"app/worker", "169.254.169.254/32"},
	)
	small.Unmanaged = []model.Unmanaged{{Workload: &c.Workloads[0], Reason: "example: hostNetwork"}}
	// Staging has frontend -> backend-api as in prod, backend-api ->
	// coredns on UDP 53 only, and nothing else.
	promo := &model.Matrix{Peers: m.Peers, Allowances: slices.Clone(m.Allowances), Connections: pick(m, [2]string{"app/frontend", "app/backend-api"})}
	promo.Connect(m.PeerIndex("app/backend-api"), m.PeerIndex("kube-system/coredns"),
		&model.Allowance{Ports: ports(model.UDP, 53), Grants: []model.Grant{{Ports: ports(model.UDP, 53), Egress: eg("app/allow-backend-external-apis", 0), Ingress: notIsolatedIng}}})
	sort.Slice(promo.Connections, func(i, j int) bool {
		a, b := promo.Connections[i], promo.Connections[j]
		return a.Src < b.Src || (a.Src == b.Src && a.Dst < b.Dst)
	})
	doc, _, err := buildInput(Input{Overlay: "prod", Environment: "production", Cluster: c, Matrix: &small,
		Promotion: &Promotion{From: "staging", Matrix: promo}})
	require.NoError(t, err)
	v, err := ast.JSON(doc)
	require.NoError(t, err)
	out, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	goldenText(t, "input.golden.json", append(out, '\n'))
}

// A rule declares the oldest input document it can read; one that needs a
// newer document than this reachgate builds fails to load, naming the rule
// at its METADATA, instead of finding nothing in fields that are not there.
func TestLoadChecksInputVersion(t *testing.T) {
	t.Parallel()
	withVersion := func(v string) string {
		return strings.Replace(okRule, "#   severity: warning\n", "#   severity: warning\n#   inputVersion: "+v+"\n", 1)
	}
	e, err := Load(memFS(t, map[string]string{"rules/x.rego": withVersion("2"), "rules/y.rego": strings.NewReplacer("T001", "T002", "reachgate.rules.something", "reachgate.rules.other").Replace(okRule)}), []string{"rules"}, Options{})
	require.NoError(t, err)
	rules := e.Rules()
	require.Len(t, rules, 2)
	assert.Equal(t, 2, rules[0].InputVersion)
	assert.Equal(t, 1, rules[1].InputVersion, "no inputVersion: version 1")

	next := strconv.Itoa(InputVersion + 1)
	errs := loadErrors(t, map[string]string{"rules/x.rego": withVersion(next)})
	require.Len(t, errs, 1)
	assert.Equal(t, "rules/x.rego:1: METADATA.custom.inputVersion: rule T001 needs input version "+next+", and this reachgate builds version "+strconv.Itoa(InputVersion)+": run a newer reachgate (in a pull request's check, the one built from the base)", errs[0].Error())
	for _, bad := range []string{"two", "0", "1.5"} {
		errs := loadErrors(t, map[string]string{"rules/x.rego": withVersion(bad)})
		require.Len(t, errs, 1, bad)
		assert.Contains(t, errs[0].Message, "inputVersion must be a whole number", bad)
	}
}

// Rules read input.version.
func TestInputCarriesItsVersion(t *testing.T) {
	t.Parallel()
	src := `# METADATA
# title: Version
# custom:
#   id: T009
#   severity: info
#   inputVersion: 2
package reachgate.rules.version

import rego.v1

deny contains {"msg": sprintf("version %d", [input.version]), "object": {"kind": "Namespace", "name": "x"}}
`
	e, err := Load(memFS(t, map[string]string{"rules/v.rego": src}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	fs, err := e.Evaluate(context.Background(), Input{Cluster: &model.Cluster{}})
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, "version "+strconv.Itoa(InputVersion), fs[0].Message)
}

// A finding may set its own severity (a rule whose cases differ in harm);
// anything but info, warning or error is the rule's fault.
func TestEvaluateFindingSeverity(t *testing.T) {
	t.Parallel()
	rule := strings.Replace(okRule, `"field": "spec"}`, `"field": "spec", "severity": w.labels.sev}`, 1)
	e, err := Load(memFS(t, map[string]string{"rules/x.rego": rule}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "a", Name: "err", Kind: "Pod", Labels: map[string]string{"bad": "true", "sev": "error"}},
		{Namespace: "a", Name: "odd", Kind: "Pod", Labels: map[string]string{"bad": "true", "sev": "fatal"}},
	}}
	got, err := e.Evaluate(context.Background(), Input{Cluster: c})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "T001", got[0].RuleID)
	assert.Equal(t, model.SeverityError, got[0].Severity, "raised from the rule's warning")
	assert.Equal(t, RuleErrorID, got[1].RuleID)
	assert.Contains(t, got[1].Message, `severity: unknown severity "fatal"`)
}

// TestEvaluateConcurrently evaluates one Engine on two inputs at once, as
// check does with the base and the head: each gets what it gets alone
// (and the race detector, in make test, watches the shared parts).
func TestEvaluateConcurrently(t *testing.T) {
	t.Parallel()
	c := seedCluster(t)
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{Params: seedParams, Now: pinned})
	require.NoError(t, err)
	inputs := []Input{
		{Overlay: "seed", Environment: "seed", Cluster: c, Matrix: seedMatrix(c)},
		{Overlay: "prod", Environment: "prod", Cluster: c, Matrix: seedMatrix(c), Promotion: &Promotion{From: "staging", Matrix: &model.Matrix{}}},
	}
	alone := make([][]model.Finding, len(inputs))
	for i, in := range inputs {
		alone[i], err = e.Evaluate(context.Background(), in)
		require.NoError(t, err)
	}
	require.NotEqual(t, alone[0], alone[1], "the inputs must be judged differently for the test to tell them apart")
	together := make([][]model.Finding, len(inputs))
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Go(func() { together[i], errs[i] = e.Evaluate(context.Background(), in) })
	}
	wg.Wait()
	for i := range inputs {
		require.NoError(t, errs[i])
		assert.Equal(t, alone[i], together[i], inputs[i].Overlay)
	}
}
