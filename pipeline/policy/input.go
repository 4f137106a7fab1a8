package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The input document is built as an ast.Value directly: a JSON round trip
// of a 5,000-workload matrix costs more than evaluating every rule on it.
// docs/rules.md describes the document; it is the contract for the rules.

// Keys used many times are built once.
var (
	kAddressDependent = ast.StringTerm("addressDependent")
	kAllowedBy        = ast.StringTerm("allowedBy")
	kAllPorts         = ast.StringTerm("allPorts")
	kAPIVersion       = ast.StringTerm("apiVersion")
	kCIDRs            = ast.StringTerm("cidrs")
	kDescription      = ast.StringTerm("description")
	kDirection        = ast.StringTerm("direction")
	kEgress           = ast.StringTerm("egress")
	kExternalIPs      = ast.StringTerm("externalIPs")
	kFile             = ast.StringTerm("file")
	kFrom             = ast.StringTerm("from")
	kHostNetwork      = ast.StringTerm("hostNetwork")
	kHostPort         = ast.StringTerm("hostPort")
	kIngress          = ast.StringTerm("ingress")
	kInventory        = ast.StringTerm("inventory")
	kIPBlock          = ast.StringTerm("ipBlock")
	kID               = ast.StringTerm("id")
	kIPs              = ast.StringTerm("ips")
	kKey              = ast.StringTerm("key")
	kKind             = ast.StringTerm("kind")
	kLabels           = ast.StringTerm("labels")
	kLine             = ast.StringTerm("line")
	kMatches          = ast.StringTerm("matches")
	kName             = ast.StringTerm("name")
	kNamespace        = ast.StringTerm("namespace")
	kNodePort         = ast.StringTerm("nodePort")
	kNotIsolated      = ast.StringTerm("notIsolated")
	kObject           = ast.StringTerm("object")
	kPeer             = ast.StringTerm("peer")
	kPeers            = ast.StringTerm("peers")
	kPolicy           = ast.StringTerm("policy")
	kPolicyTypes      = ast.StringTerm("policyTypes")
	kPort             = ast.StringTerm("port")
	kPorts            = ast.StringTerm("ports")
	kProtocol         = ast.StringTerm("protocol")
	kRange            = ast.StringTerm("range")
	kReason           = ast.StringTerm("reason")
	kRule             = ast.StringTerm("rule")
	kSelector         = ast.StringTerm("selector")
	kSelects          = ast.StringTerm("selects")
	kSource           = ast.StringTerm("source")
	kSpec             = ast.StringTerm("spec")
	kTargetPort       = ast.StringTerm("targetPort")
	kTo               = ast.StringTerm("to")
	kType             = ast.StringTerm("type")
	kWorkload         = ast.StringTerm("workload")
	kWorkloadKind     = ast.StringTerm("workloadKind")

	vExternal = ast.StringTerm("external")
	vWorkload = ast.StringTerm("workload")
	vTrue     = ast.BooleanTerm(true)
	vFalse    = ast.BooleanTerm(false)

	protoTerms = [...]*ast.Term{model.TCP: ast.StringTerm("TCP"), model.UDP: ast.StringTerm("UDP"), model.SCTP: ast.StringTerm("SCTP")}
)

func item(k, v *ast.Term) [2]*ast.Term { return [2]*ast.Term{k, v} }

func str(s string) *ast.Term { return ast.StringTerm(s) }

func num(n int) *ast.Term { return ast.InternedTerm(n) }

func boolTerm(b bool) *ast.Term {
	if b {
		return vTrue
	}
	return vFalse
}

func strings2(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = str(s)
	}
	return ast.ArrayTerm(ts...)
}

func labelsTerm(m map[string]string) *ast.Term {
	items := make([][2]*ast.Term, 0, len(m))
	for k, v := range m {
		items = append(items, item(str(k), str(v)))
	}
	return ast.ObjectTerm(items...)
}

func locTerm(l model.Location) *ast.Term {
	return ast.ObjectTerm(item(kFile, str(l.File)), item(kLine, num(l.Line)))
}

