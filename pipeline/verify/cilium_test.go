package verify

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// ciliumScenario renders one of the engine's Cilium scenarios and gives it
// lab addresses.
func ciliumScenario(t *testing.T, name string) *model.Cluster {
	t.Helper()
	file := "../reach/testdata/scenarios/" + name + ".txtar"
	ar, err := txtar.ParseFile(file)
	require.NoError(t, err)
	scs := scenarioClusters(t, file, ar)
	require.Len(t, scs, 1)
	require.NotEmpty(t, scs[0].c.CiliumPolicies)
	c, err := AssignAddresses(scs[0].c)
	require.NoError(t, err)
	return c
}

// TestCompileCilium renders the plans of the Cilium scenarios: deny rules
// before the allows, allows beside the NetworkPolicy's, CIDRs without the
// pod CIDR, host names as the addresses the lab resolves them to.
func TestCompileCilium(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"cilium-deny-and-fqdn", "cilium-deny-allow-world", "cilium-l3-l4"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text, warnings := compilePlans(t, ciliumScenario(t, name))
			assert.Empty(t, warnings)
			golden(t, name+".nft", text)
		})
	}
}

func TestMatchPattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern string
		match   []string
		miss    []string
	}{
		// docs.cilium.io "DNS based" policy: "*" within one label, a
		// leading "**." one or more labels, "*" alone every name.
		{"*.cilium.io", []string{"sub.cilium.io", "a-b_c.cilium.io", "SUB.Cilium.IO"}, []string{"cilium.io", "a.b.cilium.io", "sub.cilium.io.evil"}},
		{"**.cilium.io", []string{"sub.cilium.io", "a.b.cilium.io"}, []string{"cilium.io", "subcilium.io"}},
		{"api-*.partner.io", []string{"api-.partner.io", "api-eu.partner.io"}, []string{"api.partner.io", "x-api-eu.partner.io"}},
		{"sub*.cilium.io", []string{"sub.cilium.io", "subdomain.cilium.io"}, []string{"a.sub.cilium.io"}},
		{"*", []string{"cilium.io", "a.b.c"}, nil},
		{"cilium.io", []string{"cilium.io", "CILIUM.io"}, []string{"ciliumXio", "www.cilium.io"}},
	} {
		for _, n := range tc.match {
			assert.True(t, fqdnSelects(model.FQDNSelector{MatchPattern: tc.pattern}, n), "%s should match %s", tc.pattern, n)
		}
		for _, n := range tc.miss {
			assert.False(t, fqdnSelects(model.FQDNSelector{MatchPattern: tc.pattern}, n), "%s should not match %s", tc.pattern, n)
		}
		// The name the lab resolves for a pattern endpoint matches it.
		assert.True(t, fqdnSelects(model.FQDNSelector{MatchPattern: tc.pattern}, hostName(tc.pattern)), hostName(tc.pattern))
	}
	assert.True(t, fqdnSelects(model.FQDNSelector{MatchName: "api.stripe.com"}, "api.stripe.com"))
	assert.False(t, fqdnSelects(model.FQDNSelector{MatchName: "api.stripe.com"}, "x.api.stripe.com"))
	assert.False(t, fqdnSelects(model.FQDNSelector{MatchName: "api.stripe.com"}, hostName("*.stripe.com")))
	assert.Equal(t, "rgx.rgy.example.com", hostName("**.example.com"))
	assert.Equal(t, "api-rgx.partner.io", hostName("api-*.partner.io"))
}

