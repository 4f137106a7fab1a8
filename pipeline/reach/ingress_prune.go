package reach

import (
	"math/bits"
	"slices"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The ingress side of a destination keeps, per distinct mask of its rules
// that let a source in, the interned list of those rules. Masks that
// differ only in rules intern's key leaves out, or that change neither
// the outcome nor the overrides (listState.skips, as for the egress
// classes), give the same list: the pruner drops those rules from a
// mask, walking it with a listState, so that such masks share one list,
// built and interned once.

// pruner prunes the masks of one destination's ingress rules. It is
// active when the rules hold an Admin or Baseline rule and are in id
// order, the order intern reads a list in (they are, as the index
// compiles rules in that order; were they not, masks would stay as they
// are). narrowIDs and wideIDs hold the interned list of each pruned
// mask.
type pruner struct {
	on        bool
	iso       bool
	narrowIDs map[[2]uint64]int32
	wideIDs   map[wideKey]int32
}

// reset sets the pruner up for a destination's rules.
func (p *pruner) reset(rules ruleList, iso bool) {
	if p.narrowIDs == nil {
		p.narrowIDs, p.wideIDs = map[[2]uint64]int32{}, map[wideKey]int32{}
	}
	clear(p.narrowIDs)
	clear(p.wideIDs)
	p.iso = iso
	p.on = slices.ContainsFunc(rules, func(r *crule) bool { return r.tier != model.TierNamespace }) &&
		slices.IsSortedFunc(rules, func(a, b *crule) int { return a.id - b.id })
}

// active reports whether masks may change.
func (p *pruner) active() bool { return p.on }

// narrow prunes a mask of up to 64 rules: certain in mk[0], only through
// an address block in mk[1] (a rule in both counts as certain).
func (p *pruner) narrow(rules ruleList, mk [2]uint64) [2]uint64 {
	var n listState
	for m := mk[0] | mk[1]; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		bit := uint64(1) << uint(k)
		if r := rules[k]; n.skips(r, p.iso) {
			mk[0] &^= bit
			mk[1] &^= bit
		} else {
			n.follow(r, mk[0]&bit == 0)
		}
	}
	return mk
}

// wide prunes a wide mask, as narrow does.
func (p *pruner) wide(rules ruleList, mk wideKey) wideKey {
	var n listState
	for word := range wideWords {
		for m := mk[word] | mk[wideWords+word]; m != 0; m &= m - 1 {
			k := bits.TrailingZeros64(m)
			bit := uint64(1) << uint(k)
			if r := rules[word<<6|k]; n.skips(r, p.iso) {
				mk[word] &^= bit
				mk[wideWords+word] &^= bit
			} else {
				n.follow(r, mk[word]&bit == 0)
			}
		}
	}
	return mk
}
