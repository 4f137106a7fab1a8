// Package livetest makes the pods a cluster would run for the workloads of
// a model, named, labelled and owned as the controllers would do it, with
// addresses from a pod CIDR. The e2e audit test creates them on a real API
// server (which has no controllers and no kubelet); unit tests write them
// to a file of live objects.
package livetest

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Pods returns one pod per workload (two for Deployments, so that
// workloads are seen to gather their pods), with addresses taken in order
// from prefix. Inventory workloads are included when inventory is set.
func Pods(c *model.Cluster, prefix netip.Prefix, inventory bool) []corev1.Pod {
	next := prefix.Addr().Next()
	var out []corev1.Pod
	for _, w := range c.Workloads {
		if w.Inventory && !inventory {
			continue
		}
		n := 1
		if w.Kind == "Deployment" {
			n = 2
		}
		for i := 0; i < n; i++ {
			p := Pod(&w, i)
			p.Status.PodIP = next.String()
			p.Status.PodIPs = []corev1.PodIP{{IP: next.String()}}
			p.Status.Phase = corev1.PodRunning
			next = next.Next()
			out = append(out, p)
		}
	}
	return out
}

// Pod is replica i of w, without status.
func Pod(w *model.Workload, i int) corev1.Pod {
	labels := map[string]string{}
	for k, v := range w.Labels {
		labels[k] = v
	}
	p := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Labels: labels},
		Spec:       corev1.PodSpec{HostNetwork: w.HostNetwork},
	}
	yes := true
	owner := func(kind, apiVersion, name string) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012x", hash(name))), Controller: &yes}}
	}
	h := strconv.FormatUint(uint64(hash(w.Key()))%1e9, 36)
	switch w.Kind {
	case "Deployment":
		labels["pod-template-hash"] = h
		owner("ReplicaSet", "apps/v1", w.Name+"-"+h)
		p.Name = fmt.Sprintf("%s-%s-%05d", w.Name, h, i)
	case "StatefulSet":
		labels["controller-revision-hash"] = w.Name + "-" + h
		labels["statefulset.kubernetes.io/pod-name"] = fmt.Sprintf("%s-%d", w.Name, i)
		owner("StatefulSet", "apps/v1", w.Name)
		p.Name = fmt.Sprintf("%s-%d", w.Name, i)
	case "DaemonSet":
		labels["controller-revision-hash"] = h
		owner("DaemonSet", "apps/v1", w.Name)
		p.Name = fmt.Sprintf("%s-%s%d", w.Name, h[:min(5, len(h))], i)
	case "CronJob":
		job := w.Name + "-29430720"
		labels["batch.kubernetes.io/job-name"] = job
		owner("Job", "batch/v1", job)
		p.Name = fmt.Sprintf("%s-%05d", job, i)
	case "Job", "ReplicaSet":
		owner(w.Kind, map[string]string{"Job": "batch/v1", "ReplicaSet": "apps/v1"}[w.Kind], w.Name)
		p.Name = fmt.Sprintf("%s-%05d", w.Name, i)
	default:
		p.Name = w.Name
	}
	c := Restricted(corev1.Container{Name: "main", Image: "registry.example/app:1"})
	for _, cp := range w.Ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: int32(cp.Port), Protocol: corev1.Protocol(cp.Protocol.String())})
	}
	p.Spec.Containers = []corev1.Container{c}
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	return p
}

// Restricted gives a container the security context the "restricted" Pod
// Security Standard asks for, which namespaces such as the overlays' app
// enforce.
func Restricted(c corev1.Container) corev1.Container {
	no := false
	c.SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	return c
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
