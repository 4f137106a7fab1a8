package policy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

type flowDoc struct {
	Srcs     []string       `json:"srcs"`
	Dsts     []string       `json:"dsts"`
	SrcKind  string         `json:"srcKind"`
	SrcName  string         `json:"srcName"`
	DstKind  string         `json:"dstKind"`
	DstName  string         `json:"dstName"`
	Ports    map[string]any `json:"ports"`
	Promoted map[string]any `json:"promoted"`
	Extra    map[string]any `json:"extra"`
}

type reachDoc struct {
	Reach struct {
		Peers            map[string]map[string]any `json:"peers"`
		Flows            []flowDoc                 `json:"flows"`
		ByDst            map[string][]flowDoc      `json:"byDst"`
		FromExternal     []flowDoc                 `json:"fromExternal"`
		AddressDependent []flowDoc                 `json:"addressDependent"`
	} `json:"reach"`
	Promotion *struct {
		From  string    `json:"from"`
		Flows []flowDoc `json:"flows"`
	} `json:"promotion"`
}

func decodeInput(t *testing.T, in Input) reachDoc {
	t.Helper()
	v, _, err := buildInput(in)
	require.NoError(t, err)
	x, err := ast.JSON(v)
	require.NoError(t, err)
	raw, err := json.Marshal(x)
	require.NoError(t, err)
	var d reachDoc
	require.NoError(t, json.Unmarshal(raw, &d))
	return d
}

func TestFlowsGroupConnectionsBySourceAndAllowance(t *testing.T) {
	t.Parallel()
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "app", Name: "a", Kind: "Deployment"},
		{Namespace: "app", Name: "b", Kind: "Deployment"},
		{Namespace: "app", Name: "c", Kind: "Deployment"},
		{Namespace: "app", Name: "db", Kind: "StatefulSet"},
	}}
	b := newMatrixBuilder(c,
		model.Peer{Range: model.PrefixRange(pfx("0.0.0.0/5")), External: "internet"},
		model.Peer{Range: model.PrefixRange(pfx("8.0.0.0/7")), External: "internet"},
		model.Peer{Range: model.PrefixRange(pfx("203.0.113.0/24")), External: "partner"},
	)
	shared := []model.Grant{{Ports: ports(model.TCP, 5432), Egress: notIsolatedEg, Ingress: ing("app/allow-db", 0)}}
	a1 := &model.Allowance{Ports: ports(model.TCP, 5432), Grants: shared}
	a2 := &model.Allowance{Ports: ports(model.TCP, 9090), Grants: []model.Grant{{Ports: ports(model.TCP, 9090), Egress: notIsolatedEg, Ingress: notIsolatedIng}}, AddressDependent: true}
	add := func(s, d string, a *model.Allowance) {
		b.m.Connect(b.peer(s), b.peer(d), a)
	}
	add("app/a", "app/db", a1)
	add("app/b", "app/db", a1)
	add("app/c", "app/db", a2)
	add("0.0.0.0/5", "app/db", a1)
	add("8.0.0.0/7", "app/db", a1)
	add("203.0.113.0/24", "app/db", a1)
	add("app/a", "app/b", a1)
	add("app/a", "app/c", a1)
	add("app/a", "203.0.113.0/24", a1)
	m := b.done()

	d := decodeInput(t, Input{Matrix: m})
	type flat struct {
		Srcs, Dsts                         []string
		SrcKind, SrcName, DstKind, DstName string
	}
	var got []flat
	for _, f := range d.Reach.Flows {
		got = append(got, flat{f.Srcs, f.Dsts, f.SrcKind, f.SrcName, f.DstKind, f.DstName})
	}
	assert.Equal(t, []flat{
		// app/a reaches app/b, app/c and app/db the same way: one flow.
		{[]string{"app/a"}, []string{"app/b", "app/c", "app/db"}, "workload", "", "workload", ""},
		{[]string{"app/b"}, []string{"app/db"}, "workload", "", "workload", ""},
		{[]string{"app/c"}, []string{"app/db"}, "workload", "", "workload", ""},
		// Both internet ranges reach app/db the same way: one flow.
		{[]string{"0.0.0.0/5", "8.0.0.0/7"}, []string{"app/db"}, "external", "internet", "workload", ""},
		// The same allowance from another endpoint is another flow.
		{[]string{"203.0.113.0/24"}, []string{"app/db"}, "external", "partner", "workload", ""},
		{[]string{"app/a"}, []string{"203.0.113.0/24"}, "workload", "", "external", "partner"},
	}, got)
	assert.Len(t, d.Reach.ByDst["app/db"], 5)
	assert.Len(t, d.Reach.ByDst["app/b"], 1)
	assert.Equal(t, d.Reach.ByDst["app/b"], d.Reach.ByDst["app/c"], "the same flow")
	assert.Len(t, d.Reach.FromExternal, 2)
	require.Len(t, d.Reach.AddressDependent, 1)
	assert.Equal(t, []string{"app/c"}, d.Reach.AddressDependent[0].Srcs)
	assert.Len(t, d.Reach.Peers, 7)
	assert.Equal(t, "external", d.Reach.Peers["0.0.0.0/5"]["kind"])
	assert.Equal(t, "partner", d.Reach.Peers["203.0.113.0/24"]["name"])
	assert.Nil(t, d.Promotion)
}

