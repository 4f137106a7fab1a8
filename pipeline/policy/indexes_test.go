package policy

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// The version 6 indexes of a small cluster, spelled out: which Services
// select each workload, which policies isolate it, what the workloads of
// each selection entry declare.
func TestInputIndexes(t *testing.T) {
	t.Parallel()
	w := func(name string, ports ...model.ContainerPort) model.Workload {
		return model.Workload{Namespace: "app", Name: name, Kind: "Deployment", Labels: map[string]string{"app": name, "tier": "app"}, Ports: ports}
	}
	pol := func(name string, sel map[string]string, spec networkingv1.NetworkPolicySpec) model.Policy {
		spec.PodSelector = metav1.LabelSelector{MatchLabels: sel}
		return model.Policy{NetworkPolicy: &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name}, Spec: spec}}
	}
	c := &model.Cluster{
		Namespaces: []model.Namespace{{Name: "app", Labels: map[string]string{model.NamespaceNameLabel: "app"}}},
		Workloads: []model.Workload{
			w("api", model.ContainerPort{Name: "http", Port: 8080}, model.ContainerPort{Name: "metrics", Port: 9090}, model.ContainerPort{Port: 8080}),
			w("bare"),
			w("dns", model.ContainerPort{Name: "dns", Port: 53, Protocol: model.UDP}, model.ContainerPort{Name: "dns-tcp", Port: 53}),
		},
		Services: []model.Service{
			{Namespace: "app", Name: "api", Selector: map[string]string{"app": "api"}},
			{Namespace: "app", Name: "all", Selector: map[string]string{"tier": "app"}},
		},
		Policies: []model.Policy{
			pol("deny-in", nil, networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}),
			pol("api-out", map[string]string{"app": "api"}, networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "dns"}}}},
			}}}),
		},
	}
	m := reach.Compute(c)
	v, _, err := buildInput(Input{Cluster: c, Matrix: m})
	require.NoError(t, err)
	x, err := ast.JSON(v)
	require.NoError(t, err)
	doc := x.(map[string]any)
	rch := doc["reach"].(map[string]any)

	assert.Equal(t, map[string]any{
		"app/api":  []any{jnum(0), jnum(1)},
		"app/bare": []any{jnum(1)},
		"app/dns":  []any{jnum(1)},
	}, doc["servicesOf"])
	assert.Equal(t, map[string]any{
		"ingress": map[string]any{
			"app/api":  []any{"app/api-out", "app/deny-in"},
			"app/bare": []any{"app/deny-in"},
			"app/dns":  []any{"app/deny-in"},
		},
		"egress": map[string]any{"app/api": []any{"app/api-out"}},
	}, rch["isolatedBy"])

	sel := map[string]map[string]any{}
	for _, s := range rch["selection"].([]any) {
		s := s.(map[string]any)
		sel[s["policy"].(string)] = s
	}
	// Every workload: the union of their ports, bare declaring none.
	assert.Equal(t, map[string]any{
		"names":   map[string]any{"TCP": []any{"dns-tcp", "http", "metrics"}, "UDP": []any{"dns"}},
		"numbers": map[string]any{"TCP": []any{jnum(53), jnum(8080), jnum(9090)}, "UDP": []any{jnum(53)}},
	}, sel["app/deny-in"]["declared"])
	assert.Equal(t, []any{"app/bare"}, sel["app/deny-in"]["undeclared"])
	// api-out's one peer matches dns.
	peer := sel["app/api-out"]["peers"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{
		"names":   map[string]any{"TCP": []any{"dns-tcp"}, "UDP": []any{"dns"}},
		"numbers": map[string]any{"TCP": []any{jnum(53)}, "UDP": []any{jnum(53)}},
	}, peer["declared"])
	assert.Equal(t, []any{}, peer["undeclared"])
}

// jnum is how ast.JSON renders a number.
func jnum(n int) any { return json.Number(strconv.Itoa(n)) }

// input.reach.portsByDst holds, for every peer with flows into it, the
// union of the ports of the connections into it, on a synthetic cluster.
func TestPortsByDstIsTheUnionOfConnections(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 300, Namespaces: 6, Seed: 9})
	m := reach.Compute(c)
	want := map[string]model.PortSet{}
	for _, cn := range m.Connections {
		k := m.Peers[cn.Dst].Key()
		want[k] = want[k].Union(m.Of(cn).Ports)
	}
	require.Greater(t, len(want), 100, "the cluster tests nothing")
	v, _, err := buildInput(Input{Cluster: c, Matrix: m})
	require.NoError(t, err)
	got := v.(ast.Object).Get(ast.StringTerm("reach")).Value.(ast.Object).Get(ast.StringTerm("portsByDst")).Value.(ast.Object)
	assert.Equal(t, len(want), got.Len())
	for k, ports := range want {
		g := got.Get(ast.StringTerm(k))
		if assert.NotNil(t, g, k) {
			assert.True(t, portsTerm(ports).Equal(g), "%s: got %v, want %v", k, g, ports)
		}
	}
}

