package report

import (
	"fmt"

	"github.com/reachgate/reachgate/pipeline/model"
)

// provenance is why the flows of a matrix document are allowed, each
// reason once: the rules (rule references), the grants (the ports an
// egress rule and an ingress rule allow together) and the allowances
// (the grants of one flow). A cluster of 20,000 workloads has half a
// million allowances but ten thousand rules and two hundred thousand
// grants; written out in every allowance, the rules were three quarters
// of the document.
type provenance struct {
	Rules      []jsonRuleRef          `json:"rules"`
	Grants     []jsonGrantRef         `json:"grants"`
	Allowances []*jsonMatrixAllowance `json:"allowances"`
}

// jsonGrantRef is a grant of the matrix document: egress and ingress are
// indices into its rules.
type jsonGrantRef struct {
	Ports   jsonPorts `json:"ports"`
	Egress  int32     `json:"egress"`
	Ingress int32     `json:"ingress"`
}

// jsonMatrixAllowance is an allowance of the matrix document: grants are
// indices into its grants.
type jsonMatrixAllowance struct {
	Ports            jsonPorts `json:"ports"`
	AllPorts         bool      `json:"allPorts"`
	AddressDependent bool      `json:"addressDependent"`
	Grants           []int32   `json:"grants"`
}

// provenanceOf lists the allowances used, in that order, with their
// grants and rules, each numbered in the order the allowances first name
// it.
func provenanceOf(all []*model.Allowance, used []int32) provenance {
	p := provenance{Rules: []jsonRuleRef{}, Grants: []jsonGrantRef{}, Allowances: make([]*jsonMatrixAllowance, len(used))}
	type grantKey struct {
		ports           string
		egress, ingress int32
	}
	rules := map[model.RuleRef]int32{}
	grants := map[grantKey]int32{}
	rule := func(r model.RuleRef) int32 {
		r.Direction = 0 // the grant's side says it
		i, ok := rules[r]
		if !ok {
			i = int32(len(p.Rules))
			rules[r] = i
			p.Rules = append(p.Rules, toJSONRuleRef(r))
		}
		return i
	}
	var key []byte
	for k, a := range used {
		al := all[a]
		ja := &jsonMatrixAllowance{Ports: jsonPorts{al.Ports}, AllPorts: al.Ports.IsAll(), AddressDependent: al.AddressDependent, Grants: make([]int32, len(al.Grants))}
		for j, g := range al.Grants {
			key = g.Ports.AppendJSON(key[:0])
			gk := grantKey{string(key), rule(g.Egress), rule(g.Ingress)}
			i, ok := grants[gk]
			if !ok {
				i = int32(len(p.Grants))
				grants[gk] = i
				p.Grants = append(p.Grants, jsonGrantRef{Ports: jsonPorts{g.Ports}, Egress: gk.egress, Ingress: gk.ingress})
			}
			ja.Grants[j] = i
		}
		p.Allowances[k] = ja
	}
	return p
}

// check reports a grant or allowance read back that names a rule or
// grant the document does not have: "grants[3].egress: rule 12 of 10".
func (p *provenance) check() error {
	for i, g := range p.Grants {
		for _, side := range []struct {
			name string
			idx  int32
		}{{"egress", g.Egress}, {"ingress", g.Ingress}} {
			if side.idx < 0 || int(side.idx) >= len(p.Rules) {
				return fmt.Errorf("grants[%d].%s: rule %d of %d", i, side.name, side.idx, len(p.Rules))
			}
		}
	}
	for i, a := range p.Allowances {
		if a == nil {
			return fmt.Errorf("allowances[%d]: null", i)
		}
		for j, g := range a.Grants {
			if g < 0 || int(g) >= len(p.Grants) {
				return fmt.Errorf("allowances[%d].grants[%d]: grant %d of %d", i, j, g, len(p.Grants))
			}
		}
	}
	return nil
}

// allowance is allowance i of a document read back and checked.
func (p *provenance) allowance(i int32) *model.Allowance {
	ja := p.Allowances[i]
	a := &model.Allowance{Ports: ja.Ports.PortSet, AddressDependent: ja.AddressDependent}
	for _, gi := range ja.Grants {
		g := p.Grants[gi]
		a.Grants = append(a.Grants, model.Grant{Ports: g.Ports.PortSet, Egress: p.Rules[g.Egress].model(model.Egress), Ingress: p.Rules[g.Ingress].model(model.Ingress)})
	}
	return a
}