func TestPromotionFlowsKeepOnlyWhatExceeds(t *testing.T) {
	t.Parallel()
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "app", Name: "a", Kind: "Deployment"},
		{Namespace: "app", Name: "b", Kind: "Deployment"},
		{Namespace: "app", Name: "new", Kind: "Deployment"},
		{Namespace: "app", Name: "db", Kind: "StatefulSet"},
	}}
	grant := func(s model.PortSet) *model.Allowance {
		return &model.Allowance{Ports: s, Grants: []model.Grant{{Ports: s, Egress: notIsolatedEg, Ingress: ing("app/allow-db", 0)}}}
	}
	prod := newMatrixBuilder(c)
	prod.conn("app/a", "app/db", false, grant(ports(model.TCP, 5432)).Grants...)
	prod.conn("app/b", "app/db", false, grant(ports(model.TCP, 5432, 5433)).Grants...)
	prod.conn("app/new", "app/db", false, grant(ports(model.TCP, 5432)).Grants...)
	prod.conn("app/a", "app/b", false, grant(ports(model.TCP, 80)).Grants...)

	// Staging has no app/new at all, and its peers are in another order.
	sc := &model.Cluster{Workloads: []model.Workload{c.Workloads[3], c.Workloads[1], c.Workloads[0]}}
	staging := newMatrixBuilder(sc)
	staging.conn("app/a", "app/db", false, grant(ports(model.TCP, 5432)).Grants...)
	staging.conn("app/b", "app/db", false, grant(ports(model.TCP, 5432)).Grants...)
	staging.conn("app/a", "app/b", false, grant(ports(model.TCP, 80, 443)).Grants...)

	d := decodeInput(t, Input{Matrix: prod.done(), Promotion: &Promotion{From: "staging", Matrix: staging.done()}})
	require.NotNil(t, d.Promotion)
	assert.Equal(t, "staging", d.Promotion.From)
	require.Len(t, d.Promotion.Flows, 2)
	wider, added := d.Promotion.Flows[0], d.Promotion.Flows[1]
	assert.Equal(t, []string{"app/b"}, wider.Srcs)
	assert.Equal(t, map[string]any{"TCP": []any{map[string]any{"from": 5432.0, "to": 5433.0}}}, wider.Ports)
	assert.Equal(t, map[string]any{"TCP": []any{map[string]any{"from": 5432.0, "to": 5432.0}}}, wider.Promoted)
	assert.Equal(t, map[string]any{"TCP": []any{map[string]any{"from": 5433.0, "to": 5433.0}}}, wider.Extra)
	assert.Equal(t, []string{"app/new"}, added.Srcs)
	assert.Empty(t, added.Promoted)
	assert.Equal(t, added.Ports, added.Extra)
}

