package render

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	cnpv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The tiered kinds of sigs.k8s.io/network-policy-api v0.3.0:
// AdminNetworkPolicy and BaselineAdminNetworkPolicy (v1alpha1, the shape
// served since v0.1.5 with networks and nodes peers) and
// ClusterNetworkPolicy (v1alpha2 and v1beta1, which share one shape). Each
// is decoded strictly into the upstream type, validated as its CRD's
// schema and CEL rules would, and converted into a model.ClusterPolicy.

const (
	maxClusterRules    = 100
	maxClusterPriority = 1000
	maxNetworks        = 25
)

// adminPolicy decodes an AdminNetworkPolicy.
func (d *decoder) adminPolicy(it item) {
	var o anpv1alpha1.AdminNetworkPolicy
	if !d.decode(it, &o) {
		return
	}
	var v validator
	spec := fieldPath{"spec"}
	cp := model.ClusterPolicy{Kind: model.KindAdminNetworkPolicy, Name: it.ref.Name, Tier: model.TierAdmin, Priority: o.Spec.Priority, Source: it.obj.Source}
	if o.Spec.Priority < 0 || o.Spec.Priority > maxClusterPriority {
		v.add(spec.key("priority"), "priority %d is out of range 0-%d", o.Spec.Priority, maxClusterPriority)
	}
	cp.Subject = v.anpSubject(o.Spec.Subject, spec.key("subject"))
	v.maxRules(len(o.Spec.Ingress), spec.key("ingress"))
	v.maxRules(len(o.Spec.Egress), spec.key("egress"))
	for i, r := range o.Spec.Ingress {
		p := spec.key("ingress").index(i)
		cr := model.ClusterRule{Name: r.Name, Action: v.anpAction(string(r.Action), true, p.key("action"))}
		cr.Peers = v.anpIngressPeers(r.From, p.key("from"))
		cr.Ports = v.anpPorts(r.Ports, p.key("ports"))
		cp.Ingress = append(cp.Ingress, cr)
	}
	for i, r := range o.Spec.Egress {
		p := spec.key("egress").index(i)
		cr := model.ClusterRule{Name: r.Name, Action: v.anpAction(string(r.Action), true, p.key("action"))}
		cr.Peers, _ = v.anpEgressPeers(r.To, p.key("to"), true, false)
		cr.Ports = v.anpPorts(r.Ports, p.key("ports"))
		cp.Egress = append(cp.Egress, cr)
	}
	if d.check(it, v.errs) {
		d.c.ClusterPolicies = append(d.c.ClusterPolicies, cp)
	}
}

// baselinePolicy decodes the BaselineAdminNetworkPolicy, a singleton that
// must be named "default".
func (d *decoder) baselinePolicy(it item) {
	var o anpv1alpha1.BaselineAdminNetworkPolicy
	if !d.decode(it, &o) {
		return
	}
	var v validator
	spec := fieldPath{"spec"}
	if it.ref.Name != "default" {
		v.add(fieldPath{"metadata", "name"}, "a BaselineAdminNetworkPolicy must be named \"default\" (it is a singleton), not %q", it.ref.Name)
	}
	cp := model.ClusterPolicy{Kind: model.KindBaselineAdminNetworkPolicy, Name: it.ref.Name, Tier: model.TierBaseline, Source: it.obj.Source}
	cp.Subject = v.anpSubject(o.Spec.Subject, spec.key("subject"))
	v.maxRules(len(o.Spec.Ingress), spec.key("ingress"))
	v.maxRules(len(o.Spec.Egress), spec.key("egress"))
	for i, r := range o.Spec.Ingress {
		p := spec.key("ingress").index(i)
		cr := model.ClusterRule{Name: r.Name, Action: v.anpAction(string(r.Action), false, p.key("action"))}
		cr.Peers = v.anpIngressPeers(r.From, p.key("from"))
		cr.Ports = v.anpPorts(r.Ports, p.key("ports"))
		cp.Ingress = append(cp.Ingress, cr)
	}
	for i, r := range o.Spec.Egress {
		p := spec.key("egress").index(i)
		cr := model.ClusterRule{Name: r.Name, Action: v.anpAction(string(r.Action), false, p.key("action"))}
		peers := make([]anpv1alpha1.AdminNetworkPolicyEgressPeer, len(r.To))
		for j, x := range r.To {
			peers[j] = anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: x.Namespaces, Pods: x.Pods, Nodes: x.Nodes, Networks: x.Networks}
		}
		cr.Peers, _ = v.anpEgressPeers(peers, p.key("to"), false, false)
		cr.Ports = v.anpPorts(r.Ports, p.key("ports"))
		cp.Egress = append(cp.Egress, cr)
	}
	if d.check(it, v.errs) {
		d.c.ClusterPolicies = append(d.c.ClusterPolicies, cp)
	}
}

