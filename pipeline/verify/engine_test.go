package verify

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/config"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/render"
)

// TestEngineOverlays renders every overlay of this repository, computes its
// matrix with the engine and checks it against the kernel.
func TestEngineOverlays(t *testing.T) {
	opts := needLab(t)
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, config.FileName))
	require.NoError(t, err)
	cfg, err := config.Parse(config.FileName, data)
	require.NoError(t, err)
	nss, wls := cfg.ModelInventory()
	base := &model.Cluster{Namespaces: nss, Workloads: wls, Externals: cfg.ModelExternals(),
		PodCIDRs: cfg.PodCIDRs(), ServiceCIDRs: cfg.ServiceCIDRs()}
	require.NotEmpty(t, cfg.Overlays)
	for _, o := range cfg.Overlays {
		t.Run(o.Name, func(t *testing.T) {
			objs, err := render.OverlayRoot(filesys.MakeFsOnDisk(), root, filepath.Join(root, o.Path))
			require.NoError(t, err)
			decoded, errs := render.Decode(objs, base)
			require.Empty(t, errs)
			c, err := AssignAddresses(decoded)
			require.NoError(t, err)
			res := runLab(t, c, reach.Compute(c), opts)
			assert.Empty(t, mismatchLines(res))
			assert.NotZero(t, res.Allowed, "an overlay that allows nothing checks little")
		})
	}
}

func TestEngineEdge(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(edge())
	require.NoError(t, err)
	res := runLab(t, c, reach.Compute(c), opts)
	assert.Empty(t, mismatchLines(res))
	assert.NotZero(t, res.Allowed)
}

// TestEngineFlipped takes the engine's matrix for a synthetic cluster,
// changes one port of one flow each way, and checks the lab reports
// exactly that port.
func TestEngineFlipped(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(synth.Cluster(synth.Options{Workloads: 30, Namespaces: 4, Seed: 2}))
	require.NoError(t, err)
	m := reach.Compute(c)

	// A workload pair with an allowed TCP port, and one with nothing
	// allowed whose destination declares a TCP port.
	var allowed, denied int = -1, -1
	var allowedPort, deniedPort uint16
	for k, conn := range m.Connections {
		if m.Peers[conn.Src].Workload == nil || m.Peers[conn.Dst].Workload == nil {
			continue
		}
		if ps := m.Of(conn).Ports; len(ps.Ranges(model.TCP)) > 0 && !ps.IsAllOf(model.TCP) {
			rs := ps.Ranges(model.TCP)
			allowed, allowedPort = k, rs[0].From
			break
		}
	}
	var src, dst int32
search:
	for s := range m.Peers {
		for d := range m.Peers {
			ws, wd := m.Peers[s].Workload, m.Peers[d].Workload
			if s == d || ws == nil || wd == nil || m.Find(int32(s), int32(d)) != nil {
				continue
			}
			for _, p := range wd.Ports {
				if p.Protocol == model.TCP {
					src, dst, denied, deniedPort = int32(s), int32(d), 1, p.Port
					break search
				}
			}
		}
	}
	require.NotEqual(t, -1, allowed, "the synthetic cluster has no TCP flow between workloads")
	require.NotEqual(t, -1, denied, "the synthetic cluster has no denied pair with a TCP port")

	flipped := *m
	flipped.Allowances = slices.Clone(m.Allowances)
	flipped.Connections = slices.Clone(m.Connections)
	conn := flipped.Connections[allowed]
	flipped.Connections[allowed].Allowance = int32(len(flipped.Allowances))
	flipped.Allowances = append(flipped.Allowances, &model.Allowance{Ports: m.Of(conn).Ports.Subtract(model.SinglePort(model.TCP, allowedPort, allowedPort))})
	flipped.Connect(src, dst, &model.Allowance{Ports: model.SinglePort(model.TCP, deniedPort, deniedPort)})
	sort.Slice(flipped.Connections, func(i, j int) bool {
		a, b := flipped.Connections[i], flipped.Connections[j]
		return a.Src < b.Src || (a.Src == b.Src && a.Dst < b.Dst)
	})

	res := runLab(t, c, &flipped, opts)
	want := []string{
		fmt.Sprintf("%s -> %s %d/TCP: engine says deny, kernel says allow (connected)", m.Peers[conn.Src], m.Peers[conn.Dst], allowedPort),
		fmt.Sprintf("%s -> %s %d/TCP: engine says allow, kernel says deny", m.Peers[src], m.Peers[dst], deniedPort),
	}
	got := mismatchLines(res)
	require.Len(t, got, 2, "%q", got)
	assert.Contains(t, got, want[0])
	found := false
	for _, g := range got {
		found = found || strings.HasPrefix(g, want[1])
	}
	assert.True(t, found, "want %q in %q", want[1], got)
}

// shop6 is shop() on IPv6 only.
func shop6() *model.Cluster {
	c := shop()
	c.PodCIDRs = model.IPSetOf(netip.MustParsePrefix("fd00:244::/64"))
	c.ServiceCIDRs = model.IPSetOf(netip.MustParsePrefix("fd00:96::/108"))
	for i := range c.Policies {
		spec := &c.Policies[i].Spec
		for _, r := range spec.Ingress {
			for _, p := range r.From {
				if p.IPBlock != nil {
					p.IPBlock.CIDR, p.IPBlock.Except = "::/0", []string{"fd00::/8"}
				}
			}
		}
		for _, r := range spec.Egress {
			for _, p := range r.To {
				if p.IPBlock != nil {
					p.IPBlock.CIDR, p.IPBlock.Except = "::/0", []string{"fd00::/8"}
				}
			}
		}
	}
	return c
}

