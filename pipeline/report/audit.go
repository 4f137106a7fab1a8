package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

type auditWriter func(io.Writer, *model.Audit, Options) error

var auditFormats = []format[auditWriter]{
	{"text", []string{"txt"}, writeAuditText},
	{"markdown", []string{"md"}, writeAuditMarkdown},
	{"json", nil, writeAuditJSON},
	{"junit", nil, viaCheck(writeCheckJUnit)},
	{"sarif", nil, viaCheck(writeCheckSARIF)},
	{"github", nil, viaCheck(writeCheckGitHub)},
}

// AuditFormats lists the audit formats.
func AuditFormats() []string { return names(auditFormats) }

// WriteAudit renders an audit of a live cluster against git.
func WriteAudit(w io.Writer, format string, a *model.Audit, opts Options) error {
	f, err := lookup("audit", auditFormats, format)
	if err != nil {
		return err
	}
	return f(w, a, opts)
}

// The rules an audit's findings come from, so that SARIF, JUnit and
// annotations name them as they name the compliance rules.
var auditRules = []model.Rule{
	{ID: "audit/policy-missing-live", Title: "NetworkPolicy in git but not in the cluster", Severity: model.SeverityError, Controls: []string{},
		Remediation: "Sync the environment (Argo CD) or find out who deleted the policy; git is what was reviewed."},
	{ID: "audit/policy-not-in-git", Title: "NetworkPolicy in the cluster but not in git", Severity: model.SeverityError, Controls: []string{},
		Remediation: "Delete it from the cluster, or propose it in a pull request so that it is reviewed."},
	{ID: "audit/policy-differs", Title: "NetworkPolicy spec differs from git", Severity: model.SeverityError, Controls: []string{},
		Remediation: "Sync the environment, or propose the live change in a pull request."},
	{ID: "audit/flow-live-only", Title: "Flow allowed live but not by git", Severity: model.SeverityError, Controls: []string{}},
	{ID: "audit/flow-git-only", Title: "Flow allowed by git but not live", Severity: model.SeverityError, Controls: []string{}},
	{ID: "audit/unmanaged-workload", Title: "Workload running in a managed namespace but absent from git", Severity: model.SeverityError, Controls: []string{},
		Remediation: "Declare it in git, or remove it; until then it is governed only by the policies that happen to select it."},
}

// AuditFindings turns every drift of an audit into a finding.
func AuditFindings(a *model.Audit) []model.Finding {
	out := append([]model.Finding{}, a.Problems...)
	rule := func(id string) model.Rule {
		for _, r := range auditRules {
			if r.ID == id {
				return r
			}
		}
		return model.Rule{ID: id}
	}
	add := func(id, msg string, obj model.ObjectRef, loc model.Location) {
		r := rule(id)
		if loc.File == "" {
			loc.File = "live"
		}
		out = append(out, model.Finding{RuleID: id, Title: r.Title, Severity: r.Severity, Message: msg, Object: obj, Location: loc, Controls: []string{}, Remediation: r.Remediation})
	}
	for _, p := range a.Policies {
		obj := model.ObjectRef{Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name}
		switch p.State {
		case model.PolicyMissingLive:
			add("audit/policy-missing-live", "in git, not in the cluster", obj, p.Source)
		case model.PolicyNotInGit:
			add("audit/policy-not-in-git", "in the cluster, not in git", obj, p.Source)
		default:
			var fs []string
			for _, c := range p.Changes {
				fs = append(fs, fieldChangeText(c))
			}
			add("audit/policy-differs", "spec differs: "+strings.Join(fs, "; "), obj, p.Source)
		}
	}
	if a.Flows != nil {
		for _, set := range []struct {
			id, sign string
			cs       []model.ConnectionChange
		}{{"audit/flow-live-only", "+", a.Flows.Added}, {"audit/flow-git-only", "-", a.Flows.Removed}, {"audit/flow-live-only", "~", a.Flows.Changed}} {
			for _, r := range changeRows(set.cs) {
				add(set.id, strings.TrimPrefix(changeLine(set.sign, r), set.sign+" "), model.ObjectRef{Kind: "Overlay", Name: a.Overlay}, model.Location{File: a.Path})
			}
		}
	}
	for _, u := range a.Unmanaged {
		add("audit/unmanaged-workload", unmanagedText(u), model.ObjectRef{Kind: u.Kind, Namespace: u.Namespace, Name: u.Name}, model.Location{})
	}
	return out
}

// fieldChangeText is "spec.ingress[0].ports[0].port: git 5432, live 5433".
func fieldChangeText(c model.FieldChange) string {
	val := func(s string) string {
		if s == "" {
			return "(absent)"
		}
		return s
	}
	return c.Path + ": git " + val(c.Git) + ", live " + val(c.Live)
}

// unmanagedText says how many pods run and whether policies cover them.
func unmanagedText(u model.UnmanagedWorkload) string {
	s := plural(u.Pods, "pod", "pods") + "; "
	switch {
	case u.HostNetwork:
		s += "host network: no NetworkPolicy applies"
	case u.Covered():
		s += "isolated both ways (a default deny covers it)"
	case u.IngressIsolated:
		s += "isolated for ingress only: its egress is open"
	case u.EgressIsolated:
		s += "isolated for egress only: its ingress is open"
	default:
		s += "not isolated: no policy selects it, all traffic is allowed"
	}
	return s
}

// viaCheck renders an audit as a check report of one overlay whose
// findings are the drifts, for the formats other tools read.
func viaCheck(f checkWriter) auditWriter {
	return func(w io.Writer, a *model.Audit, opts Options) error {
		r := &model.Report{
			Head: a.Git, RulesFrom: "audit", Rules: auditRules, RulesChanged: []model.RuleChange{},
			CheckedAt: a.AuditedAt, FailOn: model.SeverityError,
			Overlays: []model.OverlayReport{{Name: a.Overlay, Environment: a.Environment, Path: a.Path, Findings: AuditFindings(a)}},
		}
		return f(w, r, opts)
	}
}

// AuditVerdict is "DRIFT: 1 policy, 2 flows, 1 unmanaged workload" or
// "NO DRIFT".
func AuditVerdict(a *model.Audit) string {
	if !a.Drifted() {
		return "NO DRIFT"
	}
	flows := 0
	if a.Flows != nil {
		flows = len(changeRows(a.Flows.Added)) + len(changeRows(a.Flows.Removed)) + len(changeRows(a.Flows.Changed))
	}
	return fmt.Sprintf("DRIFT: %s, %s, %s", plural(len(a.Policies), "policy", "policies"), plural(flows, "flow", "flows"),
		plural(len(a.Unmanaged), "unmanaged workload", "unmanaged workloads"))
}

func policyStateText(p model.PolicyDrift) (sign, text string) {
	switch p.State {
	case model.PolicyMissingLive:
		return "-", "in git, missing live"
	case model.PolicyNotInGit:
		return "+", "live, not in git"
	}
	return "~", "spec differs"
}
