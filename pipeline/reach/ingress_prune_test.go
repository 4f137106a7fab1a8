package reach

import (
	"testing"

	"github.com/reachgate/reachgate/pipeline/model"
)

// TestPrunerDropsWhatChangesNothing holds the ingress pruner to the rules
// intern's key and the overrides ignore: after an Admin Deny of every
// port, later Admin rules and the Baseline rules go, NetworkPolicy rules
// stay; an address-dependent Admin rule of every port decides nothing for
// every address, so nothing after it goes; and rules out of id order
// leave masks as they are.
func TestPrunerDropsWhatChangesNothing(t *testing.T) {
	denyAll := &crule{id: 1, tier: model.TierAdmin, action: model.ActionDeny, allPorts: true}
	admin := &crule{id: 2, tier: model.TierAdmin, action: model.ActionAllow}
	np := &crule{id: 3, tier: model.TierNamespace, action: model.ActionAllow}
	baseline := &crule{id: 4, tier: model.TierBaseline, action: model.ActionDeny}
	rules := ruleList{denyAll, admin, np, baseline}
	var p pruner

	p.reset(rules, false)
	if got, want := p.narrow(rules, [2]uint64{0b1111, 0}), [2]uint64{0b0101, 0}; got != want {
		t.Errorf("after an Admin Deny of every port: mask %b, want %b", got, want)
	}
	var wide wideKey
	wide[0] = 0b1111
	if got := p.wide(rules, wide); got[0] != 0b0101 {
		t.Errorf("wide, after an Admin Deny of every port: mask %b, want %b", got[0], 0b0101)
	}
	if got, want := p.narrow(rules, [2]uint64{0b1110, 0b0001}), [2]uint64{0b1110, 0b0001}; got != want {
		t.Errorf("an address-dependent Admin Deny of every port: mask %b, want %b", got, want)
	}
	if got, want := p.narrow(rules, [2]uint64{0b1110, 0}), [2]uint64{0b1110, 0}; got != want {
		t.Errorf("no Admin rule of every port: mask %b, want %b", got, want)
	}

	p.reset(rules, true)
	if got, want := p.narrow(rules, [2]uint64{0b1110, 0}), [2]uint64{0b0110, 0}; got != want {
		t.Errorf("an isolated pod's Baseline rule: mask %b, want %b", got, want)
	}

	unsorted := ruleList{admin, denyAll, np, baseline}
	p.reset(unsorted, false)
	if p.active() {
		t.Errorf("the pruner is active on rules out of id order")
	}
	p.reset(ruleList{np}, false)
	if p.active() {
		t.Errorf("the pruner is active without a cluster policy rule")
	}
}
