package report

import (
	"fmt"

	"github.com/reachgate/reachgate/internal/par"
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
// it. Runs of allowances are read on every core, each run numbering the
// rules and grants it names in its own tables; joined in run order, the
// tables number them as one pass would.
func provenanceOf(all []*model.Allowance, used []int32) provenance {
	p := provenance{Rules: []jsonRuleRef{}, Grants: []jsonGrantRef{}, Allowances: make([]*jsonMatrixAllowance, len(used))}
	runs := make([]*refTables, (len(used)+provenanceRun-1)/provenanceRun)
	par.For(len(runs), func(r int) {
		t := newRefTables()
		var key []byte
		for k := r * provenanceRun; k < min(len(used), (r+1)*provenanceRun); k++ {
			al := all[used[k]]
			ja := &jsonMatrixAllowance{Ports: jsonPorts{al.Ports}, AllPorts: al.Ports.IsAll(), AddressDependent: al.AddressDependent, Grants: make([]int32, len(al.Grants))}
			for j := range al.Grants {
				g := &al.Grants[j]
				key = g.Ports.AppendJSON(key[:0])
				ja.Grants[j] = t.grant(key, g.Ports, t.rule(g.Egress), t.rule(g.Ingress))
			}
			p.Allowances[k] = ja
		}
		runs[r] = t
	})
	joined := newRefTables()
	for r, t := range runs {
		rules := make([]int32, len(t.rules))
		for i := range t.rules {
			rules[i] = joined.ruleOf(&t.rules[i])
		}
		grants := make([]int32, len(t.grants))
		for i, g := range t.grants {
			grants[i] = joined.grant([]byte(t.ports[g.ports]), g.set, rules[g.egress], rules[g.ingress])
		}
		for _, ja := range p.Allowances[r*provenanceRun : min(len(used), (r+1)*provenanceRun)] {
			for j, g := range ja.Grants {
				ja.Grants[j] = grants[g]
			}
		}
	}
	for i := range joined.rules {
		p.Rules = append(p.Rules, toJSONRuleRef(joined.rules[i]))
	}
	for _, g := range joined.grants {
		p.Grants = append(p.Grants, jsonGrantRef{Ports: jsonPorts{g.set}, Egress: g.egress, Ingress: g.ingress})
	}
	return p
}

// provenanceRun is how many allowances one core reads at a time (a
// variable for the test that reads runs of one).
var provenanceRun = 4096

// refTables number rules and grants in the order they are added.
type refTables struct {
	rules    []model.RuleRef
	ruleAt   map[model.RuleRef]int32
	refAt    map[*model.RuleRef]int32 // rule's, by the reference's address
	ports    []string                 // distinct port sets, as JSON
	portsAt  map[string]int32         // by their JSON
	grants   []tableGrant
	grantsAt map[[3]int32]int32 // by ports, egress and ingress
}

// tableGrant is a grant of refTables: its port set, the index of the
// set's JSON, and its rules' indices.
type tableGrant struct {
	set                    model.PortSet
	ports, egress, ingress int32
}

func newRefTables() *refTables {
	return &refTables{ruleAt: map[model.RuleRef]int32{}, refAt: map[*model.RuleRef]int32{}, portsAt: map[string]int32{}, grantsAt: map[[3]int32]int32{}}
}

// rule numbers r, without its direction (the grant's side says it). A
// matrix's grants share their references, so they are looked up by
// address first: at 20,000 workloads 1.8 million grants hold them, and
// hashing their values took a fifth of provenanceOf's time.
func (t *refTables) rule(r *model.RuleRef) int32 {
	if i, ok := t.refAt[r]; ok {
		return i
	}
	i := t.ruleOf(r)
	t.refAt[r] = i
	return i
}

func (t *refTables) ruleOf(r *model.RuleRef) int32 {
	k := *r
	k.Direction = 0
	i, ok := t.ruleAt[k]
	if !ok {
		i = int32(len(t.rules))
		t.ruleAt[k] = i
		t.rules = append(t.rules, k)
	}
	return i
}

// grant numbers the grant of set (ports, its JSON) by the rules egress
// and ingress, numbered by t.
func (t *refTables) grant(ports []byte, set model.PortSet, egress, ingress int32) int32 {
	pi, ok := t.portsAt[string(ports)]
	if !ok {
		pi = int32(len(t.ports))
		t.portsAt[string(ports)] = pi
		t.ports = append(t.ports, string(ports))
	}
	k := [3]int32{pi, egress, ingress}
	i, ok := t.grantsAt[k]
	if !ok {
		i = int32(len(t.grants))
		t.grantsAt[k] = i
		t.grants = append(t.grants, tableGrant{set: set, ports: pi, egress: egress, ingress: ingress})
	}
	return i
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
		e, in := p.Rules[g.Egress].model(model.Egress), p.Rules[g.Ingress].model(model.Ingress)
		a.Grants = append(a.Grants, model.Grant{Ports: g.Ports.PortSet, Egress: &e, Ingress: &in})
	}
	return a
}