// clusterNetworkPolicy decodes a ClusterNetworkPolicy (v1alpha2 and
// v1beta1 share a shape).
func (d *decoder) clusterNetworkPolicy(it item) {
	var o cnpv1beta1.ClusterNetworkPolicy
	if !d.decode(it, &o) {
		return
	}
	var v validator
	spec := fieldPath{"spec"}
	cp := model.ClusterPolicy{Kind: model.KindClusterNetworkPolicy, Name: it.ref.Name, Priority: o.Spec.Priority, Source: it.obj.Source}
	switch o.Spec.Tier {
	case cnpv1beta1.AdminTier:
		cp.Tier = model.TierAdmin
	case cnpv1beta1.BaselineTier:
		cp.Tier = model.TierBaseline
	default:
		v.add(spec.key("tier"), "unsupported tier %q: want Admin or Baseline", string(o.Spec.Tier))
	}
	if o.Spec.Priority < 0 || o.Spec.Priority > maxClusterPriority {
		v.add(spec.key("priority"), "priority %d is out of range 0-%d", o.Spec.Priority, maxClusterPriority)
	}
	cp.Subject = v.anpSubject(anpv1alpha1.AdminNetworkPolicySubject{
		Namespaces: o.Spec.Subject.Namespaces, Pods: (*anpv1alpha1.NamespacedPod)(o.Spec.Subject.Pods),
	}, spec.key("subject"))
	if len(o.Spec.Ingress) > 25 {
		v.add(spec.key("ingress"), "%d rules: at most 25 are allowed", len(o.Spec.Ingress))
	}
	if len(o.Spec.Egress) > 25 {
		v.add(spec.key("egress"), "%d rules: at most 25 are allowed", len(o.Spec.Egress))
	}
	for i, r := range o.Spec.Ingress {
		p := spec.key("ingress").index(i)
		cr := model.ClusterRule{Name: r.Name, Action: v.cnpAction(r.Action, p.key("action"))}
		peers := make([]anpv1alpha1.AdminNetworkPolicyIngressPeer, len(r.From))
		for j, x := range r.From {
			peers[j] = anpv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: x.Namespaces, Pods: (*anpv1alpha1.NamespacedPod)(x.Pods)}
		}
		cr.Peers = v.anpIngressPeers(peers, p.key("from"))
		cr.Ports = v.cnpProtocols(r.Protocols, p.key("protocols"), false)
		cp.Ingress = append(cp.Ingress, cr)
	}
	for i, r := range o.Spec.Egress {
		p := spec.key("egress").index(i)
		cr := model.ClusterRule{Name: r.Name, Action: v.cnpAction(r.Action, p.key("action"))}
		peers := make([]anpv1alpha1.AdminNetworkPolicyEgressPeer, len(r.To))
		for j, x := range r.To {
			peers[j] = anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: x.Namespaces, Pods: (*anpv1alpha1.NamespacedPod)(x.Pods), Nodes: x.Nodes}
			for _, n := range x.Networks {
				peers[j].Networks = append(peers[j].Networks, anpv1alpha1.CIDR(n))
			}
			for _, n := range x.DomainNames {
				peers[j].DomainNames = append(peers[j].DomainNames, anpv1alpha1.DomainName(n))
			}
		}
		var noNamed bool
		cr.Peers, noNamed = v.anpEgressPeers(peers, p.key("to"), true, true)
		cr.Ports = v.cnpProtocols(r.Protocols, p.key("protocols"), noNamed)
		cp.Egress = append(cp.Egress, cr)
	}
	if d.check(it, v.errs) {
		d.c.ClusterPolicies = append(d.c.ClusterPolicies, cp)
	}
}

func (v *validator) maxRules(n int, path fieldPath) {
	if n > maxClusterRules {
		v.add(path, "%d rules: at most %d are allowed", n, maxClusterRules)
	}
}

