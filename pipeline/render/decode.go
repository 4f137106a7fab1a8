package render

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
)

// kindSpec is a kind the model understands.
type kindSpec struct {
	group, version string
	namespaced     bool
	// oldGroups are API groups that once served this kind.
	oldGroups []string
	// alsoVersions are other served versions of the same shape.
	alsoVersions []string
}

var knownKinds = map[string]kindSpec{
	"Namespace":     {group: "", version: "v1"},
	"Pod":           {group: "", version: "v1", namespaced: true},
	"Service":       {group: "", version: "v1", namespaced: true},
	"Deployment":    {group: "apps", version: "v1", namespaced: true, oldGroups: []string{"extensions"}},
	"StatefulSet":   {group: "apps", version: "v1", namespaced: true},
	"DaemonSet":     {group: "apps", version: "v1", namespaced: true, oldGroups: []string{"extensions"}},
	"ReplicaSet":    {group: "apps", version: "v1", namespaced: true, oldGroups: []string{"extensions"}},
	"Job":           {group: "batch", version: "v1", namespaced: true},
	"CronJob":       {group: "batch", version: "v1", namespaced: true},
	"NetworkPolicy": {group: "networking.k8s.io", version: "v1", namespaced: true, oldGroups: []string{"extensions"}},

	model.KindAdminNetworkPolicy:         {group: "policy.networking.k8s.io", version: "v1alpha1"},
	model.KindBaselineAdminNetworkPolicy: {group: "policy.networking.k8s.io", version: "v1alpha1"},
	model.KindClusterNetworkPolicy:       {group: "policy.networking.k8s.io", version: "v1beta1", alsoVersions: []string{"v1alpha2"}},

	model.KindCiliumNetworkPolicy:            {group: "cilium.io", version: "v2", namespaced: true},
	model.KindCiliumClusterwideNetworkPolicy: {group: "cilium.io", version: "v2"},
}

func (k kindSpec) apiVersion() string {
	if k.group == "" {
		return k.version
	}
	return k.group + "/" + k.version
}

// builtinNamespaces exist in every cluster. Objects may live in them
// without the render or the inventory declaring them.
var builtinNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// DefaultNamespace is where namespaced objects without metadata.namespace go.
const DefaultNamespace = "default"

func splitAPIVersion(av string) (group, version string) {
	if g, v, ok := strings.Cut(av, "/"); ok {
		return g, v
	}
	return "", av
}

// Decode loads rendered objects into a cluster model. base holds what the
// configuration knows (inventory namespaces and workloads, externals,
// address ranges); Decode returns a new cluster with base's entries and
// what the objects contain, sorted, with Objects set to objs. base is not
// modified.
//
// Namespaces, Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets,
// Jobs, CronJobs, Services and NetworkPolicies are decoded strictly into
// their k8s.io/api types. Other kinds stay in Objects only. Decode reads
// structure only: whether the values make sense (a port in range, a
// protocol the API knows, a valid selector or CIDR) is what
// pipeline/validate checks, as the API server does, and the caller leaves
// out what it refuses before calling Decode (pipeline/run does). Values
// the model cannot hold are skipped, not reported twice. Every structural
// problem is reported and the object concerned is left out of the model;
// everything else still loads:
//
//   - unknown fields and values of the wrong type, with their field path;
//   - a Pod's status.podIP(s) that is not an IP address;
//   - a kind of the model under an API version no longer served;
//   - objects without kind or name, duplicates (same group, kind,
//     namespace and name);
//   - objects in a namespace that is neither rendered, nor in base, nor
//     one of the namespaces every cluster has (default, kube-system,
//     kube-public, kube-node-lease; these are added when used);
//   - a rendered workload that the inventory also declares, with the same
//     kind (the rendered one replaces it).
//
// Namespaced kinds of the model without metadata.namespace are placed in
// "default". A rendered Namespace replaces an inventory namespace of the
// same name. Every namespace carries kubernetes.io/metadata.name.
//
// Cluster.Omitted lists the traffic policies left out of the model, in
// source order: objects of UnevaluatedPolicyKinds, and every NetworkPolicy
// Decode refuses (read as InvalidPolicy does).
func Decode(objs []model.Object, base *model.Cluster) (*model.Cluster, model.InputErrors) {
	return DecodeTyped(objs, nil, base)
}

