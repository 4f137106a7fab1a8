package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

func renderMatrix(t *testing.T, format string, m *model.Matrix, opts MatrixOptions) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteMatrix(&b, format, m, opts))
	return b.String()
}

func TestMatrixFocus(t *testing.T) {
	t.Parallel()
	m := reach.Compute(shopHead())
	lines := func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

	t.Run("workload by name", func(t *testing.T) {
		t.Parallel()
		got := lines(renderMatrix(t, "txt", m, MatrixOptions{Workload: "postgres"}))
		assert.Equal(t, []string{
			"app/backend-api[Deployment] => app/postgres[StatefulSet] : TCP 5432",
			"app/postgres[StatefulSet] => kube-system/kube-dns[Deployment] : TCP 53; UDP 53",
			"app/worker[Deployment] => app/postgres[StatefulSet] : TCP 5432",
		}, got)
	})
	t.Run("namespace/name and namespace+name agree", func(t *testing.T) {
		t.Parallel()
		a := renderMatrix(t, "json", m, MatrixOptions{Workload: "app/frontend"})
		b := renderMatrix(t, "json", m, MatrixOptions{Workload: "frontend", Namespace: "app"})
		assert.Equal(t, strings.Replace(a, `"focus":{"workload":"app/frontend"}`, `"focus":{"workload":"frontend","namespace":"app"}`, 1), b)
		for _, l := range lines(renderMatrix(t, "txt", m, MatrixOptions{Workload: "app/frontend"})) {
			assert.Contains(t, l, "app/frontend[Deployment]")
		}
	})
	t.Run("namespace", func(t *testing.T) {
		t.Parallel()
		got := renderMatrix(t, "txt", m, MatrixOptions{Namespace: "kube-system"})
		for _, l := range lines(got) {
			assert.Contains(t, l, "kube-system/", "every connection touches kube-system")
		}
		assert.NotContains(t, got, "app/frontend[Deployment] => app/backend-api")
		// The internet's five ranges reach kube-dns the same way: one row
		// for people, one entry per range in JSON.
		assert.Contains(t, got, "internet(0.0.0.0-10.95.255.255; 10.112.0.0-10.243.255.255 and 3 more ranges) => kube-system/kube-dns[Deployment] : all ports")
		assert.Contains(t, renderMatrix(t, "json", m, MatrixOptions{Namespace: "kube-system"}), `"ipRange":"::/0"`)
	})
	t.Run("external endpoint", func(t *testing.T) {
		t.Parallel()
		got := lines(renderMatrix(t, "txt", m, MatrixOptions{Workload: "partner-api"}))
		require.Len(t, got, 4)
		for _, l := range got {
			assert.Contains(t, l, "partner-api(203.0.113.0/24)")
		}
	})
	t.Run("peers of the JSON are the ones the connections touch", func(t *testing.T) {
		t.Parallel()
		var doc struct {
			Peers []jsonPeer `json:"peers"`
		}
		require.NoError(t, json.Unmarshal([]byte(renderMatrix(t, "json", m, MatrixOptions{Workload: "worker"})), &doc))
		assert.Equal(t, []jsonPeer{
			{Namespace: "app", Name: "postgres", Kind: "StatefulSet"},
			{Namespace: "app", Name: "worker", Kind: "Deployment"},
			{Namespace: "kube-system", Name: "kube-dns", Kind: "Deployment"},
		}, doc.Peers)
	})
	t.Run("unmanaged workload", func(t *testing.T) {
		t.Parallel()
		got := renderMatrix(t, "txt", m, MatrixOptions{Workload: "monitoring/node-exporter"})
		assert.Equal(t, "no connections\n\nNot governed by NetworkPolicy:\n  monitoring/node-exporter[DaemonSet]: hostNetwork pods use the node's network namespace; NetworkPolicy does not apply to them\n", got)
	})
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		for _, o := range []MatrixOptions{{Workload: "nope"}, {Namespace: "nope"}, {Workload: "kube-system/frontend"}} {
			err := WriteMatrix(&bytes.Buffer{}, "txt", m, o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "focus: no ")
		}
	})
}

func TestMatrixFormatsRegistry(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"txt", "json", "jsonl", "csv", "md", "dot", "mermaid", "html"}, MatrixFormats())
	m := reach.Compute(shop())
	assert.Equal(t, renderMatrix(t, "txt", m, MatrixOptions{}), renderMatrix(t, "text", m, MatrixOptions{}))
	err := WriteMatrix(&bytes.Buffer{}, "yaml", m, MatrixOptions{})
	require.EqualError(t, err, `unknown matrix format "yaml": want txt, json, jsonl, csv, md, dot, mermaid, html`)
}

