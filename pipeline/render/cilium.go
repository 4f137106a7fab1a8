package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	ciliumcrds "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/client/crds/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2)
// are decoded into reachgate's own types: github.com/cilium/cilium's
// pkg/policy/api imports the agent's configuration (pkg/option), so only
// the CRD manifests the same module ships (v1.20.2,
// pkg/k8s/apis/cilium.io/client/crds/v2) are used. An object is first
// checked against its CRD's openAPIV3Schema (crdSchema), then against
// what the agent's sanitize step refuses (pkg/policy/api/
// rule_validation.go), then converted into a model.CiliumPolicy.
// Evaluated at L3/L4: endpointSelector, from/toEndpoints, entities,
// CIDR and CIDR sets, toFQDNs, toPorts (ports, ranges, protocols, named
// ports), the deny sections and enableDefaultDeny. L7 rules are read and
// carried into provenance. Fields whose peers the model cannot hold
// (nodeSelector, from/toNodes, toServices, toGroups, cidrGroupRef,
// cidrGroupSelector, icmps, authentication) are refused with a message
// saying so, so a policy is never evaluated with a part silently missing.

var (
	ciliumSchemaOnce sync.Once
	ciliumSchemas    map[string]*crdSchema
	ciliumSchemaErr  error
)

func ciliumSchema(kind string) (*crdSchema, error) {
	ciliumSchemaOnce.Do(func() {
		ciliumSchemas = map[string]*crdSchema{}
		for k, file := range map[string]string{
			model.KindCiliumNetworkPolicy:            "ciliumnetworkpolicies.yaml",
			model.KindCiliumClusterwideNetworkPolicy: "ciliumclusterwidenetworkpolicies.yaml",
		} {
			b, err := ciliumcrds.EmbedFS.ReadFile(file)
			if err == nil {
				ciliumSchemas[k], err = loadCRDSchema(b, "v2")
			}
			if err != nil {
				ciliumSchemaErr = fmt.Errorf("cilium crd %s: %w", file, err)
				return
			}
		}
	})
	return ciliumSchemas[kind], ciliumSchemaErr
}

// ValidateCilium checks a Cilium policy object against its CRD schema and
// the agent's own checks; it returns the field errors, nil when valid.
func ValidateCilium(obj model.Object) []string {
	it := objectIdentity(&obj)
	_, errs := convertCilium(it)
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.path.String()+": "+e.msg)
	}
	return out
}

type ciliumDoc struct {
	Spec  *ciliumRuleDoc  `json:"spec"`
	Specs []ciliumRuleDoc `json:"specs"`
}

type ciliumRuleDoc struct {
	EndpointSelector  *metav1.LabelSelector `json:"endpointSelector"`
	NodeSelector      *metav1.LabelSelector `json:"nodeSelector"`
	Ingress           []ciliumPeerDoc       `json:"ingress"`
	IngressDeny       []ciliumPeerDoc       `json:"ingressDeny"`
	Egress            []ciliumPeerDoc       `json:"egress"`
	EgressDeny        []ciliumPeerDoc       `json:"egressDeny"`
	EnableDefaultDeny struct {
		Ingress *bool `json:"ingress"`
		Egress  *bool `json:"egress"`
	} `json:"enableDefaultDeny"`
}

type ciliumPeerDoc struct {
	FromEndpoints []metav1.LabelSelector `json:"fromEndpoints"`
	ToEndpoints   []metav1.LabelSelector `json:"toEndpoints"`
	FromEntities  []string               `json:"fromEntities"`
	ToEntities    []string               `json:"toEntities"`
	FromCIDR      []string               `json:"fromCIDR"`
	ToCIDR        []string               `json:"toCIDR"`
	FromCIDRSet   []ciliumCIDRRule       `json:"fromCIDRSet"`
	ToCIDRSet     []ciliumCIDRRule       `json:"toCIDRSet"`
	ToFQDNs       []struct {
		MatchName    string `json:"matchName"`
		MatchPattern string `json:"matchPattern"`
	} `json:"toFQDNs"`
	ToPorts []struct {
		Ports []struct {
			Port     string `json:"port"`
			EndPort  int32  `json:"endPort"`
			Protocol string `json:"protocol"`
		} `json:"ports"`
		Rules map[string]json.RawMessage `json:"rules"`
	} `json:"toPorts"`
}

type ciliumCIDRRule struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except"`
}