func TestPromotionMatchesExternalRangesByAddress(t *testing.T) {
	t.Parallel()
	a := []model.Workload{{Namespace: "app", Name: "a", Kind: "Deployment"}}
	grant := func(s model.PortSet) []model.Grant {
		return []model.Grant{{Ports: s, Egress: eg("app/allow-egress", 0), Ingress: notIsolatedIng}}
	}
	// Staging cuts the internet in halves; prod, with other ipBlocks, in
	// quarters and a range across the halves.
	staging := newMatrixBuilder(&model.Cluster{Workloads: a},
		model.Peer{Range: model.PrefixRange(pfx("0.0.0.0/1")), External: "internet"},
		model.Peer{Range: model.PrefixRange(pfx("128.0.0.0/1")), External: "internet"},
	)
	staging.conn("app/a", "0.0.0.0/1", false, grant(ports(model.TCP, 443))...)
	staging.conn("app/a", "128.0.0.0/1", false, grant(ports(model.TCP, 22, 443))...)
	staging.conn("0.0.0.0/1", "app/a", false, grant(ports(model.TCP, 8080))...)

	across := model.Peer{Range: rangeOf("64.0.0.0", "191.255.255.255"), External: "internet"}
	prod := newMatrixBuilder(&model.Cluster{Workloads: a},
		model.Peer{Range: model.PrefixRange(pfx("0.0.0.0/2")), External: "internet"},
		across,
		model.Peer{Range: model.PrefixRange(pfx("192.0.0.0/2")), External: "internet"},
	)
	prod.conn("app/a", "0.0.0.0/2", false, grant(ports(model.TCP, 443))...)       // inside a half: same ports
	prod.conn("app/a", across.Key(), false, grant(ports(model.TCP, 80, 443))...)  // 443 on both halves; 80 nowhere
	prod.conn("app/a", "192.0.0.0/2", false, grant(ports(model.TCP, 22, 443))...) // inside the upper half
	prod.conn("0.0.0.0/2", "app/a", false, grant(ports(model.TCP, 8080))...)      // from inside a half
	prod.conn("192.0.0.0/2", "app/a", false, grant(ports(model.TCP, 8080))...)    // staging has nothing from there

	d := decodeInput(t, Input{Matrix: prod.done(), Promotion: &Promotion{From: "staging", Matrix: staging.done()}})
	require.NotNil(t, d.Promotion)
	require.Len(t, d.Promotion.Flows, 2)
	in, out := d.Promotion.Flows[0], d.Promotion.Flows[1] // by first destination: app/a, then the range
	assert.Equal(t, []string{"64.0.0.0/2,128.0.0.0/2"}, out.Dsts)
	assert.Equal(t, map[string]any{"TCP": []any{map[string]any{"from": 443.0, "to": 443.0}}}, out.Promoted)
	assert.Equal(t, map[string]any{"TCP": []any{map[string]any{"from": 80.0, "to": 80.0}}}, out.Extra)
	assert.Equal(t, []string{"192.0.0.0/2"}, in.Srcs)
	assert.Empty(t, in.Promoted)
}