func TestMatrixEmpty(t *testing.T) {
	t.Parallel()
	for _, m := range []*model.Matrix{nil, {}} {
		var doc map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(renderMatrix(t, "json", m, MatrixOptions{})), &doc))
		for _, k := range []string{"peers", "allowances", "flows", "unmanaged"} {
			assert.Equal(t, "[]", string(doc[k]), k)
		}
		assert.Equal(t, "0", string(doc["connections"]))
		assert.Equal(t, `"3"`, string(doc["formatVersion"]))
		for _, f := range MatrixFormats() {
			assert.NotEmpty(t, renderMatrix(t, f, m, MatrixOptions{}), f)
		}
	}
}

// awkward is a matrix whose names need escaping in every format.
func awkward() *model.Matrix {
	a := &model.Workload{Namespace: "team-a", Name: `web"x|<b>`, Kind: "Deployment"}
	b := &model.Workload{Namespace: "team-a", Name: "web-x", Kind: "Deployment"}
	c := &model.Workload{Namespace: "team_b", Name: "api,v2", Kind: "Pod"}
	peers := []model.Peer{
		{Workload: a}, {Workload: b}, {Workload: c},
		{Range: model.PrefixRange(netip.MustParsePrefix("192.0.2.0/24")), External: `partner "#1"`},
	}
	grant := model.Grant{Ports: model.SinglePort(model.TCP, 80, 80),
		Egress: &model.RuleRef{Policy: "team-a/out", Rule: 0}, Ingress: &model.RuleRef{Policy: "team_b/in", Rule: 2}}
	m := &model.Matrix{Peers: peers}
	al := &model.Allowance{Ports: grant.Ports, Grants: []model.Grant{grant}}
	m.Connect(0, 2, al)
	m.Connect(1, 2, al)
	m.Connect(2, 3, al)
	return m
}

