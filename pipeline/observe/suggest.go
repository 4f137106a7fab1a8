package observe

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

// DNSSelector names the cluster DNS pods a suggestion keeps egress to.
type DNSSelector struct {
	Namespace string
	Labels    map[string]string
}

// Suggestion is a least-privilege pair of NetworkPolicies for one
// workload, drafted from the forwarded flows observed to and from it.
type Suggestion struct {
	Workload *model.Workload
	// Policies are an ingress and an egress policy (either may be absent
	// when nothing was seen in that direction and DNS needs nothing).
	Policies []*networkingv1.NetworkPolicy
	// Flows are the observed flows the policies allow.
	Flows []model.ObservedFlow
	// Unexpressed are observed flows the policies do not allow, and why
	// (an unnamed external address, an endpoint that could not be
	// mapped): listed, not widened.
	Unexpressed []Unexpressed
	// Dropped counts dropped flows of the workload, left closed.
	Dropped int64
	// DNS is set when egress to the cluster DNS was added without being
	// observed.
	DNS bool
}

// Unexpressed is an observed flow a suggestion leaves out.
type Unexpressed struct {
	Flow   string
	Count  int64
	Reason string
}

// FindWorkload resolves --workload: "namespace/name" of the cluster.
func FindWorkload(c *model.Cluster, key string) (*model.Workload, error) {
	ns, name, ok := strings.Cut(key, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("--workload %q: want namespace/name", key)
	}
	var found []*model.Workload
	for i := range c.Workloads {
		if w := &c.Workloads[i]; w.Namespace == ns && w.Name == name && !w.Inventory {
			found = append(found, w)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("--workload %s: no workload of the overlay has that name", key)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("--workload %s: names %s", key, workloadList(found))
}

// Suggest drafts ingress and egress policies for w that allow exactly the
// forwarded flows observed to and from it (mf, mapped onto m of c; c's
// records give the flows whose other end could not be mapped), plus DNS.
//
// leave, when not nil, names flows to leave out (listed as unexpressed
// with its reason): those the other end's own policies deny.
func Suggest(c *model.Cluster, m *model.Matrix, capture *Capture, mf *Mapped, w *model.Workload, dns DNSSelector, leaveOut map[string]string) (*Suggestion, error) {
	if w.HostNetwork {
		return nil, fmt.Errorf("%s uses the host network: NetworkPolicy does not apply to it", w)
	}
	s := &Suggestion{Workload: w}
	self := int32(-1)
	for i := range m.Peers {
		if m.Peers[i].Workload == w {
			self = int32(i)
		}
	}
	if self < 0 {
		return nil, fmt.Errorf("%s is not in the reachability matrix", w)
	}
	type side struct {
		peers map[int32]model.PortSet
	}
	in, out := side{map[int32]model.PortSet{}}, side{map[int32]model.PortSet{}}
	unexpressed := map[string]*Unexpressed{}
	leave := func(flow, why string, n int64) {
		k := flow + "\x00" + why
		if u, ok := unexpressed[k]; ok {
			u.Count += n
			return
		}
		unexpressed[k] = &Unexpressed{Flow: flow, Count: n, Reason: why}
	}
	for _, f := range mf.Flows {
		if f.SrcPeer != self && f.DstPeer != self {
			continue
		}
		if f.Verdict != model.VerdictForwarded {
			s.Dropped += f.Count
			continue
		}
		other, sd := f.DstPeer, &out
		if f.DstPeer == self {
			other, sd = f.SrcPeer, &in
		}
		if why, ok := leaveOut[flowText(&f)]; ok {
			leave(flowText(&f), why, f.Count)
			continue
		}
		if p := &m.Peers[other]; p.Workload == nil && externalCIDRs(c, p) == nil {
			leave(flowText(&f), "an address outside every named external endpoint of reachgate.yaml: allowing it would mean an ipBlock for an address seen, or widening to a range", f.Count)
			continue
		}
		sd.peers[other] = sd.peers[other].Union(model.SinglePort(f.Protocol, f.Port, f.Port))
		s.Flows = append(s.Flows, f)
	}
	// Flows of the workload whose other end could not be mapped.
	mp := NewMapper(c, m)
	for i := range capture.Records {
		r := &capture.Records[i]
		if r.Verdict != model.VerdictForwarded {
			continue
		}
		sp, _ := mp.Map(r.Src)
		dp, _ := mp.Map(r.Dst)
		switch {
		case sp == self && dp < 0:
			_, why := mp.Map(r.Dst)
			leave(fmt.Sprintf("%s -> %s %s %d", w, r.Dst, r.Protocol, r.Port), "unknown endpoint: "+why, r.Count)
		case dp == self && sp < 0:
			_, why := mp.Map(r.Src)
			leave(fmt.Sprintf("%s -> %s %s %d", r.Src, w, r.Protocol, r.Port), "unknown endpoint: "+why, r.Count)
		}
	}
	for _, u := range unexpressed {
		s.Unexpressed = append(s.Unexpressed, *u)
	}
	slices.SortFunc(s.Unexpressed, func(a, b Unexpressed) int { return strings.Compare(a.Flow, b.Flow) })

	sel := podSelector(c, w)
	meta := func(dir string) metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name: "allow-" + w.Name + "-observed-" + dir, Namespace: w.Namespace,
			Annotations: map[string]string{"reachgate.dev/suggested": "least privilege from observed flows: reachgate suggest"},
		}
	}
	if len(in.peers) > 0 {
		np := &networkingv1.NetworkPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}, ObjectMeta: meta("ingress")}
		np.Spec.PodSelector = *sel
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		for _, p := range sortedPeers(m, in.peers) {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
				From: peerOf(c, w, &m.Peers[p]), Ports: portsFor(w, in.peers[p])})
		}
		s.Policies = append(s.Policies, np)
	}
	// Egress: the observed destinations, and the cluster DNS.
	dnsPorts := model.SinglePort(model.UDP, 53, 53).Union(model.SinglePort(model.TCP, 53, 53))
	np := &networkingv1.NetworkPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}, ObjectMeta: meta("egress")}
	np.Spec.PodSelector = *sel
	np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	dnsCovered := false
	for _, p := range sortedPeers(m, out.peers) {
		d := &m.Peers[p]
		ports := out.peers[p]
		if d.Workload != nil && isDNS(d.Workload, dns) {
			ports = ports.Union(dnsPorts)
			dnsCovered = true
		}
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peerOf(c, w, d), Ports: portsFor(d.Workload, ports)})
	}
	if !dnsCovered && len(dns.Labels) > 0 {
		s.DNS = true
		var ns *metav1.LabelSelector
		if dns.Namespace != "" {
			ns = &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: dns.Namespace}}
		} else {
			ns = &metav1.LabelSelector{}
		}
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{
			To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: ns, PodSelector: &metav1.LabelSelector{MatchLabels: dns.Labels}}},
			Ports: portsFor(nil, dnsPorts),
		})
	}
	if len(np.Spec.Egress) > 0 {
		s.Policies = append(s.Policies, np)
	}
	return s, nil
}