// TestHostAddresses checks the lab's name-to-address map: each name gets
// an address of its own that no address block singles out, and none when
// the blocks leave no such address.
func TestHostAddresses(t *testing.T) {
	t.Parallel()
	c := ciliumScenario(t, "cilium-deny-allow-world")
	cp := newCompiler(c, 32, nil)
	taken := map[netip.Addr]bool{netip.MustParseAddr("10.0.0.0"): true}
	hosts, why := cp.hostAddresses([]string{"**.example.com", "api.partner.io"}, taken)
	require.Empty(t, why)
	require.Len(t, hosts, 2)
	// fromCIDRSet 0.0.0.0/0 except 10.0.0.0/8 does not hold every outside
	// address: the names resolve into 10.0.0.0/8, outside the pod and
	// service CIDRs, skipping the taken address.
	assert.Equal(t, "10.0.0.1", hosts[0].addr.String())
	assert.Equal(t, "10.0.0.2", hosts[1].addr.String())
	assert.Equal(t, "rgx.rgy.example.com", hosts[0].name)
	assert.True(t, taken[hosts[1].addr])

	// Two blocks that together cover the outside leave nothing.
	c.CiliumPolicies = append(c.CiliumPolicies, model.CiliumPolicy{Kind: model.KindCiliumClusterwideNetworkPolicy, Name: "halves",
		Rules: []model.CiliumRule{{EgressDeny: []model.CiliumPeerRule{
			{HasCIDR: true, CIDRs: mustSet("0.0.0.0/1")},
			{HasCIDR: true, CIDRs: mustSet("128.0.0.0/1")},
		}}}})
	hosts, why = newCompiler(c, 32, nil).hostAddresses([]string{"api.partner.io"}, map[netip.Addr]bool{})
	assert.Empty(t, hosts)
	assert.Contains(t, why, "no address of the lab family lies outside every address block")

	// A block holding every outside address (0.0.0.0/0) does not count.
	c.CiliumPolicies[len(c.CiliumPolicies)-1].Rules[0].EgressDeny = []model.CiliumPeerRule{{HasCIDR: true, CIDRs: mustSet("0.0.0.0/0")}}
	c.Policies = nil
	c.CiliumPolicies = c.CiliumPolicies[len(c.CiliumPolicies)-1:]
	hosts, why = newCompiler(c, 32, nil).hostAddresses([]string{"api.partner.io"}, map[netip.Addr]bool{})
	require.Empty(t, why)
	assert.Equal(t, "1.0.0.0", hosts[0].addr.String())
}

// TestCiliumSelectors checks how the lab reads Cilium endpoint selectors:
// sources, the namespace limit of a namespaced policy and what lifts it.
func TestCiliumSelectors(t *testing.T) {
	t.Parallel()
	c := ciliumScenario(t, "cilium-deny-allow-world")
	bits, cidrs, err := labFamily(c)
	require.NoError(t, err)
	pods, err := labPods(c, bits, cidrs)
	require.NoError(t, err)
	cp := newCompiler(c, bits, pods)
	names := func(m map[*pod]bool) []string {
		var out []string
		for p := range m {
			out = append(out, p.w.Key())
		}
		sort.Strings(out)
		return out
	}
	for _, tc := range []struct {
		ns      string
		sel     map[string]string
		subject bool
		want    []string
	}{
		{"app", map[string]string{"app": "batch"}, false, []string{"app/batch"}},
		{"data", map[string]string{"app": "batch"}, false, nil},                                                                 // limited to data
		{"data", map[string]string{"k8s:app": "batch", "k8s:io.kubernetes.pod.namespace": "app"}, false, []string{"app/batch"}}, // names it
		{"data", map[string]string{"any:io.kubernetes.pod.namespace": "app"}, false, []string{"app/api", "app/batch"}},
		{"app", map[string]string{"io.cilium.k8s.namespace.labels.tier": "data"}, false, []string{"data/db"}}, // namespace label
		{"", map[string]string{}, false, []string{"app/api", "app/batch", "data/db", "kube-system/coredns"}},
		{"app", map[string]string{}, false, []string{"app/api", "app/batch"}},
		// A namespaced policy's subject stays in its namespace: Cilium
		// replaces a k8s:io.kubernetes.pod.namespace of the user's.
		{"app", map[string]string{"k8s:io.kubernetes.pod.namespace": "data"}, true, []string{"app/api", "app/batch"}},
		{"app", map[string]string{"io.kubernetes.pod.namespace": "data"}, true, nil},
	} {
		got, err := cp.ciliumPods(tc.ns, &metav1.LabelSelector{MatchLabels: tc.sel}, tc.subject)
		require.NoError(t, err)
		assert.Equal(t, tc.want, names(got), "%s %v subject=%v", tc.ns, tc.sel, tc.subject)
	}
	_, err = cp.ciliumPods("app", &metav1.LabelSelector{MatchLabels: map[string]string{"reserved:host": ""}}, false)
	assert.ErrorContains(t, err, "source reserved")
}