func TestMatrixEscaping(t *testing.T) {
	t.Parallel()
	m := awkward()

	t.Run("csv", func(t *testing.T) {
		t.Parallel()
		rows, err := csv.NewReader(strings.NewReader(renderMatrix(t, "csv", m, MatrixOptions{}))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 4)
		assert.Equal(t, []string{"team_b/api,v2[Pod]", `partner "#1"(192.0.2.0/24)`, "TCP", "80", "team-a/out[0]", "team_b/in[2]"}, rows[3])
	})
	t.Run("dot", func(t *testing.T) {
		t.Parallel()
		got := renderMatrix(t, "dot", m, MatrixOptions{Title: `say "hi"`})
		assert.Contains(t, got, `label="say \"hi\"";`)
		assert.Contains(t, got, `"team_a_web_x_b" [label="web\"x|<b>\nDeployment"];`)
		// web"x|<b> and web-x both sanitise to team_a_web_x...: ids stay distinct.
		assert.Contains(t, got, `"team_a_web_x" [label="web-x\nDeployment"];`)
		assert.Contains(t, got, `"ext_partner_1_192_0_2_0_24" [label="partner \"#1\"\n192.0.2.0/24", shape=ellipse];`)
		assert.Contains(t, got, `"team_a_web_x" -> "team_b_api_v2" [label="TCP 80"];`)
		for _, l := range strings.Split(got, "\n") {
			assert.Equal(t, 0, strings.Count(strings.ReplaceAll(l, `\"`, ""), `"`)%2, "unbalanced quotes in %q", l)
		}
	})
	t.Run("mermaid", func(t *testing.T) {
		t.Parallel()
		got := renderMatrix(t, "mermaid", m, MatrixOptions{})
		assert.Contains(t, got, `team_a_web_x_b["web#quot;x|#lt;b#gt;<br/>Deployment"]`)
		assert.Contains(t, got, `ext_partner_1_192_0_2_0_24(["partner #quot;#35;1#quot;<br/>192.0.2.0/24"])`)
		assert.Contains(t, got, `subgraph NS_team_b ["team_b"]`)
		ids := regexp.MustCompile(`(?m)^\s+([a-z0-9_]+)[\[(]`).FindAllStringSubmatch(got, -1)
		seen := map[string]bool{}
		for _, id := range ids {
			assert.False(t, seen[id[1]], "duplicate node id %s", id[1])
			seen[id[1]] = true
		}
		assert.Len(t, seen, 4)
	})
	t.Run("markdown", func(t *testing.T) {
		t.Parallel()
		got := renderMatrix(t, "md", m, MatrixOptions{Title: "<script>"})
		assert.Contains(t, got, "## &lt;script&gt;\n")
		assert.Contains(t, got, "| `team-a/web\"x\\|<b>[Deployment]` | `team_b/api,v2[Pod]` | TCP 80 |")
		assertTablesWellFormed(t, got)
	})
	t.Run("html", func(t *testing.T) {
		t.Parallel()
		got := renderMatrix(t, "html", m, MatrixOptions{Title: "</title><script>alert(1)</script>"})
		assert.NotContains(t, got, "<script>alert(1)")
		assert.Contains(t, got, "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
		assert.Contains(t, got, "team-a/web&#34;x|&lt;b&gt;[Deployment]")
	})
}

func TestMatrixHTMLSelfContained(t *testing.T) {
	t.Parallel()
	c := shopHead()
	// Dual-stack: the ingress ipBlock 0.0.0.0/0 then holds only some pod
	// addresses, and the flow from kube-dns depends on the address.
	c.PodCIDRs = c.PodCIDRs.Union(model.IPSetOf(netip.MustParsePrefix("fd00:10:244::/56")))
	m := reach.Compute(c)
	got := renderMatrix(t, "html", m, MatrixOptions{})
	assert.True(t, strings.HasPrefix(got, "<!DOCTYPE html>"))
	assert.Regexp(t, `<input type="search" id="filter"`, got)
	// Nothing is loaded from elsewhere: no src=, no href=, no url(), no @import.
	for _, bad := range []string{"src=", "href=", "url(", "@import", "http://", "https://"} {
		assert.NotContains(t, got, bad)
	}
	assert.Equal(t, 1, strings.Count(got, "<script>"))
	assert.Equal(t, strings.Count(got, "<tr"), strings.Count(got, "</tr>"))
	assert.Equal(t, len(m.Connections)+1, strings.Count(got, "<tr"), "a header row and a row per connection")
	assert.Equal(t, 1, strings.Count(got, `<tr class="dep">`), "the address-dependent flow is marked")
}

func TestMatrixDoesNotMutate(t *testing.T) {
	t.Parallel()
	m := reach.Compute(shopHead())
	// Reverse the connections: renderers must sort a copy, not the matrix.
	cs := m.Connections
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	before := append([]model.Connection(nil), cs...)
	sorted := reach.Compute(shopHead())
	for _, f := range MatrixFormats() {
		assert.Equal(t, renderMatrix(t, f, sorted, MatrixOptions{}), renderMatrix(t, f, m, MatrixOptions{}), "%s sorts", f)
	}
	assert.Equal(t, before, m.Connections)
}

func TestMatrixGraphMergesBothDirections(t *testing.T) {
	t.Parallel()
	w := func(name string) model.Peer {
		return model.Peer{Workload: &model.Workload{Namespace: "ns", Name: name, Kind: "Deployment"}}
	}
	al := func(p uint16) *model.Allowance {
		return &model.Allowance{Ports: model.SinglePort(model.TCP, p, p)}
	}
	m := &model.Matrix{Peers: []model.Peer{w("a"), w("b"), w("c"), w("d")}}
	m.Connect(0, 1, al(80))
	m.Connect(1, 0, al(80))
	m.Connect(2, 3, al(80))
	m.Connect(3, 2, al(81))
	dot := renderMatrix(t, "dot", m, MatrixOptions{})
	assert.Contains(t, dot, `"ns_a" -> "ns_b" [label="TCP 80", dir=both];`)
	assert.NotContains(t, dot, `"ns_b" -> "ns_a"`)
	assert.Contains(t, dot, `"ns_c" -> "ns_d" [label="TCP 80"];`)
	assert.Contains(t, dot, `"ns_d" -> "ns_c" [label="TCP 81"];`)
	mmd := renderMatrix(t, "mermaid", m, MatrixOptions{})
	assert.Contains(t, mmd, `ns_a <-->|"TCP 80"| ns_b`)
	assert.Contains(t, mmd, `ns_d -->|"TCP 81"| ns_c`)
	assert.Equal(t, 3, strings.Count(mmd, "-->"))
}

// TestMatrixDOTParses feeds the DOT output to Graphviz, when installed.
func TestMatrixDOTParses(t *testing.T) {
	t.Parallel()
	dotBin, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz dot is not installed (apt-get install graphviz): cannot check the DOT syntax")
	}
	for name, m := range map[string]*model.Matrix{"fixture": reach.Compute(shopHead()), "awkward": awkward()} {
		cmd := exec.Command(dotBin, "-Tsvg")
		cmd.Stdin = strings.NewReader(renderMatrix(t, "dot", m, MatrixOptions{Title: `a "title"`}))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "%s: %s", name, stderr.String())
		assert.Empty(t, stderr.String(), name)
		assert.Contains(t, string(out), "<svg", name)
	}
	// And a broken file fails, so the check can fail.
	cmd := exec.Command(dotBin, "-Tsvg")
	cmd.Stdin = strings.NewReader(`digraph { "a -> b }`)
	assert.Error(t, cmd.Run())
}

