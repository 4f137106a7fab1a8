package report

import (
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// A workload allowed to "the internet" reaches every range the overlay's
// ipBlocks cut it into (around the pod CIDR, the metadata address, partner
// ranges...), each a peer of its own: one flow to the internet shows as
// eight. The listings for people group those ranges back into one row;
// machine formats keep one entry per range.

// flowRow is one row of a flow listing: its first flow, how its ends
// read, and how many flows it stands for.
type flowRow[T any] struct {
	first    T
	src, dst string
	flows    int
}

// groupRanges merges flows that differ only in an external range of the
// same endpoint at one end, the other end being the same workload (kind
// included: a Deployment and a StatefulSet may share a name), and
// that read the same (key: ports and rules). Rows keep the order of their
// first flow.
func groupRanges[T any](items []T, ends func(T) (src, dst model.Peer), key func(T) string) []flowRow[T] {
	type groupKey struct {
		dstGrouped  bool
		fixed, name string
		key         string
	}
	var rows []flowRow[T]
	var ranges [][]model.Peer // the grouped end's ranges, per row
	var dstGrouped []bool
	index := map[groupKey]int{}
	for _, it := range items {
		s, d := ends(it)
		var k groupKey
		var grouped model.Peer
		switch {
		case s.Workload != nil && d.Workload == nil:
			k, grouped = groupKey{true, s.String(), d.External, key(it)}, d
		case s.Workload == nil && d.Workload != nil:
			k, grouped = groupKey{false, d.String(), s.External, key(it)}, s
		default:
			rows = append(rows, flowRow[T]{first: it, src: s.String(), dst: d.String(), flows: 1})
			ranges, dstGrouped = append(ranges, nil), append(dstGrouped, false)
			continue
		}
		if i, ok := index[k]; ok {
			rows[i].flows++
			ranges[i] = append(ranges[i], grouped)
			continue
		}
		index[k] = len(rows)
		rows = append(rows, flowRow[T]{first: it, src: s.String(), dst: d.String(), flows: 1})
		ranges, dstGrouped = append(ranges, []model.Peer{grouped}), append(dstGrouped, k.dstGrouped)
	}
	for i := range rows {
		if len(ranges[i]) < 2 {
			continue
		}
		if dstGrouped[i] {
			rows[i].dst = rangesText(ranges[i])
		} else {
			rows[i].src = rangesText(ranges[i])
		}
	}
	return rows
}

// maxRangesShown is how many ranges a grouped row names; the JSON formats
// have every one.
const maxRangesShown = 3

// rangesText reads like Peer.String for several ranges of one endpoint:
// "internet(0.0.0.0/5,8.0.0.0/7; 11.0.0.0-100.63.255.255)", or with more
// than maxRangesShown, "internet(0.0.0.0/5,8.0.0.0/7; 11.0.0.0-27.255.255.255
// and 58 more ranges)".
func rangesText(ps []model.Peer) string {
	joined := rangesList(ps)
	if ps[0].External == "" {
		return joined
	}
	return ps[0].External + "(" + joined + ")"
}

// rangesList is the ranges of rangesText without the endpoint's name:
// "0.0.0.0/5,8.0.0.0/7; 11.0.0.0-27.255.255.255 and 58 more ranges".
func rangesList(ps []model.Peer) string {
	var parts []string
	for _, p := range ps[:min(len(ps), maxRangesShown)] {
		parts = append(parts, p.Range.String())
	}
	if len(ps) > maxRangesShown {
		parts = parts[:maxRangesShown-1]
	}
	joined := strings.Join(parts, "; ")
	if n := len(ps) - len(parts); n > 0 {
		joined += " and " + count(n) + " more ranges"
	}
	return joined
}
