package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
)

// A tree is a synthetic cluster written out as a GitOps repository, the
// way a platform team would keep it:
//
//	reachgate.yaml                  one overlay, prod, and the inventory
//	                                (the built-in rules judge)
//	bases/ns-XX/kustomization.yaml  one base per namespace
//	bases/ns-XX/namespace.yaml
//	bases/ns-XX/workloads.yaml      Deployments, StatefulSets, DaemonSets
//	bases/ns-XX/services.yaml       one Service per workload
//	bases/ns-XX/policies.yaml       the namespace's NetworkPolicies
//	overlays/prod/kustomization.yaml  every base
//
// bases/ is also a plain directory of manifests (its kustomization files
// are skipped as such), for tools that read one.

// TreeOptions shape a written tree.
type TreeOptions struct {
	// Change rewrites one NetworkPolicy the way a pull request would: the
	// first policy with ingress rules lets in one more port. Written over
	// an unchanged tree, it changes one file.
	Change bool
	// Bump gives the first workload's main container a new image tag, the
	// pull request a GitOps repository sees most: nothing the matrix
	// reads changes. Written over an unchanged tree, it changes one file.
	Bump bool
	// NumberedPorts writes the NetworkPolicies' named ports as the
	// numbers the workloads mostly give those names (http 8000, metrics
	// 9090, db 5432, stats 8125): netpol-analyzer refuses a named port in
	// a rule towards addresses, so the scale benchmarks run both tools on
	// such a tree. It changes what the policies allow.
	NumberedPorts bool
}

// WriteTree writes c (from Cluster) as a repository under dir. Workloads
// of the inventory namespace kube-system go into reachgate.yaml, the rest
// into manifests. It returns the paths written, relative to dir.
func WriteTree(dir string, c *model.Cluster, o TreeOptions) ([]string, error) {
	var written []string
	write := func(rel string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		written = append(written, rel)
		return os.WriteFile(p, data, 0o644)
	}
	if err := write("reachgate.yaml", configYAML(c)); err != nil {
		return nil, err
	}
	var bases []string
	changed, bumped := !o.Change, !o.Bump
	for _, ns := range c.Namespaces {
		if ns.Name == "kube-system" {
			continue
		}
		base := "bases/" + ns.Name
		bases = append(bases, "../../"+base)
		files := map[string]*bytes.Buffer{"namespace.yaml": {}, "workloads.yaml": {}, "services.yaml": {}, "policies.yaml": {}}
		if err := doc(files["namespace.yaml"], namespaceDoc(ns)); err != nil {
			return nil, err
		}
		for i := range c.Workloads {
			w := &c.Workloads[i]
			if w.Namespace != ns.Name {
				continue
			}
			d := workloadDoc(w)
			if !bumped {
				bump(d)
				bumped = true
			}
			if err := doc(files["workloads.yaml"], d); err != nil {
				return nil, err
			}
			if err := doc(files["services.yaml"], serviceDoc(w)); err != nil {
				return nil, err
			}
		}
		for i := range c.Policies {
			p := c.Policies[i].NetworkPolicy
			if p.Namespace != ns.Name {
				continue
			}
			d, err := policyDoc(c.Policies[i])
			if err != nil {
				return nil, err
			}
			if o.NumberedPorts {
				numberPorts(d)
			}
			if !changed && len(p.Spec.Ingress) > 0 {
				changeIngress(d)
				changed = true
			}
			if err := doc(files["policies.yaml"], d); err != nil {
				return nil, err
			}
		}
		names := []string{"namespace.yaml", "workloads.yaml", "services.yaml", "policies.yaml"}
		var kust bytes.Buffer
		kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
		for _, n := range names {
			if files[n].Len() == 0 {
				continue
			}
			fmt.Fprintf(&kust, "  - %s\n", n)
			if err := write(base+"/"+n, files[n].Bytes()); err != nil {
				return nil, err
			}
		}
		if err := write(base+"/kustomization.yaml", kust.Bytes()); err != nil {
			return nil, err
		}
	}
	var kust bytes.Buffer
	kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, b := range bases {
		fmt.Fprintf(&kust, "  - %s\n", b)
	}
	if err := write("overlays/prod/kustomization.yaml", kust.Bytes()); err != nil {
		return nil, err
	}
	return written, nil
}

// doc appends one YAML document.
func doc(b *bytes.Buffer, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	b.WriteString("---\n")
	b.Write(data)
	return nil
}

type obj = map[string]any

func namespaceDoc(ns model.Namespace) obj {
	labels := obj{}
	for k, v := range ns.Labels {
		if k != model.NamespaceNameLabel {
			labels[k] = v
		}
	}
	md := obj{"name": ns.Name}
	if len(labels) > 0 {
		md["labels"] = labels
	}
	return obj{"apiVersion": "v1", "kind": "Namespace", "metadata": md}
}

// containers declares the workload's ports: in the main container, and
// a port whose name the main container uses already (the generator gives
// "metrics" to a TCP and a UDP port) in a sidecar, as the API server wants
// names unique per container.
func containers(w *model.Workload) []any {
	var main, side []any
	seen := map[string]bool{}
	for _, p := range w.Ports {
		cp := obj{"containerPort": int(p.Port), "protocol": p.Protocol.String()}
		if p.Name != "" {
			cp["name"] = p.Name
		}
		if seen[p.Name] {
			side = append(side, cp)
			continue
		}
		seen[p.Name] = true
		main = append(main, cp)
	}
	image := "registry.example/" + w.Labels["app"] + ":1.0"
	out := []any{obj{"name": "main", "image": image, "ports": main}}
	if len(side) > 0 {
		out = append(out, obj{"name": "sidecar", "image": "registry.example/agent:1.0", "ports": side})
	}
	return out
}