func TestEngineIPv6(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(shop6())
	require.NoError(t, err)
	require.True(t, c.Workloads[0].IPs[0].Is6())
	res := runLab(t, c, reach.Compute(c), opts)
	assert.Empty(t, mismatchLines(res))
	assert.NotZero(t, res.Externals)
	assert.Zero(t, res.Timeouts)
	// frontend -> backend 3000, backend -> db 5432, three pods -> dns
	// 53/UDP, and for the two external ranges outside fd00::/8 (below it,
	// and fe00:: up) backend -> 443 and 8080, 8081 -> frontend.
	assert.Equal(t, 5+3*2, res.Allowed)
}

// TestEngineTwoPodCIDRs spreads the pods over two pod CIDRs, so some
// pod-to-pod traffic is routed through the node.
func TestEngineTwoPodCIDRs(t *testing.T) {
	opts := needLab(t)
	c := shop()
	c.PodCIDRs = model.IPSetOf(netip.MustParsePrefix("10.244.0.0/30"), netip.MustParsePrefix("10.245.0.0/16"))
	c, err := AssignAddresses(c)
	require.NoError(t, err)
	require.Equal(t, "10.244.0.2", c.Workloads[0].IPs[0].String())
	require.Equal(t, "10.245.0.2", c.Workloads[1].IPs[0].String())
	res := runLab(t, c, reach.Compute(c), opts)
	assert.Empty(t, mismatchLines(res))
	assert.Zero(t, res.Timeouts)
	// Five pod-to-pod flows, and backend -> 443, internet -> 8080 and 8081
	// for the two external ranges outside 10.0.0.0/8 (below and above it).
	assert.Equal(t, 5+3*2, res.Allowed)
}

// TestEngineScenarios runs the lab on the engine's own scenarios, every
// pipeline/reach/testdata/**/*.txtar: each overlay in the archive (every
// directory with a kustomization.yaml outside bases/), or, without one,
// the archive's manifests (outside want/), with the archive's
// reachgate.yaml or the defaults the engine's scenario test uses. Scenarios about bad input, which do not
// render cleanly, have nothing for the lab to check and are passed over.
func TestEngineScenarios(t *testing.T) {
	var files []string
	_ = filepath.WalkDir("../reach/testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txtar") {
			files = append(files, p)
		}
		return nil
	})
	require.NotEmpty(t, files, "pipeline/reach/testdata holds no scenarios")
	opts := needLab(t)
	checked := 0
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		require.NoError(t, err)
		for _, sc := range scenarioClusters(t, file, ar) {
			t.Run(sc.name, func(t *testing.T) {
				c, err := AssignAddresses(sc.c)
				require.NoError(t, err)
				res := runLab(t, c, reach.Compute(c), opts)
				assert.Empty(t, mismatchLines(res))
			})
			checked++
		}
	}
	t.Logf("%d scenarios in %d files checked", checked, len(files))
	assert.NotZero(t, checked)
}

// scenarioDefaults is the configuration of a scenario without its own
// reachgate.yaml, as pipeline/reach's scenario test has it.
const scenarioDefaults = `
cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}
externals: [{name: internet, cidrs: [0.0.0.0/0, "::/0"]}]
`

type scenario struct {
	name string
	c    *model.Cluster
}

func scenarioClusters(t *testing.T, file string, ar *txtar.Archive) []scenario {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(file), ".txtar")
	fs := filesys.MakeFsInMemory()
	plain := filesys.MakeFsInMemory()
	cfg, err := config.Parse("default", []byte(scenarioDefaults))
	require.NoError(t, err)
	var dirs []string
	for _, f := range ar.Files {
		require.NoError(t, fs.WriteFile("/"+f.Name, f.Data))
		switch {
		case f.Name == config.FileName:
			parsed, err := config.Parse(f.Name, f.Data)
			if err != nil {
				t.Logf("%s: %v: not a scenario for the lab", file, err)
				return nil
			}
			cfg = parsed
		case filepath.Base(f.Name) == "kustomization.yaml" && !strings.HasPrefix(f.Name, "bases/"):
			dirs = append(dirs, "/"+filepath.Dir(f.Name))
		case !strings.HasPrefix(f.Name, "want") && (strings.HasSuffix(f.Name, ".yaml") || strings.HasSuffix(f.Name, ".yml")):
			require.NoError(t, plain.WriteFile("/"+f.Name, f.Data))
		}
	}
	nss, wls := cfg.ModelInventory()
	base := &model.Cluster{Namespaces: nss, Workloads: wls, Externals: cfg.ModelExternals(),
		PodCIDRs: cfg.PodCIDRs(), ServiceCIDRs: cfg.ServiceCIDRs()}
	var out []scenario
	add := func(label string, objs []model.Object, err error) {
		if err != nil {
			t.Logf("%s %s: %v: not a scenario for the lab", file, label, err)
			return
		}
		c, errs := render.Decode(objs, base)
		if len(errs) > 0 {
			t.Logf("%s %s: %v: not a scenario for the lab", file, label, errs)
			return
		}
		out = append(out, scenario{name: name + label, c: c})
	}
	if len(dirs) == 0 {
		objs, _, err := render.ManifestsRoot(plain, "/", "/")
		add("", objs, err)
		return out
	}
	for _, d := range dirs {
		objs, err := render.OverlayRoot(fs, "/", d)
		add(strings.ReplaceAll(d, "/", "_"), objs, err)
	}
	return out
}
