package reach_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/render"
)

// The oracle: netpol-analyzer (github.com/np-guard/netpol-analyzer), whose
// test corpus and expected connectivity lists ship in its Go module. Its
// tests/ hold one cluster per directory and test_outputs/connlist the
// connections it computes, one "src => dst : conns" line each.
//
// Its documented difference: netpol-analyzer never matches pods with an
// ipBlock (ipBlocks and ANP networks select addresses outside the
// cluster only). The clusters here are computed with no pod or service
// CIDR, so that every address is outside the cluster and reachgate does
// the same.
const netpolAnalyzer = "github.com/np-guard/netpol-analyzer@v1.4.4"

var corpusOnce struct {
	sync.Once
	dir string
	err error
}

// netpolAnalyzerDir downloads the module (once; the module cache keeps it)
// and returns its directory.
func netpolAnalyzerDir(t *testing.T) string {
	t.Helper()
	corpusOnce.Do(func() {
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "mod", "download", "-json", netpolAnalyzer)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.Output()
		if err != nil {
			corpusOnce.err = fmt.Errorf("go mod download %s: %w\n%s", netpolAnalyzer, err, out)
			return
		}
		var m struct{ Dir, Error string }
		if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
			corpusOnce.err = fmt.Errorf("go mod download %s: %v %s", netpolAnalyzer, err, m.Error)
			return
		}
		corpusOnce.dir = m.Dir
	})
	require.NoError(t, corpusOnce.err)
	return corpusOnce.dir
}

// oracleDifferences are the corpus cases where reachgate differs from
// netpol-analyzer on purpose, each with the reason.
var oracleDifferences = map[string]string{
	"example_pods_w_same_owner_and_labels_gap_anp_good":  ownerGrouping,
	"example_pods_w_same_owner_and_labels_gap_banp_good": ownerGrouping,
}

const ownerGrouping = "netpol-analyzer merges bare Pods that share an ownerReference (internal-security) into one workload; " +
	"reachgate models each Pod manifest as its own workload, so the same flows carry other names"

// npOnlyAgreeing are the NetworkPolicy-only cases of the corpus that
// reachgate agrees on, kept so that they stay agreed. The other
// NetworkPolicy-only cases differ in how workloads are found, not in
// policy semantics: netpol-analyzer merges Pods of one owner (names with
// generated suffixes) into one workload, and takes objects that reachgate
// refuses as invalid.
var npOnlyAgreeing = map[string]bool{
	"demo_app_with_routes_and_ingress":                       true,
	"exposure_test_pod_exposed_only_to_representative_peers": true,
	"minimal_test_in_ns":                                     true,
	"multiple_ingress_objects_with_different_ports":          true,
	"new_online_boutique":                                    true,
	"new_online_boutique_synthesis":                          true,
	"one_ingress_multiple_ports":                             true,
	"one_ingress_multiple_services":                          true,
	"online_boutique_workloads_no_ns":                        true,
	"onlineboutique_workloads":                               true,
}

// TestNetpolAnalyzerAdminPolicies compares reachgate with netpol-analyzer
// on every AdminNetworkPolicy and BaselineAdminNetworkPolicy case of its
// corpus that has a connectivity list (every directory whose name says
// anp or banp), and on the NetworkPolicy-only cases in npOnlyAgreeing.
func TestNetpolAnalyzerAdminPolicies(t *testing.T) {
	t.Parallel()
	root := netpolAnalyzerDir(t)
	dirs, err := os.ReadDir(filepath.Join(root, "tests"))
	require.NoError(t, err)
	n := 0
	for _, d := range dirs {
		name := d.Name()
		if !d.IsDir() || !(strings.Contains(name, "anp") || npOnlyAgreeing[name]) {
			continue
		}
		want := filepath.Join(root, "test_outputs", "connlist", name+"_connlist_output.txt")
		if _, err := os.Stat(want); err != nil {
			continue // a bad-path case: netpol-analyzer refuses it
		}
		n++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if why, ok := oracleDifferences[name]; ok {
				t.Skipf("differs from netpol-analyzer on purpose: %s", why)
			}
			compareWithOracle(t, filepath.Join(root, "tests", name), want)
		})
	}
	require.Greater(t, n, 60, "the corpus lost its cases")
}

// oracleCluster loads a corpus directory the way netpol-analyzer does: all
// its manifests, every namespace they mention existing, no pod CIDR.
func oracleCluster(t *testing.T, dir string) *model.Cluster {
	t.Helper()
	fs := filesys.MakeFsOnDisk()
	objs, _, err := render.ManifestsRoot(fs, dir, dir)
	require.NoError(t, err)
	base := &model.Cluster{Externals: []model.External{}}
	seen := map[string]bool{}
	for _, o := range objs {
		md, _ := o.Doc["metadata"].(map[string]any)
		ns, _ := md["namespace"].(string)
		if ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		base.Namespaces = append(base.Namespaces, model.Namespace{Name: ns, Labels: map[string]string{model.NamespaceNameLabel: ns}, Inventory: true})
	}
	c, errs := render.Decode(objs, base)
	require.Empty(t, errs, "reachgate refuses objects netpol-analyzer takes")
	return c
}

