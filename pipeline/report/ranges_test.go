package report

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

func TestGroupRanges(t *testing.T) {
	t.Parallel()
	w := model.Peer{Workload: &model.Workload{Namespace: "app", Name: "worker", Kind: "Deployment"}}
	db := model.Peer{Workload: &model.Workload{Namespace: "app", Name: "db", Kind: "StatefulSet"}}
	ext := func(name, cidr string) model.Peer {
		return model.Peer{External: name, Range: model.PrefixRange(netip.MustParsePrefix(cidr))}
	}
	type flow struct {
		src, dst model.Peer
		ports    string
	}
	flows := []flow{
		{w, db, "TCP 5432"},
		{w, ext("internet", "1.0.0.0/8"), "TCP 443"},
		{w, ext("partner", "203.0.113.0/24"), "TCP 443"}, // another endpoint: its own row
		{w, ext("internet", "2.0.0.0/8"), "TCP 443"},
		{w, ext("internet", "3.0.0.0/8"), "TCP 80"}, // other ports: its own row
		{w, ext("internet", "4.0.0.0/8"), "TCP 443"},
		{w, ext("internet", "5.0.0.0/8"), "TCP 443"},
		{ext("internet", "1.0.0.0/8"), db, "TCP 5432"}, // sources group too
		{ext("internet", "2.0.0.0/8"), db, "TCP 5432"},
		{ext("", "10.0.0.0/8"), db, "TCP 5432"}, // unnamed ranges group among themselves
		{ext("", "11.0.0.0/8"), db, "TCP 5432"},
	}
	rows := groupRanges(flows, func(f flow) (model.Peer, model.Peer) { return f.src, f.dst }, func(f flow) string { return f.ports })
	type row struct {
		src, dst string
		flows    int
	}
	var got []row
	for _, r := range rows {
		got = append(got, row{r.src, r.dst, r.flows})
	}
	assert.Equal(t, []row{
		{"app/worker[Deployment]", "app/db[StatefulSet]", 1},
		{"app/worker[Deployment]", "internet(1.0.0.0/8; 2.0.0.0/8 and 2 more ranges)", 4},
		{"app/worker[Deployment]", "partner(203.0.113.0/24)", 1},
		{"app/worker[Deployment]", "internet(3.0.0.0/8)", 1},
		{"internet(1.0.0.0/8; 2.0.0.0/8)", "app/db[StatefulSet]", 2},
		{"10.0.0.0/8; 11.0.0.0/8", "app/db[StatefulSet]", 2},
	}, got)
	assert.Equal(t, "TCP 443", rows[1].first.ports)
}

// The graphs group ranges as the tables do: the ranges of one endpoint
// with the same edges are one node; another endpoint, other ports or
// another kind of change keep their own.
func TestDiffGraphGroupsRanges(t *testing.T) {
	t.Parallel()
	w := model.Peer{Workload: &model.Workload{Namespace: "app", Name: "worker", Kind: "Deployment"}}
	ext := func(name, cidr string) model.Peer {
		return model.Peer{External: name, Range: model.PrefixRange(netip.MustParsePrefix(cidr))}
	}
	all := &model.Allowance{Ports: model.AllPorts()}
	https := &model.Allowance{Ports: model.SinglePort(model.TCP, 443, 443)}
	d := &model.Diff{
		Added: []model.ConnectionChange{
			{Src: w, Dst: ext("internet", "1.0.0.0/8"), After: all},
			{Src: w, Dst: ext("internet", "2.0.0.0/8"), After: all},
			{Src: w, Dst: ext("internet", "4.0.0.0/8"), After: all},
			{Src: w, Dst: ext("internet", "5.0.0.0/8"), After: all},
			{Src: w, Dst: ext("internet", "3.0.0.0/8"), After: https},
			{Src: w, Dst: ext("partner", "203.0.113.0/24"), After: all},
		},
		Removed: []model.ConnectionChange{{Src: w, Dst: ext("internet", "6.0.0.0/8"), Before: all}},
	}
	g := diffGraph(d)
	var nodes []string
	for _, n := range g.nodes {
		nodes = append(nodes, n.name+" "+n.detail)
	}
	assert.Equal(t, []string{
		"worker Deployment",
		"internet 1.0.0.0/8; 2.0.0.0/8 and 2 more ranges",
		"internet 3.0.0.0/8",
		"internet 6.0.0.0/8",
		"partner 203.0.113.0/24",
	}, nodes)
	assert.Len(t, g.edges, 4)
}

// TestCountsAreRows: the counts above a diff count the rows below it,
// not the address ranges grouped into them, and read as English.
func TestCountsAreRows(t *testing.T) {
	t.Parallel()
	w := model.Peer{Workload: &model.Workload{Namespace: "app", Name: "worker", Kind: "Deployment"}}
	ext := func(cidr string) model.Peer {
		return model.Peer{External: "internet", Range: model.PrefixRange(netip.MustParsePrefix(cidr))}
	}
	all := &model.Allowance{Ports: model.AllPorts()}
	d := &model.Diff{Added: []model.ConnectionChange{
		{Src: w, Dst: ext("1.0.0.0/8"), After: all},
		{Src: w, Dst: ext("2.0.0.0/8"), After: all},
		{Src: w, Dst: ext("4.0.0.0/8"), After: all},
	}}
	var b bytes.Buffer
	require.NoError(t, WriteDiff(&b, "txt", "prod", d))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	assert.Equal(t, "Reachability changes in prod: 1 flow added, 0 removed, 0 changed", lines[0])
	assert.Len(t, lines, 2, "one row for the three ranges")
	assert.Equal(t, "+1 -0 ~0", flowCounts(d))

	b.Reset()
	require.NoError(t, WriteDiff(&b, "md", "prod", d))
	assert.Contains(t, b.String(), "Added flows (3 flows in 1 row)")

	d.Added = append(d.Added, model.ConnectionChange{Src: ext("9.0.0.0/8"), Dst: w, After: all})
	assert.Equal(t, "2 flows added, 0 removed, 0 changed", diffCounts(d))
}
