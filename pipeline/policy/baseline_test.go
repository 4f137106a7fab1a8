package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/reachgate/reachgate/pipeline/model"
)

func TestBaseline(t *testing.T) {
	pol := func(name string) model.ObjectRef {
		return model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: name}
	}
	f := func(rule string, obj model.ObjectRef, field, msg string, line int) model.Finding {
		return model.Finding{RuleID: rule, Object: obj, Field: field, Message: msg, Location: model.Location{File: "f.yaml", Line: line}}
	}
	base := []model.Finding{
		f("NP011", pol("a"), "spec.egress[0]", "all ports", 3),
		f("NP016", pol("db"), "spec.ingress[0]", "reachable from app/x", 9),
		f("NP007", pol("gone"), "spec.ingress[0].from[0]", "matches nothing", 20),
		f("expect/deny", model.ObjectRef{}, "", "expected a -> b to be denied", 40),
	}
	head := []model.Finding{
		f("NP011", pol("a"), "spec.egress[0]", "all ports", 5),                     // same, moved
		f("NP016", pol("db"), "spec.ingress[0]", "reachable from app/x, app/y", 9), // same problem, grown
		f("NP016", pol("db"), "spec.ingress[1]", "reachable from app/z", 12),       // new rule of the policy
		f("expect/deny", model.ObjectRef{}, "", "expected a -> b to be denied", 44),
		f("expect/deny", model.ObjectRef{}, "", "expected c -> d to be denied", 45),
	}
	marked, resolved := Baseline(head, base)
	var states []string
	for _, m := range marked {
		states = append(states, m.Baseline)
	}
	assert.Equal(t, []string{"existing", "existing", "new", "existing", "new"}, states)
	assert.Len(t, resolved, 1)
	assert.Equal(t, "gone", resolved[0].Object.Name)

	marked, resolved = Baseline(head, nil)
	for _, m := range marked {
		assert.Equal(t, model.BaselineNew, m.Baseline)
	}
	assert.Empty(t, resolved)
}
