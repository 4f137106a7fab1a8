package policy

import "github.com/reachgate/reachgate/pipeline/model"

// Baseline marks each of the head's findings new or existing by the base's
// findings under the same rules, and returns the base's findings the head
// no longer has (resolved). A finding is the same one when its rule,
// object, field and message match; failing that, when its rule, object
// and field match a base finding not yet matched (the message names peers
// or ports that moved, but the problem is the one the base had). Findings
// without an object (expectations, input errors) match on file and
// message instead: their lines move.
func Baseline(head, base []model.Finding) (marked, resolved []model.Finding) {
	used := make([]bool, len(base))
	exact := map[string][]int{}
	loose := map[string][]int{}
	for i, f := range base {
		exact[exactKey(f)] = append(exact[exactKey(f)], i)
		loose[looseKey(f)] = append(loose[looseKey(f)], i)
	}
	take := func(idx map[string][]int, k string) bool {
		for _, i := range idx[k] {
			if !used[i] {
				used[i] = true
				return true
			}
		}
		return false
	}
	marked = make([]model.Finding, len(head))
	state := make([]string, len(head))
	// Exact matches first, so that a loose match never takes the base
	// finding another head finding matches exactly.
	for i, f := range head {
		if take(exact, exactKey(f)) {
			state[i] = model.BaselineExisting
		}
	}
	for i, f := range head {
		if state[i] == "" {
			state[i] = model.BaselineNew
			if f.Object.Name != "" && take(loose, looseKey(f)) {
				state[i] = model.BaselineExisting
			}
		}
		marked[i] = f
		marked[i].Baseline = state[i]
	}
	resolved = []model.Finding{}
	for i, f := range base {
		if !used[i] {
			f.Waived = nil
			resolved = append(resolved, f)
		}
	}
	return marked, resolved
}

func looseKey(f model.Finding) string {
	if f.Object.Name == "" {
		return exactKey(f)
	}
	return f.RuleID + "\x00" + f.Object.String() + "\x00" + f.Field
}

func exactKey(f model.Finding) string {
	if f.Object.Name == "" {
		return f.RuleID + "\x00" + f.Location.File + "\x00" + f.Message
	}
	return looseKey(f) + "\x00" + f.Message
}
