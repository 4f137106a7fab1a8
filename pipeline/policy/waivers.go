package policy

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/reachgate/reachgate/internal/yamlfile"
	"github.com/reachgate/reachgate/pipeline/model"
)

// Rule ids of waiver findings.
const (
	WaiverExpiredID = "waiver/expired"
	WaiverUnusedID  = "waiver/unused"
)

// dateLayout is the format of a waiver's expires.
const dateLayout = "2006-01-02"

type waiversDoc struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Waivers    []waiverDoc `yaml:"waivers"`
}

type waiverDoc struct {
	Rule    string `yaml:"rule"`
	Object  string `yaml:"object"`
	Reason  string `yaml:"reason"`
	Owner   string `yaml:"owner"`
	Expires string `yaml:"expires"`
}

// ParseWaivers reads a waivers file. Every field of every waiver is
// required; problems are *model.InputError (syntax) or model.InputErrors,
// each naming file, line and field.
func ParseWaivers(file string, data []byte) ([]model.Waiver, error) {
	var doc waiversDoc
	f, err := yamlfile.Decode(file, data, &doc)
	if err != nil {
		return nil, err
	}
	header(f, doc.APIVersion, doc.Kind, "Waivers")
	out := make([]model.Waiver, 0, len(doc.Waivers))
	for i, d := range doc.Waivers {
		p := fmt.Sprintf("waivers.%d", i)
		field := fmt.Sprintf("waivers[%d]", i)
		w := model.Waiver{
			RuleID:  strings.TrimSpace(d.Rule),
			Object:  strings.TrimSpace(d.Object),
			Reason:  strings.TrimSpace(d.Reason),
			Owner:   strings.TrimSpace(d.Owner),
			Expires: strings.TrimSpace(d.Expires),
			Source:  model.Location{File: file, Line: f.Line(p)},
		}
		for _, req := range []struct{ key, value, what string }{
			{"rule", w.RuleID, "the rule id it accepts (e.g. NP011)"},
			{"object", w.Object, "the object, Kind/namespace/name (globs allowed)"},
			{"reason", w.Reason, "why the finding is accepted"},
			{"owner", w.Owner, "who answers for it"},
			{"expires", w.Expires, "the date it ends, YYYY-MM-DD"},
		} {
			if req.value == "" {
				f.Add(p+"."+req.key, field+"."+req.key, "waiver needs %s: %s", req.key, req.what)
			}
		}
		if w.RuleID != "" {
			if _, err := path.Match(w.RuleID, ""); err != nil {
				f.Add(p+".rule", field+".rule", "rule %q is not a valid pattern", w.RuleID)
			}
		}
		if w.Object != "" {
			if _, err := path.Match(w.Object, ""); err != nil {
				f.Add(p+".object", field+".object", "object %q is not a valid pattern", w.Object)
			} else if n := strings.Count(w.Object, "/"); n < 1 || n > 2 {
				f.Add(p+".object", field+".object", "object %q: want Kind/namespace/name, or Kind/name for cluster-scoped objects", w.Object)
			}
		}
		if w.Expires != "" {
			if _, err := time.Parse(dateLayout, w.Expires); err != nil {
				f.Add(p+".expires", field+".expires", "expires %q is not a date YYYY-MM-DD", w.Expires)
			}
		}
		out = append(out, w)
	}
	if len(f.Errs) > 0 {
		return nil, f.Errs
	}
	return out, nil
}

// waivable reports whether a waiver may accept the finding: rule findings,
// an overlay dropped from the gate (overlay/removed,
// overlay/unconfigured), and a policy of a kind reachgate does not
// evaluate (input/unevaluated-policy). Failed expectations are changed in
// expectations.yaml, not waived; invalid input and rule errors must be
// fixed.
func waivable(f *model.Finding) bool {
	// A weakened expectation and a policy kind reachgate does not evaluate
	// are decisions to record, like rule findings: failed expectations
	// themselves are fixed, not waived.
	if f.RuleID == ExpectWeakenedID || f.RuleID == model.UnevaluatedPolicyID {
		return true
	}
	for _, prefix := range []string{"expect/", "waiver/", "input/", "rule/"} {
		if strings.HasPrefix(f.RuleID, prefix) {
			return false
		}
	}
	return true
}

// WaiverObject is how a waiver names a finding's object:
// Kind/namespace/name, or Kind/name for cluster-scoped objects.
func WaiverObject(o model.ObjectRef) string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// expired reports whether the waiver's last day (inclusive, UTC) is over.
func expired(w model.Waiver, now time.Time) bool {
	d, err := time.Parse(dateLayout, w.Expires)
	if err != nil {
		return true
	}
	return !now.UTC().Before(d.AddDate(0, 0, 1))
}

// ApplyWaivers returns the findings with Waived set on those an active
// waiver accepts (rule and object matched with path.Match globs). A waiver
// is active through the day its expires names (UTC). An expired waiver
// waives nothing and yields a WaiverExpiredID error finding; an active
// waiver that matches no finding yields a WaiverUnusedID info finding.
// The input is not modified.
func ApplyWaivers(findings []model.Finding, waivers []model.Waiver, now time.Time) []model.Finding {
	out := make([]model.Finding, len(findings), len(findings)+len(waivers))
	copy(out, findings)
	var extra []model.Finding
	for i := range waivers {
		w := waivers[i]
		if expired(w, now) {
			extra = append(extra, model.Finding{
				RuleID:      WaiverExpiredID,
				Title:       "Waiver expired",
				Severity:    model.SeverityError,
				Message:     fmt.Sprintf("waiver of %s on %s (owner %s) expired on %s; its findings count again", w.RuleID, w.Object, w.Owner, w.Expires),
				Location:    w.Source,
				Controls:    []string{},
				Remediation: "Fix the findings it covered and delete the waiver, or renew it with a new expires date and a reason the reviewers accept.",
			})
			continue
		}
		used := false
		for j := range out {
			f := &out[j]
			if f.Waived != nil || !waivable(f) {
				continue
			}
			if ok, _ := path.Match(w.RuleID, f.RuleID); !ok {
				continue
			}
			if ok, _ := path.Match(w.Object, WaiverObject(f.Object)); !ok {
				continue
			}
			wc := w
			f.Waived = &wc
			used = true
		}
		if !used {
			extra = append(extra, model.Finding{
				RuleID:      WaiverUnusedID,
				Title:       "Waiver matches nothing",
				Severity:    model.SeverityInfo,
				Message:     fmt.Sprintf("waiver of %s on %s (owner %s, expires %s) matches no finding; delete it", w.RuleID, w.Object, w.Owner, w.Expires),
				Location:    w.Source,
				Controls:    []string{},
				Remediation: "Delete the waiver: the finding it accepted is gone.",
			})
		}
	}
	return append(out, extra...)
}
