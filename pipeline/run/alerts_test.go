package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	promodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/run"
)

// The PrometheusRules of the reference repository are parsed with the
// upstream parsers: the prometheus-operator's own PrometheusRule type
// (strictly: an unknown or misspelt field fails) and Prometheus's PromQL
// parser for every expression. Prometheus's model/rulefmt is not used: it
// imports the PromQL engine and with it k8s.io/client-go, whose tests
// need a k8s.io/api newer than this module's, so go mod tidy fails
// (docs/observe.md).

// ruleFile decodes a rendered PrometheusRule strictly.
func ruleFile(o model.Object) (*monitoringv1.PrometheusRule, error) {
	b, err := json.Marshal(o.Doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var pr monitoringv1.PrometheusRule
	if err := dec.Decode(&pr); err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.Source, o.ObjectRef, err)
	}
	return &pr, nil
}

// promFuncs are the template functions Prometheus gives alert annotations,
// so that the templates parse as Prometheus parses them.
var promFuncs = template.FuncMap{}

func init() {
	for _, f := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
		"query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml", "match", "title", "toUpper",
		"toLower", "graphLink", "tableLink", "sortByLabel", "stripPort", "stripDomain", "parseDuration", "pathPrefix",
		"externalURL", "toTime", "toDuration", "now", "humanizeBytes"} {
		promFuncs[f] = func(...any) any { return nil }
	}
}

