package report_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/report"
)

func TestExplainSummary(t *testing.T) {
	t.Parallel()
	src := model.Peer{Workload: &model.Workload{Namespace: "app", Name: "frontend", Kind: "Deployment"}}
	dst := model.Peer{Workload: &model.Workload{Namespace: "app", Name: "postgres", Kind: "StatefulSet"}}
	q := &model.PortQuery{Protocol: model.TCP, Port: 5432}
	denied := model.Explanation{Src: src, Dst: dst, Port: q,
		Egress:  model.SideExplanation{Direction: model.Egress, Isolated: true, Policies: []model.PolicyVerdict{{Policy: "app/default-deny", NoRules: true}}},
		Ingress: model.SideExplanation{Direction: model.Ingress, Allows: model.AllPorts()},
	}
	got := report.ExplainSummary([]model.Explanation{denied})
	assert.Equal(t, "app/frontend[Deployment] -> app/postgres[StatefulSet] on 5432/TCP is denied: egress blocks it: app/default-deny isolates it for egress with no egress rules (a default deny), and no other policy allows it", got)

	allowed := model.Explanation{Src: src, Dst: dst, Port: q, Allowed: true, Ports: model.SinglePort(model.TCP, 5432, 5432),
		Grants: []model.Grant{{Ports: model.SinglePort(model.TCP, 5432, 5432), Egress: &model.RuleRef{Direction: model.Egress}, Ingress: &model.RuleRef{Policy: "app/allow-pg", Direction: model.Ingress}}}}
	assert.Contains(t, report.ExplainSummary([]model.Explanation{allowed}), "is allowed by")
	assert.Contains(t, report.ExplainSummary([]model.Explanation{allowed}), "app/allow-pg")
}
