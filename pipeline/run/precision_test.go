package run_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

func problemTexts(o *run.Overlay) []string {
	var out []string
	for _, p := range o.Problems {
		out = append(out, p.Error())
	}
	return out
}

// One validation: what the API server accepts loads (a policy type listed
// twice is accepted), and what it refuses is reported once, in the API
// server's words, by pipeline/validate alone.
func TestOneValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "m/all.yaml", `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: twice}
spec:
  podSelector: {}
  policyTypes: [Ingress, Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: foo}
spec:
  podSelector: {}
  ingress: [{ports: [{protocol: FOO, port: 80}]}]
`)
	ws, err := run.OpenWorkTree(dir, "")
	require.NoError(t, err)
	o := ws.Load(context.Background(), filepath.Join(dir, "m"))
	require.NoError(t, o.Err)
	assert.Equal(t, []string{
		`m/all.yaml:17: NetworkPolicy app/foo: spec.ingress[0].ports[0].protocol: Unsupported value: "FOO": supported values: "TCP", "UDP", "SCTP"`,
	}, problemTexts(o))
	require.Len(t, o.Cluster.Policies, 1)
	assert.Equal(t, "twice", o.Cluster.Policies[0].Name)
}

// A values.yaml and a JSON list next to the manifests of a plain directory
// are skipped with a warning naming them, on stderr and in the report; the
// rest is analysed and nothing fails for them.
func TestPlainDirectorySkipsNonObjects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "m/all.yaml", invalidOverlay[:strings.Index(invalidOverlay, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: app, name: default-deny-egress}")])
	writeFile(t, dir, "m/values.yaml", "replicaCount: 2\nimage: {tag: \"1.0\"}\n")
	writeFile(t, dir, "m/owners.json", "[\"team-a\", \"team-b\"]\n")
	m := filepath.Join(dir, "m")

	var out, stderr bytes.Buffer
	err := run.Reach(context.Background(), run.ReachParams{Common: run.Common{Dir: dir}, Overlay: m, Format: "txt"}, &out, &stderr)
	require.NoError(t, err, stderr.String())
	assert.Contains(t, out.String(), "app/frontend[Pod] => app/api[Pod] : TCP 3000")
	assert.Equal(t, "warning: m/owners.json:1: not a Kubernetes object (a list): skipped\n"+
		"warning: m/values.yaml:1: not a Kubernetes object (no apiVersion, kind or metadata): skipped\n", stderr.String())

	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "none", Overlays: []string{m}, Now: now})
	require.NoError(t, err)
	require.Len(t, r.Overlays, 1)
	skipped := findingsOf(r, m, run.SkippedID)
	require.Len(t, skipped, 2)
	assert.Equal(t, model.SeverityWarning, skipped[0].Severity)
	assert.Equal(t, "m/owners.json:1", skipped[0].Location.String())
	assert.Empty(t, findingsOf(r, m, "input/invalid"))
}

