package policy

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/reachgate/reachgate/pipeline/model"
)

// ObservedVersion is the version of input.observed's shape.
const ObservedVersion = "1"

// observedTerm builds input.observed (docs/rules.md describes it).
func observedTerm(t *model.TrafficImpact) *ast.Term {
	flows := func(fs []model.ImpactFlow) *ast.Term {
		ts := make([]*ast.Term, len(fs))
		for i := range fs {
			f := &fs[i]
			ts[i] = ast.ObjectTerm(
				item(str("src"), str(f.Flow.Src)),
				item(str("dst"), str(f.Flow.Dst)),
				item(str("srcLabel"), str(f.Flow.SrcLabel)),
				item(str("dstLabel"), str(f.Flow.DstLabel)),
				item(kProtocol, protoTerms[f.Flow.Protocol]),
				item(kPort, num(int(f.Flow.Port))),
				item(str("verdict"), str(f.Flow.Verdict)),
				item(str("count"), ast.InternedTerm(int(f.Flow.Count))),
				item(str("first"), timeTerm(f.Flow.First)),
				item(str("last"), timeTerm(f.Flow.Last)),
				item(str("baseAllowed"), boolTerm(f.BaseAllowed)),
				item(str("side"), str(f.Side)),
				item(kReason, str(f.Reason)),
			)
		}
		return ast.ArrayTerm(ts...)
	}
	unknown := make([]*ast.Term, len(t.Unknown))
	for i, u := range t.Unknown {
		unknown[i] = ast.ObjectTerm(
			item(str("endpoint"), str(u.Endpoint)),
			item(kReason, str(u.Reason)),
			item(str("count"), ast.InternedTerm(int(u.Count))),
		)
	}
	srcs := t.Input.Sources
	if srcs == nil {
		srcs = []string{}
	}
	return ast.ObjectTerm(
		item(str("version"), str(ObservedVersion)),
		item(str("sources"), strings2(srcs)),
		item(str("window"), ast.ObjectTerm(item(str("first"), timeTerm(t.Input.Window.First)), item(str("last"), timeTerm(t.Input.Window.Last)))),
		item(str("flows"), ast.InternedTerm(int(t.Input.Flows))),
		item(str("blocked"), flows(t.Blocked)),
		item(str("unblocked"), flows(t.Unblocked)),
		item(str("unknown"), ast.ArrayTerm(unknown...)),
	)
}

func timeTerm(t time.Time) *ast.Term {
	if t.IsZero() {
		return str("")
	}
	return str(t.UTC().Format(time.RFC3339Nano))
}

// AllowExpectation returns a function that finds the allow expectation
// covering a flow from peer src to peer dst of m on one port: its
// location, or nil. An expectation covers the flow when it names both
// peers and, when it names ports, the port.
func AllowExpectation(exp *Expectations, m *model.Matrix) func(src, dst int32, proto model.Protocol, port uint16) *model.Location {
	if exp == nil || len(exp.Allow) == 0 {
		return func(int32, int32, model.Protocol, uint16) *model.Location { return nil }
	}
	r := newPeerResolver(m)
	type resolved struct {
		x          Expectation
		srcs, dsts map[int32]bool
	}
	set := func(ps []int32) map[int32]bool {
		out := make(map[int32]bool, len(ps))
		for _, p := range ps {
			out[p] = true
		}
		return out
	}
	xs := make([]resolved, len(exp.Allow))
	for i, x := range exp.Allow {
		xs[i] = resolved{x, set(r.resolve(x.From)), set(r.resolve(x.To))}
	}
	return func(src, dst int32, proto model.Protocol, port uint16) *model.Location {
		for i := range xs {
			x := &xs[i]
			if !x.srcs[src] || !x.dsts[dst] {
				continue
			}
			if x.x.HasPort && !x.x.portSet().Contains(proto, port) {
				continue
			}
			loc := x.x.Source
			return &loc
		}
		return nil
	}
}