func cidrStrings(s model.IPSet) []string {
	var out []string
	for _, r := range s.Ranges {
		for _, p := range r.Prefixes() {
			out = append(out, p.String())
		}
	}
	return out
}

// sourceIndex finds where an object a rule names was written.
type sourceIndex struct {
	refs      map[model.ObjectRef]model.Location
	workloads map[string]model.Location // namespace/name, any workload kind
}

func (x *sourceIndex) add(r model.ObjectRef, l model.Location) {
	if l.File == "" {
		return
	}
	if _, ok := x.refs[r]; !ok {
		x.refs[r] = l
	}
}

func (x *sourceIndex) locate(r model.ObjectRef) model.Location {
	if l, ok := x.refs[r]; ok {
		return l
	}
	if l, ok := x.workloads[r.Namespace+"/"+r.Name]; ok && r.Kind != "NetworkPolicy" && r.Kind != "Service" && r.Kind != "Namespace" {
		return l
	}
	return model.Location{}
}

// inputBuilder keeps terms shared between connections.
type inputBuilder struct {
	// flows, when set, shares input.reach's flow terms with other inputs.
	flows      *flowTermCache
	ruleRefs   map[model.RuleRef]int32 // by value, the source left out
	refAt      map[*model.RuleRef]int32
	refTerms   []*ast.Term // by ruleRefs' number
	allowances map[*model.Allowance]*allowanceTerms
	ports      map[string]*ast.Term
	portTexts  map[string]*ast.Term
	grants     map[grantKey]*ast.Term
	keyLists   map[uint64][]keyList // by peersHash of the peers
	peersHash  func([]int32) uint64 // model.HashInt32s (tests make lists collide)
}

// buildInput turns an Input into the document rules see as input, and an
// index from object to source location.
func buildInput(in Input) (ast.Value, *sourceIndex, error) {
	return buildInputWith(in, nil, false)
}

// buildInputWith is buildInput with what it shares with the inputs built
// beside it (see shared); reverse converts the objects last to first, so
// that two inputs built side by side meet in the middle rather than
// convert the same objects at once.
func buildInputWith(in Input, sh *shared, reverse bool) (ast.Value, *sourceIndex, error) {
	// The reachability, its promotion diff and the rest are independent:
	// build them side by side, each with its own caches.
	m := in.Matrix
	if m == nil {
		m = &model.Matrix{}
	}
	mt := newMatrixTerms(m)
	var reach, promotion *ast.Term
	var wg sync.WaitGroup
	wg.Go(func() {
		reach = sh.reachTerm(func() *ast.Term {
			b := newInputBuilder()
			b.flows = sh.flowTerms()
			isoIn, isoEg := isolation(in.Cluster, m)
			r := b.reachTerm(m, mt, in.Cluster, isoIn)
			isolated, isolatedBy := isolationTerms(isoIn, isoEg, mt)
			o := r.Value.(ast.Object)
			o.Insert(str("isolated"), isolated)
			o.Insert(str("isolatedBy"), isolatedBy)
			o.Insert(str("overridden"), overriddenTerm(m))
			return r
		})
	})
	if in.Promotion != nil {
		wg.Go(func() { promotion = newInputBuilder().promotionTerm(m, mt, in.Promotion) })
	}
	doc, idx, err := clusterDoc(in, sh, reverse)
	wg.Wait()
	if err != nil {
		return nil, nil, err
	}
	doc.Insert(str("reach"), reach)
	if promotion != nil {
		doc.Insert(str("promotion"), promotion)
	}
	if in.Observed != nil {
		doc.Insert(str("observed"), observedTerm(in.Observed))
	}
	return doc, idx, nil
}

