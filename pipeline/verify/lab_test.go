package verify

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/reachgate/reachgate/pipeline/model"
)

// needLab skips when this process cannot build a lab, and returns options
// with a prefix of its own whose leftovers are removed after the test.
// Lab tests do not call t.Parallel: TestRunInterruptedBySignal interrupts
// every run in the process, and the labs would compete for the CPUs.
func needLab(t *testing.T) Options {
	t.Helper()
	if err := CanRun(); err != nil {
		t.Skipf("skipping lab test: %v", err)
	}
	prefix := fmt.Sprintf("rgvt-%x-", time.Now().UnixNano()&0xffffff)
	t.Cleanup(func() {
		assert.Empty(t, leftovers(prefix), "the run left namespaces or links behind")
		require.NoError(t, Cleanup(prefix))
	})
	return Options{Prefix: prefix, Logf: t.Logf}
}

func runLab(t *testing.T, c *model.Cluster, m *model.Matrix, opts Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), c, m, opts)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, res.WriteText(&b))
	t.Log("\n" + b.String())
	return res
}

func mismatchLines(r *Result) []string {
	out := []string{}
	for _, m := range r.Mismatches {
		out = append(out, m.String())
	}
	return out
}

func TestShopAgrees(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(shop())
	require.NoError(t, err)
	res := runLab(t, c, matrix(t, c, []string{shopInternet}, shopFlows()...), opts)
	assert.Empty(t, mismatchLines(res))
	assert.Equal(t, 4, res.Workloads)
	assert.Equal(t, 1, res.Externals)
	assert.Equal(t, 4*3+4*2, res.Pairs)
	// 3000 from frontend, 5432 from backend, 53/UDP from three pods, 443
	// to the internet, 8080 and 8081 from it.
	assert.Equal(t, 1+1+3+1+2, res.Allowed)
	assert.Zero(t, res.Timeouts, "denials must answer at once")
}

// TestShopMismatches changes the hand-written matrix in one place at a
// time and checks the lab reports exactly that change.
func TestShopMismatches(t *testing.T) {
	const (
		fe  = "shop/frontend[Deployment]"
		be  = "shop/backend[Deployment]"
		db  = "shop/db[Deployment]"
		dns = "infra/dns[Deployment]"
		net = "11.0.0.0/8"
	)
	edit := func(fn func([]flow) []flow) []flow { return fn(shopFlows()) }
	without := func(i int) []flow { return edit(func(fs []flow) []flow { return append(fs[:i:i], fs[i+1:]...) }) }
	with := func(f flow) []flow { return append(shopFlows(), f) }
	replace := func(i int, p model.PortSet) []flow {
		return edit(func(fs []flow) []flow { fs[i].ports = p; return fs })
	}
	for _, tc := range []struct {
		name  string
		flows []flow
		want  []string
	}{{
		name:  "engine misses a TCP flow",
		flows: without(2),
		want:  []string{be + " -> " + db + " 5432/TCP: engine says deny, kernel says allow (connected)"},
	}, {
		name:  "engine invents a TCP flow",
		flows: with(flow{"shop/db", "shop/backend", ports("3000/TCP")}),
		want:  []string{db + " -> " + be + " 3000/TCP: engine says allow, kernel says deny (refused)"},
	}, {
		name:  "engine misses a UDP flow",
		flows: without(1),
		want:  []string{fe + " -> " + dns + " 53/UDP: engine says deny, kernel says allow (echoed)"},
	}, {
		name:  "engine invents a UDP flow to an undeclared port",
		flows: with(flow{"infra/dns", "shop/backend", ports("5353/UDP")}),
		want:  []string{dns + " -> " + be + " 5353/UDP: engine says allow, kernel says deny (blocked on egress)"},
	}, {
		name:  "engine's range one port too long",
		flows: replace(6, ports("8080-8082/TCP")),
		want:  []string{net + " -> " + fe + " 8082/TCP: engine says allow, kernel says deny (refused)"},
	}, {
		name:  "engine's range one port too short",
		flows: replace(6, ports("8080/TCP")),
		want:  []string{net + " -> " + fe + " 8081/TCP: engine says deny, kernel says allow (connected)"},
	}, {
		name:  "engine allows every port",
		flows: replace(4, ports("TCP")),
		want: []string{
			be + " -> " + net + " 1/TCP: engine says allow, kernel says deny (refused)",
			be + " -> " + net + " 444/TCP: engine says allow, kernel says deny (refused)",
			// backend's egress rules draw these edges too (its db rule).
			be + " -> " + net + " 5432/TCP: engine says allow, kernel says deny (refused)",
			be + " -> " + net + " 5433/TCP: engine says allow, kernel says deny (refused)",
			be + " -> " + net + " 65535/TCP: engine says allow, kernel says deny (refused)",
		},
	}, {
		name:  "engine misses an egress to the internet",
		flows: without(4),
		want:  []string{be + " -> " + net + " 443/TCP: engine says deny, kernel says allow (connected)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := needLab(t)
			c, err := AssignAddresses(shop())
			require.NoError(t, err)
			res := runLab(t, c, matrix(t, c, []string{shopInternet}, tc.flows...), opts)
			assert.Equal(t, tc.want, mismatchLines(res))
			assert.Zero(t, res.Timeouts)
		})
	}
}

