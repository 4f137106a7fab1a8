package reach

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
)

// TestDeriveAsCompute holds derive to computing in full: on random
// clusters and random changes to their NetworkPolicies (rules, ports,
// selectors, policy types, rules open to every peer, source lines, a
// change moving the policies below it in its file, policies added,
// removed and reordered), the matrix derived from the other cluster's is the one
// computed, allowances and their numbering included; and derive must
// take on most changes rather than give up.
func TestDeriveAsCompute(t *testing.T) {
	t.Parallel()
	cases := 600
	if testing.Short() {
		cases = 150
	}
	if derived := deriveAsCompute(t, 1, cases); derived < cases/3 {
		t.Errorf("derive took on %d of %d changes", derived, cases)
	}
}

// TestDeriveSplicesInRuns is TestDeriveAsCompute with the head's
// connections spliced on every core in runs of one to three, and every
// allowance's key hashed to one of two values, so that allowances are
// told apart by their keys alone. It is not parallel: it sets both.
func TestDeriveSplicesInRuns(t *testing.T) {
	defer func(run int, hash func(maphash.Seed, []byte) uint64) { spliceRun, keyHash = run, hash }(spliceRun, keyHash)
	keyHash = func(_ maphash.Seed, b []byte) uint64 { return uint64(len(b) & 1) }
	cases := 200
	if testing.Short() {
		cases = 50
	}
	for run := 1; run <= 3; run++ {
		spliceRun = run
		deriveAsCompute(t, 1+1000*run, cases)
	}
}

