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
//
// A cluster that differs from an earlier one of cs in NetworkPolicies
// only (a pull request's base, after its head) has its matrix derived
// from that one's (index.derive), the same as computed in full.
func ComputeSomeContext(ctx context.Context, want []bool, cs ...*model.Cluster) ([]*model.Matrix, error) {
	wanted := func(i int) bool { return cs[i] != nil && i < len(want) && want[i] }
	from := make([]int, len(cs)) // the cluster to derive from, -1 for none
	for i := range cs {
		from[i] = -1
		if !wanted(i) {
			continue
		}
		for j := range i {
			if wanted(j) && from[j] < 0 && derivable(cs[j], cs[i]) {
				from[i] = j
				break
			}
		}
	}
	out := make([]*model.Matrix, len(cs))
	ixs := make([]*index, len(cs))
	errs := make([]error, len(cs))
	index := func(i int) *index {
		var others []*model.Cluster
		for j, o := range cs {
			if j != i && o != nil {
				others = append(others, o)
			}
		}
		return newIndex(cs[i], others)
	}
	// The matrices are computed side by side, each computation having
	// parts that run on one core; those derived, after the ones they
	// derive from (their indexes are built alongside those).
	var indexed sync.WaitGroup
	for _, derived := range []bool{false, true} {
		var wg sync.WaitGroup
		for i := range cs {
			if !wanted(i) || (from[i] >= 0) != derived {
				continue
			}
			if !derived {
				for j := range cs {
					if from[j] == i {
						indexed.Go(func() { ixs[j] = index(j) })
					}
				}
			}
			wg.Go(func() {
				if errs[i] = ctx.Err(); errs[i] != nil {
					return
				}
				if derived {
					indexed.Wait()
					m, ok, err := ixs[i].derive(ctx, ixs[from[i]], out[from[i]])
					if ok || err != nil {
						out[i], errs[i] = m, err
						return
					}
				} else {
					ixs[i] = index(i)
				}
				out[i], errs[i] = ixs[i].compute(ctx)
			})
		}
		wg.Wait()
		if err := firstError(errs); err != nil {
			indexed.Wait()
			return nil, err
		}
	}
	return out, nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