// TestEdgeAgrees checks the compiled rules against a matrix worked out by
// hand for the corners of NetworkPolicy semantics.
func TestEdgeAgrees(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(edge())
	require.NoError(t, err)
	res := runLab(t, c, matrix(t, c, []string{shopInternet}, edgeFlows()...), opts)
	assert.Empty(t, mismatchLines(res))
	assert.Equal(t, 4, res.Workloads)
	assert.Contains(t, res.Skipped, "other/node-agent[DaemonSet]: hostNetwork, outside NetworkPolicy")
	assert.Zero(t, res.Timeouts)
}

func TestRunInterruptedBySignal(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(shop())
	require.NoError(t, err)
	sent := false
	opts.Logf = func(format string, args ...any) {
		t.Logf(format, args...)
		if !sent {
			sent = true
			require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
			time.Sleep(100 * time.Millisecond) // let the signal arrive
		}
	}
	_, err = Run(context.Background(), c, matrix(t, c, []string{shopInternet}, shopFlows()...), opts)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "verify interrupted")
	assert.Empty(t, leftovers(opts.Prefix))
}

func TestRunCancelledWhileProbing(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(shop())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts.Logf = func(format string, args ...any) {
		if strings.Contains(format, "probes over") {
			cancel()
		}
	}
	_, err = Run(ctx, c, matrix(t, c, []string{shopInternet}, shopFlows()...), opts)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, leftovers(opts.Prefix))
}

// TestCleanupCrashedRun builds a lab and drops it the way a killed process
// would, then removes it with Cleanup.
func TestCleanupCrashedRun(t *testing.T) {
	opts := needLab(t)
	c, err := AssignAddresses(shop())
	require.NoError(t, err)
	bits, cidrs, err := labFamily(c)
	require.NoError(t, err)
	pods, err := labPods(c, bits, cidrs)
	require.NoError(t, err)
	l := &lab{prefix: opts.Prefix + "crashed-", bits: bits, cidrs: cidrs, extIPs: []netip.Addr{netip.MustParseAddr("11.0.0.1")}}
	require.NoError(t, l.build(pods))
	for _, ns := range l.all {
		ns.close() // the process is gone: no handle left, only the names
	}
	require.Len(t, leftovers(opts.Prefix), 6, "node, four pods and the externals")

	require.NoError(t, Cleanup(opts.Prefix))
	assert.Empty(t, leftovers(opts.Prefix))
	assert.ErrorContains(t, Cleanup(""), "empty prefix")
}

// TestCleanupLinks removes links with the prefix from the current
// namespace; the test runs it in a namespace of its own.
func TestCleanupLinks(t *testing.T) {
	opts := needLab(t)
	err := inThread(func() error {
		h, err := netns.New()
		if err != nil {
			return err
		}
		defer h.Close()
		for _, name := range []string{opts.Prefix + "x", "keep0"} {
			if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
				return err
			}
		}
		if err := Cleanup(opts.Prefix); err != nil {
			return err
		}
		if _, err := netlink.LinkByName(opts.Prefix + "x"); err == nil {
			return fmt.Errorf("link %sx survived", opts.Prefix)
		}
		_, err = netlink.LinkByName("keep0")
		return err
	})
	require.NoError(t, err)
}