// ciliumUnevaluated are fields the schema accepts whose peers or effect
// the model cannot hold, per section.
var ciliumUnevaluated = map[string]string{
	"fromNodes":      "nodes are not in the model",
	"toNodes":        "nodes are not in the model",
	"toServices":     "Service-backed peers of Cilium policies are not evaluated",
	"toGroups":       "cloud-provider groups are not evaluated",
	"fromGroups":     "cloud-provider groups are not evaluated",
	"icmps":          "ICMP is not in the model (TCP, UDP and SCTP only)",
	"authentication": "mutual authentication is not evaluated",
	"toRequires":     "deprecated and refused by Cilium",
	"fromRequires":   "deprecated and refused by Cilium",
}

// ciliumEntities are the entities Cilium knows (pkg/policy/api/entity.go).
var ciliumEntities = map[string]bool{
	"all": true, "world": true, "world-ipv4": true, "world-ipv6": true, "cluster": true,
	"host": true, "init": true, "ingress": true, "unmanaged": true, "remote-node": true,
	"health": true, "none": true, "kube-apiserver": true,
}

// ciliumPolicy decodes a CiliumNetworkPolicy or a
// CiliumClusterwideNetworkPolicy.
func (d *decoder) ciliumPolicy(it item) {
	p, errs := convertCilium(it)
	if !d.check(it, errs) {
		d.c.Omitted = append(d.c.Omitted, model.OmittedPolicy{Object: it.ref, APIVersion: it.apiVersion, Source: it.obj.Source, Reason: model.OmitInvalid})
		return
	}
	d.c.CiliumPolicies = append(d.c.CiliumPolicies, *p)
}