// bump moves the main container of a workload document to tag 1.1.
func bump(d obj) {
	c := d["spec"].(obj)["template"].(obj)["spec"].(obj)["containers"].([]any)[0].(obj)
	c["image"] = strings.TrimSuffix(c["image"].(string), ":1.0") + ":1.1"
}

func stringMap(m map[string]string) obj {
	out := obj{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func workloadDoc(w *model.Workload) obj {
	spec := obj{
		"selector": obj{"matchLabels": obj{"app": w.Labels["app"]}},
		"template": obj{
			"metadata": obj{"labels": stringMap(w.Labels)},
			"spec":     obj{"containers": containers(w)},
		},
	}
	switch w.Kind {
	case "Deployment":
		spec["replicas"] = 2
	case "StatefulSet":
		spec["serviceName"] = w.Name
		spec["replicas"] = 1
	}
	return obj{
		"apiVersion": "apps/v1",
		"kind":       w.Kind,
		"metadata":   obj{"name": w.Name, "namespace": w.Namespace, "labels": obj{"app": w.Labels["app"]}},
		"spec":       spec,
	}
}

func serviceDoc(w *model.Workload) obj {
	var ports []any
	seen := map[string]bool{}
	for _, p := range w.Ports {
		name := strings.ToLower(p.Name + "-" + p.Protocol.String())
		if seen[name] {
			continue
		}
		seen[name] = true
		ports = append(ports, obj{"name": name, "port": int(p.Port), "targetPort": p.Name, "protocol": p.Protocol.String()})
	}
	return obj{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata":   obj{"name": w.Name, "namespace": w.Namespace},
		"spec":       obj{"selector": stringMap(w.Labels), "ports": ports},
	}
}

// policyDoc is the policy as a manifest, without the fields the API
// server sets.
func policyDoc(p model.Policy) (obj, error) {
	data, err := json.Marshal(p.NetworkPolicy)
	if err != nil {
		return nil, err
	}
	var d obj
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	md, _ := d["metadata"].(obj)
	delete(md, "creationTimestamp")
	delete(d, "status")
	return d, nil
}

// portNumbers are the numbers NumberedPorts writes for the port names the
// generator uses.
var portNumbers = map[string]int{"http": 8000, "metrics": 9090, "db": 5432, "stats": 8125}

// numberPorts replaces the named ports of a policy document's rules by
// portNumbers.
func numberPorts(d obj) {
	spec, _ := d["spec"].(obj)
	for _, dir := range []string{"ingress", "egress"} {
		rules, _ := spec[dir].([]any)
		for _, r := range rules {
			ports, _ := r.(obj)["ports"].([]any)
			for _, p := range ports {
				if name, ok := p.(obj)["port"].(string); ok {
					if n, ok := portNumbers[name]; ok {
						p.(obj)["port"] = n
					}
				}
			}
		}
	}
}

// changeIngress lets the first ingress rule of a policy document in on one
// more port (TCP 7777), or, where it allows every port already, narrows
// it to that port.
func changeIngress(d obj) {
	spec := d["spec"].(obj)
	rules := spec["ingress"].([]any)
	r := rules[0].(obj)
	ports, _ := r["ports"].([]any)
	p := obj{"protocol": "TCP", "port": 7777}
	r["ports"] = append(slices.Clone(ports), p)
}

// configYAML is reachgate.yaml: the prod overlay, the cluster's ranges,
// the inventory (kube-system and what runs there) and the externals.
func configYAML(c *model.Cluster) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: reachgate.dev/v1alpha1\nkind: Config\n")
	b.WriteString("overlays:\n  - {name: prod, path: overlays/prod}\n")
	b.WriteString("cluster:\n  podCIDRs: [")
	b.WriteString(cidrList(c.PodCIDRs))
	b.WriteString("]\n  serviceCIDRs: [")
	b.WriteString(cidrList(c.ServiceCIDRs))
	b.WriteString("]\n")
	b.WriteString("inventory:\n  namespaces: [{name: kube-system}]\n  workloads:\n")
	for i := range c.Workloads {
		w := &c.Workloads[i]
		if w.Namespace != "kube-system" {
			continue
		}
		fmt.Fprintf(&b, "    - namespace: %s\n      name: %s\n      kind: %s\n      labels: {", w.Namespace, w.Name, w.Kind)
		keys := make([]string, 0, len(w.Labels))
		for k := range w.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for j, k := range keys {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q: %q", k, w.Labels[k])
		}
		b.WriteString("}\n      ports:\n")
		for _, p := range w.Ports {
			fmt.Fprintf(&b, "        - {name: %s, port: %d, protocol: %s}\n", p.Name, p.Port, p.Protocol)
		}
	}
	b.WriteString("externals:\n")
	for _, e := range c.Externals {
		fmt.Fprintf(&b, "  - {name: %s, cidrs: [%s]}\n", e.Name, cidrList(e.CIDRs))
	}
	// The built-in rule pack judges.
	return b.Bytes()
}

func cidrList(s model.IPSet) string {
	var parts []string
	for _, r := range s.Ranges {
		for _, p := range r.Prefixes() {
			parts = append(parts, fmt.Sprintf("%q", p.String()))
		}
	}
	return strings.Join(parts, ", ")
}