// overriddenTerm builds input.reach.overridden: the NetworkPolicy rules an
// Admin tier Deny rule overrides, with the ports it takes.
func overriddenTerm(m *model.Matrix) *ast.Term {
	out := make([]*ast.Term, len(m.Overridden))
	ref := func(r model.RuleRef) *ast.Term {
		return ast.ObjectTerm(
			item(kPolicy, str(r.Policy)),
			item(kKind, str(r.Kind)),
			item(str("direction"), str(r.Direction.String())),
			item(kRule, num(r.Rule)),
			item(str("action"), str(r.Action.Of(r.Kind))),
			item(str("text"), str(r.RuleText())),
		)
	}
	for i, o := range m.Overridden {
		out[i] = ast.ObjectTerm(
			item(str("rule"), ref(o.Rule)),
			item(str("by"), ref(o.By)),
			item(kPorts, str(o.Ports.String())),
		)
	}
	return ast.ArrayTerm(out...)
}

// isolation returns, for each workload some NetworkPolicy selects for
// ingress (in) and for egress (eg), the policies doing so, from the
// matrix's selection and the policies' effective types.
func isolation(c *model.Cluster, m *model.Matrix) (in, eg map[string][]string) {
	types := map[string][]string{}
	if c != nil {
		for i := range c.Policies {
			if p := &c.Policies[i]; p.NetworkPolicy != nil {
				types[p.Key()] = effectivePolicyTypes(&p.Spec)
			}
		}
	}
	in, eg = map[string][]string{}, map[string][]string{}
	for i := range m.Selection {
		s := &m.Selection[i]
		for _, t := range types[s.Policy] {
			var by map[string][]string
			switch t {
			case "Ingress":
				by = in
			case "Egress":
				by = eg
			default:
				continue
			}
			for _, k := range s.Selects {
				by[k] = append(by[k], s.Policy)
			}
		}
	}
	return in, eg
}