// TestGroupFlowsPartitionsTheConnections checks on random matrices that
// flows cover every connection exactly once, with its allowance, promoted
// allowance and peer classes, and that grouping rows on several cores
// gives the same flows as grouping them on one.
func TestGroupFlowsPartitionsTheConnections(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 11))
	for iter := range 300 {
		m := &model.Matrix{}
		n := 2 + r.IntN(40)
		names := []string{"", "internet", "partner"}
		for i := range n {
			if i < n*2/3 {
				m.Peers = append(m.Peers, model.Peer{Workload: &model.Workload{Namespace: "ns", Name: fmt.Sprint("w", i), Kind: "Deployment"}})
				continue
			}
			ip := netip.AddrFrom4([4]byte{byte(i), 0, 0, 0})
			m.Peers = append(m.Peers, model.Peer{Range: model.IPRange{From: ip, To: ip}, External: names[r.IntN(len(names))]})
		}
		pool := make([]*model.Allowance, 1+r.IntN(4))
		for i := range pool {
			pool[i] = &model.Allowance{Ports: ports(model.TCP, uint16(80+i))}
		}
		var promo []*model.Allowance
		withPromo := iter%2 == 1
		for s := range n {
			for d := range n {
				if s == d || r.IntN(3) == 0 {
					continue
				}
				m.Connect(int32(s), int32(d), pool[r.IntN(len(pool))])
				if withPromo {
					promo = append(promo, []*model.Allowance{nil, pool[0]}[r.IntN(2)])
				}
			}
		}
		pc := newPeerClasses(m)
		one := groupFlowsIn(1, m, pc, m.Connections, promo)
		covered := map[[2]int32]int{}
		for k, f := range one {
			if k > 0 {
				prev := one[k-1]
				require.True(t, prev.dsts[0] < f.dsts[0] || (prev.dsts[0] == f.dsts[0] && prev.srcs[0] < f.srcs[0]), "flows out of order")
			}
			for _, s := range f.srcs {
				require.Equal(t, pc.class[s], f.srcClass)
				for _, d := range f.dsts {
					require.Equal(t, pc.class[d], f.dstClass)
					covered[[2]int32{s, d}]++
					i := slices.IndexFunc(m.Connections, func(c model.Connection) bool { return c.Src == s && c.Dst == d })
					require.GreaterOrEqual(t, i, 0, "flow %d holds %d->%d, which is no connection", k, s, d)
					require.Same(t, m.Of(m.Connections[i]), f.a)
					if withPromo {
						require.Same(t, promo[i], f.promo)
					}
				}
			}
		}
		require.Len(t, covered, len(m.Connections))
		for pair, times := range covered {
			require.Equal(t, 1, times, "connection %v in %d flows", pair, times)
		}
		for _, parts := range []int{2, 3, 7} {
			require.Equal(t, one, groupFlowsIn(parts, m, pc, m.Connections, promo), "%d runs", parts)
		}
	}
}

func TestIsolatedListsWorkloadsSelectedPerPolicyType(t *testing.T) {
	t.Parallel()
	w := func(name string) model.Workload {
		return model.Workload{Namespace: "app", Name: name, Kind: "Deployment", Labels: map[string]string{"app": name}}
	}
	pol := func(name string, sel map[string]string, spec networkingv1.NetworkPolicySpec) model.Policy {
		spec.PodSelector = metav1.LabelSelector{MatchLabels: sel}
		return model.Policy{NetworkPolicy: &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name}, Spec: spec}}
	}
	c := &model.Cluster{
		Namespaces: []model.Namespace{{Name: "app", Labels: map[string]string{model.NamespaceNameLabel: "app"}}},
		Workloads:  []model.Workload{w("a"), w("b"), w("c"), w("d")},
		Policies: []model.Policy{
			// Types given: ingress only.
			pol("in-a", map[string]string{"app": "a"}, networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}),
			// No types but egress rules: both, by the API's default.
			pol("both-b", map[string]string{"app": "b"}, networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}}),
			// Egress only.
			pol("out-c", map[string]string{"app": "c"}, networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}),
		},
	}
	m := reach.Compute(c)
	v, _, err := buildInput(Input{Cluster: c, Matrix: m})
	require.NoError(t, err)
	x, err := ast.JSON(v)
	require.NoError(t, err)
	isolated := x.(map[string]any)["reach"].(map[string]any)["isolated"]
	assert.Equal(t, map[string]any{
		"ingress": []any{"app/a", "app/b"},
		"egress":  []any{"app/b", "app/c"},
	}, isolated)
}