// TestEngineCiliumFlipped changes the engine's matrix of a Cilium scenario
// on a host name in both directions and checks the lab reports exactly
// those ports: probes to host names reach the address the lab resolved
// and meet the toFQDNs and deny rules.
func TestEngineCiliumFlipped(t *testing.T) {
	opts := needLab(t)
	c := ciliumScenario(t, "cilium-deny-and-fqdn")
	m := reach.Compute(c)
	find := func(src, dst string) (int32, int32) {
		s, d := int32(-1), int32(-1)
		for i, p := range m.Peers {
			switch p.String() {
			case src:
				s = int32(i)
			case dst:
				d = int32(i)
			}
		}
		require.True(t, s >= 0 && d >= 0, "%s -> %s", src, dst)
		return s, d
	}
	flipped := *m
	flipped.Allowances = slices.Clone(m.Allowances)
	flipped.Connections = slices.Clone(m.Connections)
	set := func(src, dst string, ports func(model.PortSet) model.PortSet) {
		s, d := find(src, dst)
		for k, cn := range flipped.Connections {
			if cn.Src == s && cn.Dst == d {
				flipped.Connections[k].Allowance = int32(len(flipped.Allowances))
				flipped.Allowances = append(flipped.Allowances, &model.Allowance{Ports: ports(m.Of(cn).Ports)})
				return
			}
		}
		t.Fatalf("no flow %s -> %s", src, dst)
	}
	// toFQDNs *.github.com allows 443 (engine now says deny); the
	// egressDeny of world takes 25 from batch (engine now says allow).
	set("app/payments[Pod]", "fqdn:*.github.com", func(p model.PortSet) model.PortSet {
		return p.Subtract(model.SinglePort(model.TCP, 443, 443))
	})
	set("app/batch[Pod]", "fqdn:uploads.github.com", func(p model.PortSet) model.PortSet {
		return p.Union(model.SinglePort(model.TCP, 25, 25))
	})
	res := runLab(t, c, &flipped, opts)
	got := mismatchLines(res)
	require.Len(t, got, 2, "%q", got)
	assert.Contains(t, got, "app/payments[Pod] -> fqdn:*.github.com 443/TCP: engine says deny, kernel says allow (connected)")
	found := false
	for _, g := range got {
		found = found || strings.HasPrefix(g, "app/batch[Pod] -> fqdn:uploads.github.com 25/TCP: engine says allow, kernel says deny")
	}
	assert.True(t, found, "%q", got)
	assert.Zero(t, res.Timeouts)
	assert.Equal(t, 8, res.Externals, "5 IPv4 ranges and 3 host names")
}

