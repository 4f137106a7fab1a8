package reach

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// markOmitted records on each workload peer the invalid NetworkPolicies,
// left out of the matrix, that could have denied its flows: those in its
// namespace whose podSelector selects it, for each direction they declare.
// A podSelector that could not be read, or that is itself invalid, is
// taken to select every pod of the namespace: what it selects once fixed
// is anyone's guess.
func (ix *index) markOmitted() {
	for i := range ix.c.Omitted {
		o := &ix.c.Omitted[i]
		if o.Reason != model.OmitInvalid || (!o.Ingress && !o.Egress) {
			continue
		}
		sel := compileSelector(o.PodSelector)
		if sel == nil || sel.key == invalidSelectorKey {
			sel = compileSelector(&metav1.LabelSelector{})
		}
		key := o.Key()
		ix.podsIn(o.Object.Namespace, sel).each(func(p int) {
			if p >= ix.nw {
				return
			}
			peer := &ix.peers[p]
			if peer.MayDeny == nil {
				peer.MayDeny = &model.MayDeny{}
			}
			if o.Egress && !slices.Contains(peer.MayDeny.Egress, key) {
				peer.MayDeny.Egress = append(peer.MayDeny.Egress, key)
				slices.Sort(peer.MayDeny.Egress)
			}
			if o.Ingress && !slices.Contains(peer.MayDeny.Ingress, key) {
				peer.MayDeny.Ingress = append(peer.MayDeny.Ingress, key)
				slices.Sort(peer.MayDeny.Ingress)
			}
		})
	}
}

// omittedOf is what either matrix leaves out, each policy once (the same
// object at the same place).
func omittedOf(ms ...*model.Matrix) []model.OmittedPolicy {
	type key struct {
		obj model.ObjectRef
		loc model.Location
	}
	var out []model.OmittedPolicy
	seen := map[key]bool{}
	for _, m := range ms {
		for _, o := range m.Omitted {
			if k := (key{o.Object, o.Source}); !seen[k] {
				seen[k] = true
				out = append(out, o)
			}
		}
	}
	return out
}