// DecodeTyped is Decode with objects already decoded into their API
// types, as validate.ObjectsDecoded gives them: typed[i] (nil, or a
// pointer to the API type of objs[i] that decoded strictly without error)
// is taken instead of decoding objs[i] again, and never written to (the
// cluster may hold it). typed is nil, or as long as objs.
func DecodeTyped(objs []model.Object, typed []any, base *model.Cluster) (*model.Cluster, model.InputErrors) {
	if len(typed) != len(objs) {
		typed = nil
	}
	d := &decoder{c: &model.Cluster{}, namespaces: map[string]int{}, omitted: map[*model.Object]bool{}}
	if base != nil {
		d.c.Namespaces = slices.Clone(base.Namespaces)
		d.c.Workloads = slices.Clone(base.Workloads)
		d.c.Services = slices.Clone(base.Services)
		d.c.Policies = slices.Clone(base.Policies)
		d.c.ClusterPolicies = slices.Clone(base.ClusterPolicies)
		d.c.CiliumPolicies = slices.Clone(base.CiliumPolicies)
		d.c.Externals = slices.Clone(base.Externals)
		d.c.PodCIDRs = base.PodCIDRs
		d.c.ServiceCIDRs = base.ServiceCIDRs
	}
	d.c.Objects = objs
	for i, n := range d.c.Namespaces {
		d.namespaces[n.Name] = i
	}
	d.inventoryWorkloads = map[string]int{}
	for i := range d.c.Workloads {
		d.inventoryWorkloads[d.c.Workloads[i].ID()] = i
	}

	// Identify every object, drop duplicates, then load namespaces first
	// so that references to them resolve whatever the object order.
	var items []item
	seen := map[string]*model.Object{}
	for i := range objs {
		it, ok := d.identify(&objs[i])
		if !ok {
			continue
		}
		it.index = i
		key := it.group + "|" + it.ref.Kind + "|" + it.ref.Namespace + "|" + it.ref.Name
		if first, dup := seen[key]; dup {
			d.fail(it, "", "duplicate object: also defined at %s", first.Source)
			continue
		}
		seen[key] = it.obj
		items = append(items, it)
	}
	for _, it := range items {
		if it.spec != nil && it.ref.Kind == "Namespace" {
			d.namespace(it)
		}
	}
	// The objects of built-in kinds decode on every core, ahead of the
	// pass below, which takes them in order.
	pre := make([]typedObject, len(items))
	parallel(len(items), func(i int) bool {
		it := items[i]
		if it.spec == nil {
			return true
		}
		kind, ok := typedKinds[it.ref.Kind]
		if !ok {
			return true
		}
		out := kind.new()
		if typed != nil && typed[it.index] != nil && reflect.TypeOf(typed[it.index]) == reflect.TypeOf(out) {
			pre[i] = typedObject{obj: typed[it.index]}
		} else {
			pre[i] = typedObject{out, decodeStrict(it.obj.Doc, out)}
		}
		return true
	})
	for i, it := range items {
		if it.ref.Kind == "Namespace" && it.spec != nil {
			continue
		}
		if it.ref.Namespace != "" && !d.namespaceExists(it.ref.Namespace) {
			d.fail(it, "metadata.namespace", "namespace %q is neither rendered nor in the inventory", it.ref.Namespace)
			continue
		}
		if it.unevaluated {
			d.c.Omitted = append(d.c.Omitted, model.OmittedPolicy{Object: it.ref, APIVersion: it.apiVersion, Source: it.obj.Source, Reason: model.OmitUnevaluated})
			continue
		}
		if it.spec == nil {
			continue
		}
		if typed := pre[i]; typed.obj != nil {
			if !d.check(it, typed.errs) {
				continue
			}
			switch o := typed.obj.(type) {
			case *corev1.Pod:
				w := podWorkload(&o.Spec, o.Labels)
				d.addWorkload(it, w, podIPs(w, &o.Status))
			case *corev1.Service:
				d.service(it, o)
			case *networkingv1.NetworkPolicy:
				// typed values are only read: check's base and head
				// share those of the objects they share (validate.Memo).
				if o.Namespace != it.ref.Namespace {
					placed := *o
					placed.Namespace = it.ref.Namespace
					o = &placed
				}
				d.c.Policies = append(d.c.Policies, model.Policy{NetworkPolicy: o, Source: it.obj.Source})
			default:
				d.template(it, typedKinds[it.ref.Kind].template(o))
			}
			continue
		}
		switch it.ref.Kind {
		case model.KindAdminNetworkPolicy:
			d.adminPolicy(it)
		case model.KindBaselineAdminNetworkPolicy:
			d.baselinePolicy(it)
		case model.KindClusterNetworkPolicy:
			d.clusterNetworkPolicy(it)
		case model.KindCiliumNetworkPolicy, model.KindCiliumClusterwideNetworkPolicy:
			d.ciliumPolicy(it)
		}
	}
	d.c.Sort()
	SortOmitted(d.c.Omitted)
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i].Location, d.errs[j].Location
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return d.c, d.errs
}

