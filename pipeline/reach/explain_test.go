package reach_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

func explainer(t *testing.T) *reach.Explainer {
	t.Helper()
	ar, err := txtar.ParseFile("testdata/explain.txtar")
	require.NoError(t, err)
	return reach.NewExplainer(loadScenario(t, ar))
}

func tcp(p uint16) *model.PortQuery { return &model.PortQuery{Protocol: model.TCP, Port: p} }

func explainOne(t *testing.T, ex *reach.Explainer, src, dst string, q *model.PortQuery) model.Explanation {
	t.Helper()
	xs, err := ex.Explain(src, dst, q)
	require.NoError(t, err)
	require.Len(t, xs, 1)
	return xs[0]
}

func reasons(s model.SideExplanation) string {
	var b strings.Builder
	for _, p := range s.Policies {
		for _, r := range p.Rules {
			b.WriteString(p.Policy + ": " + r.PeerReason + " | " + r.PortReason + "\n")
		}
	}
	return b.String()
}

func TestExplainAllowed(t *testing.T) {
	t.Parallel()
	x := explainOne(t, explainer(t), "app/frontend", "app/backend-api", tcp(3000))
	assert.True(t, x.Allowed)
	require.Len(t, x.Grants, 1)
	assert.Equal(t, "app/allow-frontend-to-backend-api", x.Grants[0].Egress.Policy)
	assert.Equal(t, "app/allow-ingress-from-frontend", x.Grants[0].Ingress.Policy)
	assert.True(t, x.Egress.Isolated)
	assert.True(t, x.Ingress.Isolated)
}

func TestExplainDeniedByEgress(t *testing.T) {
	t.Parallel()
	x := explainOne(t, explainer(t), "app/frontend", "app/postgres", tcp(5432))
	assert.False(t, x.Allowed)
	assert.True(t, x.Egress.Isolated)
	assert.True(t, x.Egress.Allows.IsEmpty(), "frontend's egress allows nothing towards postgres")
	assert.Contains(t, reasons(x.Egress), "no peer matches app/postgres[StatefulSet] (peer 0: podSelector app=backend-api does not match: label app=postgres, want backend-api) | allows TCP 3000, not 5432/TCP")
	// The default deny is listed as a policy that isolates with no rule.
	var sawDeny bool
	for _, p := range x.Egress.Policies {
		sawDeny = sawDeny || (p.Policy == "app/default-deny" && p.NoRules)
	}
	assert.True(t, sawDeny)
}

func TestExplainDeniedByIngress(t *testing.T) {
	t.Parallel()
	x := explainOne(t, explainer(t), "app/backend-api", "app/postgres", tcp(5432))
	assert.False(t, x.Allowed)
	assert.False(t, x.Egress.Allows.IsEmpty(), "backend-api's egress allows postgres")
	assert.True(t, x.Ingress.Allows.IsEmpty())
	assert.Contains(t, reasons(x.Ingress), "label app=backend-api, want frontend-typo")
}

func TestExplainNamedPortMiss(t *testing.T) {
	t.Parallel()
	x := explainOne(t, explainer(t), "monitoring/prometheus", "app/postgres", tcp(9187))
	assert.False(t, x.Allowed)
	assert.Contains(t, reasons(x.Ingress), "named port `metrics`/TCP has no match on app/postgres")
}

func TestExplainIPBlockExcept(t *testing.T) {
	t.Parallel()
	ex := explainer(t)
	x := explainOne(t, ex, "app/backend-api", "169.254.169.254", tcp(443))
	assert.False(t, x.Allowed)
	assert.Contains(t, reasons(x.Egress), "ipBlock 0.0.0.0/5,8.0.0.0/7")
	assert.Contains(t, reasons(x.Egress), "does not contain 169.254.169.254/32")

	x = explainOne(t, ex, "app/backend-api", "203.0.113.9", tcp(443))
	assert.True(t, x.Allowed)
	assert.False(t, x.Ingress.Isolated, "an external destination is not isolated")

	xs, err := ex.Explain("app/backend-api", "internet", tcp(443))
	require.NoError(t, err)
	assert.Greater(t, len(xs), 1, "the internet spans several ranges around the excepted ones")

	// A range as Peer.Key prints it resolves too.
	x = explainOne(t, ex, "app/backend-api", "169.254.169.254/32", tcp(443))
	assert.Equal(t, "cloud-metadata", x.Dst.External)
}

func TestExplainResolveErrors(t *testing.T) {
	t.Parallel()
	ex := explainer(t)
	_, err := ex.Explain("app/nope", "app/postgres", nil)
	assert.ErrorContains(t, err, "no workload app/nope")
	_, err = ex.Explain("app/frontend", "mars", nil)
	assert.ErrorContains(t, err, `unknown peer "mars"`)
	_, err = ex.Explain("app/frontend", "10.244.3.3", nil)
	assert.ErrorContains(t, err, "no workload with a known address")
}
