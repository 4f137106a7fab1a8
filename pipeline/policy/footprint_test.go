package policy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// footprintRule is a rule package whose deny set has body body, with lib
// as a library package beside it.
func footprintRule(body string) string {
	return `# METADATA
# title: T
# custom:
#   id: T001
#   severity: warning
package reachgate.rules.t

import data.lib
import rego.v1

` + body + "\n"
}

const footprintLib = `package lib

import rego.v1

policies := {p.name | some p in input.policies}

by_dst(d) := input.reach.byDst[d]

services := {s | some s in input.services}

workloads := input.workloads
`

func TestFootprint(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // paths joined by "."; nil: the whole input
	}{
		{"direct", `deny contains {"msg": p.name} if { some p in input.policies }`, []string{"policies"}},
		{"at most two keys deep", `deny contains {"msg": "x"} if { input.reach.byDst.a.b }`, []string{"reach.byDst"}},
		{"a variable key stops the path", `deny contains {"msg": k} if { some k, _ in input.reach[_] }`, []string{"reach"}},
		{"a prefix covers longer paths", `deny contains {"msg": "x"} if { input.reach.byDst.a; input.reach }`, []string{"reach"}},
		{"through a library rule", `deny contains {"msg": n} if { some n in lib.policies }`, []string{"policies"}},
		{"through a library function", `deny contains {"msg": "x"} if { lib.by_dst("a") }`, []string{"reach.byDst"}},
		{"a rule of a rule", `deny contains {"msg": "x"} if { ok }
ok if count(lib.services) > 0`, []string{"services"}},
		{"else branches", `deny contains {"msg": v} if { v := pick }
pick := input.a if { false } else := input.b`, []string{"a", "b"}},
		{"comprehensions, every and not", `deny contains {"msg": "x"} if {
	xs := [x | some x in input.a]
	every x in xs { x != input.b }
	not input.c
}`, []string{"a", "b", "c"}},
		{"a library rule chosen by a variable", `deny contains {"msg": "x"} if { some name in ["policies"]; lib[name] }`, []string{"policies", "reach.byDst", "services", "workloads"}},
		{"nothing of the input", `deny contains {"msg": "x"} if { 1 == 2 }`, []string{}},
		{"input itself", `deny contains {"msg": "x"} if { count(input) > 100 }`, nil},
		{"input through a variable", `deny contains {"msg": "x"} if { x := input; x.a }`, nil},
		{"object.get on input", `deny contains {"msg": "x"} if { object.get(input, "a", []) }`, nil},
		{"input with a key from a variable", `deny contains {"msg": k} if { some k in ["a"]; input[k] }`, nil},
		{"a with on input", `deny contains {"msg": "x"} if { lib.workloads with input.workloads as [] }`, nil},
		{"through a library rule that takes input whole", `deny contains {"msg": "x"} if { whole }
whole if walk(input, [_, _])`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Load(memFS(t, map[string]string{"rules/t.rego": footprintRule(tc.body), "rules/lib.rego": footprintLib}), []string{"rules"}, Options{})
			require.NoError(t, err)
			require.Len(t, e.footprints, 1)
			fp := e.footprints[0]
			if tc.want == nil {
				require.Nil(t, fp, "footprint %v", fp)
				return
			}
			require.NotNil(t, fp, "want %v, got the whole input", tc.want)
			got := []string{}
			for _, p := range fp {
				got = append(got, strings.Join(p, "."))
			}
			slices.Sort(got)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestEvaluatePairAsEvaluate checks that evaluating a head and its base
// together gives what evaluating each alone gives, with the repository's
// rules, on random clusters and bases that differ from them by one
// change (or none), and that rules are in fact evaluated once.
func TestEvaluatePairAsEvaluate(t *testing.T) {
	e, err := Load(filesys.MakeFsOnDisk(), []string{repoRego}, Options{Params: seedParams, Now: pinned})
	require.NoError(t, err)
	ctx := context.Background()
	changes := []struct {
		name string
		do   func(c *model.Cluster)
		// all: every rule is reused (nothing the rules read changed).
		all bool
		// sameModel: the base's model is the head's, so it takes the
		// head's matrix, as check gives it.
		sameModel bool
	}{
		{"none", func(*model.Cluster) {}, true, true},
		{"a workload relabelled", func(c *model.Cluster) {
			w := &c.Workloads[len(c.Workloads)/2]
			w.Labels = withLabel(w.Labels, "tier", "changed")
		}, false, false},
		{"a policy removed", func(c *model.Cluster) { c.Policies = c.Policies[1:] }, false, false},
		{"a policy lets one more port in", func(c *model.Cluster) {
			c.Policies = slices.Clone(c.Policies)
			for i := range c.Policies {
				if p := &c.Policies[i]; len(p.Spec.Ingress) > 0 {
					p.NetworkPolicy = p.DeepCopy()
					port := intstr.FromInt32(7777)
					p.Spec.Ingress[0].Ports = append(p.Spec.Ingress[0].Ports, networkingv1.NetworkPolicyPort{Port: &port})
					return
				}
			}
		}, false, false},
		{"an object's namespace dropped", func(c *model.Cluster) {
			o := &c.Objects[3]
			*o = deploymentObject(o.Name, "")
		}, false, true},
		{"a service added", func(c *model.Cluster) {
			w := c.Workloads[0]
			c.Services = append(slices.Clip(c.Services), model.Service{Namespace: w.Namespace, Name: "added", Type: "ClusterIP", Selector: w.Labels, Ports: []model.ServicePort{{Port: 8080, TargetPort: "8080", Protocol: model.TCP}}})
		}, false, false},
	}
	for seed := range uint64(4) {
		opts := synth.Options{Workloads: 150, Namespaces: 6, Seed: seed + 1, Small: seed%2 == 0}
		head := synth.Cluster(opts)
		for i, w := range head.Workloads {
			ns := w.Namespace
			if i%7 == 0 {
				ns = ""
			}
			head.Objects = append(head.Objects, deploymentObject(w.Name, ns))
		}
		for _, ch := range changes {
			t.Run(fmt.Sprintf("seed %d, %s", seed+1, ch.name), func(t *testing.T) {
				// The base's objects are the head's documents, as check's
				// render shares them (render.Renderer.Share).
				base := synth.Cluster(opts)
				base.Objects = slices.Clone(head.Objects)
				ch.do(base)
				require.Equal(t, ch.sameModel, model.SameModel(head, base))
				// Computed together, as check computes them: the base's
				// matrix is derived from the head's where it can be.
				ms := reach.ComputeAll(head, base)
				hm, bm := ms[0], ms[1]
				if ch.sameModel {
					bm = hm
				}
				hin := Input{Overlay: "prod", Environment: "prod", Cluster: head, Matrix: hm}
				bin := Input{Overlay: "prod", Environment: "prod", Cluster: base, Matrix: bm}
				wantH, err := e.Evaluate(ctx, hin)
				require.NoError(t, err)
				wantB, err := e.Evaluate(ctx, bin)
				require.NoError(t, err)
				got, reused, err := e.evaluate(ctx, []Input{hin, bin})
				require.NoError(t, err)
				require.Equal(t, wantH, got[0], "head")
				require.Equal(t, wantB, got[1], "base")
				if ch.all {
					require.Equal(t, len(e.rules), reused)
				} else {
					require.Less(t, reused, len(e.rules))
				}
			})
		}
	}
}

func deploymentObject(name, ns string) model.Object {
	md := map[string]any{"name": name}
	if ns != "" {
		md["namespace"] = ns
	}
	return model.Object{
		ObjectRef:  model.ObjectRef{Kind: "Deployment", Namespace: ns, Name: name},
		APIVersion: "apps/v1",
		Source:     model.Location{File: "apps/" + name + ".yaml", Line: 1},
		Doc: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
			"spec": map[string]any{"replicas": int64(2), "template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "c", "image": "registry.example.com/" + name + ":1.0"}}}}}},
	}
}

// TestObjectTermsShared: inputs built side by side with one objectTerms,
// one of them last to first, hold one term for each document they share,
// and their own for the others; each input is what buildInput gives.
func TestObjectTermsShared(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 40, Namespaces: 3, Seed: 5})
	for _, w := range c.Workloads {
		c.Objects = append(c.Objects, deploymentObject(w.Name, w.Namespace))
	}
	other := *c
	other.Objects = slices.Clone(c.Objects)
	other.Objects[7] = deploymentObject(c.Objects[7].Name, "elsewhere")
	sh := &shared{objects: newObjectTerms()}
	docs := make([]ast.Value, 2)
	done := make(chan struct{})
	for k, cl := range []*model.Cluster{c, &other} {
		go func() {
			defer func() { done <- struct{}{} }()
			v, _, err := buildInputWith(Input{Cluster: cl}, sh, k == 1)
			assert.NoError(t, err)
			docs[k] = v
		}()
	}
	<-done
	<-done
	objectTermsOf := func(v ast.Value) []*ast.Term {
		arr := v.(ast.Object).Get(ast.StringTerm("objects")).Value.(*ast.Array)
		var out []*ast.Term
		for i := range arr.Len() {
			out = append(out, arr.Elem(i).Value.(ast.Object).Get(kObject))
		}
		return out
	}
	a, b := objectTermsOf(docs[0]), objectTermsOf(docs[1])
	require.Len(t, a, len(c.Objects))
	require.Len(t, b, len(c.Objects))
	for i := range a {
		if i == 7 {
			assert.NotSame(t, a[i], b[i])
			continue
		}
		assert.Same(t, a[i], b[i], "object %d", i)
	}
	for k, cl := range []*model.Cluster{c, &other} {
		want, _, err := buildInput(Input{Cluster: cl})
		require.NoError(t, err)
		assert.Equal(t, 0, want.Compare(docs[k]), "input %d", k)
	}
}

// TestSharedSections: inputs built together hold one term for each
// section built from parts of the model their clusters hold the same, and
// with one model and one matrix, one input.reach; each input is still
// what buildInput gives.
func TestSharedSections(t *testing.T) {
	t.Parallel()
	c := synth.Cluster(synth.Options{Workloads: 40, Namespaces: 3, Seed: 9})
	m := reach.Compute(c)
	same := *c
	same.Objects = []model.Object{deploymentObject("only-in-the-base", "ns")}
	relabelled := *c
	relabelled.Workloads = slices.Clone(c.Workloads)
	relabelled.Workloads[0].Labels = withLabel(c.Workloads[0].Labels, "tier", "x")
	fewer := *c
	fewer.Policies = c.Policies[1:]
	section := func(v ast.Value, key string) *ast.Term { return v.(ast.Object).Get(ast.StringTerm(key)) }
	keys := []string{"reach", "namespaces", "workloads", "services", "servicesOf", "policies", "externals"}
	all := func(except ...string) map[string]bool {
		m := map[string]bool{}
		for _, k := range keys {
			m[k] = !slices.Contains(except, k)
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		other  Input
		shared map[string]bool
	}{
		{"same matrix and model", Input{Cluster: &same, Matrix: m}, all()},
		{"a workload relabelled", Input{Cluster: &relabelled, Matrix: m}, all("reach", "workloads", "services", "servicesOf")},
		{"a policy fewer", Input{Cluster: &fewer, Matrix: reach.Compute(&fewer)}, all("reach", "policies")},
		{"another matrix", Input{Cluster: &same, Matrix: reach.Compute(c)}, all("reach")},
	} {
		ins := []Input{{Cluster: c, Matrix: m}, tc.other}
		sh := newShared(ins)
		docs := make([]ast.Value, 2)
		done := make(chan struct{})
		for k := range ins {
			go func() {
				defer func() { done <- struct{}{} }()
				v, _, err := buildInputWith(ins[k], sh, k == 1)
				assert.NoError(t, err)
				docs[k] = v
			}()
		}
		<-done
		<-done
		for _, key := range keys {
			a, b := section(docs[0], key), section(docs[1], key)
			if tc.shared[key] {
				assert.Same(t, a, b, "%s: %s", tc.name, key)
			} else {
				assert.NotSame(t, a, b, "%s: %s", tc.name, key)
			}
		}
		assert.NotSame(t, section(docs[0], "objects"), section(docs[1], "objects"), "%s: objects", tc.name)
		for k := range ins {
			want, _, err := buildInput(ins[k])
			require.NoError(t, err)
			assert.Equal(t, 0, want.Compare(docs[k]), "%s: input %d", tc.name, k)
		}
	}
}

// withLabel is a copy of m with k set to v.
func withLabel(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k2, v2 := range m {
		if k2 != k {
			out[k2] = v2
		}
	}
	return out
}

// TestEvaluatePairLocatesInTheBase: a rule whose input did not change is
// evaluated once, but the base's findings point at the base's files.
func TestEvaluatePairLocatesInTheBase(t *testing.T) {
	// The rule reads the services and names their workloads.
	rule := footprintRule(`deny contains {"msg": s.name, "object": {"kind": "Deployment", "namespace": s.namespace, "name": s.name}} if { some s in input.services }`)
	e, err := Load(memFS(t, map[string]string{"rules/t.rego": rule, "rules/lib.rego": footprintLib}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	cluster := func(line int) *model.Cluster {
		return &model.Cluster{
			Namespaces: []model.Namespace{{Name: "shop"}},
			Workloads:  []model.Workload{{Kind: "Deployment", Namespace: "shop", Name: "api", Labels: map[string]string{"app": "api"}, Source: model.Location{File: "api.yaml", Line: line}}},
			Services:   []model.Service{{Namespace: "shop", Name: "api", Selector: map[string]string{"app": "api"}}},
		}
	}
	head, base := cluster(1), cluster(30)
	got, reused, err := e.evaluate(context.Background(), []Input{{Cluster: head, Matrix: reach.Compute(head)}, {Cluster: base, Matrix: reach.Compute(base)}})
	require.NoError(t, err)
	require.Equal(t, 1, reused)
	require.Len(t, got[0], 1)
	require.Len(t, got[1], 1)
	require.Equal(t, model.Location{File: "api.yaml", Line: 1}, got[0][0].Location)
	require.Equal(t, model.Location{File: "api.yaml", Line: 30}, got[1][0].Location)
}

// TestIdentical: equal values are identical unless a number is spelt
// differently, at any depth, in keys too.
func TestIdentical(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"a": [1, {"b": true}], "c": null, "d": "x"}`, `{"d": "x", "c": null, "a": [1, {"b": true}]}`, true},
		{`{"a": {1, 2}}`, `{"a": {2, 1}}`, true},
		{`1`, `1.0`, false},
		{`[1]`, `[1.0]`, false},
		{`{"a": 1}`, `{"a": 1.0}`, false},
		{`{1: "a"}`, `{1.0: "a"}`, false},
		{`{1, 2}`, `{1.0, 2}`, false},
		{`{"a": 1}`, `{"a": 1, "b": 2}`, false},
		{`{"a": "1"}`, `{"a": 1}`, false},
		{`[1, 2]`, `[2, 1]`, false},
		{`null`, `false`, false},
	} {
		a, b := ast.MustParseTerm(tc.a).Value, ast.MustParseTerm(tc.b).Value
		assert.Equal(t, tc.want, (&identity{same: map[*ast.Term]*ast.Term{}}).values(a, b), "%s against %s", tc.a, tc.b)
		assert.Equal(t, tc.want, (&identity{same: map[*ast.Term]*ast.Term{}}).values(b, a), "%s against %s", tc.b, tc.a)
		doc := func(v ast.Value) ast.Value { return ast.NewObject([2]*ast.Term{ast.StringTerm("k"), ast.NewTerm(v)}) }
		assert.Equal(t, tc.want, newComparison(doc(a), doc(b)).same(footprint{{"k"}}), "%s against %s at a path", tc.a, tc.b)
		assert.Equal(t, tc.want, newComparison(doc(a), doc(b)).same(nil), "%s against %s, whole", tc.a, tc.b)
	}
}

// TestIdenticalSharedTerms: a term listed twice in one document is
// compared with each term it faces in the other, not once for all.
func TestIdenticalSharedTerms(t *testing.T) {
	shared := ast.MustParseTerm(`{"port": 1}`)
	a := ast.NewObject([2]*ast.Term{ast.StringTerm("x"), ast.ArrayTerm(shared, shared)})
	same := ast.NewObject([2]*ast.Term{ast.StringTerm("x"), ast.ArrayTerm(ast.MustParseTerm(`{"port": 1}`), ast.MustParseTerm(`{"port": 1}`))})
	spelt := ast.NewObject([2]*ast.Term{ast.StringTerm("x"), ast.ArrayTerm(ast.MustParseTerm(`{"port": 1}`), ast.MustParseTerm(`{"port": 1.0}`))})
	assert.True(t, newComparison(a, same).same(footprint{{"x"}}))
	assert.False(t, newComparison(a, spelt).same(footprint{{"x"}}))
	assert.False(t, newComparison(spelt, a).same(footprint{{"x"}}))
}

// TestEvaluatePairInputFails: an input document that cannot be built
// fails the evaluation with the object named, whichever side it is on,
// and the other side's rules do not hold it up.
func TestEvaluatePairInputFails(t *testing.T) {
	e, err := Load(memFS(t, map[string]string{"rules/t.rego": footprintRule(`deny contains {"msg": "x"} if { count(input.workloads) > 100 }`), "rules/lib.rego": footprintLib}), []string{"rules"}, Options{Now: pinned})
	require.NoError(t, err)
	good := &model.Cluster{}
	bad := &model.Cluster{Objects: []model.Object{{ObjectRef: model.ObjectRef{Kind: "ConfigMap", Namespace: "shop", Name: "odd"}, Doc: map[string]any{"data": make(chan int)}}}}
	for _, tc := range []struct {
		name       string
		head, base *model.Cluster
	}{{"head", bad, good}, {"base", good, bad}, {"both", bad, bad}} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.EvaluatePair(context.Background(), Input{Cluster: tc.head, Matrix: &model.Matrix{}}, Input{Cluster: tc.base, Matrix: &model.Matrix{}})
			require.ErrorContains(t, err, "build rule input")
			require.ErrorContains(t, err, "ConfigMap shop/odd")
		})
	}
}

// TestFlowTermsShared checks that inputs built together share the flow
// terms of a matrix derived from the other's (check's base, with a
// policy changed), and that sharing changes no value: each document is
// the one built alone, also when every flow's hash is the same, so that
// only the comparison of allowances and peers tells flows apart.
func TestFlowTermsShared(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) { testFlowTermsShared(t, collide) })
	}
}

func testFlowTermsShared(t *testing.T, collide bool) {
	changes := []func(p *networkingv1.NetworkPolicy){
		func(p *networkingv1.NetworkPolicy) {
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
		},
		func(p *networkingv1.NetworkPolicy) { p.Spec.Ingress = nil },
		func(p *networkingv1.NetworkPolicy) { p.Spec.PodSelector = metav1.LabelSelector{} },
	}
	sharedAll, total := 0, 0
	for seed := range uint64(12) {
		head := synth.Cluster(synth.Options{Workloads: 120 + int(seed)*20, Namespaces: 2 + int(seed%4), Seed: seed + 1, Small: seed%2 == 1})
		base := *head
		base.Policies = slices.Clone(head.Policies)
		p := &base.Policies[int(seed*7)%len(base.Policies)]
		p.NetworkPolicy = p.DeepCopy()
		changes[seed%3](p.NetworkPolicy)
		ms := reach.ComputeAll(head, &base)
		ins := []Input{{Cluster: head, Matrix: ms[0]}, {Cluster: &base, Matrix: ms[1]}}
		sh := newShared(ins)
		require.NotNil(t, sh.flows, "the matrices have the same peers")
		if collide {
			sh.flows.hash = func(*flow) uint64 { return 0 }
		}
		var docs [2]ast.Value
		for i, in := range ins {
			var err error
			docs[i], _, err = buildInputWith(in, sh, i == 1)
			require.NoError(t, err)
			alone, _, err := buildInput(in)
			require.NoError(t, err)
			require.Zero(t, alone.Compare(docs[i]), "seed %d: input %d built with the other differs from it built alone", seed+1, i)
		}
		headFlows := map[*ast.Term]bool{}
		for _, f := range reachFlows(t, docs[0]) {
			headFlows[f] = true
		}
		for _, f := range reachFlows(t, docs[1]) {
			total++
			if headFlows[f] {
				sharedAll++
			}
		}
	}
	if sharedAll == 0 || sharedAll == total {
		t.Fatalf("%d of the bases' %d flow terms are the heads': want most, not all", sharedAll, total)
	}
	t.Logf("%d of the bases' %d flow terms are the heads'", sharedAll, total)
}

func reachFlows(t *testing.T, doc ast.Value) []*ast.Term {
	f, err := doc.(ast.Object).Find(ast.MustParseRef("x.reach.flows")[1:])
	require.NoError(t, err)
	var out []*ast.Term
	f.(*ast.Array).Foreach(func(t *ast.Term) { out = append(out, t) })
	return out
}

// TestFlowTermsNotSharedAcrossNames checks that inputs whose matrices name
// an external range differently do not share flow terms: a flow's term
// names its peers' endpoints.
func TestFlowTermsNotSharedAcrossNames(t *testing.T) {
	r := model.IPRange{From: netip.MustParseAddr("8.8.8.0"), To: netip.MustParseAddr("8.8.8.255")}
	matrix := func(name string) *model.Matrix { return &model.Matrix{Peers: []model.Peer{{Range: r, External: name}}} }
	require.NotNil(t, newShared([]Input{{Matrix: matrix("dns")}, {Matrix: matrix("dns")}}).flows)
	require.Nil(t, newShared([]Input{{Matrix: matrix("dns")}, {Matrix: matrix("resolver")}}).flows)
}