// isolationTerms builds input.reach.isolated, the workloads some policy
// selects for ingress and for egress, and input.reach.isolatedBy, the
// policies that select each of them (isolation's in and eg). Rules look
// isolation up for every workload; a Rego comprehension over the
// selection costs tens of milliseconds per rule on 5,000 workloads, this a
// few in all.
func isolationTerms(in, eg map[string][]string, mt *matrixTerms) (isolated, isolatedBy *ast.Term) {
	// Workloads selected by the same policies share their list's term,
	// and every list a policy's key term.
	policyTerms := map[string]*ast.Term{}
	lists := map[string]*ast.Term{}
	terms := func(by map[string][]string) (list, byKey *ast.Term) {
		keys := make([]string, 0, len(by))
		for k := range by {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		items := make([][2]*ast.Term, len(keys))
		for i, k := range keys {
			ps := by[k]
			slices.Sort(ps)
			ps = slices.Compact(ps)
			id := strings.Join(ps, "\x00")
			t, ok := lists[id]
			if !ok {
				ts := make([]*ast.Term, len(ps))
				for j, p := range ps {
					if ts[j], ok = policyTerms[p]; !ok {
						ts[j] = str(p)
						policyTerms[p] = ts[j]
					}
				}
				t = ast.ArrayTerm(ts...)
				lists[id] = t
			}
			items[i] = item(mt.key(k), t)
		}
		return mt.keyList(keys), ast.ObjectTerm(items...)
	}
	inList, inBy := terms(in)
	egList, egBy := terms(eg)
	return ast.ObjectTerm(item(kIngress, inList), item(kEgress, egList)),
		ast.ObjectTerm(item(kIngress, inBy), item(kEgress, egBy))
}

func newInputBuilder() *inputBuilder {
	return &inputBuilder{
		ruleRefs:   map[model.RuleRef]int32{},
		refAt:      map[*model.RuleRef]int32{},
		allowances: map[*model.Allowance]*allowanceTerms{},
		ports:      map[string]*ast.Term{},
		portTexts:  map[string]*ast.Term{},
		grants:     map[grantKey]*ast.Term{},
		keyLists:   map[uint64][]keyList{},
		peersHash:  model.HashInt32s,
	}
}

// clusterDoc builds everything in the input but reach and promotion.
func clusterDoc(in Input, sh *shared, reverse bool) (ast.Object, *sourceIndex, error) {
	c := in.Cluster
	if c == nil {
		c = &model.Cluster{}
	}
	idx := indexSources(c)
	objects := make([]*ast.Term, len(c.Objects))
	terms := sh.objectTerms()
	for j := range c.Objects {
		i := j
		if reverse {
			i = len(c.Objects) - 1 - j
		}
		o := &c.Objects[i]
		doc, err := terms.term(o.Doc)
		if err != nil {
			return nil, nil, fmt.Errorf("object %s: %w", o.ObjectRef, err)
		}
		objects[i] = ast.ObjectTerm(
			item(kAPIVersion, str(o.APIVersion)),
			item(kKind, str(o.Kind)),
			item(kNamespace, str(o.Namespace)),
			item(kName, str(o.Name)),
			item(kSource, locTerm(o.Source)),
			item(kObject, doc),
		)
	}
	items := [][2]*ast.Term{
		item(str("version"), num(InputVersion)),
		item(str("overlay"), str(in.Overlay)),
		item(str("environment"), str(in.Environment)),
		item(str("objects"), ast.ArrayTerm(objects...)),
	}
	for i := range modelSections {
		items = append(items, sh.section(i, c)...)
	}
	return ast.NewObject(items...), idx, nil
}

// indexSources indexes where the cluster's objects are written.
func indexSources(c *model.Cluster) *sourceIndex {
	idx := &sourceIndex{refs: map[model.ObjectRef]model.Location{}, workloads: map[string]model.Location{}}
	for i := range c.Namespaces {
		n := &c.Namespaces[i]
		idx.add(model.ObjectRef{Kind: "Namespace", Name: n.Name}, n.Source)
	}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		idx.add(model.ObjectRef{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}, w.Source)
		if _, ok := idx.workloads[w.Key()]; !ok && w.Source.File != "" {
			idx.workloads[w.Key()] = w.Source
		}
	}
	for i := range c.Services {
		s := &c.Services[i]
		idx.add(model.ObjectRef{Kind: "Service", Namespace: s.Namespace, Name: s.Name}, s.Source)
	}
	for i := range c.Policies {
		if p := &c.Policies[i]; p.NetworkPolicy != nil {
			idx.add(model.ObjectRef{Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name}, p.Source)
		}
	}
	for i := range c.ClusterPolicies {
		p := &c.ClusterPolicies[i]
		idx.add(model.ObjectRef{Kind: p.Kind, Name: p.Name}, p.Source)
	}
	for i := range c.CiliumPolicies {
		p := &c.CiliumPolicies[i]
		idx.add(model.ObjectRef{Kind: p.Kind, Namespace: p.Namespace, Name: p.Name}, p.Source)
	}
	for i := range c.Objects {
		idx.add(c.Objects[i].ObjectRef, c.Objects[i].Source)
	}
	return idx
}

// modelSections are the input's sections that hold the model, everything
// in clusterDoc but the objects, each with the fields of the cluster it
// is built from: inputs built together whose clusters hold the same
// values there share its terms (shared).
var modelSections = []struct {
	// from is what the section is built from.
	from  func(c *model.Cluster) any
	build func(c *model.Cluster) [][2]*ast.Term
}{
	{func(c *model.Cluster) any { return c.Namespaces }, namespacesSection},
	{func(c *model.Cluster) any { return c.Workloads }, func(c *model.Cluster) [][2]*ast.Term {
		workloads := make([]*ast.Term, len(c.Workloads))
		for i := range c.Workloads {
			workloads[i] = workloadTerm(&c.Workloads[i])
		}
		return [][2]*ast.Term{item(str("workloads"), ast.ArrayTerm(workloads...))}
	}},
	// Which workloads a Service selects depends on both.
	{func(c *model.Cluster) any { return [2]any{c.Services, c.Workloads} }, servicesSection},
	{func(c *model.Cluster) any { return c.Policies }, policiesSection},
	{func(c *model.Cluster) any { return c.ClusterPolicies }, clusterPoliciesSection},
	{func(c *model.Cluster) any { return c.CiliumPolicies }, func(c *model.Cluster) [][2]*ast.Term {
		return [][2]*ast.Term{item(str("ciliumPolicies"), ast.ArrayTerm(ciliumPolicyTerms(c)...))}
	}},
	{func(c *model.Cluster) any { return c.Externals }, externalsSection},
	{func(c *model.Cluster) any { return [2]any{c.PodCIDRs, c.ServiceCIDRs} }, func(c *model.Cluster) [][2]*ast.Term {
		return [][2]*ast.Term{
			item(str("podCIDRs"), strings2(cidrStrings(c.PodCIDRs))),
			item(str("serviceCIDRs"), strings2(cidrStrings(c.ServiceCIDRs))),
		}
	}},
}

