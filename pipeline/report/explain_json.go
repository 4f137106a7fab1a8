package report

import (
	"io"

	"github.com/reachgate/reachgate/pipeline/model"
)

type jsonPortQuery struct {
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
}

type jsonRuleVerdict struct {
	Rule             int       `json:"rule"`
	Matched          bool      `json:"matched"`
	PeerMatch        bool      `json:"peerMatch"`
	PeerReason       string    `json:"peerReason"`
	Ports            jsonPorts `json:"ports"`
	PortReason       string    `json:"portReason,omitempty"`
	AddressDependent bool      `json:"addressDependent"`
}

type jsonPolicyVerdict struct {
	Policy  string            `json:"policy"`
	Source  model.Location    `json:"source"`
	NoRules bool              `json:"noRules"`
	Rules   []jsonRuleVerdict `json:"rules"`
}

type jsonSide struct {
	Direction string              `json:"direction"`
	Isolated  bool                `json:"isolated"`
	Note      string              `json:"note,omitempty"`
	Allows    jsonPorts           `json:"allows"`
	Policies  []jsonPolicyVerdict `json:"policies"`
}

type jsonExplanation struct {
	Src       jsonPeer       `json:"src"`
	Dst       jsonPeer       `json:"dst"`
	Port      *jsonPortQuery `json:"port"`
	Allowed   bool           `json:"allowed"`
	Verdict   string         `json:"verdict"`
	Reasons   []string       `json:"reasons"`
	Ports     jsonPorts      `json:"ports"`
	AllowedBy []jsonGrant    `json:"allowedBy"`
	Egress    jsonSide       `json:"egress"`
	Ingress   jsonSide       `json:"ingress"`
}

type jsonExplainDoc struct {
	FormatVersion string            `json:"formatVersion"`
	Explanations  []jsonExplanation `json:"explanations"`
	// Omitted are the policies the answer leaves out (as in the matrix).
	Omitted []model.OmittedPolicy `json:"omitted,omitempty"`
}

// writeExplainJSON writes the explanations as a versioned document, with
// every policy and rule verdict of both sides and the verdict and reasons of
// the text format.
func writeExplainJSON(w io.Writer, xs []model.Explanation) error {
	doc := jsonExplainDoc{FormatVersion: FormatVersion, Explanations: make([]jsonExplanation, len(xs))}
	if len(xs) > 0 {
		doc.Omitted = xs[0].Omitted
	}
	for i := range xs {
		x := &xs[i]
		j := jsonExplanation{
			Src: toJSONPeer(x.Src), Dst: toJSONPeer(x.Dst),
			Allowed:   x.Allowed,
			Ports:     jsonPorts{x.Ports},
			AllowedBy: make([]jsonGrant, len(x.Grants)),
			Egress:    toJSONSide(&x.Egress),
			Ingress:   toJSONSide(&x.Ingress),
		}
		verdict, reasons := explainVerdict(x)
		j.Verdict, j.Reasons = verdict, append([]string{}, reasons...)
		if x.Port != nil {
			j.Port = &jsonPortQuery{Protocol: x.Port.Protocol.String(), Port: x.Port.Port}
		}
		for k, g := range x.Grants {
			j.AllowedBy[k] = jsonGrant{Ports: jsonPorts{g.Ports}, Egress: toJSONRuleRef(*g.Egress), Ingress: toJSONRuleRef(*g.Ingress)}
		}
		doc.Explanations[i] = j
	}
	return writeJSON(w, doc)
}

func toJSONSide(s *model.SideExplanation) jsonSide {
	out := jsonSide{
		Direction: s.Direction.String(), Isolated: s.Isolated, Note: s.Note,
		Allows: jsonPorts{s.Allows}, Policies: make([]jsonPolicyVerdict, len(s.Policies)),
	}
	for i, p := range s.Policies {
		pv := jsonPolicyVerdict{Policy: p.Policy, Source: p.Source, NoRules: p.NoRules, Rules: make([]jsonRuleVerdict, len(p.Rules))}
		for k, r := range p.Rules {
			pv.Rules[k] = jsonRuleVerdict{
				Rule: r.Rule, Matched: r.Matched, PeerMatch: r.PeerMatch, PeerReason: r.PeerReason,
				Ports: jsonPorts{r.Ports}, PortReason: r.PortReason, AddressDependent: r.AddressDependent,
			}
		}
		out.Policies[i] = pv
	}
	return out
}
