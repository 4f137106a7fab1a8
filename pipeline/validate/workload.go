package validate

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Workloads: the object name and the networking part of the pod template
// (container ports, host ports), following validateContainerPorts,
// checkHostPortConflicts and validateHostNetwork of k8s.io/kubernetes
// pkg/apis/core/validation (v1.37). The rest of a pod spec is the API
// server's to check.

func init() {
	dnsSubdomain := apimachineryvalidation.NameIsDNSSubdomain
	template := field.NewPath("spec", "template", "spec")
	register("apps", "Deployment", func(d *appsv1.Deployment, _ string) field.ErrorList {
		return append(validateObjectMeta(&d.ObjectMeta, true, dnsSubdomain), validatePodSpecPorts(&d.Spec.Template.Spec, false, template)...)
	})
	register("apps", "ReplicaSet", func(d *appsv1.ReplicaSet, _ string) field.ErrorList {
		return append(validateObjectMeta(&d.ObjectMeta, true, dnsSubdomain), validatePodSpecPorts(&d.Spec.Template.Spec, false, template)...)
	})
	register("apps", "DaemonSet", func(d *appsv1.DaemonSet, _ string) field.ErrorList {
		return append(validateObjectMeta(&d.ObjectMeta, true, dnsSubdomain), validatePodSpecPorts(&d.Spec.Template.Spec, false, template)...)
	})
	register("apps", "StatefulSet", func(d *appsv1.StatefulSet, _ string) field.ErrorList {
		return append(validateObjectMeta(&d.ObjectMeta, true, apimachineryvalidation.NameIsDNSLabel), validatePodSpecPorts(&d.Spec.Template.Spec, false, template)...)
	})
	register("batch", "Job", func(j *batchv1.Job, _ string) field.ErrorList {
		return append(validateObjectMeta(&j.ObjectMeta, true, dnsSubdomain), validatePodSpecPorts(&j.Spec.Template.Spec, false, template)...)
	})
	register("batch", "CronJob", func(c *batchv1.CronJob, _ string) field.ErrorList {
		errs := validateObjectMeta(&c.ObjectMeta, true, dnsSubdomain)
		errs = append(errs, validatePodSpecPorts(&c.Spec.JobTemplate.Spec.Template.Spec, false, field.NewPath("spec", "jobTemplate", "spec", "template", "spec"))...)
		// The controller appends an 11-character suffix to name its Jobs.
		if len(c.Name) > validation.DNS1035LabelMaxLength-11 {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), c.Name, "must be no more than 52 characters"))
		}
		return errs
	})
	register("", "Pod", func(p *corev1.Pod, _ string) field.ErrorList {
		return append(validateObjectMeta(&p.ObjectMeta, true, dnsSubdomain), validatePodSpecPorts(&p.Spec, true, field.NewPath("spec"))...)
	})
}

func validatePodSpecPorts(spec *corev1.PodSpec, isPod bool, fldPath *field.Path) field.ErrorList {
	defaultContainerPorts(spec.InitContainers)
	defaultContainerPorts(spec.Containers)
	if isPod && spec.HostNetwork {
		// A Pod's host ports default to its container ports.
		for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
			for i := range cs {
				for j := range cs[i].Ports {
					if cs[i].Ports[j].HostPort == 0 {
						cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
	var errs field.ErrorList
	for i := range spec.InitContainers {
		errs = append(errs, validateContainerPorts(spec.InitContainers[i].Ports, fldPath.Child("initContainers").Index(i).Child("ports"))...)
	}
	for i := range spec.Containers {
		errs = append(errs, validateContainerPorts(spec.Containers[i].Ports, fldPath.Child("containers").Index(i).Child("ports"))...)
	}
	hostPorts := map[string]bool{}
	for i, c := range spec.Containers {
		for j, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", p.Protocol, p.HostIP, p.HostPort)
			if hostPorts[key] {
				errs = append(errs, field.Duplicate(fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), key))
			}
			hostPorts[key] = true
		}
	}
	if spec.HostNetwork {
		for i, c := range spec.Containers {
			for j, p := range c.Ports {
				if (isPod || p.HostPort != 0) && p.HostPort != p.ContainerPort {
					errs = append(errs, field.Invalid(fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), p.HostPort, "must match `containerPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	return errs
}

func defaultContainerPorts(cs []corev1.Container) {
	for i := range cs {
		for j := range cs[i].Ports {
			if cs[i].Ports[j].Protocol == "" {
				cs[i].Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

func validateContainerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		idx := fldPath.Index(i)
		if p.Name != "" {
			if msgs := validation.IsValidPortName(p.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(idx.Child("name"), p.Name, msg))
				}
			} else if names[p.Name] {
				errs = append(errs, field.Duplicate(idx.Child("name"), p.Name))
			} else {
				names[p.Name] = true
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(idx.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				errs = append(errs, field.Invalid(idx.Child("containerPort"), p.ContainerPort, msg))
			}
		}
		if p.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(p.HostPort)) {
				errs = append(errs, field.Invalid(idx.Child("hostPort"), p.HostPort, msg))
			}
		}
		if !supportedProtocol(p.Protocol) {
			errs = append(errs, field.NotSupported(idx.Child("protocol"), p.Protocol, []string{"SCTP", "TCP", "UDP"}))
		}
	}
	return errs
}
