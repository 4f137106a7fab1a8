package render

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

// validator collects semantic problems the API server would reject, for
// the fields reachability depends on.
type validator struct {
	errs []fieldError
}

func (v *validator) add(path fieldPath, format string, args ...any) {
	v.errs = append(v.errs, fieldError{path: path, msg: fmt.Sprintf(format, args...)})
}

// validatePolicy checks a strictly decoded NetworkPolicy like the API
// server's validation does for selectors, peers, ports and policy types.
func validatePolicy(np *networkingv1.NetworkPolicy) []fieldError {
	var v validator
	spec := fieldPath{"spec"}
	v.selector(&np.Spec.PodSelector, spec.key("podSelector"))
	seen := map[networkingv1.PolicyType]bool{}
	for i, t := range np.Spec.PolicyTypes {
		p := spec.key("policyTypes").index(i)
		switch t {
		case networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress:
			if seen[t] {
				v.add(p, "%s is listed twice", t)
			}
			seen[t] = true
		default:
			v.add(p, "unsupported policy type %q: want Ingress or Egress", string(t))
		}
	}
	for i, r := range np.Spec.Ingress {
		p := spec.key("ingress").index(i)
		v.ports(r.Ports, p.key("ports"))
		for j := range r.From {
			v.peer(&r.From[j], p.key("from").index(j))
		}
	}
	for i, r := range np.Spec.Egress {
		p := spec.key("egress").index(i)
		v.ports(r.Ports, p.key("ports"))
		for j := range r.To {
			v.peer(&r.To[j], p.key("to").index(j))
		}
	}
	return v.errs
}

func (v *validator) peer(peer *networkingv1.NetworkPolicyPeer, path fieldPath) {
	if peer.PodSelector == nil && peer.NamespaceSelector == nil && peer.IPBlock == nil {
		v.add(path, "a peer needs podSelector, namespaceSelector or ipBlock")
		return
	}
	if peer.IPBlock != nil && (peer.PodSelector != nil || peer.NamespaceSelector != nil) {
		v.add(path, "ipBlock cannot be combined with podSelector or namespaceSelector")
	}
	if peer.PodSelector != nil {
		v.selector(peer.PodSelector, path.key("podSelector"))
	}
	if peer.NamespaceSelector != nil {
		v.selector(peer.NamespaceSelector, path.key("namespaceSelector"))
	}
	if b := peer.IPBlock; b != nil {
		p := path.key("ipBlock")
		cidr, err := netip.ParsePrefix(b.CIDR)
		if err != nil {
			v.add(p.key("cidr"), "invalid CIDR %q", b.CIDR)
			return
		}
		if cidr.Masked() != cidr {
			v.add(p.key("cidr"), "%s has host bits set: write %s", b.CIDR, cidr.Masked())
		}
		for i, e := range b.Except {
			ex, err := netip.ParsePrefix(e)
			switch {
			case err != nil:
				v.add(p.key("except").index(i), "invalid CIDR %q", e)
			case ex.Addr().Is4() != cidr.Addr().Is4() || ex.Bits() <= cidr.Bits() || !cidr.Contains(ex.Addr()):
				v.add(p.key("except").index(i), "%s must be strictly inside cidr %s", e, b.CIDR)
			}
		}
	}
}

func (v *validator) ports(ports []networkingv1.NetworkPolicyPort, path fieldPath) {
	for i, pp := range ports {
		p := path.index(i)
		if pp.Protocol != nil {
			v.protocol(*pp.Protocol, p.key("protocol"))
		}
		if pp.Port != nil {
			v.portOrName(*pp.Port, p.key("port"))
		}
		if pp.EndPort != nil {
			switch {
			case pp.Port == nil || pp.Port.Type != intstr.Int:
				v.add(p.key("endPort"), "endPort needs a numeric port")
			case *pp.EndPort < pp.Port.IntVal:
				v.add(p.key("endPort"), "endPort %d is below port %d", *pp.EndPort, pp.Port.IntVal)
			case *pp.EndPort > model.MaxPort:
				v.add(p.key("endPort"), "endPort %d is out of range 1-65535", *pp.EndPort)
			}
		}
	}
}

func (v *validator) protocol(p corev1.Protocol, path fieldPath) {
	if _, err := model.ParseProtocol(string(p)); err != nil || p == "" {
		v.add(path, "unsupported protocol %q: want TCP, UDP or SCTP", string(p))
	}
}

// portNameRE is IANA_SVC_NAME: at most 15 lowercase letters, digits and
// dashes, with at least one letter, no leading, trailing or double dash.
var portNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
var hasLetterRE = regexp.MustCompile(`[a-z]`)

func validPortName(s string) bool {
	return len(s) <= 15 && portNameRE.MatchString(s) && hasLetterRE.MatchString(s) &&
		!strings.Contains(s, "--")
}

func (v *validator) portOrName(p intstr.IntOrString, path fieldPath) {
	if p.Type == intstr.Int {
		if p.IntVal < 1 || p.IntVal > model.MaxPort {
			v.add(path, "port %d is out of range 1-65535", p.IntVal)
		}
		return
	}
	if !validPortName(p.StrVal) {
		v.add(path, "invalid port name %q: want at most 15 lowercase letters, digits and dashes, with a letter", p.StrVal)
	}
}

func (v *validator) selector(s *metav1.LabelSelector, path fieldPath) {
	for i, e := range s.MatchExpressions {
		p := path.key("matchExpressions").index(i)
		if e.Key == "" {
			v.add(p.key("key"), "key is required")
		}
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				v.add(p.key("values"), "operator %s needs at least one value", e.Operator)
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				v.add(p.key("values"), "operator %s takes no values", e.Operator)
			}
		default:
			v.add(p.key("operator"), "unsupported operator %q: want In, NotIn, Exists or DoesNotExist", string(e.Operator))
		}
	}
}
