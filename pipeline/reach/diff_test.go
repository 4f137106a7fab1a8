package reach_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

// redisEgress is a component whose egress policy allows DNS to wherever
// the resolver is, written TO, with a peer list.
func redisEgress(to string) *txtar.Archive {
	return txtar.Parse([]byte(`-- manifests.yaml --
apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: v1
kind: Pod
metadata: {namespace: argocd, name: redis, labels: {app: redis}}
spec:
  containers:
  - {name: redis, image: redis:7, ports: [{containerPort: 6379}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: argocd, name: server, labels: {app: server}}
spec:
  containers:
  - {name: server, image: argocd:3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: argocd, name: redis}
spec:
  podSelector: {matchLabels: {app: redis}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: server}}}]
    ports: [{port: 6379}]
  egress:
  - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
` + to + `
`))
}

// TestDiffIPBlockHoldingEveryPodChangesNothing: rewriting a rule's "to
// everywhere" (no peers) as an ipBlock 0.0.0.0/0, or back, changes no flow
// in a single-stack cluster. The block holds every pod address, so the
// flows to pods stay definite rather than turning address-dependent.
func TestDiffIPBlockHoldingEveryPodChangesNothing(t *testing.T) {
	t.Parallel()
	open := loadScenario(t, redisEgress(""))
	block := loadScenario(t, redisEgress("    to: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: '::/0'}}]"))
	partial := loadScenario(t, redisEgress("    to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.244.0.0/17]}}, {ipBlock: {cidr: '::/0'}}]"))
	ms := reach.ComputeAll(open, block, partial)
	d := reach.Diff(ms[0], ms[1])
	require.True(t, d.Empty(), "added %v, removed %v, changed %v", d.Added, d.Removed, d.Changed)

	// A block that excepts part of the pod CIDR does change something:
	// redis reaches server only if server lands outside the except.
	d = reach.Diff(ms[0], ms[2])
	require.Len(t, d.Changed, 1, "changed %v", d.Changed)
	require.Empty(t, d.Added)
	require.Empty(t, d.Removed)
}

// TestDiffAsPairMaps: Diff is the difference of the two matrices as maps
// from (source, destination) to ports, on pairs of synthetic clusters that
// share some workloads and differ in policies; the same with the
// connections shuffled (matrices built by hand need not be in order).
// TestDiffOfOneMatrix: a matrix compared with itself gives what comparing
// it with a copy gives: no change, and the policies it leaves out.
func TestDiffOfOneMatrix(t *testing.T) {
	for seed := range uint64(4) {
		c := synth.Cluster(synth.Options{Workloads: 50, Namespaces: 3, Seed: seed})
		c.Omitted = []model.OmittedPolicy{{Object: model.ObjectRef{Kind: "NetworkPolicy", Namespace: c.Namespaces[0].Name, Name: "invalid"}, Reason: model.OmitInvalid}}
		m := reach.Compute(c)
		require.NotEmpty(t, m.Omitted)
		copied := *m
		require.Equal(t, reach.Diff(&copied, m), reach.Diff(m, m), "seed %d", seed)
		require.True(t, reach.Diff(m, m).Empty())
	}
}

func TestDiffAsPairMaps(t *testing.T) {
	seen := map[string]int{}
	for seed := range uint64(6) {
		base := reach.Compute(synth.Cluster(synth.Options{Workloads: 60, Namespaces: 3, Seed: seed}))
		head := reach.Compute(synth.Cluster(synth.Options{Workloads: 40 + int(seed)*10, Namespaces: 3, Seed: seed, PolicyRatio: 0.3}))
		pairs := func(m *model.Matrix) map[[2]string]string {
			out := map[[2]string]string{}
			for _, c := range m.Connections {
				a := m.Of(c)
				out[[2]string{m.Peers[c.Src].Key(), m.Peers[c.Dst].Key()}] = fmt.Sprint(a.Ports.String(), a.AddressDependent)
			}
			return out
		}
		want := map[string][]string{}
		b, h := pairs(base), pairs(head)
		for k, v := range b {
			if hv, ok := h[k]; !ok {
				want["removed"] = append(want["removed"], k[0]+" -> "+k[1])
			} else if hv != v {
				want["changed"] = append(want["changed"], k[0]+" -> "+k[1])
			}
		}
		for k := range h {
			if _, ok := b[k]; !ok {
				want["added"] = append(want["added"], k[0]+" -> "+k[1])
			}
		}
		got := func(d *model.Diff) map[string][]string {
			out := map[string][]string{}
			for name, cs := range map[string][]model.ConnectionChange{"added": d.Added, "removed": d.Removed, "changed": d.Changed} {
				for _, c := range cs {
					out[name] = append(out[name], c.Src.Key()+" -> "+c.Dst.Key())
				}
			}
			return out
		}
		for _, l := range want {
			slices.Sort(l)
		}
		for name, l := range want {
			seen[name] += len(l)
		}
		d := got(reach.Diff(base, head))
		sorted := map[string][]string{}
		for name, l := range d {
			sorted[name] = slices.Sorted(slices.Values(l))
		}
		require.Equal(t, want, sorted, "seed %d", seed)
		// Sorted output is Diff's own order; the shuffled matrices must
		// give the same changes in it.
		r := rand.New(rand.NewPCG(seed, 9))
		r.Shuffle(len(base.Connections), func(i, j int) { base.Connections[i], base.Connections[j] = base.Connections[j], base.Connections[i] })
		r.Shuffle(len(head.Connections), func(i, j int) { head.Connections[i], head.Connections[j] = head.Connections[j], head.Connections[i] })
		require.Equal(t, d, got(reach.Diff(base, head)), "seed %d, shuffled", seed)
	}
	for _, name := range []string{"added", "removed", "changed"} {
		require.Positive(t, seen[name], name)
	}
}

// endsAfter is a context whose Err is nil for its first n calls and
// context.Canceled after: it ends while its holder works.
type endsAfter struct {
	context.Context
	n int
}

func (c *endsAfter) Err() error {
	if c.n == 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// TestDiffContextGivesUp: DiffContext returns Diff's result while its
// context lives, and the context's error when it ends, before or while it
// compares the connections.
func TestDiffContextGivesUp(t *testing.T) {
	// Many connections, few changes: the head drops a policy.
	c := synth.Cluster(synth.Options{Workloads: 1200, Namespaces: 6, Seed: 3})
	base := reach.Compute(c)
	c.Policies = c.Policies[1:]
	head := reach.Compute(c)
	require.Greater(t, len(base.Connections)+len(head.Connections), 3<<16, "enough connections to look at the context more than once")
	d, err := reach.DiffContext(context.Background(), base, head)
	require.NoError(t, err)
	require.Equal(t, reach.Diff(base, head), d)
	require.False(t, d.Empty())
	for _, n := range []int{0, 1, 2} {
		d, err := reach.DiffContext(&endsAfter{Context: context.Background(), n: n}, base, head)
		require.ErrorIs(t, err, context.Canceled, "ended after %d looks", n)
		require.Nil(t, d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err = reach.DiffContext(ctx, head, head)
	require.ErrorIs(t, err, context.Canceled, "one matrix")
	require.Nil(t, d)
}
