package reach_test

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/render"
	"github.com/reachgate/reachgate/pipeline/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

// connlist renders a matrix one line per flow, the way `reachgate reach`
// prints it, with the rules behind each flow.
func connlist(m *model.Matrix) string {
	var b strings.Builder
	for _, cn := range m.Connections {
		c := m.Of(cn)
		b.WriteString(m.Peers[cn.Src].String())
		b.WriteString(" => ")
		b.WriteString(m.Peers[cn.Dst].String())
		b.WriteString(" : ")
		b.WriteString(c.Ports.String())
		if c.AddressDependent {
			b.WriteString(" (address-dependent)")
		}
		b.WriteByte('\n')
		var why []string
		for _, g := range c.Grants {
			why = append(why, "    "+g.Ports.String()+" by "+g.Egress.String()+" + "+g.Ingress.String())
		}
		sort.Strings(why)
		for _, w := range why {
			b.WriteString(w)
			b.WriteByte('\n')
		}
	}
	for _, u := range m.Unmanaged {
		b.WriteString("unmanaged " + u.Workload.String() + ": " + u.Reason + "\n")
	}
	for _, o := range m.Overridden {
		b.WriteString("overridden " + o.Rule.String() + " by " + o.By.String() + " on " + o.Ports.String() + "\n")
	}
	return b.String()
}

// scenarioDefaults is the configuration of a scenario without its own
// reachgate.yaml: the usual cluster ranges and the internet, nothing else,
// so each scenario shows only what it is about.
const scenarioDefaults = `
cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}
externals: [{name: internet, cidrs: [0.0.0.0/0, "::/0"]}]
inventory: {}
`

// loadScenario builds the cluster of a txtar scenario: its reachgate.yaml
// (or the defaults) and every other YAML file outside want/.
func loadScenario(t *testing.T, ar *txtar.Archive) *model.Cluster {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	cfg, err := config.Parse("default", []byte(scenarioDefaults))
	require.NoError(t, err)
	for _, f := range ar.Files {
		switch {
		case f.Name == config.FileName:
			cfg, err = config.Parse(f.Name, f.Data)
			require.NoError(t, err)
		case strings.HasPrefix(f.Name, "want/"):
		default:
			require.NoError(t, fs.WriteFile("/"+f.Name, f.Data))
		}
	}
	objs, _, err := render.ManifestsRoot(fs, "/", "/")
	require.NoError(t, err)
	nss, wls := cfg.ModelInventory()
	c, errs := render.Decode(objs, &model.Cluster{
		Namespaces: nss, Workloads: wls, Externals: cfg.ModelExternals(),
		PodCIDRs: cfg.PodCIDRs(), ServiceCIDRs: cfg.ServiceCIDRs(),
	})
	require.Empty(t, errs)
	return c
}

// TestScenarios runs every testdata/scenarios/*.txtar: one NetworkPolicy
// rule each, with the expected flows in want/connlist.txt. The engine's
// result is also checked against the naive evaluator.
func TestScenarios(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/scenarios/*.txtar")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			require.NoError(t, err)
			c := loadScenario(t, ar)
			m := reach.Compute(c)
			compareWithNaive(t, c, m)
			golden(t, file, ar, "want/connlist.txt", connlist(m))
			if q := archiveFile(ar, "explain"); q != nil {
				golden(t, file, ar, "want/explain.txt", explainText(t, c, string(q.Data)))
			}
		})
	}
}

func archiveFile(ar *txtar.Archive, name string) *txtar.File {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			return &ar.Files[i]
		}
	}
	return nil
}

// golden compares got with the archive's file name, or rewrites it.
func golden(t *testing.T, file string, ar *txtar.Archive, name, got string) {
	t.Helper()
	want := archiveFile(ar, name)
	if *update {
		if want == nil {
			ar.Files = append(ar.Files, txtar.File{Name: name})
			want = &ar.Files[len(ar.Files)-1]
		}
		want.Data = []byte(got)
		require.NoError(t, os.WriteFile(file, txtar.Format(ar), 0o644))
		return
	}
	require.NotNil(t, want, "%s has no %s; run go test -update and review it", file, name)
	if d := cmp.Diff(string(want.Data), got); d != "" {
		t.Errorf("%s: %s differs (-want +got):\n%s", file, name, d)
	}
}

// explainText explains each "source destination [port/protocol]" line of
// a scenario's explain file the way `reachgate explain` prints it.
func explainText(t *testing.T, c *model.Cluster, queries string) string {
	t.Helper()
	ex := reach.NewExplainer(c)
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(queries), "\n") {
		f := strings.Fields(line)
		require.True(t, len(f) == 2 || len(f) == 3, "explain line %q: want source destination [port/protocol]", line)
		var q *model.PortQuery
		if len(f) == 3 {
			proto, r, err := model.ParsePortSpec(f[2])
			require.NoError(t, err)
			q = &model.PortQuery{Protocol: proto, Port: r.From}
		}
		xs, err := ex.Explain(f[0], f[1], q)
		require.NoError(t, err)
		b.WriteString("$ explain " + line + "\n")
		require.NoError(t, report.WriteExplanation(&b, "text", xs))
		b.WriteString("\n")
	}
	return b.String()
}