func (v *validator) anpAction(a string, pass bool, path fieldPath) model.Action {
	switch a {
	case "Allow":
		return model.ActionAllow
	case "Deny":
		return model.ActionDeny
	case "Pass":
		if pass {
			return model.ActionPass
		}
	}
	want := "Allow or Deny"
	if pass {
		want = "Allow, Deny or Pass"
	}
	v.add(path, "unsupported action %q: want %s", a, want)
	return model.ActionDeny
}

func (v *validator) cnpAction(a cnpv1beta1.ClusterNetworkPolicyRuleAction, path fieldPath) model.Action {
	switch a {
	case cnpv1beta1.ClusterNetworkPolicyRuleActionAccept:
		return model.ActionAllow
	case cnpv1beta1.ClusterNetworkPolicyRuleActionDeny:
		return model.ActionDeny
	case cnpv1beta1.ClusterNetworkPolicyRuleActionPass:
		return model.ActionPass
	}
	v.add(path, "unsupported action %q: want Accept, Deny or Pass", string(a))
	return model.ActionDeny
}

func (v *validator) anpSubject(s anpv1alpha1.AdminNetworkPolicySubject, path fieldPath) model.ClusterSubject {
	switch {
	case s.Namespaces != nil && s.Pods != nil:
		v.add(path, "set exactly one of namespaces and pods")
	case s.Namespaces != nil:
		v.selector(s.Namespaces, path.key("namespaces"))
		return model.ClusterSubject{Namespaces: s.Namespaces}
	case s.Pods != nil:
		v.selector(&s.Pods.NamespaceSelector, path.key("pods").key("namespaceSelector"))
		v.selector(&s.Pods.PodSelector, path.key("pods").key("podSelector"))
		return model.ClusterSubject{Pods: &model.NamespacedPods{NamespaceSelector: s.Pods.NamespaceSelector, PodSelector: s.Pods.PodSelector}}
	default:
		v.add(path, "set exactly one of namespaces and pods")
	}
	return model.ClusterSubject{}
}

func (v *validator) anpIngressPeers(peers []anpv1alpha1.AdminNetworkPolicyIngressPeer, path fieldPath) []model.ClusterPeer {
	if len(peers) == 0 {
		v.add(path, "at least one peer is required")
	}
	if len(peers) > maxClusterRules {
		v.add(path, "%d peers: at most %d are allowed", len(peers), maxClusterRules)
	}
	out := make([]model.ClusterPeer, 0, len(peers))
	for i, p := range peers {
		out = append(out, v.anpPeer(anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: p.Namespaces, Pods: p.Pods}, path.index(i), false, false))
	}
	return out
}

// anpEgressPeers converts egress peers; noNamed is set when a peer is a
// networks, nodes or domainNames peer, which rules out named ports.
func (v *validator) anpEgressPeers(peers []anpv1alpha1.AdminNetworkPolicyEgressPeer, path fieldPath, domains, strict bool) (out []model.ClusterPeer, noNamed bool) {
	if len(peers) == 0 {
		v.add(path, "at least one peer is required")
	}
	if len(peers) > maxClusterRules {
		v.add(path, "%d peers: at most %d are allowed", len(peers), maxClusterRules)
	}
	for i, p := range peers {
		cp := v.anpPeer(p, path.index(i), domains, strict)
		noNamed = noNamed || cp.Nodes != nil || len(cp.DomainNames) > 0 || cp.NetworksText != ""
		out = append(out, cp)
	}
	return out, noNamed
}

