// Package model holds the domain types of reachgate: the cluster model that
// rendering produces, the reachability matrix the engine computes, diffs,
// findings and reports. It imports only the standard library and the
// Kubernetes API types, so every other package can share it.
package model

import (
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// NamespaceNameLabel is the label the API server sets on every namespace.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Location is a place in the user's sources: a file relative to the
// repository (or overlay) root, and a 1-based line; 0 when unknown.
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

func (l Location) String() string {
	if l.File == "" {
		return "<unknown>"
	}
	if l.Line == 0 {
		return l.File
	}
	return l.File + ":" + strconv.Itoa(l.Line)
}

// ObjectRef names one Kubernetes object.
type ObjectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Object is one rendered manifest as the user wrote it (origin annotations
// removed), with where it came from.
type Object struct {
	ObjectRef
	APIVersion string         `json:"apiVersion"`
	Source     Location       `json:"source"`
	Doc        map[string]any `json:"object"`
}

// Namespace is a namespace with its labels, including the implicit
// kubernetes.io/metadata.name.
type Namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Source Location          `json:"source"`
	// Inventory is set for namespaces that come from reachgate.yaml rather
	// than the rendered overlay.
	Inventory bool `json:"inventory,omitempty"`
}

// ContainerPort is a declared container port.
type ContainerPort struct {
	Name     string   `json:"name,omitempty"`
	Port     uint16   `json:"port"`
	Protocol Protocol `json:"-"`
	HostPort uint16   `json:"hostPort,omitempty"`
}

// Workload is a set of identical pods: a Deployment, StatefulSet, ... or a
// bare Pod. Reachability is computed per workload, not per replica.
type Workload struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Labels      map[string]string `json:"labels"`
	Ports       []ContainerPort   `json:"ports"`
	HostNetwork bool              `json:"hostNetwork,omitempty"`
	// IPs are the pod addresses when the manifest carries status.podIP(s);
	// empty for a GitOps render, where addresses are not known.
	IPs       []netip.Addr `json:"ips,omitempty"`
	Source    Location     `json:"source"`
	Inventory bool         `json:"inventory,omitempty"`
	// SharesName is set when another workload of the cluster has the same
	// namespace and name, of another kind (Kubernetes allows a Deployment
	// and a StatefulSet called web side by side): Key then names the kind
	// too. Cluster.Sort sets it.
	SharesName bool `json:"-"`
}

// Key names the workload within its cluster: "namespace/name", or
// "namespace/name[Kind]" when another workload shares the namespace and
// name (SharesName). Keys are unique within a cluster; across clusters,
// where a name may be shared in one and not the other, use ID.
func (w *Workload) Key() string {
	if w.SharesName {
		return w.ID()
	}
	return w.Namespace + "/" + w.Name
}

// ID is "namespace/name[Kind]": the workload's identity in any cluster.
func (w *Workload) ID() string { return w.Namespace + "/" + w.Name + "[" + w.Kind + "]" }

// String is "namespace/name[Kind]", the ID.
func (w *Workload) String() string { return w.ID() }

// ParseWorkloadRef splits "namespace/name" or "namespace/name[Kind]"; ok is
// false for anything else.
func ParseWorkloadRef(s string) (namespace, name, kind string, ok bool) {
	ns, rest, found := strings.Cut(s, "/")
	if !found || ns == "" || rest == "" || strings.ContainsAny(rest, "/ ,;()") || strings.ContainsAny(ns, "[]() ,;") {
		return "", "", "", false
	}
	if i := strings.IndexByte(rest, '['); i >= 0 {
		if !strings.HasSuffix(rest, "]") || i == 0 || i == len(rest)-2 {
			return "", "", "", false
		}
		name, kind = rest[:i], rest[i+1:len(rest)-1]
		if strings.ContainsAny(name, "[]") || strings.ContainsAny(kind, "[]") {
			return "", "", "", false
		}
		return ns, name, kind, true
	}
	if strings.ContainsAny(rest, "[]") {
		return "", "", "", false
	}
	return ns, rest, "", true
}

// NamedPort finds the container port with that name and protocol.
func (w *Workload) NamedPort(name string, p Protocol) (uint16, bool) {
	for _, cp := range w.Ports {
		if cp.Name == name && cp.Protocol == p {
			return cp.Port, true
		}
	}
	return 0, false
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string   `json:"name,omitempty"`
	Port       uint16   `json:"port"`
	TargetPort string   `json:"targetPort,omitempty"`
	NodePort   uint16   `json:"nodePort,omitempty"`
	Protocol   Protocol `json:"-"`
}