func convertCilium(it item) (*model.CiliumPolicy, []fieldError) {
	schema, err := ciliumSchema(it.ref.Kind)
	if err != nil {
		return nil, []fieldError{{msg: err.Error()}}
	}
	if errs := schema.validate(it.obj.Doc); len(errs) > 0 {
		return nil, errs
	}
	var doc ciliumDoc
	b, err := json.Marshal(it.obj.Doc)
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		return nil, []fieldError{{msg: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	var v validator
	p := &model.CiliumPolicy{Kind: it.ref.Kind, Namespace: it.ref.Namespace, Name: it.ref.Name, Source: it.obj.Source}
	if doc.Spec == nil && len(doc.Specs) == 0 {
		v.add(fieldPath{"spec"}, "spec or specs must be provided")
	}
	raw := func(path fieldPath) map[string]any {
		m, _ := lookupPath(it.obj.Doc, path).(map[string]any)
		return m
	}
	if doc.Spec != nil {
		p.Rules = append(p.Rules, v.ciliumRule(doc.Spec, "spec", fieldPath{"spec"}, raw))
	}
	for i := range doc.Specs {
		path := fieldPath{"specs"}.index(i)
		p.Rules = append(p.Rules, v.ciliumRule(&doc.Specs[i], "specs["+strconv.Itoa(i)+"]", path, raw))
	}
	return p, v.errs
}

func lookupPath(v any, path fieldPath) any {
	for _, e := range path {
		switch e := e.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[e]
		case int:
			l, _ := v.([]any)
			if e >= len(l) {
				return nil
			}
			v = l[e]
		}
	}
	return v
}

func (v *validator) ciliumRule(r *ciliumRuleDoc, section string, path fieldPath, raw func(fieldPath) map[string]any) model.CiliumRule {
	out := model.CiliumRule{Section: section, EndpointSelector: r.EndpointSelector, NodeSelector: r.NodeSelector,
		DefaultDenyIngress: r.EnableDefaultDeny.Ingress, DefaultDenyEgress: r.EnableDefaultDeny.Egress}
	if r.NodeSelector != nil {
		v.add(path.key("nodeSelector"), "nodeSelector is not evaluated: nodes are not in the model (host policies)")
	}
	if r.EndpointSelector != nil {
		v.ciliumSelector(r.EndpointSelector, path.key("endpointSelector"))
	}
	if m := raw(path); m != nil {
		if _, ok := m["authentication"]; ok {
			v.add(path.key("authentication"), "authentication is not evaluated: %s", ciliumUnevaluated["authentication"])
		}
	}
	for _, sec := range []struct {
		name  string
		rules []ciliumPeerDoc
		dst   *[]model.CiliumPeerRule
		in    bool
		deny  bool
	}{
		{"ingress", r.Ingress, &out.Ingress, true, false},
		{"ingressDeny", r.IngressDeny, &out.IngressDeny, true, true},
		{"egress", r.Egress, &out.Egress, false, false},
		{"egressDeny", r.EgressDeny, &out.EgressDeny, false, true},
	} {
		for i := range sec.rules {
			p := path.key(sec.name).index(i)
			*sec.dst = append(*sec.dst, v.ciliumPeerRule(&sec.rules[i], p, sec.in, sec.deny, raw(p)))
		}
	}
	return out
}

// ciliumSelector checks an endpoint selector: operators as Kubernetes
// label selectors, and the reserved: source, which names entities.
func (v *validator) ciliumSelector(s *metav1.LabelSelector, path fieldPath) {
	v.selector(s, path)
	for k := range s.MatchLabels {
		if strings.HasPrefix(k, "reserved:") {
			v.add(path.key("matchLabels").key(k), "reserved: labels are not evaluated: use fromEntities/toEntities")
		}
	}
}

func (v *validator) ciliumPeerRule(r *ciliumPeerDoc, path fieldPath, ingress, deny bool, raw map[string]any) model.CiliumPeerRule {
	var out model.CiliumPeerRule
	for _, k := range sortedKeys(raw) {
		if why, ok := ciliumUnevaluated[k]; ok {
			v.add(path.key(k), "%s is not evaluated: %s", k, why)
		}
	}
	eps, ents, cidrs, sets := r.ToEndpoints, r.ToEntities, r.ToCIDR, r.ToCIDRSet
	epKey, entKey, cidrKey, setKey := "toEndpoints", "toEntities", "toCIDR", "toCIDRSet"
	if ingress {
		eps, ents, cidrs, sets = r.FromEndpoints, r.FromEntities, r.FromCIDR, r.FromCIDRSet
		epKey, entKey, cidrKey, setKey = "fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet"
	}
	if _, ok := raw[epKey]; ok {
		out.Endpoints = eps
		if out.Endpoints == nil {
			out.Endpoints = []metav1.LabelSelector{}
		}
		for i := range eps {
			v.ciliumSelector(&eps[i], path.key(epKey).index(i))
		}
	}
	for i, e := range ents {
		if !ciliumEntities[e] {
			v.add(path.key(entKey).index(i), "unsupported entity %q", e)
		}
	}
	out.Entities = ents
	var texts []string
	for i, c := range cidrs {
		pf, err := model.ParsePrefix(c)
		if err != nil {
			v.add(path.key(cidrKey).index(i), "invalid CIDR %q: %v", c, err)
			continue
		}
		out.HasCIDR = true
		out.CIDRs = out.CIDRs.Union(model.IPSetOf(pf))
		texts = append(texts, c)
	}
	for i, c := range sets {
		p := path.key(setKey).index(i)
		pf, err := model.ParsePrefix(c.CIDR)
		if err != nil {
			if c.CIDR != "" {
				v.add(p.key("cidr"), "invalid CIDR %q: %v", c.CIDR, err)
			} else if _, ok := lookupPath(raw, fieldPath{setKey, i, "cidrGroupRef"}).(string); ok {
				v.add(p.key("cidrGroupRef"), "cidrGroupRef is not evaluated: CiliumCIDRGroups are not in the model")
			} else {
				v.add(p, "cidrGroupSelector is not evaluated: CiliumCIDRGroups are not in the model")
			}
			continue
		}
		set := model.IPSetOf(pf)
		text := c.CIDR
		for j, e := range c.Except {
			ep, err := model.ParsePrefix(e)
			if err != nil {
				v.add(p.key("except").index(j), "invalid CIDR %q: %v", e, err)
				continue
			}
			if !pf.Contains(ep.Addr()) || ep.Bits() < pf.Bits() {
				v.add(p.key("except").index(j), "except %s is not inside %s", e, c.CIDR)
			}
			set = set.Subtract(model.IPSetOf(ep))
			text += " except " + e
		}
		out.HasCIDR = true
		out.CIDRs = out.CIDRs.Union(set)
		texts = append(texts, text)
	}
	out.CIDRText = strings.Join(texts, ", ")
	members := 0
	for _, n := range []int{len(eps), len(ents), len(cidrs), len(sets)} {
		if n > 0 {
			members++
		}
	}
	if members > 1 {
		v.add(path, "combining %s, %s, %s and %s in one rule is not supported by Cilium: use one rule each", epKey, entKey, cidrKey, setKey)
	}
	if !ingress {
		for i, f := range r.ToFQDNs {
			p := path.key("toFQDNs").index(i)
			if deny {
				v.add(p, "toFQDNs is not allowed in egressDeny")
				continue
			}
			sel := model.FQDNSelector{MatchName: normalizeFQDN(f.MatchName), MatchPattern: normalizeFQDN(f.MatchPattern)}
			if sel.MatchPattern != "" && !fqdnPatternRE.MatchString(sel.MatchPattern) {
				v.add(p.key("matchPattern"), "invalid pattern %q: only 0-9, a-z, A-Z, '.', '-', '_' and '*' are allowed", f.MatchPattern)
				continue
			}
			out.FQDNs = append(out.FQDNs, sel)
		}
	}
	for i, tp := range r.ToPorts {
		pp := path.key("toPorts").index(i)
		if len(tp.Ports) == 0 {
			out.Ports = append(out.Ports, model.CiliumPort{Protocols: model.Protocols[:], From: 1, To: model.MaxPort})
		}
		for j, port := range tp.Ports {
			out.Ports = append(out.Ports, v.ciliumPort(port.Port, port.EndPort, port.Protocol, pp.key("ports").index(j)))
		}
		kinds := sortedKeys(tp.Rules)
		for _, k := range kinds {
			if string(tp.Rules[k]) == "null" {
				continue
			}
			if deny {
				v.add(pp.key("rules"), "L7 rules are not allowed in a deny rule")
			}
			if k == "dns" {
				if ingress {
					v.add(pp.key("rules").key("dns"), "DNS rules are not allowed on ingress")
				}
				out.DNSNames = append(out.DNSNames, dnsNames(tp.Rules[k])...)
				if !portsHold53(tp.Ports) {
					v.add(pp.key("ports"), "port 53 must be specified for DNS rules")
				}
			}
			out.L7 = append(out.L7, k)
		}
	}
	return out
}

// dnsNames lists what a rules.dns entry lets be looked up.
func dnsNames(raw json.RawMessage) []string {
	var rules []struct {
		MatchName    string `json:"matchName"`
		MatchPattern string `json:"matchPattern"`
	}
	_ = json.Unmarshal(raw, &rules)
	var out []string
	for _, r := range rules {
		if r.MatchName != "" {
			out = append(out, normalizeFQDN(r.MatchName))
		} else if r.MatchPattern != "" {
			out = append(out, normalizeFQDN(r.MatchPattern))
		}
	}
	return out
}

func portsHold53(ports []struct {
	Port     string `json:"port"`
	EndPort  int32  `json:"endPort"`
	Protocol string `json:"protocol"`
}) bool {
	for _, p := range ports {
		if p.Port == "53" {
			return true
		}
	}
	return false
}

var fqdnPatternRE = regexp.MustCompile(`^[-a-zA-Z0-9_.*]+$`)

// normalizeFQDN lower-cases a name and drops its final dot.
func normalizeFQDN(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// ciliumPort reads one toPorts port: a number (0 or empty: every port),
// a named port, with an optional endPort, of one protocol or ANY (TCP,
// UDP and SCTP).
func (v *validator) ciliumPort(port string, end int32, proto string, path fieldPath) model.CiliumPort {
	out := model.CiliumPort{}
	switch strings.ToUpper(proto) {
	case "", "ANY":
		out.Protocols = model.Protocols[:]
	case "TCP":
		out.Protocols = []model.Protocol{model.TCP}
	case "UDP":
		out.Protocols = []model.Protocol{model.UDP}
	case "SCTP":
		out.Protocols = []model.Protocol{model.SCTP}
	default:
		v.add(path.key("protocol"), "protocol %s is not in the model (TCP, UDP, SCTP and ANY are evaluated)", proto)
	}
	n, err := strconv.Atoi(port)
	switch {
	case port == "" || (err == nil && n == 0):
		out.From, out.To = 1, model.MaxPort
		if end != 0 {
			v.add(path.key("endPort"), "endPort needs a port")
		}
		return out
	case err != nil:
		if !validPortName(strings.ToLower(port)) {
			v.add(path.key("port"), "invalid port %q: want a number 1-65535 or a port name", port)
		}
		if end != 0 {
			v.add(path.key("endPort"), "endPort needs a numeric port")
		}
		out.Named = strings.ToLower(port)
		return out
	case n < 1 || n > model.MaxPort:
		v.add(path.key("port"), "port %d is out of range 1-65535", n)
		return out
	}
	out.From, out.To = uint16(n), uint16(n)
	if end != 0 {
		if end < int32(n) || end > model.MaxPort {
			v.add(path.key("endPort"), "endPort %d must be between port %d and 65535", end, n)
		} else {
			out.To = uint16(end)
		}
	}
	return out
}