func namespacesSection(c *model.Cluster) [][2]*ast.Term {
	namespaces := make([]*ast.Term, len(c.Namespaces))
	for i := range c.Namespaces {
		n := &c.Namespaces[i]
		namespaces[i] = ast.ObjectTerm(
			item(kName, str(n.Name)),
			item(kLabels, labelsTerm(n.Labels)),
			item(kSource, locTerm(n.Source)),
			item(kInventory, boolTerm(n.Inventory)),
		)
	}
	return [][2]*ast.Term{item(str("namespaces"), ast.ArrayTerm(namespaces...))}
}

// servicesSection builds input.services, input.servicesOf and
// input.declared (the container ports of every workload: which ports a
// rule may reach when it reaches any pod).
func servicesSection(c *model.Cluster) [][2]*ast.Term {
	byNS := map[string][]*model.Workload{}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		byNS[w.Namespace] = append(byNS[w.Namespace], w)
	}
	services := make([]*ast.Term, len(c.Services))
	serviceSelection := make([][]string, len(c.Services))
	declared := newDeclaredIndex(c)
	for i := range c.Services {
		s := &c.Services[i]
		serviceSelection[i] = serviceSelects(s, byNS[s.Namespace])
		d, u := declared.terms(serviceSelection[i], nil)
		ports := make([]*ast.Term, len(s.Ports))
		for j, p := range s.Ports {
			ports[j] = ast.ObjectTerm(
				item(kName, str(p.Name)),
				item(kPort, num(int(p.Port))),
				item(kTargetPort, str(p.TargetPort)),
				item(kNodePort, num(int(p.NodePort))),
				item(kProtocol, protoTerms[p.Protocol]),
			)
		}
		services[i] = ast.ObjectTerm(
			item(kNamespace, str(s.Namespace)),
			item(kName, str(s.Name)),
			item(kType, str(s.Type)),
			item(kSelector, labelsTerm(s.Selector)),
			item(kPorts, ast.ArrayTerm(ports...)),
			item(kExternalIPs, strings2(s.ExternalIPs)),
			item(kSelects, strings2(serviceSelection[i])),
			item(kDeclared, d),
			item(kUndeclared, u),
			item(kSource, locTerm(s.Source)),
		)
	}
	keys := make([]string, len(c.Workloads))
	for i := range c.Workloads {
		keys[i] = c.Workloads[i].Key()
	}
	slices.Sort(keys)
	all, _ := declared.terms(slices.Compact(keys), nil)
	return [][2]*ast.Term{
		item(str("services"), ast.ArrayTerm(services...)),
		item(str("servicesOf"), servicesOfTerm(serviceSelection)),
		item(kDeclared, all),
	}
}

func policiesSection(c *model.Cluster) [][2]*ast.Term {
	policies := make([]*ast.Term, 0, len(c.Policies))
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.NetworkPolicy == nil {
			continue
		}
		policies = append(policies, ast.ObjectTerm(
			item(kNamespace, str(p.Namespace)),
			item(kName, str(p.Name)),
			item(kKey, str(p.Key())),
			item(kSource, locTerm(p.Source)),
			item(kPolicyTypes, strings2(effectivePolicyTypes(&p.Spec))),
			item(kSpec, policySpecTerm(&p.Spec)),
		))
	}
	return [][2]*ast.Term{item(str("policies"), ast.ArrayTerm(policies...))}
}