// TestMatrixHTMLFilterInBrowser runs the page's filter in headless
// Chromium, when installed: a fragment filters the rows on load.
func TestMatrixHTMLFilterInBrowser(t *testing.T) {
	t.Parallel()
	var browser string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no headless Chromium (apt-get install chromium): cannot run the page's script")
	}
	m := reach.Compute(shopHead())
	page := filepath.Join(t.TempDir(), "matrix.html")
	require.NoError(t, os.WriteFile(page, []byte(renderMatrix(t, "html", m, MatrixOptions{})), 0o644))
	dom := func(fragment string) string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
			"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page+fragment).Output()
		require.NoError(t, err)
		return string(out)
	}
	all := dom("")
	assert.Contains(t, all, fmt.Sprintf("%d of %d connections", len(m.Connections), len(m.Connections)))
	assert.NotContains(t, all, ` hidden="">`)
	filtered := dom("#postgres%20tcp")
	assert.Contains(t, filtered, fmt.Sprintf("3 of %d connections", len(m.Connections)))
	assert.Equal(t, len(m.Connections)-3, strings.Count(filtered, ` hidden="">`))
}

// TestFlowJSONAsEncodingJSON: the flows' hand-written encoding is what
// encoding/json writes for them, empty and nil lists, every protocol and
// large indices included.
func TestFlowJSONAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ints := func() []int32 {
		switch r.IntN(5) {
		case 0:
			return nil
		case 1:
			return []int32{}
		}
		xs := make([]int32, r.IntN(40)+1)
		for i := range xs {
			xs[i] = r.Int32N(1 << 30)
		}
		return xs
	}
	for range 2000 {
		var ports model.PortSet
		for range r.IntN(4) {
			from := uint16(r.IntN(65535) + 1)
			ports = ports.Union(model.SinglePort(model.Protocols[r.IntN(len(model.Protocols))], from, from+uint16(r.IntN(int(65535-from)+1))))
		}
		f := jsonFlow{Srcs: ints(), Dsts: ints(), Ports: jsonPorts{ports}, Allowance: r.Int32N(1 << 20)}
		want, err := marshalCompact(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(f.appendJSON(nil)))
	}
}

// TestAllowanceJSONAsEncodingJSON: the hand-written encoding of a matrix
// document's rules, grants and allowances is what encoding/json writes
// for them: every kind of rule reference, nil and empty lists, and
// strings that need escaping (quotes, backslashes, control characters,
// HTML characters, U+2028, non-ASCII, invalid UTF-8).
func TestAllowanceJSONAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"", "ns-01/allow-web", "a\"b", `c:\d`, "tab\there", "nl\n", "\x01\x1f", "<b>&amp;</b>", "\u2028\u2029", "ünïcode", "\xff\xfe", "bases/ns-00/policies.yaml", "Deny", "Pass", "AdminNetworkPolicy"}
	word := func() string { return words[r.IntN(len(words))] }
	ports := func() model.PortSet {
		var s model.PortSet
		for range r.IntN(3) {
			from := uint16(r.IntN(65535) + 1)
			s = s.Union(model.SinglePort(model.Protocols[r.IntN(len(model.Protocols))], from, from+uint16(r.IntN(int(65535-from)+1))))
		}
		return s
	}
	ref := func() jsonRuleRef {
		var j jsonRuleRef
		if r.IntN(4) == 0 {
			return jsonRuleRef{NotIsolated: true, PassedBy: word()}
		}
		j.Policy, j.Kind, j.Action, j.PassedBy, j.Section, j.L7 = word(), word(), word(), word(), word(), word()
		if r.IntN(5) > 0 {
			rule := r.IntN(1<<20) - 5
			j.Rule = &rule
		}
		if r.IntN(5) > 0 {
			j.Source = &model.Location{File: word(), Line: r.IntN(3) * r.IntN(100000)}
		}
		return j
	}
	for range 3000 {
		rr := ref()
		want, err := marshalCompact(rr)
		require.NoError(t, err)
		require.Equal(t, string(want), string(rr.appendJSON(nil)))
		g := jsonGrantRef{Ports: jsonPorts{ports()}, Egress: int32(r.IntN(1<<20)) - 5, Ingress: int32(r.IntN(1 << 31))}
		want, err = marshalCompact(g)
		require.NoError(t, err)
		require.Equal(t, string(want), string(g.appendJSON(nil)))
		a := &jsonMatrixAllowance{Ports: jsonPorts{ports()}, AllPorts: r.IntN(2) == 0, AddressDependent: r.IntN(2) == 0}
		if n := r.IntN(5); n > 0 {
			a.Grants = make([]int32, n-1)
			for i := range a.Grants {
				a.Grants[i] = int32(r.IntN(1 << 31))
			}
		}
		want, err = marshalCompact(a)
		require.NoError(t, err)
		require.Equal(t, string(want), string(a.appendJSON(nil)))
	}
}
