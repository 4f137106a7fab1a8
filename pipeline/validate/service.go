package validate

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// NodePortRange is the API server's default --service-node-port-range. A
// nodePort outside it is rejected when the Service is created; a
// server-side dry run does not check it (its allocator only records ports).
var NodePortRange = [2]int32{30000, 32767}

// The checks below follow validateService and validateServicePort of
// k8s.io/kubernetes pkg/apis/core/validation (v1.37) for a create, after
// the API server's defaulting, and before them the node port allocation
// of the Service storage (pkg/registry/core/service/storage initNodePorts).

func init() {
	register("", "Service", func(svc *corev1.Service, _ string) field.ErrorList {
		defaultService(svc)
		// The Service storage allocates node ports before it validates,
		// and a failed allocation is the only error reported.
		if errs := allocateNodePorts(&svc.Spec); len(errs) > 0 {
			return errs
		}
		errs := validateObjectMeta(&svc.ObjectMeta, true, apimachineryvalidation.NameIsDNSLabel)
		return append(errs, validateServiceSpec(&svc.Spec, field.NewPath("spec"))...)
	})
	register("", "Namespace", func(ns *corev1.Namespace, _ string) field.ErrorList {
		return validateObjectMeta(&ns.ObjectMeta, false, apimachineryvalidation.ValidateNamespaceName)
	})
}

func defaultService(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
}

func validateServiceSpec(spec *corev1.ServiceSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	headless := spec.ClusterIP == corev1.ClusterIPNone
	portsPath := fldPath.Child("ports")
	if len(spec.Ports) == 0 && !headless && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(portsPath, ""))
	}
	if spec.Type == corev1.ServiceTypeExternalName {
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname == "" {
			errs = append(errs, field.Required(fldPath.Child("externalName"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Subdomain(cname) {
				errs = append(errs, field.Invalid(fldPath.Child("externalName"), cname, msg))
			}
		}
	}
	names := map[string]bool{}
	for i := range spec.Ports {
		errs = append(errs, validateServicePort(&spec.Ports[i], len(spec.Ports) > 1, names, portsPath.Index(i))...)
	}
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, fldPath.Child("selector"))...)
	}
	switch spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), spec.Type, []string{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}))
	}
	if spec.Type == corev1.ServiceTypeClusterIP {
		for i := range spec.Ports {
			if spec.Ports[i].NodePort != 0 {
				errs = append(errs, field.Forbidden(portsPath.Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	type key struct {
		protocol corev1.Protocol
		port     int32
	}
	nodePorts, ports := map[key]bool{}, map[key]bool{}
	for i, p := range spec.Ports {
		if p.NodePort == 0 {
			continue
		}
		k := key{p.Protocol, p.NodePort}
		if nodePorts[k] {
			errs = append(errs, field.Duplicate(portsPath.Index(i).Child("nodePort"), p.NodePort))
		}
		nodePorts[k] = true
	}
	for i, p := range spec.Ports {
		k := key{p.Protocol, p.Port}
		if ports[k] {
			errs = append(errs, field.Duplicate(portsPath.Index(i), servicePortKey{Protocol: p.Protocol, Port: p.Port}))
		}
		ports[k] = true
	}
	return errs
}

// servicePortKey prints as the API server prints a duplicate port: the
// internal ServicePort with only protocol and port set.
type servicePortKey struct {
	Name        string
	Protocol    corev1.Protocol
	AppProtocol *string
	Port        int32
	TargetPort  intstr.IntOrString
	NodePort    int32
}

func validateServicePort(sp *corev1.ServicePort, requireName bool, names map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && sp.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else if sp.Name != "" {
		for _, msg := range validation.IsDNS1123Label(sp.Name) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), sp.Name, msg))
		}
		if names[sp.Name] {
			errs = append(errs, field.Duplicate(fldPath.Child("name"), sp.Name))
		}
		names[sp.Name] = true
	}
	for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
		errs = append(errs, field.Invalid(fldPath.Child("port"), sp.Port, msg))
	}
	if !supportedProtocol(sp.Protocol) {
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), sp.Protocol, []string{"SCTP", "TCP", "UDP"}))
	}
	errs = append(errs, validatePortNumOrName(sp.TargetPort, fldPath.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		for _, msg := range validation.IsQualifiedName(*sp.AppProtocol) {
			errs = append(errs, field.Invalid(fldPath.Child("appProtocol"), *sp.AppProtocol, msg))
		}
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.Int {
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(fldPath, port.IntValue(), msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortName(port.StrVal) {
		errs = append(errs, field.Invalid(fldPath, port.StrVal, msg))
	}
	return errs
}

// allocateNodePorts reports what allocating the requested node ports of a
// NodePort or LoadBalancer Service would refuse on a fresh cluster: a port
// outside NodePortRange, or one that another port of the Service already
// took (ports with the same number share their node port).
func allocateNodePorts(spec *corev1.ServiceSpec) field.ErrorList {
	if spec.Type != corev1.ServiceTypeNodePort && spec.Type != corev1.ServiceTypeLoadBalancer {
		return nil
	}
	allocated := map[int32]bool{}
	byPort := map[int32]int32{} // service port -> node port
	allocate := func(i int, np int32) field.ErrorList {
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		if np < NodePortRange[0] || np > NodePortRange[1] {
			msg := fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", NodePortRange[0], NodePortRange[1])
			return field.ErrorList{field.Invalid(path, np, msg)}
		}
		if allocated[np] {
			return field.ErrorList{field.Invalid(path, np, "provided port is already allocated")}
		}
		allocated[np] = true
		return nil
	}
	for i, p := range spec.Ports {
		taken, seen := byPort[p.Port]
		switch {
		case !seen:
			// The first port with a node port requested for this number wins.
			var np int32
			for _, q := range spec.Ports[i:] {
				if q.Port == p.Port && q.NodePort != 0 {
					np = q.NodePort
					break
				}
			}
			if np != 0 {
				if errs := allocate(i, np); errs != nil {
					return errs
				}
			}
			byPort[p.Port] = np // 0: allocated from the range, never refused
		case p.NodePort != 0 && p.NodePort != taken:
			if errs := allocate(i, p.NodePort); errs != nil {
				return errs
			}
		}
	}
	return nil
}
