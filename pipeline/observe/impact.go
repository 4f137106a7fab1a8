package observe

import (
	"github.com/reachgate/reachgate/pipeline/model"
)

// Impact compares what a change does to observed traffic: mapped onto the
// head's matrix, the forwarded flows the head denies (Blocked, noting
// whether the base allowed them) and the dropped flows the head allows and
// the base denied (Unblocked). base may be nil (no base: every blocked
// flow counts as blocked by the change). The matrices must split the
// external address space alike (reach.ComputeAll), so external ranges
// match by key.
func Impact(c *Capture, headC *model.Cluster, head, base *model.Matrix, judge Judge) *model.TrafficImpact {
	mf := MapCapture(c, headC, head)
	t := &model.TrafficImpact{Input: c.Input, Blocked: []model.ImpactFlow{}, Unblocked: []model.ImpactFlow{}, Unknown: mf.Unknown}
	if t.Unknown == nil {
		t.Unknown = []model.UnknownEndpoint{}
	}
	if mf.Self > 0 {
		t.Input.Skipped = append(append([]model.Tally{}, t.Input.Skipped...), model.Tally{What: skipSelf, Count: mf.Self})
	}
	var baseIdx map[string]int32
	if base != nil {
		baseIdx = make(map[string]int32, len(base.Peers))
		for i := range base.Peers {
			baseIdx[base.Peers[i].Key()] = int32(i)
		}
	}
	baseAllows := func(f *model.ObservedFlow) bool {
		if base == nil {
			return f.Verdict == model.VerdictForwarded
		}
		s, ok1 := baseIdx[f.Src]
		d, ok2 := baseIdx[f.Dst]
		if !ok1 || !ok2 {
			return false
		}
		a := base.Find(s, d)
		return a != nil && a.Ports.Contains(f.Protocol, f.Port)
	}
	for i := range mf.Flows {
		f := mf.Flows[i]
		allowed := Allowed(head, &f)
		switch {
		case f.Verdict == model.VerdictForwarded && !allowed:
			side, reason := judge(&f)
			t.Blocked = append(t.Blocked, model.ImpactFlow{Flow: f, BaseAllowed: baseAllows(&f), Side: side, Reason: reason})
		case f.Verdict == model.VerdictDropped && allowed && base != nil && !baseAllows(&f):
			t.Unblocked = append(t.Unblocked, model.ImpactFlow{Flow: f})
		}
	}
	return t
}
