package live

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// LiveFile is the file name live objects are located at in findings and
// reachability provenance.
const LiveFile = "live"

// controllerLabels are the labels controllers put on the pods they
// create; pod templates in git never carry them, so they are left out of
// a live workload's labels.
var controllerLabels = []string{
	"pod-template-hash",
	"controller-revision-hash",
	"pod-template-generation",
	"statefulset.kubernetes.io/pod-name",
	"apps.kubernetes.io/pod-index",
	"batch.kubernetes.io/controller-uid",
	"batch.kubernetes.io/job-name",
	"batch.kubernetes.io/job-completion-index",
	"controller-uid",
	"job-name",
}

// Workloads summarises the pods behind each live workload.
type Workloads struct {
	// Pods counts the running pods of each workload, by "namespace/name".
	Pods map[string]int
	// Notes are facts about the live state that are not drift.
	Notes []string
}

// Cluster turns the state into the model: every namespace read, one
// workload per owner of running pods (with all their addresses), the
// Services and the NetworkPolicies. base gives what the configuration
// knows (external endpoints, address ranges); its inventory workloads are
// not used, the live pods of the inventory's namespaces are.
func (s *State) Cluster(base *model.Cluster) (*model.Cluster, Workloads) {
	c := &model.Cluster{}
	if base != nil {
		c.Externals = slices.Clone(base.Externals)
		c.PodCIDRs, c.ServiceCIDRs = base.PodCIDRs, base.ServiceCIDRs
	}
	info := Workloads{Pods: map[string]int{}}
	for _, ns := range s.Namespaces {
		labels := maps.Clone(ns.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[model.NamespaceNameLabel] = ns.Name
		c.Namespaces = append(c.Namespaces, model.Namespace{Name: ns.Name, Labels: labels, Source: model.Location{File: LiveFile}})
	}
	for _, name := range s.Missing {
		info.Notes = append(info.Notes, fmt.Sprintf("namespace %s does not exist in the cluster", name))
	}

	type group struct {
		w      model.Workload
		newest *corev1.Pod
		labels map[string]bool // distinct label sets, as text
	}
	groups := map[string]*group{}
	var order []string
	for i := range s.Pods {
		p := &s.Pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue // finished: no longer holds an address or a connection
		}
		kind, name := Owner(p)
		key := p.Namespace + "/" + name + "/" + kind
		g, ok := groups[key]
		if !ok {
			g = &group{w: model.Workload{Namespace: p.Namespace, Name: name, Kind: kind, Source: model.Location{File: LiveFile}}, labels: map[string]bool{}}
			groups[key] = g
			order = append(order, key)
		}
		info.Pods[p.Namespace+"/"+name]++
		if g.newest == nil || newer(p, g.newest) {
			g.newest = p
		}
		g.w.HostNetwork = g.w.HostNetwork || p.Spec.HostNetwork
		for _, a := range podAddrs(p) {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				info.Notes = append(info.Notes, fmt.Sprintf("pod %s/%s: status.podIPs: invalid IP address %q, left out", p.Namespace, p.Name, a))
				continue
			}
			if !slices.Contains(g.w.IPs, addr) {
				g.w.IPs = append(g.w.IPs, addr)
			}
		}
		g.labels[labelText(workloadLabels(p.Labels))] = true
	}
	slices.Sort(order)
	for _, key := range order {
		g := groups[key]
		w := g.w
		w.Labels = workloadLabels(g.newest.Labels)
		w.Ports = podPorts(&g.newest.Spec)
		slices.SortFunc(w.IPs, func(a, b netip.Addr) int { return a.Compare(b) })
		if len(g.labels) > 1 {
			info.Notes = append(info.Notes, fmt.Sprintf("the pods of %s carry %d different label sets (a rollout in progress?): those of the newest pod, %s, are used",
				w.String(), len(g.labels), g.newest.Name))
		}
		c.Workloads = append(c.Workloads, w)
	}
	for i := range s.Services {
		c.Services = append(c.Services, service(&s.Services[i]))
	}
	for i := range s.Policies {
		np := s.Policies[i].DeepCopy()
		c.Policies = append(c.Policies, model.Policy{NetworkPolicy: np, Source: model.Location{File: LiveFile}})
	}
	c.Sort()
	return c, info
}

// cronJobSuffix is what the CronJob controller appends to the Jobs it
// creates: the scheduled time in minutes since the epoch.
var cronJobSuffix = regexp.MustCompile(`^(.+)-[0-9]{8,}$`)

// Owner names the workload a pod belongs to, as git would declare it,
// from its controller reference: a ReplicaSet whose name is its
// Deployment's plus the pod-template-hash label belongs to that
// Deployment, a Job named like a CronJob's run to that CronJob. A pod
// without a controller is its own workload.
func Owner(p *corev1.Pod) (kind, name string) {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil {
		return "Pod", p.Name
	}
	switch ref.Kind {
	case "ReplicaSet":
		if h := p.Labels["pod-template-hash"]; h != "" {
			if d, ok := strings.CutSuffix(ref.Name, "-"+h); ok && d != "" {
				return "Deployment", d
			}
		}
	case "Job":
		if m := cronJobSuffix.FindStringSubmatch(ref.Name); m != nil {
			return "CronJob", m[1]
		}
	}
	return ref.Kind, ref.Name
}

func newer(a, b *corev1.Pod) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

func podAddrs(p *corev1.Pod) []string {
	var out []string
	if p.Status.PodIP != "" {
		out = append(out, p.Status.PodIP)
	}
	for _, ip := range p.Status.PodIPs {
		if ip.IP != "" && !slices.Contains(out, ip.IP) {
			out = append(out, ip.IP)
		}
	}
	return out
}

func workloadLabels(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if !slices.Contains(controllerLabels, k) {
			out[k] = v
		}
	}
	return out
}

func labelText(l map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b.WriteString(k + "=" + l[k] + ",")
	}
	return b.String()
}

func podPorts(spec *corev1.PodSpec) []model.ContainerPort {
	out := []model.ContainerPort{}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				proto, err := model.ParseProtocol(string(p.Protocol))
				if err != nil || p.ContainerPort < 1 || p.ContainerPort > model.MaxPort {
					continue // the API server refuses these
				}
				out = append(out, model.ContainerPort{Name: p.Name, Port: uint16(p.ContainerPort), HostPort: uint16(p.HostPort), Protocol: proto})
			}
		}
	}
	return out
}

func service(o *corev1.Service) model.Service {
	s := model.Service{
		Namespace: o.Namespace, Name: o.Name, Type: string(o.Spec.Type),
		Selector: maps.Clone(o.Spec.Selector), Ports: []model.ServicePort{}, ExternalIPs: slices.Clone(o.Spec.ExternalIPs),
		Source: model.Location{File: LiveFile},
	}
	if s.Type == "" {
		s.Type = string(corev1.ServiceTypeClusterIP)
	}
	if s.Selector == nil {
		s.Selector = map[string]string{}
	}
	if s.ExternalIPs == nil {
		s.ExternalIPs = []string{}
	}
	for _, p := range o.Spec.Ports {
		proto, err := model.ParseProtocol(string(p.Protocol))
		if err != nil {
			continue
		}
		target := p.TargetPort.String()
		if target == "" || target == "0" {
			target = strconv.Itoa(int(p.Port))
		}
		s.Ports = append(s.Ports, model.ServicePort{Name: p.Name, Port: uint16(p.Port), TargetPort: target, NodePort: uint16(p.NodePort), Protocol: proto})
	}
	return s
}
