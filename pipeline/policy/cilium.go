package policy

import (
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/reachgate/reachgate/pipeline/model"
)

// ciliumPolicyTerms describes the Cilium policies for rules (input
// version 7): per policy, its rules with what NP019 and NP026 read —
// the host names of toFQDNs, the names rules.dns lets be looked up, the
// L7 kinds and the entities.
func ciliumPolicyTerms(c *model.Cluster) []*ast.Term {
	out := make([]*ast.Term, 0, len(c.CiliumPolicies))
	for i := range c.CiliumPolicies {
		p := &c.CiliumPolicies[i]
		var rules []*ast.Term
		for _, r := range p.Rules {
			for _, sec := range []struct {
				name  string
				rules []model.CiliumPeerRule
			}{{"ingress", r.Ingress}, {"ingressDeny", r.IngressDeny}, {"egress", r.Egress}, {"egressDeny", r.EgressDeny}} {
				for k, pr := range sec.rules {
					var fqdns []string
					for _, f := range pr.FQDNs {
						fqdns = append(fqdns, f.Endpoint())
					}
					rules = append(rules, ast.ObjectTerm(
						item(str("section"), str(r.Section)),
						item(str("field"), str(sec.name)),
						item(kRule, num(k)),
						item(str("fqdns"), strings2(fqdns)),
						item(str("dnsNames"), strings2(pr.DNSNames)),
						item(str("l7"), strings2(pr.L7)),
						item(str("entities"), strings2(pr.Entities)),
						item(str("cidrs"), str(pr.CIDRText)),
					))
				}
			}
		}
		out = append(out, ast.ObjectTerm(
			item(kKind, str(p.Kind)),
			item(kNamespace, str(p.Namespace)),
			item(kName, str(p.Name)),
			item(str("key"), str(p.Key())),
			item(str("rules"), ast.ArrayTerm(rules...)),
			item(kSource, locTerm(p.Source)),
		))
	}
	return out
}