// anpPeer converts one peer. ClusterNetworkPolicy (strictCIDR) refuses
// networks with host bits, as its CRD's CEL rule does; the
// AdminNetworkPolicy CRD only asks for an IPv4 or IPv6 CIDR, which
// implementations read with net.ParseCIDR, dropping host bits.
func (v *validator) anpPeer(p anpv1alpha1.AdminNetworkPolicyEgressPeer, path fieldPath, domains, strictCIDR bool) model.ClusterPeer {
	n := 0
	for _, set := range []bool{p.Namespaces != nil, p.Pods != nil, p.Nodes != nil, p.Networks != nil, p.DomainNames != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		fields := "namespaces, pods, nodes or networks"
		if domains {
			fields = "namespaces, pods, nodes, networks or domainNames"
		}
		v.add(path, "set exactly one of %s", fields)
		return model.ClusterPeer{}
	}
	var out model.ClusterPeer
	switch {
	case p.Namespaces != nil:
		v.selector(p.Namespaces, path.key("namespaces"))
		out.Namespaces = p.Namespaces
	case p.Pods != nil:
		v.selector(&p.Pods.NamespaceSelector, path.key("pods").key("namespaceSelector"))
		v.selector(&p.Pods.PodSelector, path.key("pods").key("podSelector"))
		out.Pods = &model.NamespacedPods{NamespaceSelector: p.Pods.NamespaceSelector, PodSelector: p.Pods.PodSelector}
	case p.Nodes != nil:
		v.selector(p.Nodes, path.key("nodes"))
		out.Nodes = p.Nodes
	case p.Networks != nil:
		if len(p.Networks) == 0 || len(p.Networks) > maxNetworks {
			v.add(path.key("networks"), "%d networks: want 1 to %d", len(p.Networks), maxNetworks)
		}
		var texts []string
		for i, c := range p.Networks {
			pfx, err := netip.ParsePrefix(string(c))
			switch {
			case err != nil:
				v.add(path.key("networks").index(i), "invalid CIDR %q", string(c))
				continue
			case pfx.Masked() != pfx && strictCIDR:
				v.add(path.key("networks").index(i), "%s has host bits set: write %s", string(c), pfx.Masked())
			case pfx.Addr().Is4In6():
				v.add(path.key("networks").index(i), "%s: IPv4 addresses embedded in IPv6 are not supported", string(c))
			}
			out.Networks = out.Networks.Union(model.IPSetOf(pfx.Masked()))
			texts = append(texts, pfx.Masked().String())
		}
		out.NetworksText = strings.Join(texts, ",")
		if out.NetworksText == "" {
			out.NetworksText = "<none>"
		}
	case p.DomainNames != nil:
		if !domains {
			v.add(path.key("domainNames"), "domainNames is not a field of this kind")
		}
		if len(p.DomainNames) == 0 || len(p.DomainNames) > maxNetworks {
			v.add(path.key("domainNames"), "%d domain names: want 1 to %d", len(p.DomainNames), maxNetworks)
		}
		for i, name := range p.DomainNames {
			if msg := checkDomainPattern(string(name), false); msg != "" {
				v.add(path.key("domainNames").index(i), "%s", msg)
				continue
			}
			out.DomainNames = append(out.DomainNames, strings.ToLower(strings.TrimSuffix(string(name), ".")))
		}
	}
	return out
}

// anpPorts converts an ANP port list; a nil list matches every port.
func (v *validator) anpPorts(ports *[]anpv1alpha1.AdminNetworkPolicyPort, path fieldPath) []model.ClusterPort {
	if ports == nil {
		return nil
	}
	if len(*ports) == 0 {
		v.add(path, "ports may not be empty: leave it out to match every port")
	}
	out := []model.ClusterPort{}
	for i, p := range *ports {
		pp := path.index(i)
		n := 0
		for _, set := range []bool{p.PortNumber != nil, p.NamedPort != nil, p.PortRange != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			v.add(pp, "set exactly one of portNumber, namedPort and portRange")
			continue
		}
		switch {
		case p.PortNumber != nil:
			proto := v.anpProtocol(p.PortNumber.Protocol, pp.key("portNumber").key("protocol"))
			if p.PortNumber.Port < 1 || p.PortNumber.Port > model.MaxPort {
				v.add(pp.key("portNumber").key("port"), "port %d is out of range 1-65535", p.PortNumber.Port)
				continue
			}
			out = append(out, model.ClusterPort{Protocol: proto, From: uint16(p.PortNumber.Port), To: uint16(p.PortNumber.Port)})
		case p.NamedPort != nil:
			if !validPortName(*p.NamedPort) {
				v.add(pp.key("namedPort"), "invalid port name %q: want at most 15 lowercase letters, digits and dashes, with a letter", *p.NamedPort)
				continue
			}
			out = append(out, model.ClusterPort{Named: *p.NamedPort})
		case p.PortRange != nil:
			proto := v.anpProtocol(p.PortRange.Protocol, pp.key("portRange").key("protocol"))
			s, e := p.PortRange.Start, p.PortRange.End
			switch {
			case s < 1 || s > model.MaxPort:
				v.add(pp.key("portRange").key("start"), "port %d is out of range 1-65535", s)
			case e < 1 || e > model.MaxPort:
				v.add(pp.key("portRange").key("end"), "port %d is out of range 1-65535", e)
			case e <= s:
				v.add(pp.key("portRange").key("end"), "end %d must be greater than start %d", e, s)
			default:
				out = append(out, model.ClusterPort{Protocol: proto, From: uint16(s), To: uint16(e)})
			}
		}
	}
	return out
}