// checkRule checks one alerting rule as Prometheus would load it, plus
// this repository's conventions; it returns every problem.
func checkRule(r monitoringv1.Rule) error {
	var errs []error
	if r.Alert == "" {
		errs = append(errs, errors.New("alert: empty"))
	} else if !promodel.LabelValue(r.Alert).IsValid() {
		errs = append(errs, fmt.Errorf("alert %q: not a valid name", r.Alert))
	}
	expr, err := parser.ParseExpr(r.Expr.String())
	if err != nil {
		errs = append(errs, fmt.Errorf("expr: %w", err))
	} else {
		found := false
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok && vs.Name == "hubble_drop_total" {
				for _, m := range vs.LabelMatchers {
					if m.Name == "reason" && m.Value == "POLICY_DENIED" {
						found = true
					}
				}
			}
			if ag, ok := n.(*parser.AggregateExpr); ok && !strings.Contains(strings.Join(ag.Grouping, ","), "namespace") {
				errs = append(errs, fmt.Errorf("expr: aggregates by %v, not by namespace", ag.Grouping))
			}
			return nil
		})
		if !found {
			errs = append(errs, errors.New(`expr: does not select hubble_drop_total{reason="POLICY_DENIED"}`))
		}
	}
	if r.For == nil {
		errs = append(errs, errors.New("for: missing"))
	} else if _, err := promodel.ParseDuration(string(*r.For)); err != nil {
		errs = append(errs, fmt.Errorf("for: %w", err))
	}
	for k := range r.Labels {
		if !promodel.LabelName(k).IsValid() {
			errs = append(errs, fmt.Errorf("labels: %q is not a valid label name", k))
		}
	}
	for k, v := range r.Annotations {
		// Prometheus defines these variables before every template.
		defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
		if _, err := template.New(k).Funcs(promFuncs).Parse(defs + v); err != nil {
			errs = append(errs, fmt.Errorf("annotations.%s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

func TestPrometheusRulesPerEnvironment(t *testing.T) {
	t.Parallel()
	ws, err := run.OpenWorkTree(repoRoot, "")
	require.NoError(t, err)
	want := map[string]struct{ severity, forDuration string }{
		"dev":     {"info", "1h"},
		"staging": {"warning", "15m"},
		"prod":    {"critical", "5m"},
	}
	runbook, err := os.ReadFile(filepath.Join(repoRoot, "docs", "runbooks", "network-policy-logging.md"))
	require.NoError(t, err)
	for env, w := range want {
		o := ws.Load(context.Background(), env)
		require.NoError(t, o.Err)
		var rules []monitoringv1.Rule
		for _, obj := range o.Objects {
			if obj.Kind != "PrometheusRule" {
				continue
			}
			pr, err := ruleFile(obj)
			require.NoError(t, err)
			for _, g := range pr.Spec.Groups {
				rules = append(rules, g.Rules...)
			}
		}
		require.Len(t, rules, 2, "%s: an ingress and an egress drop alert", env)
		for _, r := range rules {
			require.NoError(t, checkRule(r), "%s %s", env, r.Alert)
			assert.Equal(t, w.severity, r.Labels["severity"], "%s %s", env, r.Alert)
			assert.Equal(t, w.forDuration, string(*r.For), "%s %s", env, r.Alert)
			assert.Equal(t, env, r.Labels["environment"])
			url := r.Annotations["runbook_url"]
			_, anchor, ok := strings.Cut(url, "#")
			require.True(t, ok, url)
			assert.True(t, strings.HasPrefix(url, "https://github.com/reachgate/reachgate/blob/main/docs/runbooks/network-policy-logging.md#"), url)
			assert.True(t, strings.Contains(strings.ToLower(strings.ReplaceAll(string(runbook), "## Alert: ", "## alert-")), "\n## "+anchor+"\n"),
				"the runbook has the section %s the alert links to", anchor)
		}
		// Nothing else in the repository's gate changes: the rule is an
		// object of a kind outside the model.
		assert.Empty(t, o.Problems, env)
	}
}

// TestRuleCheckCatchesTypos: the checks above are not vacuous.
func TestRuleCheckCatchesTypos(t *testing.T) {
	t.Parallel()
	d := monitoringv1.Duration("5m")
	good := monitoringv1.Rule{Alert: "NetworkPolicyIngressDrops",
		For:         &d,
		Labels:      map[string]string{"severity": "critical"},
		Annotations: map[string]string{"summary": "{{ $labels.destination_namespace }}"}}
	good.Expr.Type, good.Expr.StrVal = 1, `sum by (destination_namespace) (rate(hubble_drop_total{reason="POLICY_DENIED"}[5m])) > 0`
	require.NoError(t, checkRule(good))
	for name, mutate := range map[string]func(r *monitoringv1.Rule){
		"unbalanced parenthesis": func(r *monitoringv1.Rule) {
			r.Expr.StrVal = `sum by (destination_namespace) (rate(hubble_drop_total{reason="POLICY_DENIED"}[5m]) > 0`
		},
		"bad range": func(r *monitoringv1.Rule) {
			r.Expr.StrVal = `rate(hubble_drop_total{reason="POLICY_DENIED"}[5 minutes])`
		},
		"wrong reason": func(r *monitoringv1.Rule) {
			r.Expr.StrVal = `sum by (destination_namespace) (rate(hubble_drop_total{reason="POLICY_DENY"}[5m])) > 0`
		},
		"not by namespace": func(r *monitoringv1.Rule) {
			r.Expr.StrVal = `sum by (node) (rate(hubble_drop_total{reason="POLICY_DENIED"}[5m])) > 0`
		},
		"bad for":      func(r *monitoringv1.Rule) { x := monitoringv1.Duration("5 minutes"); r.For = &x },
		"bad label":    func(r *monitoringv1.Rule) { r.Labels = map[string]string{"\xff": "x"} },
		"bad template": func(r *monitoringv1.Rule) { r.Annotations = map[string]string{"summary": "{{ $labels.x "} },
	} {
		r := good
		mutate(&r)
		assert.Error(t, checkRule(r), name)
	}
	// A misspelt field of the PrometheusRule fails the strict decode.
	_, err := ruleFile(model.Object{Doc: map[string]any{"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
		"spec": map[string]any{"groups": []any{map[string]any{"name": "g", "rules": []any{map[string]any{"alert": "A", "expr": "up", "fro": "5m"}}}}}}})
	assert.ErrorContains(t, err, `unknown field "fro"`)
}