// Rules share what they compute without a `with` in force, and only that:
// a value computed under `with` stays in its query.
func TestSharedCacheKeepsWithValuesToTheirQuery(t *testing.T) {
	t.Parallel()
	mod := `package x
import rego.v1
v := input.n * 10
under_with := x if {
	x := v with input as {"n": 2}
}
plain := v`
	compiler := ast.MustCompileModules(map[string]string{"x.rego": mod})
	cache := newSharedCache()
	eval := func(query string) any {
		t.Helper()
		pq, err := rego.New(rego.Query(query), rego.Compiler(compiler)).PrepareForEval(context.Background())
		require.NoError(t, err)
		rs, err := pq.Eval(context.Background(), rego.EvalInput(map[string]any{"n": 1}), rego.EvalVirtualCache(cache.query()))
		require.NoError(t, err)
		require.Len(t, rs, 1)
		return rs[0].Expressions[0].Value
	}
	// The first query computes v under `with`: the second must not see it.
	assert.Equal(t, jnum(20), eval("data.x.under_with"))
	assert.Equal(t, jnum(10), eval("data.x.plain"))
	// And the other way round: v cached plain does not leak under `with`.
	assert.Equal(t, jnum(20), eval("data.x.under_with"))
	got, undefined := cache.query().Get(ast.MustParseRef("data.x.v"))
	require.False(t, undefined)
	require.NotNil(t, got, "v was not shared")
	assert.Equal(t, ast.IntNumberTerm(10), got)
}

// input.reach.addressSides is what the fixtures' address_sides (the
// Rego that NP010 ran before reachgate built the index) derives from the
// rest of the input, on synthetic clusters with address-dependent flows,
// AdminNetworkPolicies and Cilium policies among them.
func TestAddressSidesAsFixtures(t *testing.T) {
	t.Parallel()
	q := fixturesQuery(t, "x := data.reachgate.testing.address_sides(input)")
	sides := 0
	for seed := range uint64(8) {
		o := synth.Options{Workloads: 150 + 50*int(seed), Namespaces: 3 + int(seed%4), Seed: 100 + seed}
		if seed%3 == 1 {
			o.AdminPolicies, o.Baseline, o.CiliumPolicies = 6, true, 20
		}
		c := synth.Cluster(o)
		m := reach.Compute(c)
		v, _, err := buildInput(Input{Cluster: c, Matrix: m})
		require.NoError(t, err)
		rs, err := q.Eval(context.Background(), rego.EvalParsedInput(v))
		require.NoError(t, err)
		require.Len(t, rs, 1)
		want, err := ast.InterfaceToValue(rs[0].Bindings["x"])
		require.NoError(t, err)
		got := v.(ast.Object).Get(ast.StringTerm("reach")).Value.(ast.Object).Get(ast.StringTerm("addressSides")).Value
		asSet := func(v ast.Value) []string {
			var out []string
			for i := range v.(*ast.Array).Len() {
				out = append(out, v.(*ast.Array).Elem(i).String())
			}
			slices.Sort(out)
			return slices.Compact(out)
		}
		require.Equal(t, asSet(want), asSet(got), "seed %d", seed)
		require.Equal(t, len(asSet(got)), got.(*ast.Array).Len(), "seed %d: a side twice in one flow", seed)
		sides += got.(*ast.Array).Len()
	}
	require.Greater(t, sides, 20, "the clusters test nothing")
	t.Logf("%d sides", sides)

	// A rule whose selector peer matches its own pod but whose ipBlock
	// alone lets in the source: the side is judged on the source.
	w := func(name string) model.Workload {
		return model.Workload{Namespace: "app", Name: name, Kind: "Deployment", Labels: map[string]string{"app": name}}
	}
	c := &model.Cluster{
		Namespaces: []model.Namespace{{Name: "app", Labels: map[string]string{model.NamespaceNameLabel: "app"}}},
		Workloads:  []model.Workload{w("be"), w("db")},
		Policies: []model.Policy{{NetworkPolicy: &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db-in"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/17"}},
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
			}}},
		}}}},
		PodCIDRs: model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16")),
	}
	v, _, err := buildInput(Input{Cluster: c, Matrix: reach.Compute(c)})
	require.NoError(t, err)
	got, err := ast.JSON(v.(ast.Object).Get(ast.StringTerm("reach")).Value.(ast.Object).Get(ast.StringTerm("addressSides")).Value)
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{"direction": "ingress", "policy": "app/db-in", "rule": jnum(0), "src": "app/be", "dst": "app/db"}}, got)
}