// frontendToInternet is the pull request of issue 17: an egress policy
// letting app/frontend reach 0.0.0.0/0, in prod. It commits on branch pr.
func frontendToInternet(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "checkout", "-qb", "pr")
	writeFile(t, dir, "overlays/prod/frontend-internet.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-frontend-to-internet
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
`)
	k, err := os.ReadFile(filepath.Join(dir, "overlays/prod/kustomization.yaml"))
	require.NoError(t, err)
	s := strings.Replace(string(k), "  - network-policies-partners.yaml\n", "  - network-policies-partners.yaml\n  - frontend-internet.yaml\n", 1)
	require.NotEqual(t, string(k), s)
	writeFile(t, dir, "overlays/prod/kustomization.yaml", s)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "prod: frontend reaches the internet")
}

// The pull request of issue 17, checked: a failed expect/deny explains the
// flow, even when the matrix of the check cut the internet into finer
// ranges (base and head, every overlay, aligned) than the explainer of one
// cluster does, because the range is not handed back to the explainer's
// peer parser; and the Mermaid graph draws one internet node.
func TestIssue17PullRequest(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	frontendToInternet(t, dir)
	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "pr", Now: now})
	require.NoError(t, err)
	var internet *model.Finding
	for _, f := range findingsOf(r, "prod", "expect/deny") {
		if strings.Contains(f.Message, "app/frontend -> internet to be denied") {
			internet = &f
		}
	}
	require.NotNil(t, internet, "prod: %v", overlayReport(t, r, "prod").Findings)
	assert.NotContains(t, internet.Message, "unknown peer")
	assert.Regexp(t, `is allowed on all ports \(the storefront renders from the API only\): app/frontend\[Deployment\] -> internet\([^)]*\) on 1/TCP is allowed by app/allow-frontend-to-internet egress\[0\] \+ ingress not isolated$`, internet.Message)

	// The Mermaid graph of the PR comment groups the internet's ranges
	// as the tables do: one node, not one per range.
	var md bytes.Buffer
	require.NoError(t, report.Write(&md, "markdown", r, report.Options{}))
	nodes := regexp.MustCompile(`(?m)^  (ext_\w+)\(\["internet<br/>`).FindAllStringSubmatch(md.String(), -1)
	require.Len(t, nodes, 1, "internet nodes in:\n%s", md.String())
	assert.Regexp(t, `(?m)^  app_frontend -->\|"all ports"\| `+nodes[0][1]+`$`, md.String())
}

// rowLabels reads the two peer labels of every row of a matrix in the txt
// or md format.
func rowLabels(t *testing.T, format, out string) [][2]string {
	t.Helper()
	var rows [][2]string
	for _, l := range strings.Split(out, "\n") {
		switch format {
		case "txt":
			src, rest, ok := strings.Cut(l, " => ")
			if !ok {
				continue
			}
			dst, _, ok := strings.Cut(rest, " : ")
			require.True(t, ok, l)
			rows = append(rows, [2]string{src, dst})
		case "md":
			cells := strings.Split(l, " | ")
			if len(cells) < 3 || !strings.HasPrefix(l, "| `") {
				continue
			}
			rows = append(rows, [2]string{strings.Trim(strings.TrimPrefix(cells[0], "| "), "`"), strings.Trim(cells[1], "`")})
		}
	}
	require.NotEmpty(t, rows, out)
	return rows
}

// `reachgate explain OVERLAY SRC DST` accepts every peer label reachgate
// prints: each row `reach` prints for prod (with the pull request of the
// issue, so the internet is a group of ranges) is fed back to explain,
// which must find the pair and say it is allowed.
func TestExplainAcceptsEveryPrintedLabel(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	frontendToInternet(t, dir)
	ws, err := run.OpenWorkTree(dir, "")
	require.NoError(t, err)
	o := ws.Load(context.Background(), "prod")
	require.NoError(t, o.Err)
	require.Empty(t, o.Problems)
	m := reach.Compute(o.Cluster)
	ex := reach.NewExplainer(o.Cluster)
	seen := map[string]bool{}
	for _, tc := range []struct {
		format string
		opts   report.MatrixOptions
	}{{"txt", report.MatrixOptions{}}, {"md", report.MatrixOptions{}}, {"txt", report.MatrixOptions{EveryRange: true}}} {
		var b bytes.Buffer
		require.NoError(t, report.WriteMatrix(&b, tc.format, m, tc.opts))
		for _, row := range rowLabels(t, tc.format, b.String()) {
			seen[row[0]], seen[row[1]] = true, true
			xs, err := ex.Explain(row[0], row[1], nil)
			if !assert.NoError(t, err, "%s: %s => %s", tc.format, row[0], row[1]) {
				continue
			}
			allowed := false
			for _, x := range xs {
				allowed = allowed || x.Allowed
			}
			assert.True(t, allowed, "%s: %s => %s is a row of the matrix, so explain finds it allowed", tc.format, row[0], row[1])
		}
	}
	// The kinds of label the issue names are all among them.
	for _, want := range []string{
		"app/frontend[Deployment]",
		"partner-payments(203.0.113.0/24)",
		"internet(0.0.0.0-10.95.255.255; 10.112.0.0-10.243.255.255 and 4 more ranges)",
		"0.0.0.0-10.95.255.255",
	} {
		found := seen[want]
		for l := range seen {
			found = found || strings.Contains(l, "("+want+")")
		}
		assert.True(t, found, "no label %s among %v", want, seen)
	}

	// And the command itself, with the label of the issue and others.
	for _, dst := range []string{"internet(0.0.0.0-10.95.255.255; 10.112.0.0-10.243.255.255 and 4 more ranges)", "0.0.0.0/5,8.0.0.0/7", "partner-payments(203.0.113.0/24)", "internet", "8.8.8.8", "app/backend-api[Deployment]", "app/backend-api"} {
		var out, stderr bytes.Buffer
		err := run.Explain(context.Background(), run.ExplainParams{Common: run.Common{Dir: dir}, Overlay: "prod", Src: "app/frontend", Dst: dst, Format: "txt"}, &out, &stderr)
		assert.NoError(t, err, "explain prod app/frontend %q: %s", dst, stderr.String())
		assert.Contains(t, out.String(), "ALLOWED", dst)
	}
}

// Two overlays where app/web is a Deployment in a, and a Deployment and a
// StatefulSet in b (Kubernetes allows it). a promotes to b.
const sharedNameA = `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: client, labels: {app: client}}
spec: {containers: [{name: c, image: c:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {namespace: app, name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1, ports: [{containerPort: 80}]}]}
`

const sharedNameB = sharedNameA + `---
apiVersion: apps/v1
kind: StatefulSet
metadata: {namespace: app, name: web}
spec:
  serviceName: web
  selector: {matchLabels: {app: web, tier: db}}
  template:
    metadata: {labels: {app: web, tier: db}}
    spec: {containers: [{name: db, image: db:1, ports: [{containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: allow-web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
`

const sharedNameExpectations = `apiVersion: reachgate.dev/v1alpha1
kind: Expectations
allow:
  - {from: app/client, to: app/web}
  - {from: app/client, to: "app/web[StatefulSet]", port: 5432/TCP}
deny:
  - {from: app/client, to: "app/web[StatefulSet]", port: 5432/TCP, reason: "fails, with a reason"}
  - {from: "app/web[Deployment]", to: "app/web[StatefulSet]"}
`

// A Deployment and a StatefulSet with the same name in one namespace are
// different peers everywhere: in the matrix and its selection, in the
// rules' input (whose indexes by key would otherwise collide), in
// promotion, in expectations (where "app/web" is then ambiguous and says
// so at its line) and in explain.
func TestSameNameDifferentKinds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "reachgate.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Config
overlays:
  - {name: a, path: a, promotesTo: b}
  - {name: b, path: b}
inventory: {}
`)
	writeFile(t, dir, "a/all.yaml", sharedNameA)
	writeFile(t, dir, "b/all.yaml", sharedNameB)
	writeFile(t, dir, "b/expectations.yaml", sharedNameExpectations)

	ws, err := run.OpenWorkTree(dir, "")
	require.NoError(t, err)
	b := ws.Load(context.Background(), "b")
	require.NoError(t, b.Err)
	require.Empty(t, b.Problems)
	m := reach.Compute(b.Cluster)
	var keys []string
	for _, p := range m.Peers {
		if p.Workload != nil {
			keys = append(keys, p.Key())
		}
	}
	assert.Equal(t, []string{"app/client", "app/web[Deployment]", "app/web[StatefulSet]"}, keys)
	require.Len(t, m.Selection, 1)
	assert.Equal(t, []string{"app/web[Deployment]", "app/web[StatefulSet]"}, m.Selection[0].Selects)

	r, err := run.BuildReport(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "none", Now: now})
	require.NoError(t, err)
	assert.Empty(t, findingsOf(r, "b", "rule/error"), "the rules' indexes by key do not collide")

	ambiguous := findingsOf(r, "b", "expect/ambiguous-peer")
	require.Len(t, ambiguous, 1)
	assert.Equal(t, "b/expectations.yaml:4", ambiguous[0].Location.String())
	assert.Equal(t, `to "app/web" names 2 workloads of different kinds (app/web[Deployment], app/web[StatefulSet]): name one with its kind`, ambiguous[0].Message)
	assert.Empty(t, findingsOf(r, "b", "expect/allow"), "app/web[StatefulSet] is reachable on 5432")
	deny := findingsOf(r, "b", "expect/deny")
	require.Len(t, deny, 1)
	assert.Equal(t, "b/expectations.yaml:7", deny[0].Location.String())
	assert.Contains(t, deny[0].Message, "app/client[Pod] -> app/web[StatefulSet] on 5432/TCP is allowed by egress not isolated + app/allow-web ingress[0]")

	// Promotion: a never had the StatefulSet, so nothing b allows towards
	// it was promoted, although a allows app/client -> app/web[Deployment].
	var promoted []string
	for _, f := range findingsOf(r, "b", "NP017") {
		promoted = append(promoted, f.Message)
	}
	assert.NotEmpty(t, promoted)
	for _, want := range []string{
		"app/client -> app/web[StatefulSet] on all ports is allowed in b but not in a",
		"app/web[StatefulSet] -> app/client on all ports is allowed in b but not in a: app/web[StatefulSet] is not isolated",
	} {
		assert.True(t, slices.ContainsFunc(promoted, func(s string) bool { return strings.Contains(s, want) }), "NP017 names %s: %v", want, promoted)
	}

	// explain wants the kind where the name is shared.
	ex := reach.NewExplainer(b.Cluster)
	_, err = ex.Explain("app/client", "app/web", nil)
	assert.EqualError(t, err, "destination: app/web names 2 workloads of different kinds (app/web[Deployment], app/web[StatefulSet]): name one with its kind")
	xs, err := ex.Explain("app/client", "app/web[StatefulSet]", nil)
	require.NoError(t, err)
	require.Len(t, xs, 1)
	assert.Equal(t, "app/web[StatefulSet]", xs[0].Dst.String())
}

// Rules from the base that need a newer input document than this reachgate
// builds stop the check, naming the rule and where it is written.
func TestBaseRuleNeedingANewerInputFailsLoudly(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	writeFile(t, dir, "policy/custom/future.rego", `# METADATA
# title: Reads a field of a future input
# custom:
#   id: NP900
#   severity: error
#   inputVersion: 99
package reachgate.rules.future

import rego.v1

deny contains {"msg": "never", "object": {"kind": "Namespace", "name": "x"}} if input.future
`)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "a rule for a future reachgate")
	git(t, dir, "checkout", "-qb", "pr")
	var out, stderr bytes.Buffer
	err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now}, &out, &stderr)
	var ee *run.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, run.ExitInput, ee.Code)
	assert.Contains(t, err.Error(), "policy/custom/future.rego:1: METADATA.custom.inputVersion: rule NP900 needs input version 99, and this reachgate builds version "+strconv.Itoa(policy.InputVersion))
}

// A Deployment whose egress a Calico NetworkPolicy limits to one FQDN,
// next to a ConfigMap: the issue's example of item 11.
const calicoOverlay = `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: apps/v1
kind: Deployment
metadata: {namespace: app, name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {namespace: app, name: settings}
data: {a: b}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {namespace: app, name: web-egress-fqdn}
spec:
  selector: app == 'web'
  egress:
  - {action: Allow, destination: {domains: [api.example.com]}}
`

// Every output of reach says first that the matrix ignores the policy of
// a kind reachgate does not evaluate, names it with file and line, and
// the command exits 2; other unknown kinds (the ConfigMap) stay silent.
func TestReachSaysWhatItIgnores(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "m/all.yaml", calicoOverlay)
	writeFile(t, dir, "quiet/all.yaml", calicoOverlay[:strings.Index(calicoOverlay, "---\napiVersion: projectcalico.org/v3")])
	m := filepath.Join(dir, "m")
	item := "m/all.yaml:19: NetworkPolicy app/web-egress-fqdn (projectcalico.org/v3)"
	first := map[string]string{
		"txt":     "# " + m + "\nwarning: The matrix ignores 1 policy of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown.\n  " + item + "\n",
		"md":      "## " + m + "\n\n> [!WARNING]\n> The matrix ignores 1 policy of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown.\n> - `" + item + "`\n",
		"csv":     "# warning: The matrix ignores 1 policy of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown.\n#   " + item + "\nsrc,dst,",
		"dot":     "digraph reachability {\n  label=\"" + m + "\\nThe matrix ignores 1 policy of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown.\\n" + item + "\";",
		"mermaid": "flowchart LR\n  OMITTED_1[\"⚠ The matrix ignores 1 policy of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown.<br/>" + item + "\"]\n",
		"json":    `"omitted":[`,
		"html":    `<div class="warning"`,
	}
	for format, want := range first {
		var out, stderr bytes.Buffer
		err := run.Reach(context.Background(), run.ReachParams{Common: run.Common{Dir: dir}, Overlay: m, Format: format}, &out, &stderr)
		var ee *run.ExitError
		require.ErrorAs(t, err, &ee, format)
		assert.Equal(t, run.ExitInput, ee.Code, format)
		assert.Contains(t, err.Error(), "1 policy(ies) of kinds reachgate does not evaluate", format)
		assert.Contains(t, stderr.String(), "error: m/all.yaml:19: NetworkPolicy app/web-egress-fqdn: reachgate does not evaluate projectcalico.org/v3 NetworkPolicy", format)
		switch format {
		case "json", "html":
			assert.Contains(t, out.String(), want, format)
		default:
			assert.True(t, strings.HasPrefix(strings.TrimPrefix(out.String(), "---\ntitle: \""+m+"\"\n---\n"), want), "%s output starts with the note:\n%s", format, out.String())
		}
		assert.Contains(t, out.String(), "web", format)
	}

	// explain and promote say it first too.
	note := "warning: The matrix ignores 1 policy of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown.\n  " + item + "\n"
	for name, cmd := range map[string]func(w, e *bytes.Buffer) error{
		"explain": func(w, e *bytes.Buffer) error {
			return run.Explain(context.Background(), run.ExplainParams{Common: run.Common{Dir: dir}, Overlay: m, Src: "app/web", Dst: "internet", Format: "txt"}, w, e)
		},
		"promote": func(w, e *bytes.Buffer) error {
			return run.Promote(context.Background(), run.PromoteParams{Common: run.Common{Dir: dir}, From: filepath.Join(dir, "quiet"), To: m}, w, e)
		},
	} {
		var out, stderr bytes.Buffer
		err := cmd(&out, &stderr)
		var ee *run.ExitError
		require.ErrorAs(t, err, &ee, name)
		assert.Equal(t, run.ExitInput, ee.Code, name)
		assert.True(t, strings.HasPrefix(out.String(), note), "%s output starts with the note:\n%s", name, out.String())
	}

	var out, stderr bytes.Buffer
	err := run.Reach(context.Background(), run.ReachParams{Common: run.Common{Dir: dir}, Overlay: filepath.Join(dir, "quiet"), Format: "txt"}, &out, &stderr)
	require.NoError(t, err, "a ConfigMap is silently irrelevant")
	assert.Empty(t, stderr.String())
	assert.NotContains(t, out.String(), "warning")
}

// check fails the overlay with input/unevaluated-policy, naming the
// policy at its line and saying at the top that the matrix ignores it; a
// waiver from the base accepts it.
func TestCheckFailsOnUnevaluatedPolicies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "reachgate.yaml", "apiVersion: reachgate.dev/v1alpha1\nkind: Config\noverlays: [{name: m, path: m}]\nrules: {builtin: false, paths: [rules], waivers: waivers.yaml}\n")
	writeFile(t, dir, "rules/none.rego", "package reachgate.rules.none\n")
	writeFile(t, dir, "waivers.yaml", "apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\nwaivers: []\n")
	writeFile(t, dir, "m/all.yaml", calicoOverlay)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "cilium")

	var out, stderr bytes.Buffer
	err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now}, &out, &stderr)
	var ee *run.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, run.ExitFailed, ee.Code, "a failed gate, which a waiver can lift: %v\n%s", err, out.String())
	lines := strings.Split(out.String(), "\n")
	require.Greater(t, len(lines), 3)
	assert.Equal(t, "warning: m: The matrix ignores 1 policy of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown.", lines[1])
	assert.Equal(t, "  m/all.yaml:19: NetworkPolicy app/web-egress-fqdn", lines[2])
	assert.Contains(t, out.String(), "m/all.yaml:19: error input/unevaluated-policy: NetworkPolicy app/web-egress-fqdn: reachgate does not evaluate projectcalico.org/v3 NetworkPolicy")
	var md bytes.Buffer
	err = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now, Format: "markdown"}, &md, &stderr)
	require.Error(t, err)
	assert.Contains(t, md.String(), "> [!WARNING]\n> m: The matrix ignores 1 policy")

	// The waiver comes from the base.
	writeFile(t, dir, "waivers.yaml", `apiVersion: reachgate.dev/v1alpha1
kind: Waivers
waivers:
  - rule: input/unevaluated-policy
    object: NetworkPolicy/app/web-egress-fqdn
    reason: Calico enforces the FQDN limit; the matrix over-approximates web's egress
    owner: platform
    expires: 2099-01-01
`)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "waive")
	out.Reset()
	err = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Now: now}, &out, &stderr)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "waived")
}

// A NetworkPolicy dropped as invalid (here one exported from a cluster,
// with status: {}, which kubectl apply's default strict validation
// refuses) is said at the top of the text and Markdown reports, and every
// flow it could deny once fixed is marked: flows to the pods its
// podSelector selects, as it declares Ingress. Flows of other pods are
// not marked.
func TestInvalidPolicyIsSaidAndItsFlowsMarked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "reachgate.yaml", "apiVersion: reachgate.dev/v1alpha1\nkind: Config\noverlays: [{name: m, path: m}]\nrules: {builtin: false, paths: [rules]}\n")
	writeFile(t, dir, "rules/none.rego", "package reachgate.rules.none\n")
	base := invalidOverlay[:strings.Index(invalidOverlay, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: app, name: default-deny-egress}")]
	writeFile(t, dir, "m/all.yaml", base)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "base")
	git(t, dir, "checkout", "-qb", "pr")
	writeFile(t, dir, "m/all.yaml", base+`---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: db, labels: {app: db}}
spec: {containers: [{name: db, image: db:1, ports: [{containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: db-from-api}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]
status: {}
`)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "db, and an exported policy")

	var out, stderr bytes.Buffer
	err := run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "pr", Now: now}, &out, &stderr)
	var ee *run.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, run.ExitInput, ee.Code)
	lines := strings.Split(out.String(), "\n")
	require.Greater(t, len(lines), 3, out.String())
	assert.Equal(t, `warning: m: The matrix omits 1 NetworkPolicy dropped as invalid (the API server would refuse it); flows it could deny once fixed are marked "may be denied by an invalid policy".`, lines[1])
	assert.Equal(t, "  m/all.yaml:34: NetworkPolicy app/db-from-api", lines[2])
	assert.Contains(t, out.String(), "m/all.yaml:34: error input/invalid: NetworkPolicy app/db-from-api status: NetworkPolicy in version \"v1\" cannot be handled as a NetworkPolicy: strict decoding error: unknown field \"status\"")
	assert.Contains(t, out.String(), "+ app/frontend[Pod] => app/db[Pod] : all ports (may be denied by an invalid policy: app/db-from-api)")
	assert.Contains(t, out.String(), "+ app/db[Pod] => app/api[Pod] : TCP 3000   via")
	assert.NotContains(t, out.String(), "app/db[Pod] => app/api[Pod] : TCP 3000 (may be denied", "db's own egress is not the dropped policy's business")

	var md bytes.Buffer
	_ = run.Check(context.Background(), run.CheckParams{Common: run.Common{Dir: dir}, Base: "main", Head: "pr", Now: now, Format: "markdown"}, &md, &stderr)
	assert.Contains(t, md.String(), "> [!WARNING]\n> m: The matrix omits 1 NetworkPolicy dropped as invalid")
	assert.Contains(t, md.String(), "all ports _(may be denied by an invalid policy: `app/db-from-api`)_")
	assert.Less(t, strings.Index(md.String(), "[!WARNING]"), strings.Index(md.String(), "| Environment |"), "the note comes first")
}