// addCiliumPolicies adds random Cilium policies drawn from the cluster's
// own labels: namespaced and clusterwide; allow and deny rules; endpoints
// with and without a namespace, by namespace label, {}; entities; CIDRs
// and CIDR sets with except; toFQDNs names and patterns; ports, ranges,
// protocols and named ports; ports without a peer; enableDefaultDeny.
func addCiliumPolicies(c *model.Cluster, seed uint64, count int) {
	r := rand.New(rand.NewPCG(seed, 16))
	w := func() *model.Workload { return &c.Workloads[r.IntN(len(c.Workloads))] }
	one := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	endpoint := func(ns string) metav1.LabelSelector {
		x := w()
		s := metav1.LabelSelector{MatchLabels: map[string]string{}}
		if v, ok := x.Labels["app"]; ok && r.IntN(3) > 0 {
			s.MatchLabels[one("k8s:app", "any:app", "app")] = v
		}
		switch r.IntN(4) {
		case 0:
			s.MatchLabels[one("k8s:", "")+"io.kubernetes.pod.namespace"] = x.Namespace
		case 1:
			if n := c.Namespace(x.Namespace); n != nil && n.Labels["team"] != "" {
				s.MatchLabels["k8s:io.cilium.k8s.namespace.labels.team"] = n.Labels["team"]
			}
		case 2:
			s.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "k8s:tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{one("web", "db", "api")}}}
		}
		return s
	}
	ports := func() []model.CiliumPort {
		switch r.IntN(6) {
		case 0, 1:
			return nil
		case 2:
			return []model.CiliumPort{{Protocols: model.Protocols[:], From: 8000, To: 8001}}
		case 3:
			return []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: 443, To: 443}, {Protocols: []model.Protocol{model.UDP}, From: 53, To: 53}}
		case 4:
			return []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, Named: one("http", "metrics")}}
		}
		return []model.CiliumPort{{Protocols: model.Protocols[:], From: 1, To: model.MaxPort}}
	}
	fqdns := []model.FQDNSelector{{MatchName: "api.example.com"}, {MatchPattern: "*.example.com"},
		{MatchPattern: "**.example.com"}, {MatchName: "a.b.example.com"}, {MatchPattern: "api-*.partner.io"}}
	peer := func(ns string, egress, deny bool) model.CiliumPeerRule {
		pr := model.CiliumPeerRule{Ports: ports()}
		switch r.IntN(7) {
		case 0, 1:
			for n := 1 + r.IntN(2); n > 0; n-- {
				pr.Endpoints = append(pr.Endpoints, endpoint(ns))
			}
		case 2:
			pr.Entities = []string{one("world", "cluster", "all", "world-ipv4", "host", "kube-apiserver")}
		case 3:
			pr.HasCIDR = true
			pr.CIDRs = mustSet(one("0.0.0.0/0", "192.0.2.0/24", "10.0.0.0/8", "169.254.169.254/32"))
			if r.IntN(2) == 0 {
				pr.CIDRs = pr.CIDRs.Subtract(mustSet(one("192.0.2.128/25", "10.96.0.0/12", "169.254.0.0/16")))
			}
		case 4:
			if egress && !deny {
				pr.FQDNs = []model.FQDNSelector{fqdns[r.IntN(len(fqdns))]}
				if r.IntN(3) == 0 {
					pr.FQDNs = append(pr.FQDNs, fqdns[r.IntN(len(fqdns))])
				}
			}
		case 5:
			pr.Endpoints = []metav1.LabelSelector{{}}
		}
		return pr
	}
	for i := 0; i < count; i++ {
		x := w()
		p := model.CiliumPolicy{Kind: model.KindCiliumNetworkPolicy, Namespace: x.Namespace, Name: fmt.Sprintf("random-%d", i)}
		if r.IntN(3) == 0 {
			p.Kind, p.Namespace = model.KindCiliumClusterwideNetworkPolicy, ""
		}
		subject := metav1.LabelSelector{MatchLabels: map[string]string{}}
		if r.IntN(4) > 0 {
			subject.MatchLabels["app"] = x.Labels["app"]
		}
		rule := model.CiliumRule{Section: "spec", EndpointSelector: &subject}
		for n := r.IntN(3); n > 0; n-- {
			rule.Ingress = append(rule.Ingress, peer(p.Namespace, false, false))
		}
		for n := r.IntN(3); n > 0; n-- {
			rule.Egress = append(rule.Egress, peer(p.Namespace, true, false))
		}
		if r.IntN(2) == 0 {
			rule.IngressDeny = append(rule.IngressDeny, peer(p.Namespace, false, true))
		}
		if r.IntN(2) == 0 {
			rule.EgressDeny = append(rule.EgressDeny, peer(p.Namespace, true, true))
		}
		if r.IntN(3) == 0 {
			off := false
			if r.IntN(2) == 0 {
				rule.DefaultDenyIngress = &off
			} else {
				rule.DefaultDenyEgress = &off
			}
		}
		p.Rules = append(p.Rules, rule)
		c.CiliumPolicies = append(c.CiliumPolicies, p)
	}
}

// TestEngineRandomCilium runs the lab on synthetic clusters (NetworkPolicies
// and the Admin and Baseline tiers) with random Cilium policies on top:
// the engine and the kernel must agree on every probe.
func TestEngineRandomCilium(t *testing.T) {
	opts := needLab(t)
	withHosts := 0
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c := synth.Cluster(synth.Options{Workloads: 14, Namespaces: 3, Seed: seed, Small: true, AdminPolicies: int(seed % 3), Baseline: seed%2 == 0})
			addCiliumPolicies(c, seed, 8)
			c, err := AssignAddresses(c)
			require.NoError(t, err)
			res := runLab(t, c, reach.Compute(c), opts)
			assert.Empty(t, mismatchLines(res))
			assert.Empty(t, res.Warnings)
			assert.NotZero(t, res.Allowed)
			if len(hostEndpoints(c)) > 0 && !strings.Contains(strings.Join(res.Skipped, "\n"), "host names") {
				withHosts++
			}
		})
	}
	assert.NotZero(t, withHosts, "no seed probed host names")
}
