package reach

import (
	"context"

	"github.com/reachgate/reachgate/pipeline/model"
)

// ComputeSomeContext is ComputeAllContext for the clusters marked in want
// only: each is split at the external address boundaries of every cluster
// of cs, exactly as ComputeAllContext splits it, and the other matrices
// are nil. One overlay of a fanned-out check needs its own matrices,
// aligned with those of every overlay, and not the others.
func ComputeSomeContext(ctx context.Context, want []bool, cs ...*model.Cluster) ([]*model.Matrix, error) {
	out := make([]*model.Matrix, len(cs))
	for i, c := range cs {
		if c == nil || i >= len(want) || !want[i] {
			continue
		}
		var others []*model.Cluster
		for j, o := range cs {
			if j != i && o != nil {
				others = append(others, o)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := newIndex(c, others).compute(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}