// deriveAsCompute holds derive to compute on the clusters of seeds
// from, ..., from+cases-1, and returns how many it derived.
func deriveAsCompute(t *testing.T, from, cases int) int {
	t.Helper()
	ctx := context.Background()
	derived := 0
	for seed := from; seed < from+cases; seed++ {
		o := synth.Options{Workloads: 6 + seed%13, Namespaces: 1 + seed%3, PolicyRatio: 0.5 + float64(seed%4)*0.3, Seed: uint64(seed), Small: true}
		head := synth.Cluster(o)
		o.Seed += 100_000
		donor := synth.Cluster(o)
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		base := *head
		base.Policies = mutatePolicies(r, head.Policies, donor.Policies)

		hx := newIndex(head, []*model.Cluster{&base})
		hm, err := hx.compute(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, err := newIndex(&base, []*model.Cluster{head}).compute(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := newIndex(&base, []*model.Cluster{head}).derive(ctx, hx, hm)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		derived++
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: the derived matrix is not the computed one\n%s", seed, matrixDifference(got, want))
		}
		// The base shares the head's allowances and the rule references
		// of their grants: deriving it must leave the head's as they were
		// (a policy that moved in its file gets copies).
		again, err := newIndex(head, []*model.Cluster{&base}).compute(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(hm, again) {
			t.Fatalf("seed %d: deriving the base changed the head's matrix\n%s", seed, matrixDifference(hm, again))
		}
	}
	t.Logf("derived %d of %d", derived, cases)
	return derived
}

// TestComputeAllDerives checks that ComputeAll derives a base from its
// head, and gets the matrix computing it alone, aligned the same way,
// gives.
func TestComputeAllDerives(t *testing.T) {
	head := synth.Cluster(synth.Options{Workloads: 400, Namespaces: 6, Seed: 5})
	base := *head
	var ms []*model.Matrix
	for i := range head.Policies {
		if len(head.Policies[i].Spec.Ingress) == 0 {
			continue
		}
		base.Policies = slices.Clone(head.Policies)
		p := &base.Policies[i]
		p.NetworkPolicy = p.DeepCopy()
		p.Spec.Ingress = nil
		if ms = ComputeAll(head, &base); !reflect.DeepEqual(ms[0].Connections, ms[1].Connections) {
			break
		}
	}
	ctx := context.Background()
	hx := newIndex(head, []*model.Cluster{&base})
	if _, ok, _ := newIndex(&base, []*model.Cluster{head}).derive(ctx, hx, ms[0]); !ok {
		t.Fatal("derive gave up on one policy that lost its ingress rules")
	}
	want, _ := newIndex(&base, []*model.Cluster{head}).compute(ctx)
	if !reflect.DeepEqual(ms[1], want) {
		t.Fatalf("ComputeAll's base is not the computed one\n%s", matrixDifference(ms[1], want))
	}
	if reflect.DeepEqual(ms[0].Connections, ms[1].Connections) {
		t.Fatal("the change changed nothing: the test tests nothing")
	}
}

func matrixDifference(got, want *model.Matrix) string {
	switch {
	case len(got.Connections) != len(want.Connections):
		return fmt.Sprintf("%d connections, want %d", len(got.Connections), len(want.Connections))
	case len(got.Allowances) != len(want.Allowances):
		return fmt.Sprintf("%d allowances, want %d", len(got.Allowances), len(want.Allowances))
	}
	for i := range got.Connections {
		if g, w := got.Connections[i], want.Connections[i]; g != w {
			return fmt.Sprintf("connection %d: %+v, want %+v", i, g, w)
		}
	}
	for i := range got.Allowances {
		if !reflect.DeepEqual(got.Allowances[i], want.Allowances[i]) {
			return fmt.Sprintf("allowance %d: %+v, want %+v", i, got.Allowances[i], want.Allowances[i])
		}
	}
	return "connections and allowances alike; the rest differs"
}

// mutatePolicies returns ps with one to three random changes, drawing
// rules and policies from donor.
func mutatePolicies(r *rand.Rand, ps, donor []model.Policy) []model.Policy {
	out := slices.Clone(ps)
	edit := func(i int) *networkingv1.NetworkPolicy {
		out[i].NetworkPolicy = out[i].DeepCopy()
		return out[i].NetworkPolicy
	}
	for range 1 + r.IntN(3) {
		if len(out) == 0 || len(donor) == 0 {
			break
		}
		i := r.IntN(len(out))
		switch r.IntN(12) {
		case 0: // another spec
			edit(i).Spec = *donor[r.IntN(len(donor))].Spec.DeepCopy()
		case 1: // removed
			out = slices.Delete(out, i, i+1)
		case 2: // added
			p := donor[r.IntN(len(donor))]
			p.NetworkPolicy = p.DeepCopy()
			p.Name += fmt.Sprintf("-new%d", r.IntN(1000))
			out = slices.Insert(out, r.IntN(len(out)+1), p)
		case 3: // moved down a line
			out[i].Source.Line++
		case 4: // another order
			j := r.IntN(len(out))
			out[i], out[j] = out[j], out[i]
		case 5: // a port changed
			np := edit(i)
			for _, rs := range [][]networkingv1.NetworkPolicyPort{portsOf(np.Spec.Ingress), portsOfEgress(np.Spec.Egress)} {
				for k := range rs {
					if rs[k].Port != nil && rs[k].Port.Type == intstr.Int {
						p := intstr.FromInt32(rs[k].Port.IntVal + 1 + int32(r.IntN(3)))
						rs[k].Port = &p
					}
				}
			}
		case 6: // a rule dropped
			np := edit(i)
			if len(np.Spec.Ingress) > 0 && r.IntN(2) == 0 {
				np.Spec.Ingress = np.Spec.Ingress[1:]
			} else if len(np.Spec.Egress) > 0 {
				np.Spec.Egress = np.Spec.Egress[1:]
			}
		case 7: // another selector
			np := edit(i)
			np.Spec.PodSelector = *donor[r.IntN(len(donor))].Spec.PodSelector.DeepCopy()
		case 8: // a rule of another policy added
			np := edit(i)
			d := donor[r.IntN(len(donor))].Spec
			if len(d.Egress) > 0 && r.IntN(2) == 0 {
				np.Spec.Egress = append(np.Spec.Egress, *d.Egress[0].DeepCopy())
			} else if len(d.Ingress) > 0 {
				np.Spec.Ingress = append(np.Spec.Ingress, *d.Ingress[0].DeepCopy())
			}
		case 9: // a rule open to every peer
			np := edit(i)
			if len(np.Spec.Egress) > 0 {
				np.Spec.Egress[0].To = nil
			} else if len(np.Spec.Ingress) > 0 {
				np.Spec.Ingress[0].From = nil
			}
		case 10: // another direction, or both
			np := edit(i)
			np.Spec.PolicyTypes = [][]networkingv1.PolicyType{
				{networkingv1.PolicyTypeIngress},
				{networkingv1.PolicyTypeEgress},
				{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			}[r.IntN(3)]
		case 11: // a rule added, moving the policies below it in its file
			np := edit(i)
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
			for j := range out {
				if out[j].Source.File == out[i].Source.File && out[j].Source.Line > out[i].Source.Line {
					out[j].Source.Line += 2
				}
			}
		}
	}
	return out
}

func portsOf(rs []networkingv1.NetworkPolicyIngressRule) []networkingv1.NetworkPolicyPort {
	if len(rs) == 0 {
		return nil
	}
	return rs[0].Ports
}

func portsOfEgress(rs []networkingv1.NetworkPolicyEgressRule) []networkingv1.NetworkPolicyPort {
	if len(rs) == 0 {
		return nil
	}
	return rs[0].Ports
}

// TestDeriveStopsWhenCancelled checks that derive, like compute, returns
// the context's error rather than a matrix when it is cancelled.
func TestDeriveStopsWhenCancelled(t *testing.T) {
	head := synth.Cluster(synth.Options{Workloads: 60, Namespaces: 2, Seed: 4})
	base := *head
	base.Policies = slices.Clone(head.Policies)
	p := &base.Policies[0]
	p.NetworkPolicy = p.DeepCopy()
	p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
	hx := newIndex(head, []*model.Cluster{&base})
	hm, err := hx.compute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, _, err := newIndex(&base, []*model.Cluster{head}).derive(ctx, hx, hm)
	if !errors.Is(err, context.Canceled) || m != nil {
		t.Fatalf("derive cancelled gave %v, %v; want no matrix and context.Canceled", m != nil, err)
	}
}

// TestRelocationSharesMovedReferences checks that the references of
// allowances to a policy that moved in its file move to its new place,
// one copy per reference, shared by every grant that held it, and that
// the others, and the allowances moved from, stay as they were.
func TestRelocationSharesMovedReferences(t *testing.T) {
	at := func(line int) model.Location { return model.Location{File: "np.yaml", Line: line} }
	movedRef := &model.RuleRef{Policy: "shop/api", Direction: model.Ingress, Source: at(3)}
	stayed := &model.RuleRef{Policy: "shop/web", Direction: model.Egress, Source: at(20)}
	anp := &model.RuleRef{Policy: "shop/api", Kind: model.KindAdminNetworkPolicy, Direction: model.Ingress, Source: at(1)}
	tcp := model.SinglePort(model.TCP, 8080, 8080)
	a := &model.Allowance{Ports: tcp, Grants: []model.Grant{{Ports: tcp, Egress: stayed, Ingress: movedRef}}}
	b := &model.Allowance{Ports: tcp, Grants: []model.Grant{{Ports: tcp, Egress: stayed, Ingress: anp}, {Ports: tcp, Egress: stayed, Ingress: movedRef}}}
	c := &model.Allowance{Ports: tcp, Grants: []model.Grant{{Ports: tcp, Egress: stayed, Ingress: anp}}}

	rl := newRelocation(map[string]model.Location{"shop/api": at(9)})
	ra, rb, rc := rl.allowance(a), rl.allowance(b), rl.allowance(c)
	if rc != c {
		t.Errorf("an allowance with no moved reference was copied")
	}
	if ra == a || rb == b {
		t.Fatalf("allowances with a moved reference were not copied")
	}
	moved := ra.Grants[0].Ingress
	if moved.Source != at(9) || moved.Policy != "shop/api" || moved.Direction != model.Ingress {
		t.Errorf("moved reference is %+v, want shop/api at line 9", *moved)
	}
	if rb.Grants[1].Ingress != moved {
		t.Errorf("two grants holding one reference got two copies of it")
	}
	if ra.Grants[0].Egress != stayed || rb.Grants[0].Ingress != anp {
		t.Errorf("references to what did not move were replaced")
	}
	if movedRef.Source != at(3) || a.Grants[0].Ingress != movedRef || b.Grants[1].Ingress != movedRef {
		t.Errorf("relocating changed the allowances moved from")
	}
}