func isDNS(w *model.Workload, dns DNSSelector) bool {
	if len(dns.Labels) == 0 || (dns.Namespace != "" && w.Namespace != dns.Namespace) {
		return false
	}
	return subset(dns.Labels, w.Labels)
}

// FlowText names a flow for Suggest's leaveOut: "src -> dst PROTO port".
func FlowText(f *model.ObservedFlow) string { return flowText(f) }

func flowText(f *model.ObservedFlow) string {
	return fmt.Sprintf("%s -> %s %s %d", f.SrcLabel, f.DstLabel, f.Protocol, f.Port)
}

func sortedPeers(m *model.Matrix, ps map[int32]model.PortSet) []int32 {
	out := make([]int32, 0, len(ps))
	for p := range ps {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return m.Peers[out[i]].String() < m.Peers[out[j]].String() })
	return out
}

// externalCIDRs are the CIDRs of the named external endpoint (not the
// internet) a range belongs to; nil when it has none.
func externalCIDRs(c *model.Cluster, p *model.Peer) []string {
	if p.External == "" {
		return nil
	}
	for _, e := range c.Externals {
		if e.Name != p.External {
			continue
		}
		var out []string
		for _, r := range e.CIDRs.Ranges {
			for _, pf := range r.Prefixes() {
				if pf.Bits() == 0 {
					return nil // the whole internet: no least privilege
				}
				out = append(out, pf.String())
			}
		}
		return out
	}
	return nil
}

// peerOf is the policy peer for a matrix peer, seen from w.
func peerOf(c *model.Cluster, w *model.Workload, p *model.Peer) []networkingv1.NetworkPolicyPeer {
	if p.Workload == nil {
		var out []networkingv1.NetworkPolicyPeer
		for _, cidr := range externalCIDRs(c, p) {
			out = append(out, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
		}
		return out
	}
	peer := networkingv1.NetworkPolicyPeer{PodSelector: podSelector(c, p.Workload)}
	if p.Workload.Namespace != w.Namespace {
		peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: p.Workload.Namespace}}
	}
	return []networkingv1.NetworkPolicyPeer{peer}
}

// podSelector selects w by the fewest of its labels that select no other
// workload of its namespace: one label when one does, else all of them.
func podSelector(c *model.Cluster, w *model.Workload) *metav1.LabelSelector {
	keys := make([]string, 0, len(w.Labels))
	for k := range w.Labels {
		keys = append(keys, k)
	}
	// Prefer the conventional name labels.
	rank := func(k string) int {
		switch k {
		case "app.kubernetes.io/name":
			return 0
		case "app":
			return 1
		case "k8s-app":
			return 2
		}
		return 3
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		only := map[string]string{k: w.Labels[k]}
		unique := true
		for i := range c.Workloads {
			o := &c.Workloads[i]
			if o != w && o.Namespace == w.Namespace && subset(only, o.Labels) {
				unique = false
				break
			}
		}
		if unique {
			return &metav1.LabelSelector{MatchLabels: only}
		}
	}
	all := make(map[string]string, len(w.Labels))
	for k, v := range w.Labels {
		all[k] = v
	}
	return &metav1.LabelSelector{MatchLabels: all}
}

// portsFor lists ports, named after dst's container ports where it
// declares the port with that protocol.
func portsFor(dst *model.Workload, s model.PortSet) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, p := range model.Protocols {
		for _, r := range s.Ranges(p) {
			for port := int(r.From); port <= int(r.To); port++ {
				proto := corev1.Protocol(p.String())
				v := intstr.FromInt32(int32(port))
				if dst != nil {
					for _, cp := range dst.Ports {
						if cp.Name != "" && int(cp.Port) == port && cp.Protocol == p {
							v = intstr.FromString(cp.Name)
							break
						}
					}
				}
				out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &v})
			}
		}
	}
	return out
}