func compareWithOracle(t *testing.T, dir, wantFile string) {
	c := oracleCluster(t, dir)
	m := reach.Compute(c)
	data, err := os.ReadFile(wantFile)
	require.NoError(t, err)
	want := parseConnlist(t, string(data))
	v6 := strings.Contains(string(data), "::")

	// Every workload pair and every (workload, external range) pair.
	var diffs []string
	check := func(s, d int32) {
		src, dst := m.Peers[s], m.Peers[d]
		var got model.PortSet
		if a := m.Find(s, d); a != nil {
			got = a.Ports
		}
		exp, ok := want.lookup(src, dst)
		if !ok {
			return // an IPv6 range where netpol-analyzer considers IPv4 only
		}
		if !got.Equal(exp) {
			diffs = append(diffs, fmt.Sprintf("%s => %s: reachgate %s, netpol-analyzer %s", oracleName(src), oracleName(dst), portsText(got), portsText(exp)))
		}
	}
	for s := range m.Peers {
		for d := range m.Peers {
			if s == d || (m.Peers[s].Workload == nil && m.Peers[d].Workload == nil) {
				continue
			}
			if !v6 && (m.Peers[s].Workload == nil && m.Peers[s].Range.From.Is6() || m.Peers[d].Workload == nil && m.Peers[d].Range.From.Is6()) {
				continue
			}
			check(int32(s), int32(d))
		}
	}
	// Every workload netpol-analyzer names must be one of reachgate's.
	names := map[string]bool{}
	for _, p := range m.Peers {
		if p.Workload != nil {
			names[oracleName(p)] = true
		}
	}
	for w := range want.workloads {
		if !names[w] {
			diffs = append(diffs, "netpol-analyzer has workload "+w+", reachgate does not")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%d differences:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
}

func oracleName(p model.Peer) string {
	if p.Workload != nil {
		return p.Workload.Namespace + "/" + p.Workload.Name + "[" + p.Workload.Kind + "]"
	}
	return p.Range.String()
}

func portsText(p model.PortSet) string {
	if p.IsEmpty() {
		return "nothing"
	}
	if p.IsAll() {
		return "All Connections"
	}
	return p.String()
}

type oracleLine struct {
	srcW, dstW string          // workload names, "" for addresses
	srcA, dstA []model.IPRange // address ranges
	ports      model.PortSet
}

type oracleList struct {
	lines     []oracleLine
	workloads map[string]bool
}

func parseConnlist(t *testing.T, s string) *oracleList {
	t.Helper()
	out := &oracleList{workloads: map[string]bool{}}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, "{") {
			continue // empty, or the ingress controller, which reachgate does not model
		}
		src, rest, ok := strings.Cut(line, " => ")
		require.True(t, ok, "line %q", line)
		dst, conns, ok := strings.Cut(rest, " : ")
		require.True(t, ok, "line %q", line)
		var l oracleLine
		l.srcW, l.srcA = parseOracleEnd(t, src)
		l.dstW, l.dstA = parseOracleEnd(t, dst)
		for _, w := range []string{l.srcW, l.dstW} {
			if w != "" {
				out.workloads[w] = true
			}
		}
		l.ports = parseOracleConns(t, conns)
		out.lines = append(out.lines, l)
	}
	return out
}

func parseOracleEnd(t *testing.T, s string) (string, []model.IPRange) {
	if strings.Contains(s, "/") && strings.Contains(s, "[") {
		return s, nil
	}
	var rs []model.IPRange
	for _, part := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(part, "-")
		if !ok {
			to = from
		}
		a, err := netip.ParseAddr(from)
		require.NoError(t, err, "address range %q", s)
		b, err := netip.ParseAddr(to)
		require.NoError(t, err, "address range %q", s)
		rs = append(rs, model.IPRange{From: a, To: b})
	}
	return "", rs
}

// parseOracleConns reads "All Connections" or "SCTP 1-9002,9004-65535,TCP 80".
func parseOracleConns(t *testing.T, s string) model.PortSet {
	if s == "All Connections" {
		return model.AllPorts()
	}
	var out model.PortSet
	proto := model.Protocol(255)
	for _, tok := range strings.Split(s, ",") {
		if p, r, ok := strings.Cut(tok, " "); ok {
			var err error
			proto, err = model.ParseProtocol(p)
			require.NoError(t, err, "conns %q", s)
			tok = r
		}
		require.NotEqual(t, model.Protocol(255), proto, "conns %q", s)
		from, to, ok := strings.Cut(tok, "-")
		if !ok {
			to = from
		}
		a, err := strconv.Atoi(from)
		require.NoError(t, err, "conns %q", s)
		b, err := strconv.Atoi(to)
		require.NoError(t, err, "conns %q", s)
		out = out.Union(model.SinglePort(proto, uint16(a), uint16(b)))
	}
	return out
}

// lookup finds what netpol-analyzer allows from src to dst; ok is false
// for an address family it does not consider.
func (o *oracleList) lookup(src, dst model.Peer) (model.PortSet, bool) {
	match := func(w string, rs []model.IPRange, p model.Peer) bool {
		if p.Workload != nil {
			return w == oracleName(p)
		}
		for _, r := range rs {
			if r.ContainsRange(p.Range) {
				return true
			}
		}
		return false
	}
	var out model.PortSet
	for _, l := range o.lines {
		if match(l.srcW, l.srcA, src) && match(l.dstW, l.dstA, dst) {
			out = out.Union(l.ports)
		}
	}
	return out, true
}