// Service is a Service with the fields reachability and rules care about.
type Service struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Selector    map[string]string `json:"selector"`
	Ports       []ServicePort     `json:"ports"`
	ExternalIPs []string          `json:"externalIPs"`
	Source      Location          `json:"source"`
}

// Policy is a NetworkPolicy, strictly decoded, with where it came from.
type Policy struct {
	*networkingv1.NetworkPolicy `json:"-"`
	Source                      Location `json:"source"`
}

// Key is "namespace/name".
func (p *Policy) Key() string { return p.Namespace + "/" + p.Name }

// External is a named range of addresses outside the cluster, such as the
// internet, the cloud metadata service or a partner's API.
type External struct {
	Name  string `json:"name"`
	CIDRs IPSet  `json:"-"`
	// Description is free text from the configuration.
	Description string `json:"description,omitempty"`
}

// Cluster is everything reachability and rules need about one overlay.
type Cluster struct {
	Namespaces []Namespace `json:"namespaces"`
	Workloads  []Workload  `json:"workloads"`
	Services   []Service   `json:"services"`
	Policies   []Policy    `json:"-"`
	// ClusterPolicies are the AdminNetworkPolicies,
	// BaselineAdminNetworkPolicies and ClusterNetworkPolicies.
	ClusterPolicies []ClusterPolicy `json:"-"`
	// CiliumPolicies are the CiliumNetworkPolicies and
	// CiliumClusterwideNetworkPolicies.
	CiliumPolicies []CiliumPolicy `json:"-"`
	Externals      []External     `json:"externals"`
	PodCIDRs       IPSet          `json:"-"`
	ServiceCIDRs   IPSet          `json:"-"`
	Objects        []Object       `json:"-"`
	// Omitted are the traffic policies left out of the model: invalid
	// NetworkPolicies and policies of kinds reachgate does not evaluate.
	Omitted []OmittedPolicy `json:"-"`
}

// SameModel reports whether a and b hold the same model: every field but
// Objects, the rendered documents (which hold what the model leaves out,
// such as image tags). Reachability is a function of the model, so two
// clusters with the same model have the same matrix; source locations are
// part of the model, so a pull request that moves a policy down a line
// changes it.
func SameModel(a, b *Cluster) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	x, y := *a, *b
	x.Objects, y.Objects = nil, nil
	return reflect.DeepEqual(x, y)
}

// Namespace returns the namespace with that name, or nil.
func (c *Cluster) Namespace(name string) *Namespace {
	i := sort.Search(len(c.Namespaces), func(i int) bool { return c.Namespaces[i].Name >= name })
	if i < len(c.Namespaces) && c.Namespaces[i].Name == name {
		return &c.Namespaces[i]
	}
	for i := range c.Namespaces { // not sorted yet
		if c.Namespaces[i].Name == name {
			return &c.Namespaces[i]
		}
	}
	return nil
}

// Sort puts every list in a stable order: namespaces by name, workloads,
// services and policies by namespace then name (workloads then kind), and
// marks the workloads that share a namespace and name (SharesName).
func (c *Cluster) Sort() {
	sort.SliceStable(c.Namespaces, func(i, j int) bool { return c.Namespaces[i].Name < c.Namespaces[j].Name })
	sort.SliceStable(c.Workloads, func(i, j int) bool {
		a, b := &c.Workloads[i], &c.Workloads[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Kind < b.Kind
	})
	for i := range c.Workloads {
		w := &c.Workloads[i]
		w.SharesName = false
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < len(c.Workloads) && c.Workloads[j].Namespace == w.Namespace && c.Workloads[j].Name == w.Name {
				w.SharesName = true
			}
		}
	}
	sort.SliceStable(c.Services, func(i, j int) bool {
		a, b := &c.Services[i], &c.Services[j]
		return a.Namespace < b.Namespace || (a.Namespace == b.Namespace && a.Name < b.Name)
	})
	sort.SliceStable(c.Policies, func(i, j int) bool {
		a, b := &c.Policies[i], &c.Policies[j]
		return a.Namespace < b.Namespace || (a.Namespace == b.Namespace && a.Name < b.Name)
	})
	sort.SliceStable(c.ClusterPolicies, func(i, j int) bool {
		a, b := &c.ClusterPolicies[i], &c.ClusterPolicies[j]
		return a.Kind < b.Kind || (a.Kind == b.Kind && a.Name < b.Name)
	})
	sort.SliceStable(c.CiliumPolicies, func(i, j int) bool {
		a, b := &c.CiliumPolicies[i], &c.CiliumPolicies[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Key() < b.Key()
	})
}