// TestFlowTermsOnSeveralCoresMatchOne renders the flows of a synthetic
// cluster on one worker and on several; run with -race (make test does),
// it also checks that the workers share nothing they write.
func TestFlowTermsOnSeveralCoresMatchOne(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 300, Namespaces: 6, Seed: 9})
	m := reach.Compute(c)
	mt := newMatrixTerms(m)
	pc := newPeerClasses(m)
	one := groupFlowsIn(1, m, pc, m.Connections, nil)
	require.Greater(t, len(one), 100, "the cluster tests nothing")
	many := groupFlowsIn(3, m, pc, m.Connections, nil)
	require.Equal(t, one, many)
	want := ast.ArrayTerm(newInputBuilder().flowTermsIn(1, mt, pc, one)...)
	got := ast.ArrayTerm(newInputBuilder().flowTermsIn(3, mt, pc, many)...)
	assert.True(t, want.Equal(got), "flows rendered on 3 workers differ")
}

// TestByDestinationAsAppend checks byDestination against appending each
// flow's value to the list of each of its destinations, on random flows.
func TestByDestinationAsAppend(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 8))
	for range 50 {
		peers := 1 + r.IntN(40)
		all := make([]*flow, r.IntN(30))
		for i := range all {
			f := &flow{}
			for d := range peers {
				if r.IntN(3) == 0 {
					f.dsts = append(f.dsts, int32(d))
				}
			}
			all[i] = f
		}
		want := make([][]int, peers)
		for i, f := range all {
			for _, d := range f.dsts {
				want[d] = append(want[d], 10*i+1)
			}
		}
		got := byDestination(peers, all, func(i int) int { return 10*i + 1 })
		require.Len(t, got, peers)
		for d := range peers {
			require.Equal(t, len(want[d]), len(got[d]), "peer %d", d)
			if len(want[d]) > 0 {
				require.Equal(t, want[d], got[d], "peer %d", d)
			}
			require.Equal(t, len(got[d]), cap(got[d]), "peer %d: appending to its list would write into the next", d)
		}
	}
}

// TestSharedKeyList checks that one list of keys gets one term, and that
// a list is told from another by address and length: a copy gets its own
// term, and so does a shorter list starting at the same address.
func TestSharedKeyList(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 40, Namespaces: 2, Seed: 3})
	mt := newMatrixTerms(reach.Compute(c))
	a := []string{"ns-00/w-00001", "ns-00/w-00002", "ns-01/w-00003"}
	terms := map[*string]*ast.Term{}
	for _, l := range [][]string{a, slices.Clone(a), a[:1], a, {}, a[:1]} {
		got := sharedKeyList(terms, mt, l)
		require.True(t, mt.keyList(l).Equal(got), "keys of %v: %v", l, got)
	}
	require.Same(t, sharedKeyList(terms, mt, a), sharedKeyList(terms, mt, a), "one list, two terms")
	require.NotSame(t, sharedKeyList(terms, mt, a), sharedKeyList(terms, mt, slices.Clone(a)), "a copy shares the list's term")
}

// TestKeysTermSharesEqualLists checks that flows with the same peers
// share one array of their keys, and that lists whose hashes collide
// (every list's, with collide) are still told apart.
func TestKeysTermSharesEqualLists(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 40, Namespaces: 2, Seed: 3})
	m := reach.Compute(c)
	mt := newMatrixTerms(m)
	lists := [][]int32{{0, 1, 2}, {0, 1, 3}, {2}, {}, {0, 1, 2, 3}, {0, 1, 2}, {3, 1}, {2}}
	for _, collide := range []bool{false, true} {
		b := newInputBuilder()
		if collide {
			b.peersHash = func([]int32) uint64 { return 0 }
		}
		first := map[string]*ast.Term{}
		for _, l := range lists {
			got := b.keysTerm(mt, slices.Clone(l))
			want := make([]*ast.Term, len(l))
			for i, p := range l {
				want[i] = ast.StringTerm(m.Peers[p].Key())
			}
			require.True(t, ast.ArrayTerm(want...).Equal(got), "collide=%v: keys of %v: %v", collide, l, got)
			if t0, ok := first[fmt.Sprint(l)]; ok {
				require.Same(t, t0, got, "collide=%v: %v twice, two arrays", collide, l)
			}
			first[fmt.Sprint(l)] = got
		}
	}
}