// anpProtocol reads a protocol that the CRD defaults to TCP.
func (v *validator) anpProtocol(p corev1.Protocol, path fieldPath) model.Protocol {
	proto, err := model.ParseProtocol(string(p))
	if err != nil {
		v.add(path, "unsupported protocol %q: want TCP, UDP or SCTP", string(p))
	}
	return proto
}

// cnpProtocols converts a ClusterNetworkPolicy protocols list; nil
// matches every port.
func (v *validator) cnpProtocols(ps []cnpv1beta1.ClusterNetworkPolicyProtocol, path fieldPath, noNamed bool) []model.ClusterPort {
	if ps == nil {
		return nil
	}
	if len(ps) == 0 {
		v.add(path, "protocols may not be empty: leave it out to match every port")
	}
	out := []model.ClusterPort{}
	for i, p := range ps {
		pp := path.index(i)
		n := 0
		for _, set := range []bool{p.TCP != nil, p.UDP != nil, p.SCTP != nil, p.DestinationNamedPort != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			v.add(pp, "set exactly one of tcp, udp, sctp and destinationNamedPort")
			continue
		}
		port := func(proto model.Protocol, name string, dp *cnpv1beta1.Port) {
			path := pp.key(name).key("destinationPort")
			switch {
			case dp == nil:
				out = append(out, model.ClusterPort{Protocol: proto, From: 1, To: model.MaxPort})
			case dp.Range != nil && dp.Number != 0:
				v.add(path, "set exactly one of number and range")
			case dp.Range != nil:
				s, e := dp.Range.Start, dp.Range.End
				switch {
				case s < 1 || s > model.MaxPort:
					v.add(path.key("range").key("start"), "port %d is out of range 1-65535", s)
				case e < 1 || e > model.MaxPort:
					v.add(path.key("range").key("end"), "port %d is out of range 1-65535", e)
				case e <= s:
					v.add(path.key("range").key("end"), "end %d must be greater than start %d", e, s)
				default:
					out = append(out, model.ClusterPort{Protocol: proto, From: uint16(s), To: uint16(e)})
				}
			case dp.Number < 1 || dp.Number > model.MaxPort:
				v.add(path.key("number"), "port %d is out of range 1-65535", dp.Number)
			default:
				out = append(out, model.ClusterPort{Protocol: proto, From: uint16(dp.Number), To: uint16(dp.Number)})
			}
		}
		switch {
		case p.TCP != nil:
			port(model.TCP, "tcp", p.TCP.DestinationPort)
		case p.UDP != nil:
			port(model.UDP, "udp", p.UDP.DestinationPort)
		case p.SCTP != nil:
			port(model.SCTP, "sctp", p.SCTP.DestinationPort)
		default:
			if noNamed {
				v.add(pp.key("destinationNamedPort"), "networks, nodes and domainNames peers cannot be set with named ports: they have none")
			}
			if !validPortName(p.DestinationNamedPort) {
				v.add(pp.key("destinationNamedPort"), "invalid port name %q: want at most 15 lowercase letters, digits and dashes, with a letter", p.DestinationNamedPort)
				continue
			}
			// A named port matches the named container port of either
			// protocol, as ANP's namedPort does.
			out = append(out, model.ClusterPort{Named: p.DestinationNamedPort})
		}
	}
	return out
}

// checkDomainPattern checks a host name or a wildcard pattern. Patterns
// allow "*" as the whole first label ("*.example.com"); inner is set when
// "*" may also stand inside a label (Cilium's matchPattern). It returns
// "" when the name is valid.
func checkDomainPattern(s string, inner bool) string {
	name := strings.TrimSuffix(s, ".")
	if name == "" {
		return "empty domain name"
	}
	if len(name) > 253 {
		return "domain name " + s + " is longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if l == "" {
			return "domain name " + s + " has an empty label"
		}
		if len(l) > 63 {
			return "domain name " + s + " has a label longer than 63 characters"
		}
		for j, r := range l {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			case r == '-' && j > 0 && j < len(l)-1:
			case r == '_':
			case r == '*' && inner:
			case r == '*' && i == 0 && l == "*" && len(labels) > 1:
			default:
				return "invalid domain name " + s + ": " + strings.TrimSpace(string(r)) + " is not allowed there"
			}
		}
	}
	return ""
}