// typedObject is an object decoded into its API type (a pointer), or
// the problems that kept it from decoding.
type typedObject struct {
	obj  any
	errs []fieldError
}

// typedKinds are the built-in kinds the model reads from their API type:
// workloads from their pod template (template), Pods, Services and
// NetworkPolicies as decode reads them (template nil).
var typedKinds = map[string]typedKind{
	"Pod":           {new: func() any { return new(corev1.Pod) }},
	"Service":       {new: func() any { return new(corev1.Service) }},
	"NetworkPolicy": {new: func() any { return new(networkingv1.NetworkPolicy) }},
	"Deployment":    withTemplate(func(o *appsv1.Deployment) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	"StatefulSet":   withTemplate(func(o *appsv1.StatefulSet) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	"DaemonSet":     withTemplate(func(o *appsv1.DaemonSet) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	"ReplicaSet":    withTemplate(func(o *appsv1.ReplicaSet) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	"Job":           withTemplate(func(o *batchv1.Job) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	"CronJob":       withTemplate(func(o *batchv1.CronJob) *corev1.PodTemplateSpec { return &o.Spec.JobTemplate.Spec.Template }),
}

type typedKind struct {
	new      func() any
	template func(obj any) *corev1.PodTemplateSpec
}

func withTemplate[T any](template func(*T) *corev1.PodTemplateSpec) typedKind {
	return typedKind{
		new:      func() any { return new(T) },
		template: func(obj any) *corev1.PodTemplateSpec { return template(obj.(*T)) },
	}
}

type decoder struct {
	c                  *model.Cluster
	errs               model.InputErrors
	namespaces         map[string]int // name -> index in c.Namespaces
	inventoryWorkloads map[string]int // "ns/name[Kind]" -> index in c.Workloads
	omitted            map[*model.Object]bool
}

// item is an object with its effective identity.
type item struct {
	obj        *model.Object
	index      int             // of obj in Decode's objects
	ref        model.ObjectRef // namespace defaulted for namespaced kinds of the model
	apiVersion string
	group      string
	spec       *kindSpec // nil for kinds the model ignores
	// unevaluated is set for a traffic policy of a kind reachgate does not
	// evaluate (UnevaluatedPolicyKinds).
	unevaluated bool
}

// fail reports a problem with an object, which is left out of the model.
// A NetworkPolicy left out is listed in Cluster.Omitted, once.
func (d *decoder) fail(it item, field string, format string, args ...any) {
	d.errs = append(d.errs, &model.InputError{
		Location: it.obj.Source,
		Object:   it.ref,
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
	})
	if !d.omitted[it.obj] {
		if o, ok := InvalidPolicy(*it.obj); ok {
			d.omitted[it.obj] = true
			d.c.Omitted = append(d.c.Omitted, o)
		}
	}
}

// check reports field errors; it returns true when there were none.
func (d *decoder) check(it item, errs []fieldError) bool {
	for _, e := range errs {
		d.fail(it, e.path.String(), "%s", e.msg)
	}
	return len(errs) == 0
}

// objectIdentity is the object's kind, name, namespace (as written) and
// API group, from its ObjectRef or else its document.
func objectIdentity(o *model.Object) item {
	it := item{obj: o, ref: o.ObjectRef, apiVersion: o.APIVersion}
	if it.ref.Kind == "" {
		it.ref.Kind, _ = o.Doc["kind"].(string)
	}
	if it.apiVersion == "" {
		it.apiVersion, _ = o.Doc["apiVersion"].(string)
	}
	if it.ref.Name == "" || it.ref.Namespace == "" {
		md, _ := o.Doc["metadata"].(map[string]any)
		if it.ref.Name == "" {
			it.ref.Name, _ = md["name"].(string)
		}
		if it.ref.Namespace == "" {
			it.ref.Namespace, _ = md["namespace"].(string)
		}
	}
	it.group, _ = splitAPIVersion(it.apiVersion)
	return it
}

func (d *decoder) identify(o *model.Object) (item, bool) {
	it := objectIdentity(o)
	apiVersion, group := it.apiVersion, it.group
	_, version := splitAPIVersion(apiVersion)
	switch {
	case it.ref.Kind == "":
		d.fail(it, "kind", "missing kind")
		return it, false
	case apiVersion == "":
		d.fail(it, "apiVersion", "missing apiVersion")
		return it, false
	case it.ref.Name == "":
		d.fail(it, "metadata.name", "missing name")
		return it, false
	}
	spec, known := knownKinds[it.ref.Kind]
	if known && group != spec.group && !slices.Contains(spec.oldGroups, group) {
		known = false // a custom resource that shares the name (Calico, Cilium, ...)
	}
	if !known {
		_, it.unevaluated = unevaluatedKind(group, it.ref.Kind)
		return it, true
	}
	if spec.namespaced && it.ref.Namespace == "" {
		it.ref.Namespace = DefaultNamespace
	}
	if !spec.namespaced {
		it.ref.Namespace = ""
	}
	if group != spec.group || (version != spec.version && !slices.Contains(spec.alsoVersions, version)) {
		d.fail(it, "apiVersion", "%s %s is not served by current Kubernetes: use %s", apiVersion, it.ref.Kind, spec.apiVersion())
		return it, false
	}
	it.spec = &spec
	return it, true
}

func (d *decoder) decode(it item, out any) bool {
	return d.check(it, decodeStrict(it.obj.Doc, out))
}

func (d *decoder) namespaceExists(name string) bool {
	if _, ok := d.namespaces[name]; ok {
		return true
	}
	if slices.Contains(builtinNamespaces, name) {
		d.addNamespace(model.Namespace{
			Name:      name,
			Labels:    map[string]string{model.NamespaceNameLabel: name},
			Inventory: true,
		})
		return true
	}
	return false
}

func (d *decoder) addNamespace(n model.Namespace) {
	if i, ok := d.namespaces[n.Name]; ok {
		d.c.Namespaces[i] = n
		return
	}
	d.namespaces[n.Name] = len(d.c.Namespaces)
	d.c.Namespaces = append(d.c.Namespaces, n)
}

func (d *decoder) namespace(it item) {
	var o corev1.Namespace
	if !d.decode(it, &o) {
		return
	}
	labels := make(map[string]string, len(o.Labels)+1)
	for k, v := range o.Labels {
		labels[k] = v
	}
	labels[model.NamespaceNameLabel] = it.ref.Name
	d.addNamespace(model.Namespace{Name: it.ref.Name, Labels: labels, Source: it.obj.Source})
}

func (d *decoder) template(it item, t *corev1.PodTemplateSpec) {
	d.addWorkload(it, podWorkload(&t.Spec, t.Labels), nil)
}

func (d *decoder) addWorkload(it item, w *model.Workload, errs []fieldError) {
	if !d.check(it, errs) {
		return
	}
	w.Namespace, w.Name, w.Kind, w.Source = it.ref.Namespace, it.ref.Name, it.ref.Kind, it.obj.Source
	if i, ok := d.inventoryWorkloads[w.ID()]; ok {
		d.fail(it, "", "workload %s is also declared in the inventory; the rendered one is used", w.Key())
		d.c.Workloads[i] = *w
		delete(d.inventoryWorkloads, w.ID())
		return
	}
	d.c.Workloads = append(d.c.Workloads, *w)
}

// podWorkload reads labels and ports of a pod spec. Ports the model
// cannot hold (out of range, an unknown protocol) are left out: the API
// server refuses them, and pipeline/validate reports them.
func podWorkload(spec *corev1.PodSpec, labels map[string]string) *model.Workload {
	w := &model.Workload{Labels: map[string]string{}, Ports: []model.ContainerPort{}, HostNetwork: spec.HostNetwork}
	for k, v := range labels {
		w.Labels[k] = v
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				proto, err := model.ParseProtocol(string(p.Protocol))
				if err != nil || !inPortRange(p.ContainerPort) || (p.HostPort != 0 && !inPortRange(p.HostPort)) {
					continue
				}
				w.Ports = append(w.Ports, model.ContainerPort{Name: p.Name, Port: uint16(p.ContainerPort), HostPort: uint16(p.HostPort), Protocol: proto})
			}
		}
	}
	return w
}

func inPortRange(p int32) bool { return p >= 1 && p <= model.MaxPort }

// podIPs takes the addresses of a Pod exported from a live cluster.
func podIPs(w *model.Workload, st *corev1.PodStatus) []fieldError {
	var errs []fieldError
	add := func(s string, path fieldPath) {
		if s == "" {
			return
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fieldError{path: path, msg: fmt.Sprintf("invalid IP address %q", s)})
			return
		}
		if !slices.Contains(w.IPs, a) {
			w.IPs = append(w.IPs, a)
		}
	}
	add(st.PodIP, fieldPath{"status", "podIP"})
	for i, p := range st.PodIPs {
		add(p.IP, fieldPath{"status", "podIPs"}.index(i).key("ip"))
	}
	return errs
}

// service reads a Service. Ports the model cannot hold are left out, as
// in podWorkload.
func (d *decoder) service(it item, o *corev1.Service) {
	s := model.Service{
		Namespace:   it.ref.Namespace,
		Name:        it.ref.Name,
		Type:        string(o.Spec.Type),
		Selector:    map[string]string{},
		Ports:       []model.ServicePort{},
		ExternalIPs: append([]string{}, o.Spec.ExternalIPs...),
		Source:      it.obj.Source,
	}
	if s.Type == "" {
		s.Type = string(corev1.ServiceTypeClusterIP)
	}
	for k, val := range o.Spec.Selector {
		s.Selector[k] = val
	}
	for _, p := range o.Spec.Ports {
		proto, err := model.ParseProtocol(string(p.Protocol))
		if err != nil || !inPortRange(p.Port) || (p.NodePort != 0 && !inPortRange(p.NodePort)) {
			continue
		}
		target := strconv.Itoa(int(p.Port)) // the API server's default
		if p.TargetPort.Type == intstr.String || p.TargetPort.IntVal != 0 {
			target = p.TargetPort.String()
		}
		s.Ports = append(s.Ports, model.ServicePort{
			Name: p.Name, Port: uint16(p.Port), TargetPort: target, NodePort: uint16(p.NodePort), Protocol: proto,
		})
	}
	d.c.Services = append(d.c.Services, s)
}
