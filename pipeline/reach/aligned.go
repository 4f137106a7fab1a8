package reach

import (
	"context"
	"sync"

	"github.com/reachgate/reachgate/pipeline/model"
)

// ComputeSomeContext is ComputeAllContext for the clusters marked in want
// only: each is split at the external address boundaries of every cluster
// of cs, exactly as ComputeAllContext splits it, and the other matrices
// are nil. One overlay of a fanned-out check needs its own matrices,
// aligned with those of every overlay, and not the others.
func ComputeSomeContext(ctx context.Context, want []bool, cs ...*model.Cluster) ([]*model.Matrix, error) {
	// The matrices are computed side by side: each computation has parts
	// that run on one core.
	out := make([]*model.Matrix, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
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
		wg.Go(func() {
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			out[i], errs[i] = newIndex(c, others).compute(ctx)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
