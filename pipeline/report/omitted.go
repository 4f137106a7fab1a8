package report

import (
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// What a matrix leaves out is said first, in every format: the policies
// of kinds reachgate does not evaluate, which the matrix ignores, and the
// NetworkPolicies dropped as invalid, whose pods' flows are marked.

// omittedNote is one paragraph about policies left out of a matrix: a
// sentence, and the policies with their file and line.
type omittedNote struct {
	text  string
	items []string // "file:line: Kind ns/name"
}

// omittedNotes says what the policies left out mean for the matrix, the
// unevaluated ones first; none when nothing is left out.
func omittedNotes(os []model.OmittedPolicy) []omittedNote {
	var unevaluated, invalid omittedNote
	for i := range os {
		o := &os[i]
		item := o.Source.String() + ": " + o.Object.String()
		if o.Reason == model.OmitUnevaluated {
			if o.APIVersion != "" {
				item += " (" + o.APIVersion + ")"
			}
			unevaluated.items = append(unevaluated.items, item)
		} else {
			invalid.items = append(invalid.items, item)
		}
	}
	var out []omittedNote
	if n := len(unevaluated.items); n > 0 {
		unevaluated.text = "The matrix ignores " + plural(n, "policy", "policies") + " of a kind reachgate does not evaluate: the cluster may deny flows shown here, and allow flows not shown."
		out = append(out, unevaluated)
	}
	if n := len(invalid.items); n > 0 {
		invalid.text = "The matrix omits " + plural(n, "NetworkPolicy", "NetworkPolicies") + " dropped as invalid (the API server would refuse " + pluralWord(n, "it", "them") + "); flows " + pluralWord(n, "it", "they") + " could deny once fixed are marked \"" + mayBeDenied + "\"."
		out = append(out, invalid)
	}
	return out
}

// mayBeDenied is how a flow that an invalid policy could deny is marked.
const mayBeDenied = "may be denied by an invalid policy"

// mayDenyText is " (may be denied by an invalid policy: ns/a, ns/b)" for a
// flow some dropped NetworkPolicy could deny, else "".
func mayDenyText(src, dst model.Peer) string {
	keys := model.MayBeDeniedBy(src, dst)
	if len(keys) == 0 {
		return ""
	}
	return " (" + mayBeDenied + ": " + strings.Join(keys, ", ") + ")"
}

// omittedFromFindings is what a check report says was left out of an
// overlay's matrix: the policies of input/unevaluated-policy findings and
// the NetworkPolicies of input/invalid findings (each once). The findings
// survive a round trip through the JSON report; the matrices do not.
func omittedFromFindings(fs []model.Finding) []model.OmittedPolicy {
	var out []model.OmittedPolicy
	seen := map[model.ObjectRef]bool{}
	for _, f := range fs {
		var reason model.OmitReason
		switch {
		case f.RuleID == model.UnevaluatedPolicyID:
			reason = model.OmitUnevaluated
		case f.RuleID == "input/invalid" && f.Object.Kind == "NetworkPolicy":
			reason = model.OmitInvalid
		default:
			continue
		}
		if seen[f.Object] {
			continue
		}
		seen[f.Object] = true
		o := model.OmittedPolicy{Object: f.Object, Source: model.Location{File: f.Location.File, Line: f.Location.Line}, Reason: reason}
		out = append(out, o)
	}
	return out
}

// textNotes writes the notes for a terminal, each line prefixed.
func textNotes(ew *errWriter, prefix string, notes []omittedNote) {
	for _, n := range notes {
		ew.line(prefix, "warning: ", n.text)
		for _, it := range n.items {
			ew.line(prefix, "  ", it)
		}
	}
}

// mdNotes writes the notes as GitHub warning alerts.
func mdNotes(b io.StringWriter, notes []omittedNote) {
	for _, n := range notes {
		b.WriteString("> [!WARNING]\n> " + mdText(n.text) + "\n")
		for _, it := range n.items {
			b.WriteString("> - " + mdCode(it) + "\n")
		}
		b.WriteString("\n")
	}
}

// mdMayDeny is mayDenyText in Markdown: " _(may be denied by an invalid
// policy: `ns/a`)_".
func mdMayDeny(src, dst model.Peer) string {
	keys := model.MayBeDeniedBy(src, dst)
	if len(keys) == 0 {
		return ""
	}
	codes := make([]string, len(keys))
	for i, k := range keys {
		codes[i] = mdCode(k)
	}
	return " _(" + mayBeDenied + ": " + strings.Join(codes, ", ") + ")_"
}
