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
	return b.String()
}

// scenarioDefaults is the configuration of a scenario without its own
// reachgate.yaml: the usual cluster ranges and the internet, nothing else,
// so each scenario shows only what it is about.
const scenarioDefaults = `
cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}
externals: [{name: internet, cidrs: [0.0.0.0/0, "::/0"]}]
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
			got := connlist(m)
			var want *txtar.File
			for i := range ar.Files {
				if ar.Files[i].Name == "want/connlist.txt" {
					want = &ar.Files[i]
				}
			}
			if *update {
				if want == nil {
					ar.Files = append(ar.Files, txtar.File{Name: "want/connlist.txt"})
					want = &ar.Files[len(ar.Files)-1]
				}
				want.Data = []byte(got)
				require.NoError(t, os.WriteFile(file, txtar.Format(ar), 0o644))
				return
			}
			require.NotNil(t, want, "%s has no want/connlist.txt; run go test -update and review it", file)
			if d := cmp.Diff(string(want.Data), got); d != "" {
				t.Errorf("%s: connections differ (-want +got):\n%s", file, d)
			}
		})
	}
}