func clusterPoliciesSection(c *model.Cluster) [][2]*ast.Term {
	clusterPolicies := make([]*ast.Term, len(c.ClusterPolicies))
	for i := range c.ClusterPolicies {
		p := &c.ClusterPolicies[i]
		clusterPolicies[i] = ast.ObjectTerm(
			item(kKind, str(p.Kind)),
			item(kName, str(p.Name)),
			item(str("tier"), str(p.Tier.String())),
			item(str("priority"), num(int(p.Priority))),
			item(str("rules"), num(len(p.Ingress)+len(p.Egress))),
			item(kSource, locTerm(p.Source)),
		)
	}
	return [][2]*ast.Term{item(str("clusterPolicies"), ast.ArrayTerm(clusterPolicies...))}
}

func externalsSection(c *model.Cluster) [][2]*ast.Term {
	externals := make([]*ast.Term, len(c.Externals))
	for i, e := range c.Externals {
		externals[i] = ast.ObjectTerm(
			item(kName, str(e.Name)),
			item(kCIDRs, strings2(cidrStrings(e.CIDRs))),
			item(kDescription, str(e.Description)),
		)
	}
	return [][2]*ast.Term{item(str("externals"), ast.ArrayTerm(externals...))}
}

// serviceSelects lists the keys of the workloads of its namespace whose
// pod labels a Service's selector matches; none for a Service without a
// selector (its endpoints are managed by hand).
func serviceSelects(s *model.Service, inNS []*model.Workload) []string {
	out := []string{}
	if len(s.Selector) == 0 {
		return out
	}
next:
	for _, w := range inNS {
		for k, v := range s.Selector {
			if l, ok := w.Labels[k]; !ok || l != v {
				continue next
			}
		}
		out = append(out, w.Key())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func workloadTerm(w *model.Workload) *ast.Term {
	ports := make([]*ast.Term, len(w.Ports))
	for j, p := range w.Ports {
		ports[j] = ast.ObjectTerm(
			item(kName, str(p.Name)),
			item(kPort, num(int(p.Port))),
			item(kProtocol, protoTerms[p.Protocol]),
			item(kHostPort, num(int(p.HostPort))),
		)
	}
	ips := make([]*ast.Term, len(w.IPs))
	for j, a := range w.IPs {
		ips[j] = str(a.String())
	}
	return ast.ObjectTerm(
		item(kNamespace, str(w.Namespace)),
		item(kName, str(w.Name)),
		item(kKind, str(w.Kind)),
		item(kKey, str(w.Key())),
		item(kID, str(w.ID())),
		item(kLabels, labelsTerm(w.Labels)),
		item(kPorts, ast.ArrayTerm(ports...)),
		item(kHostNetwork, boolTerm(w.HostNetwork)),
		item(kIPs, ast.ArrayTerm(ips...)),
		item(kSource, locTerm(w.Source)),
		item(kInventory, boolTerm(w.Inventory)),
	)
}

// effectivePolicyTypes applies the API default: Ingress always, Egress
// when the policy has egress rules.
func effectivePolicyTypes(s *networkingv1.NetworkPolicySpec) []string {
	if len(s.PolicyTypes) > 0 {
		out := make([]string, len(s.PolicyTypes))
		for i, t := range s.PolicyTypes {
			out[i] = string(t)
		}
		return out
	}
	if len(s.Egress) > 0 {
		return []string{"Ingress", "Egress"}
	}
	return []string{"Ingress"}
}

// policySpecTerm renders a NetworkPolicy spec as the API server would
// return it: empty lists omitted, protocols defaulted to TCP.
func policySpecTerm(s *networkingv1.NetworkPolicySpec) *ast.Term {
	o := ast.NewObject(item(str("podSelector"), selectorTerm(&s.PodSelector)))
	if len(s.PolicyTypes) > 0 {
		ts := make([]string, len(s.PolicyTypes))
		for i, t := range s.PolicyTypes {
			ts[i] = string(t)
		}
		o.Insert(kPolicyTypes, strings2(ts))
	}
	if len(s.Ingress) > 0 {
		rules := make([]*ast.Term, len(s.Ingress))
		for i := range s.Ingress {
			rules[i] = ruleTerm(s.Ingress[i].Ports, kFrom, s.Ingress[i].From)
		}
		o.Insert(kIngress, ast.ArrayTerm(rules...))
	}
	if len(s.Egress) > 0 {
		rules := make([]*ast.Term, len(s.Egress))
		for i := range s.Egress {
			rules[i] = ruleTerm(s.Egress[i].Ports, kTo, s.Egress[i].To)
		}
		o.Insert(kEgress, ast.ArrayTerm(rules...))
	}
	return ast.NewTerm(o)
}

func ruleTerm(ports []networkingv1.NetworkPolicyPort, peersKey *ast.Term, peers []networkingv1.NetworkPolicyPeer) *ast.Term {
	o := ast.NewObject()
	if len(ports) > 0 {
		ps := make([]*ast.Term, len(ports))
		for i, p := range ports {
			po := ast.NewObject()
			proto := "TCP"
			if p.Protocol != nil && *p.Protocol != "" {
				proto = string(*p.Protocol)
			}
			po.Insert(kProtocol, str(proto))
			if p.Port != nil {
				po.Insert(kPort, intOrString(*p.Port))
			}
			if p.EndPort != nil {
				po.Insert(str("endPort"), num(int(*p.EndPort)))
			}
			ps[i] = ast.NewTerm(po)
		}
		o.Insert(kPorts, ast.ArrayTerm(ps...))
	}
	if len(peers) > 0 {
		ps := make([]*ast.Term, len(peers))
		for i := range peers {
			p := &peers[i]
			po := ast.NewObject()
			if p.PodSelector != nil {
				po.Insert(str("podSelector"), selectorTerm(p.PodSelector))
			}
			if p.NamespaceSelector != nil {
				po.Insert(str("namespaceSelector"), selectorTerm(p.NamespaceSelector))
			}
			if p.IPBlock != nil {
				bo := ast.NewObject(item(str("cidr"), str(p.IPBlock.CIDR)))
				if len(p.IPBlock.Except) > 0 {
					bo.Insert(str("except"), strings2(p.IPBlock.Except))
				}
				po.Insert(kIPBlock, ast.NewTerm(bo))
			}
			ps[i] = ast.NewTerm(po)
		}
		o.Insert(peersKey, ast.ArrayTerm(ps...))
	}
	return ast.NewTerm(o)
}

func intOrString(v intstr.IntOrString) *ast.Term {
	if v.Type == intstr.String {
		return str(v.StrVal)
	}
	return num(int(v.IntVal))
}

func selectorTerm(s *metav1.LabelSelector) *ast.Term {
	o := ast.NewObject()
	if len(s.MatchLabels) > 0 {
		o.Insert(str("matchLabels"), labelsTerm(s.MatchLabels))
	}
	if len(s.MatchExpressions) > 0 {
		es := make([]*ast.Term, len(s.MatchExpressions))
		for i, e := range s.MatchExpressions {
			eo := ast.NewObject(item(kKey, str(e.Key)), item(str("operator"), str(string(e.Operator))))
			if len(e.Values) > 0 {
				eo.Insert(str("values"), strings2(e.Values))
			}
			es[i] = ast.NewTerm(eo)
		}
		o.Insert(str("matchExpressions"), ast.ArrayTerm(es...))
	}
	return ast.NewTerm(o)
}

func portsTerm(s model.PortSet) *ast.Term { return rangesTerm(rangesOf(s)) }

func rangesTerm(all rangeSet) *ast.Term {
	items := make([][2]*ast.Term, 0, 1)
	for _, p := range model.Protocols {
		rs := all[p]
		if len(rs) == 0 {
			continue
		}
		ts := make([]*ast.Term, len(rs))
		for i, r := range rs {
			ts[i] = ast.ObjectTerm(item(kFrom, num(int(r.From))), item(kTo, num(int(r.To))))
		}
		items = append(items, item(protoTerms[p], ast.ArrayTerm(ts...)))
	}
	return ast.ObjectTerm(items...)
}
