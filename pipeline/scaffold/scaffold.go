// Package scaffold writes the files `reachgate init` proposes to a
// repository adopting reachgate: reachgate.yaml with everything it relies
// on written out, an expectations file per overlay recorded from today's
// reachability, and the GitHub workflows. It finds what the cluster runs
// outside the repository (the ingress controller) and the data stores
// with their clients, from the rendered overlays and their matrices.
package scaffold

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Overlay is one environment init proposes.
type Overlay struct {
	Name, Path string
}

// Config is what reachgate.yaml is written from.
type Config struct {
	Overlays []Overlay
	// ArgoCD are directories of Argo CD Applications.
	ArgoCD []string
	// Namespaces and Workloads are the inventory: what runs in the
	// cluster outside the repository.
	Namespaces []model.Namespace
	Workloads  []model.Workload
	// Externals are the named address ranges outside the cluster.
	Externals              []External
	PodCIDRs, ServiceCIDRs []string
	// Databases maps each data store ("ns/name") to the workloads that
	// reach it today (rules.params.databases, rule NP016).
	Databases map[string][]string
	// Notes are comments written at the top: what init found and what
	// to review.
	Notes []string
}

// External is a named range of addresses outside the cluster.
type External struct {
	Name  string
	CIDRs []string
}

// ConfigYAML writes reachgate.yaml.
func ConfigYAML(c Config) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# yaml-language-server: $schema=https://raw.githubusercontent.com/reachgate/reachgate/main/schemas/reachgate.schema.json")
	p("# reachgate configuration, written by `reachgate init`: review it and commit it.")
	p("# Reference: https://github.com/reachgate/reachgate#configuration-reachgateyaml")
	for _, n := range c.Notes {
		p("#")
		for _, l := range wrap(n, 74) {
			p("# %s", l)
		}
	}
	p("apiVersion: reachgate.dev/v1alpha1")
	p("kind: Config")
	p("")
	p("# One overlay per environment. Set promotesTo (dev -> staging -> prod) to")
	p("# have NP017 check that production only gets flows promoted through it.")
	p("overlays:")
	if len(c.Overlays) == 0 {
		p("  []")
	}
	for _, o := range c.Overlays {
		p("  - name: %s", q(o.Name))
		p("    path: %s", q(o.Path))
	}
	if len(c.ArgoCD) > 0 {
		p("")
		p("# Argo CD Applications: every directory they deploy must be an overlay.")
		p("argocd: [%s]", joinQ(c.ArgoCD))
	}
	p("")
	p("# The cluster's own address ranges (these are kind's and kubeadm's defaults:")
	p("# set yours).")
	p("cluster:")
	p("  podCIDRs: [%s]", joinQ(c.PodCIDRs))
	p("  serviceCIDRs: [%s]", joinQ(c.ServiceCIDRs))
	p("")
	p("# What runs in the cluster but is not rendered from this repository. Written")
	p("# out so nothing is implicit: a section you write replaces its default.")
	p("inventory:")
	p("  namespaces:")
	for _, n := range c.Namespaces {
		p("    - name: %s", q(n.Name))
		if l := labelsWithout(n.Labels, model.NamespaceNameLabel); len(l) > 0 {
			p("      labels: %s", flowMap(l))
		}
	}
	p("  workloads:")
	for _, w := range c.Workloads {
		p("    - namespace: %s", q(w.Namespace))
		p("      name: %s", q(w.Name))
		p("      kind: %s", q(w.Kind))
		p("      labels: %s", flowMap(w.Labels))
		if len(w.Ports) > 0 {
			p("      ports:")
			for _, cp := range w.Ports {
				if cp.Name != "" {
					p("        - {name: %s, port: %d, protocol: %s}", q(cp.Name), cp.Port, cp.Protocol)
				} else {
					p("        - {port: %d, protocol: %s}", cp.Port, cp.Protocol)
				}
			}
		}
	}
	p("")
	p("# Named address ranges outside the cluster, for expectations and rules.")
	p("externals:")
	for _, e := range c.Externals {
		p("  - name: %s", q(e.Name))
		p("    cidrs: [%s]", joinQ(e.CIDRs))
	}
	p("")
	p("# The rules: the built-in pack of the reachgate binary (`reachgate rules`")
	p("# lists it). Add your own with paths, turn rules off with disable.")
	p("rules:")
	p("  # paths: [policy]            # directories of your own *.rego rules")
	p("  # disable: [NP015]           # rule ids not evaluated")
	p("  # waivers: waivers.yaml      # accepted findings, with owner and expiry")
	p("  params:")
	if len(c.Databases) == 0 {
		p("    # Each data store and the workloads that may reach it (NP016), e.g.")
		p("    # databases: {app/postgres: [app/api]}")
		p("    databases: {}")
	} else {
		p("    # Each data store and the workloads that reach it today (NP016): from")
		p("    # now on, any other peer that can reach it is a finding. Review the list.")
		p("    databases:")
		for _, db := range sortedKeys(c.Databases) {
			p("      %s: [%s]", q(db), joinQ(c.Databases[db]))
		}
	}
	return []byte(b.String())
}

// plain matches scalars YAML reads as the same string unquoted.
var plain = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// portSpec matches expectation ports, plain strings in YAML.
var portSpec = regexp.MustCompile(`^[0-9]+(-[0-9]+)?/[A-Z]+$`)

// yaml11 are the words YAML 1.1 (and kustomize) read as booleans or null.
var yaml11 = map[string]bool{"y": true, "yes": true, "n": true, "no": true, "true": true, "false": true,
	"on": true, "off": true, "null": true, "~": true}

// q quotes a scalar unless YAML reads it as the same string plain.
func q(s string) string {
	if portSpec.MatchString(s) {
		return s
	}
	if plain.MatchString(s) && !yaml11[strings.ToLower(s)] && !regexp.MustCompile(`^[0-9.+-]`).MatchString(s) {
		return s
	}
	out, _ := jsonMarshal(s)
	return out
}

func jsonMarshal(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

func joinQ(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return strings.Join(out, ", ")
}

func flowMap(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, q(k)+": "+q(m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func labelsWithout(m map[string]string, key string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wrap breaks text into lines of at most width characters.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
