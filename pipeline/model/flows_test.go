package model_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// TestGroupFlowsPartitionsTheConnections checks on random matrices that
// flows cover every connection exactly once, uniform in allowance, tag and
// peer classes, that no two flows could merge (same allowance, keys and
// destinations), and that grouping on several cores gives the flows of
// one.
func TestGroupFlowsPartitionsTheConnections(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 5))
	for iter := range 300 {
		m := &model.Matrix{}
		n := 2 + r.IntN(40)
		for i := range n {
			m.Peers = append(m.Peers, model.Peer{Workload: &model.Workload{Namespace: "ns", Name: fmt.Sprint("w", i), Kind: "Deployment"}})
		}
		pool := make([]*model.Allowance, 1+r.IntN(4))
		for i := range pool {
			pool[i] = &model.Allowance{Ports: model.SinglePort(model.TCP, uint16(80+i), uint16(80+i))}
		}
		var keys model.FlowKeys
		if iter%3 == 1 {
			keys.Class = make([]int32, n)
			for i := range keys.Class {
				keys.Class[i] = int32(r.IntN(3))
			}
		}
		for s := range n {
			for d := range n {
				if s == d || r.IntN(3) == 0 {
					continue
				}
				m.Connect(int32(s), int32(d), pool[r.IntN(len(pool))])
				if iter%2 == 1 {
					keys.Tag = append(keys.Tag, int32(r.IntN(2)))
				}
			}
		}
		one := model.GroupFlowsIn(1, m, m.Connections, keys)
		covered := map[[2]int32]int{}
		for k, f := range one {
			require.True(t, slices.IsSorted(f.Srcs) && slices.IsSorted(f.Dsts), "flow %d: peers out of order", k)
			if k > 0 {
				prev := one[k-1]
				require.True(t, prev.Dsts[0] < f.Dsts[0] || (prev.Dsts[0] == f.Dsts[0] && prev.Srcs[0] < f.Srcs[0]), "flows out of order")
			}
			for _, s := range f.Srcs {
				for _, d := range f.Dsts {
					covered[[2]int32{s, d}]++
					i := slices.IndexFunc(m.Connections, func(c model.Connection) bool { return c.Src == s && c.Dst == d })
					require.GreaterOrEqual(t, i, 0, "flow %d holds %d->%d, which is no connection", k, s, d)
					require.Equal(t, m.Connections[i].Allowance, f.Allowance)
					if keys.Tag != nil {
						require.Equal(t, keys.Tag[i], f.Tag)
					}
					if keys.Class != nil {
						require.Equal(t, keys.Class[s], f.SrcClass)
						require.Equal(t, keys.Class[d], f.DstClass)
					}
				}
			}
			for _, g := range one[:k] {
				if g.Allowance == f.Allowance && g.Tag == f.Tag && g.SrcClass == f.SrcClass && g.DstClass == f.DstClass {
					require.False(t, slices.Equal(g.Dsts, f.Dsts), "flows %v and %v could be one", g, f)
				}
			}
		}
		require.Len(t, covered, len(m.Connections))
		for pair, times := range covered {
			require.Equal(t, 1, times, "connection %v in %d flows", pair, times)
		}
		for _, parts := range []int{2, 3, 7} {
			require.Equal(t, one, model.GroupFlowsIn(parts, m, m.Connections, keys), "%d runs", parts)
		}
	}
}

// TestGroupFlowsSkipsWhatNamesNoPeer: connections of another matrix, or
// with an allowance the matrix does not have, are left out, not a panic.
func TestGroupFlowsSkipsWhatNamesNoPeer(t *testing.T) {
	t.Parallel()
	m := &model.Matrix{Peers: make([]model.Peer, 2)}
	a := &model.Allowance{Ports: model.AllPorts()}
	m.Connect(0, 1, a)
	cs := append(slices.Clone(m.Connections), model.Connection{Src: 1, Dst: 5}, model.Connection{Src: 7, Dst: 0}, model.Connection{Src: 1, Dst: 0, Allowance: 3})
	require.Equal(t, []model.Flow{{Allowance: 0, Srcs: []int32{0}, Dsts: []int32{1}}}, model.GroupFlows(m, cs, model.FlowKeys{}))
}