// input.services[].selects lists the workloads of the Service's namespace
// whose labels hold every pair of its selector; none without a selector.
func TestInputServiceSelects(t *testing.T) {
	t.Parallel()
	c := &model.Cluster{
		Workloads: []model.Workload{
			{Namespace: "shop", Name: "api", Kind: "Deployment", Labels: map[string]string{"app": "api", "tier": "backend"}},
			{Namespace: "shop", Name: "api-canary", Kind: "Deployment", Labels: map[string]string{"app": "api", "tier": "canary"}},
			{Namespace: "shop", Name: "web", Kind: "Deployment", Labels: map[string]string{"app": "web"}},
			{Namespace: "other", Name: "api", Kind: "Deployment", Labels: map[string]string{"app": "api", "tier": "backend"}},
		},
		Services: []model.Service{
			{Namespace: "shop", Name: "api", Selector: map[string]string{"app": "api"}},
			{Namespace: "shop", Name: "api-stable", Selector: map[string]string{"app": "api", "tier": "backend"}},
			{Namespace: "shop", Name: "external", Selector: nil},
		},
	}
	doc, _, err := buildInput(Input{Cluster: c})
	require.NoError(t, err)
	v, err := ast.JSON(doc.(ast.Object).Get(ast.StringTerm("services")).Value)
	require.NoError(t, err)
	got := map[string]any{}
	for _, s := range v.([]any) {
		s := s.(map[string]any)
		got[s["name"].(string)] = s["selects"]
	}
	assert.Equal(t, map[string]any{
		"api":        []any{"shop/api", "shop/api-canary"},
		"api-stable": []any{"shop/api"},
		"external":   []any{},
	}, got)
}

// TestGrantTermsShareEqualRules checks that grants of equal rules share
// one term whether their references share an address (as a computed
// matrix's do) or not (as a derived matrix's may not), wherever the rule
// sits in its file, and that grants of other rules or other ports get
// terms of their own.
func TestGrantTermsShareEqualRules(t *testing.T) {
	t.Parallel()
	ref := func(policy string, rule int, dir model.Direction, line int) *model.RuleRef {
		return &model.RuleRef{Policy: policy, Rule: rule, Direction: dir, Source: model.Location{File: "np.yaml", Line: line}}
	}
	web, api := ref("shop/web", 0, model.Egress, 4), ref("shop/api", 1, model.Ingress, 12)
	tcp, udp := model.SinglePort(model.TCP, 8080, 8080), model.SinglePort(model.UDP, 53, 53)
	b := newInputBuilder()
	first := b.grantTerm(&model.Grant{Ports: tcp, Egress: web, Ingress: api})
	for _, g := range []model.Grant{
		{Ports: tcp, Egress: web, Ingress: api},
		{Ports: tcp, Egress: ref("shop/web", 0, model.Egress, 4), Ingress: ref("shop/api", 1, model.Ingress, 12)},
		{Ports: tcp, Egress: web, Ingress: ref("shop/api", 1, model.Ingress, 30)}, // moved down the file
	} {
		require.Same(t, first, b.grantTerm(&g), "%v -> %v", *g.Egress, *g.Ingress)
	}
	for _, g := range []model.Grant{
		{Ports: udp, Egress: web, Ingress: api},
		{Ports: tcp, Egress: web, Ingress: ref("shop/api", 2, model.Ingress, 12)},
		{Ports: tcp, Egress: web, Ingress: ref("shop/db", 1, model.Ingress, 12)},
	} {
		got := b.grantTerm(&g)
		require.NotSame(t, first, got, "%v -> %v", *g.Egress, *g.Ingress)
		require.False(t, first.Equal(got), "%v -> %v", *g.Egress, *g.Ingress)
	}
	require.Len(t, b.refTerms, 4, "rule references numbered")
}
