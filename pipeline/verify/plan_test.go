package verify

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

// compilePlans compiles c (with lab addresses) and renders every pod's
// plan, headed by the pod and its address.
func compilePlans(t *testing.T, c *model.Cluster) (string, []string) {
	t.Helper()
	bits, cidrs, err := labFamily(c)
	require.NoError(t, err)
	pods, err := labPods(c, bits, cidrs)
	require.NoError(t, err)
	cp := newCompiler(c, bits, pods)
	taken := map[netip.Addr]bool{}
	for _, p := range pods {
		taken[p.ip] = true
	}
	hosts, why := cp.hostAddresses(hostEndpoints(c), taken)
	require.Empty(t, why)
	cp.hosts = hosts
	plans, err := cp.compile()
	require.NoError(t, err)
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString("# host " + model.FQDNPrefix + h.endpoint + ": " + h.name + " resolves to " + h.addr.String() + "\n")
	}
	for _, p := range pods {
		b.WriteString("# " + p.w.Key() + " " + p.ip.String() + "\n")
		pl := plans[p]
		if !pl.filters(true) && !pl.filters(false) {
			b.WriteString("# not isolated: no table\n\n")
			continue
		}
		b.WriteString(pl.text(bits))
		b.WriteString("\n")
	}
	return b.String(), cp.warnings
}

func TestCompileShop(t *testing.T) {
	t.Parallel()
	c, err := AssignAddresses(shop())
	require.NoError(t, err)
	text, warnings := compilePlans(t, c)
	assert.Empty(t, warnings)
	golden(t, "shop.nft", text)
}

func TestCompileEdge(t *testing.T) {
	t.Parallel()
	c, err := AssignAddresses(edge())
	require.NoError(t, err)
	text, warnings := compilePlans(t, c)
	assert.Empty(t, warnings)
	golden(t, "edge.nft", text)
}

func TestAssignAddresses(t *testing.T) {
	t.Parallel()
	c := edge()
	c.Workloads[0].IPs = []netip.Addr{netip.MustParseAddr("10.244.7.7")}  // kept
	c.Workloads[1].IPs = []netip.Addr{netip.MustParseAddr("192.168.0.9")} // outside: replaced
	c.Workloads[2].IPs = []netip.Addr{netip.MustParseAddr("10.244.7.7")}  // taken: replaced
	got, err := AssignAddresses(c)
	require.NoError(t, err)
	ips := map[string]string{}
	for _, w := range got.Workloads {
		ips[w.Key()] = strings.Trim(strings.Join(strings.Fields(strings.Trim(fmtAddrs(w.IPs), "[]")), ","), " ")
	}
	assert.Equal(t, map[string]string{
		"edge/a":           "10.244.7.7",
		"edge/b":           "10.244.0.2",
		"edge/c":           "10.244.0.3",
		"other/d":          "10.244.0.4",
		"other/node-agent": "", // hostNetwork: outside the lab
	}, ips)
	assert.Equal(t, "192.168.0.9", c.Workloads[1].IPs[0].String(), "the input must not change")

	tiny := edge()
	tiny.PodCIDRs = model.IPSetOf(netip.MustParsePrefix("10.244.0.0/30")) // network, gateway, one pod, broadcast
	_, err = AssignAddresses(tiny)
	assert.ErrorContains(t, err, "too small for 5 workloads")

	none := edge()
	none.PodCIDRs = model.IPSet{}
	_, err = AssignAddresses(none)
	assert.ErrorContains(t, err, "no pod CIDR")
}

func fmtAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

func TestRepresentative(t *testing.T) {
	t.Parallel()
	c := edge()
	rng := func(from, to string) model.IPRange {
		return model.IPRange{From: netip.MustParseAddr(from), To: netip.MustParseAddr(to)}
	}
	for _, tc := range []struct {
		r     model.IPRange
		taken string
		want  string
	}{
		{rng("0.0.0.0", "10.95.255.255"), "", "1.0.0.0"},
		{rng("0.0.0.0", "10.95.255.255"), "1.0.0.0", "1.0.0.1"},
		{rng("169.254.169.254", "169.254.169.254"), "", "169.254.169.254"},
		{rng("10.0.0.0", "10.255.255.255"), "", "10.0.0.0"},
		{rng("10.244.0.0", "10.244.255.255"), "", ""},      // all pod CIDR
		{rng("10.96.0.0", "10.96.0.255"), "", "10.96.0.0"}, // service range, nothing better
		{rng("127.0.0.0", "127.255.255.255"), "", ""},
		{rng("224.0.0.0", "255.255.255.255"), "", ""},
		{rng("2001:db8::", "2001:db8::ffff"), "", ""}, // other family
	} {
		taken := map[netip.Addr]bool{}
		if tc.taken != "" {
			taken[netip.MustParseAddr(tc.taken)] = true
		}
		a, ok := representative(tc.r, 32, c, taken)
		if tc.want == "" {
			assert.False(t, ok, "%s: got %s", tc.r, a)
			continue
		}
		assert.Equal(t, tc.want, a.String(), tc.r.String())
	}
}