// The version 9 indexes are what the fixtures derive, as the rules read
// them before: input.reach.unreached (NP022's walk over every workload's
// ports and Services), the container ports every workload declares
// (input.declared) and those of the workloads each Service selects
// (services[].declared and undeclared, NP021's walk).
func TestServedIndexesAsFixtures(t *testing.T) {
	t.Parallel()
	q := fixturesQuery(t, `unreached := data.reachgate.testing.unreached(input)
		declared := data.reachgate.testing.declared_of(input, [w.key | some w in input.workloads]).declared
		services := [object.union(s, data.reachgate.testing.declared_of(input, s.selects)) | some s in input.services]`)
	check := func(t *testing.T, c *model.Cluster) (unreached int) {
		t.Helper()
		v, _, err := buildInput(Input{Cluster: c, Matrix: reach.Compute(c)})
		require.NoError(t, err)
		rs, err := q.Eval(context.Background(), rego.EvalParsedInput(v))
		require.NoError(t, err)
		require.Len(t, rs, 1)
		doc := v.(ast.Object)
		got := map[string]ast.Value{
			"unreached": doc.Get(ast.StringTerm("reach")).Value.(ast.Object).Get(ast.StringTerm("unreached")).Value,
			"declared":  doc.Get(ast.StringTerm("declared")).Value,
			"services":  doc.Get(ast.StringTerm("services")).Value,
		}
		for name, g := range got {
			want, err := ast.InterfaceToValue(rs[0].Bindings[name])
			require.NoError(t, err)
			if want.Compare(g) != 0 {
				t.Fatalf("%s:\n got %v\nwant %v", name, g, want)
			}
		}
		return got["unreached"].(ast.Object).Len()
	}
	total := 0
	for seed := range uint64(8) {
		o := synth.Options{Workloads: 60 + 20*int(seed), Namespaces: 2 + int(seed%4), Seed: 200 + seed}
		if seed%3 == 1 {
			o.AdminPolicies, o.Baseline, o.CiliumPolicies = 6, true, 20
		}
		total += check(t, synth.Cluster(o))
	}
	require.Greater(t, total, 10, "the clusters test nothing")
	t.Logf("%d unreached workloads", total)

	// By hand: db is reached on 5432, which its Service sends to by an
	// empty targetPort, and api only on 9999, which it does not serve
	// (its Service targets "0080", its container declares 8080); web
	// serves nothing and is not listed.
	w := func(name string, ports ...model.ContainerPort) model.Workload {
		return model.Workload{Namespace: "app", Name: name, Kind: "Deployment", Labels: map[string]string{"app": name}, Ports: ports}
	}
	in := func(name string, port int32) model.Policy {
		p := intstr.FromInt32(port)
		return model.Policy{NetworkPolicy: &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &p}}}},
		}}}
	}
	c := &model.Cluster{
		Namespaces: []model.Namespace{{Name: "app", Labels: map[string]string{model.NamespaceNameLabel: "app"}}},
		Workloads:  []model.Workload{w("api", model.ContainerPort{Name: "http", Port: 8080}), w("db"), w("web")},
		Services: []model.Service{
			{Namespace: "app", Name: "api", Selector: map[string]string{"app": "api"}, Ports: []model.ServicePort{{Port: 80, TargetPort: "0080"}, {Port: 81, TargetPort: "http"}}},
			{Namespace: "app", Name: "db", Selector: map[string]string{"app": "db"}, Ports: []model.ServicePort{{Port: 5432}}},
		},
		Policies: []model.Policy{in("api", 9999), in("db", 5432), in("web", 80)},
		PodCIDRs: model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16")),
	}
	require.Equal(t, 1, check(t, c))
	v, _, err := buildInput(Input{Cluster: c, Matrix: reach.Compute(c)})
	require.NoError(t, err)
	got, err := ast.JSON(v.(ast.Object).Get(ast.StringTerm("reach")).Value.(ast.Object).Get(ast.StringTerm("unreached")).Value)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"app/api": []any{[]any{"TCP", jnum(80)}, []any{"TCP", jnum(8080)}}}, got)
}

// fixturesQuery prepares query over the rule library and its fixtures
// (data.reachgate.testing), whose derivations of the indexes are the Rego
// the rules ran before reachgate built them.
func fixturesQuery(t *testing.T, query string) rego.PreparedEvalQuery {
	t.Helper()
	var mods []func(*rego.Rego)
	for _, f := range []string{"lib/lib.rego", "lib/fixtures_test.rego"} {
		b, err := os.ReadFile(filepath.Join(repoRego, f))
		require.NoError(t, err)
		mods = append(mods, rego.Module(f, string(b)))
	}
	q, err := rego.New(append(mods, rego.Query(query))...).PrepareForEval(context.Background())
	require.NoError(t, err)
	return q
}
