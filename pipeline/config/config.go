// Package config reads reachgate.yaml: which overlays to check, what lives
// in the cluster outside the repository, the named external endpoints and
// the cluster's address ranges.
package config

import (
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reachgate/reachgate/internal/yamlfile"
	"github.com/reachgate/reachgate/pipeline/model"
)

// FileName is the configuration file at the repository root.
const FileName = "reachgate.yaml"

// Config is reachgate.yaml.
type Config struct {
	APIVersion string        `yaml:"apiVersion"`
	Kind       string        `yaml:"kind"`
	Overlays   []Overlay     `yaml:"overlays"`
	Cluster    ClusterRanges `yaml:"cluster"`
	Inventory  Inventory     `yaml:"inventory"`
	Externals  []External    `yaml:"externals"`
	Rules      Rules         `yaml:"rules"`
	// FailOn is the lowest severity that fails check (error, warning or
	// info; default error). check's --fail-on can make it stricter, never
	// looser.
	FailOn string `yaml:"failOn"`
	// ArgoCD lists the directories holding the Argo CD Applications and
	// ApplicationSets that deploy this repository; check reports every
	// directory they deploy that no overlay covers. Default: argocd, when
	// that directory exists.
	ArgoCD []string `yaml:"argocd"`
	Review Review   `yaml:"review"`

	// File is where the configuration was read from ("" for defaults).
	File string `yaml:"-"`
	// doc is the parsed file, to find the line of a field.
	doc *yamlfile.File
}

// Overlay is one environment to check.
type Overlay struct {
	Name string `yaml:"name"`
	// Path is the kustomization directory, relative to the repository root.
	Path string `yaml:"path"`
	// Environment defaults to Name; rules see it as input.environment.
	Environment string `yaml:"environment"`
	// Expectations is a file of must-allow / must-deny flows; default
	// PATH/expectations.yaml when that file exists.
	Expectations string `yaml:"expectations"`
	// PromotesTo names the overlay that changes are promoted to next
	// (dev -> staging -> prod); rules use it to check promotion.
	PromotesTo string `yaml:"promotesTo"`
}

// ClusterRanges are the cluster's own address ranges.
type ClusterRanges struct {
	PodCIDRs     []string `yaml:"podCIDRs"`
	ServiceCIDRs []string `yaml:"serviceCIDRs"`
}

// Inventory is what runs in the cluster but is not rendered from this
// repository: kube-dns, the ingress controller, the monitoring stack.
type Inventory struct {
	Namespaces []InventoryNamespace `yaml:"namespaces"`
	Workloads  []InventoryWorkload  `yaml:"workloads"`
}

// InventoryNamespace is a namespace outside the repository.
type InventoryNamespace struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// InventoryWorkload is a workload outside the repository.
type InventoryWorkload struct {
	Namespace   string            `yaml:"namespace"`
	Name        string            `yaml:"name"`
	Kind        string            `yaml:"kind"`
	Labels      map[string]string `yaml:"labels"`
	Ports       []Port            `yaml:"ports"`
	HostNetwork bool              `yaml:"hostNetwork"`
	IPs         []string          `yaml:"ips"`
}

// Port is a container port of an inventory workload.
type Port struct {
	Name     string `yaml:"name"`
	Port     int    `yaml:"port"`
	Protocol string `yaml:"protocol"`
}

// External is a named range of addresses outside the cluster.
type External struct {
	Name        string   `yaml:"name"`
	CIDRs       []string `yaml:"cidrs"`
	Description string   `yaml:"description"`
}

// Rules configures the compliance rules.
type Rules struct {
	// Builtin turns the built-in rule pack, compiled into the binary, on
	// (the default) or off.
	Builtin *bool `yaml:"builtin"`
	// Disable lists the ids of rules (built-in or the repository's own)
	// that are not evaluated.
	Disable []string `yaml:"disable"`
	// Paths are directories of the repository's own *.rego files, loaded
	// beside the built-in pack; default none.
	Paths []string `yaml:"paths"`
	// Waivers is a file of accepted findings; default "waivers.yaml" when
	// that file exists.
	Waivers string `yaml:"waivers"`
	// Params is handed to every rule as data.reachgate.params.
	Params map[string]any `yaml:"params"`
}

// Review shapes `reachgate review`, the scheduled policy review.
type Review struct {
	// MaxAge is how long a NetworkPolicy or an expectations file may go
	// unchanged before it is due for review, in days ("180d") or weeks
	// ("26w"). Default 180d.
	MaxAge string `yaml:"maxAge"`
	// ExpiringWithin lists waivers that expire within this long; default
	// 30d.
	ExpiringWithin string `yaml:"expiringWithin"`
}

// Review defaults.
const (
	DefaultReviewMaxAge         = "180d"
	DefaultReviewExpiringWithin = "30d"
)

// ReviewAge is MaxAge as a duration (validated by Parse).
func (c *Config) ReviewAge() time.Duration {
	d, _ := ParseDays(c.Review.MaxAge)
	return d
}

// ReviewExpiringWithin is ExpiringWithin as a duration.
func (c *Config) ReviewExpiringWithin() time.Duration {
	d, _ := ParseDays(c.Review.ExpiringWithin)
	return d
}

// ParseDays reads "30d" (days) or "26w" (weeks).
func ParseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("%q: want a number of days or weeks, like 180d or 26w", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: want a positive number of days or weeks, like 180d or 26w", s)
	}
	switch s[len(s)-1] {
	case 'd':
		return time.Duration(n) * 24 * time.Hour, nil
	case 'w':
		return time.Duration(n) * 7 * 24 * time.Hour, nil
	}
	return 0, fmt.Errorf("%q: want a number of days or weeks, like 180d or 26w", s)
}

// Default is the configuration used when a repository has none: no
// overlays, the common kind/kubeadm ranges, kube-dns, the internet and the
// cloud metadata service.
func Default() *Config {
	return &Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		Cluster: ClusterRanges{
			PodCIDRs:     []string{"10.244.0.0/16"},
			ServiceCIDRs: []string{"10.96.0.0/12"},
		},
		Inventory: Inventory{
			Namespaces: []InventoryNamespace{{Name: "kube-system"}},
			Workloads: []InventoryWorkload{{
				Namespace: "kube-system", Name: "coredns", Kind: "Deployment",
				Labels: map[string]string{"k8s-app": "kube-dns"},
				Ports: []Port{
					{Name: "dns", Port: 53, Protocol: "UDP"},
					{Name: "dns-tcp", Port: 53, Protocol: "TCP"},
				},
			}},
		},
		Externals: []External{
			{Name: "internet", CIDRs: []string{"0.0.0.0/0", "::/0"}},
			{Name: "cloud-metadata", CIDRs: []string{"169.254.169.254/32", "fd00:ec2::254/128"}},
		},
		Review: Review{MaxAge: DefaultReviewMaxAge, ExpiringWithin: DefaultReviewExpiringWithin},
	}
}

// UseBuiltin reports whether the built-in rule pack judges (rules.builtin,
// default true).
func (r Rules) UseBuiltin() bool { return r.Builtin == nil || *r.Builtin }

// Line is the line of a dotted field path ("rules.disable.2") in the file
// the configuration was read from, or of its nearest ancestor there; 0
// for the defaults.
func (c *Config) Line(path string) int {
	if c.doc == nil {
		return 0
	}
	return c.doc.Line(path)
}

// APIVersion and Kind identify the configuration file format.
const (
	APIVersion = "reachgate.dev/v1alpha1"
	Kind       = "Config"
)

// Parse decodes and validates a configuration. Unknown fields are errors.
// All problems are returned together as model.InputErrors, each naming the
// file, line and field.
func Parse(file string, data []byte) (*Config, error) {
	cfg := &Config{}
	f, err := yamlfile.Decode(file, data, cfg)
	if err != nil {
		return nil, err
	}
	cfg.File, cfg.doc = file, f
	if errs := cfg.validate(f); len(errs) > 0 {
		return nil, errs
	}
	cfg.applyDefaults(f)
	return cfg, nil
}

// applyDefaults fills in, section by section, what the file leaves out:
// a section that is not written gets its default (the inventory's
// kube-dns, the internet and cloud-metadata externals, the pod and
// service CIDRs); a section that is written, even empty, replaces it.
func (c *Config) applyDefaults(f *yamlfile.File) {
	def := Default()
	if !f.Has("inventory") {
		c.Inventory = def.Inventory
	}
	if !f.Has("externals") {
		c.Externals = def.Externals
	}
	for i := range c.Overlays {
		if c.Overlays[i].Environment == "" {
			c.Overlays[i].Environment = c.Overlays[i].Name
		}
	}
	if c.Review.MaxAge == "" {
		c.Review.MaxAge = DefaultReviewMaxAge
	}
	if c.Review.ExpiringWithin == "" {
		c.Review.ExpiringWithin = DefaultReviewExpiringWithin
	}
	if len(c.Cluster.PodCIDRs) == 0 {
		c.Cluster.PodCIDRs = def.Cluster.PodCIDRs
	}
	if len(c.Cluster.ServiceCIDRs) == 0 {
		c.Cluster.ServiceCIDRs = def.Cluster.ServiceCIDRs
	}
}

// Severity is the configured failOn, error when unset.
func (c *Config) Severity() model.Severity {
	if s, err := model.ParseSeverity(c.FailOn); err == nil && c.FailOn != "" {
		return s
	}
	return model.SeverityError
}

// Overlay returns the overlay with that name.
func (c *Config) Overlay(name string) (Overlay, bool) {
	for _, o := range c.Overlays {
		if o.Name == name {
			return o, true
		}
	}
	return Overlay{}, false
}

// OverlayNames lists the configured overlays in file order.
func (c *Config) OverlayNames() []string {
	out := make([]string, len(c.Overlays))
	for i, o := range c.Overlays {
		out[i] = o.Name
	}
	return out
}

type validator struct {
	*yamlfile.File
}

func (v *validator) add(path, format string, args ...any) { v.Add(path, "", format, args...) }

func (v *validator) cidrs(path string, cidrs []string) {
	for i, s := range cidrs {
		if _, err := netip.ParsePrefix(strings.TrimSpace(s)); err != nil {
			v.add(fmt.Sprintf("%s.%d", path, i), "invalid CIDR %q", s)
		}
	}
}

func (c *Config) validate(f *yamlfile.File) model.InputErrors {
	v := &validator{f}
	if c.APIVersion != "" && c.APIVersion != APIVersion {
		v.add("apiVersion", "unsupported apiVersion %q: want %s", c.APIVersion, APIVersion)
	}
	if c.Kind != "" && c.Kind != Kind {
		v.add("kind", "unsupported kind %q: want %s", c.Kind, Kind)
	}
	seen := map[string]bool{}
	for i, o := range c.Overlays {
		p := fmt.Sprintf("overlays.%d", i)
		switch {
		case o.Name == "":
			v.add(p+".name", "overlay needs a name")
		case seen[o.Name]:
			v.add(p+".name", "overlay %q is listed twice", o.Name)
		}
		seen[o.Name] = true
		if o.Path == "" {
			v.add(p+".path", "overlay %q needs a path to its kustomization directory", o.Name)
		}
		v.repoPath(p+".path", o.Path)
		v.repoPath(p+".expectations", o.Expectations)
	}
	for i, o := range c.Overlays {
		if o.PromotesTo != "" && !seen[o.PromotesTo] {
			v.add(fmt.Sprintf("overlays.%d.promotesTo", i), "overlay %q promotes to %q, which is not a configured overlay", o.Name, o.PromotesTo)
		}
	}
	if c.FailOn != "" {
		if _, err := model.ParseSeverity(c.FailOn); err != nil {
			v.add("failOn", "%v", err)
		}
	}
	for i, d := range c.ArgoCD {
		if d == "" || path.IsAbs(d) || d == ".." || strings.HasPrefix(path.Clean(d), "../") {
			v.add(fmt.Sprintf("argocd.%d", i), "argocd directory %q must be a path inside the repository", d)
		}
	}
	v.cidrs("cluster.podCIDRs", c.Cluster.PodCIDRs)
	v.cidrs("cluster.serviceCIDRs", c.Cluster.ServiceCIDRs)
	for i, n := range c.Inventory.Namespaces {
		if n.Name == "" {
			v.add(fmt.Sprintf("inventory.namespaces.%d.name", i), "namespace needs a name")
		}
	}
	for i, w := range c.Inventory.Workloads {
		p := fmt.Sprintf("inventory.workloads.%d", i)
		if w.Namespace == "" {
			v.add(p+".namespace", "workload %q needs a namespace", w.Name)
		}
		if w.Name == "" {
			v.add(p+".name", "workload needs a name")
		}
		for j, port := range w.Ports {
			pp := fmt.Sprintf("%s.ports.%d", p, j)
			if port.Port < 1 || port.Port > model.MaxPort {
				v.add(pp+".port", "port %d is not in 1-65535", port.Port)
			}
			if _, err := model.ParseProtocol(port.Protocol); err != nil {
				v.add(pp+".protocol", "%v", err)
			}
		}
		for j, ip := range w.IPs {
			if _, err := netip.ParseAddr(ip); err != nil {
				v.add(fmt.Sprintf("%s.ips.%d", p, j), "invalid IP address %q", ip)
			}
		}
	}
	names := map[string]bool{}
	for i, e := range c.Externals {
		p := fmt.Sprintf("externals.%d", i)
		switch {
		case e.Name == "":
			v.add(p+".name", "external endpoint needs a name")
		case names[e.Name]:
			v.add(p+".name", "external endpoint %q is listed twice", e.Name)
		case strings.ContainsAny(e.Name, "/ "):
			v.add(p+".name", "external endpoint name %q may not contain '/' or spaces", e.Name)
		}
		names[e.Name] = true
		if len(e.CIDRs) == 0 {
			v.add(p+".cidrs", "external endpoint %q needs at least one CIDR", e.Name)
		}
		v.cidrs(p+".cidrs", e.CIDRs)
	}
	for _, f := range []struct{ path, val string }{{"review.maxAge", c.Review.MaxAge}, {"review.expiringWithin", c.Review.ExpiringWithin}} {
		if f.val == "" {
			continue
		}
		if _, err := ParseDays(f.val); err != nil {
			v.add(f.path, "%v", err)
		}
	}
	for i, d := range c.Rules.Paths {
		v.repoPath(fmt.Sprintf("rules.paths.%d", i), d)
	}
	v.repoPath("rules.waivers", c.Rules.Waivers)
	disabled := map[string]bool{}
	for i, id := range c.Rules.Disable {
		p := fmt.Sprintf("rules.disable.%d", i)
		switch {
		case strings.TrimSpace(id) == "":
			v.add(p, "rules.disable needs rule ids, such as NP015")
		case disabled[id]:
			v.add(p, "rule %s is disabled twice", id)
		}
		disabled[id] = true
	}
	for i, d := range c.Rules.Paths {
		if strings.TrimSpace(d) == "" {
			v.add(fmt.Sprintf("rules.paths.%d", i), "rules.paths needs directories of .rego files")
		}
	}
	if !c.Rules.UseBuiltin() && len(c.Rules.Paths) == 0 {
		v.add("rules.builtin", "rules.builtin is false and rules.paths lists no directory: no rule would judge; list your rules' directories, or keep the built-in pack")
	}
	return v.Errs
}

// repoPath checks a path that names something in the repository: it is
// relative to the repository root and stays inside it, so the gate never
// reads a file the repository does not hold.
func (v *validator) repoPath(at, p string) {
	if p == "" {
		return
	}
	clean := path.Clean(filepath.ToSlash(p))
	switch {
	case path.IsAbs(clean) || filepath.IsAbs(p):
		v.add(at, "%q is an absolute path: paths are relative to the repository root", p)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		v.add(at, "%q leads out of the repository: paths are relative to the repository root", p)
	}
}

// PodCIDRs returns the configured pod ranges.
func (c *Config) PodCIDRs() model.IPSet { return parseSet(c.Cluster.PodCIDRs) }

// ServiceCIDRs returns the configured service ranges.
func (c *Config) ServiceCIDRs() model.IPSet { return parseSet(c.Cluster.ServiceCIDRs) }

// ModelExternals returns the external endpoints as model values, sorted by
// name.
func (c *Config) ModelExternals() []model.External {
	out := make([]model.External, 0, len(c.Externals))
	for _, e := range c.Externals {
		out = append(out, model.External{Name: e.Name, CIDRs: parseSet(e.CIDRs), Description: e.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ModelInventory returns the inventory namespaces and workloads as model
// values. Every namespace carries its implicit name label.
func (c *Config) ModelInventory() ([]model.Namespace, []model.Workload) {
	loc := model.Location{File: c.File}
	var nss []model.Namespace
	for _, n := range c.Inventory.Namespaces {
		labels := map[string]string{}
		for k, v := range n.Labels {
			labels[k] = v
		}
		labels[model.NamespaceNameLabel] = n.Name
		nss = append(nss, model.Namespace{Name: n.Name, Labels: labels, Source: loc, Inventory: true})
	}
	var ws []model.Workload
	for _, w := range c.Inventory.Workloads {
		kind := w.Kind
		if kind == "" {
			kind = "Deployment"
		}
		mw := model.Workload{
			Namespace: w.Namespace, Name: w.Name, Kind: kind,
			Labels: w.Labels, HostNetwork: w.HostNetwork, Source: loc, Inventory: true,
		}
		if mw.Labels == nil {
			mw.Labels = map[string]string{}
		}
		for _, p := range w.Ports {
			proto, _ := model.ParseProtocol(p.Protocol)
			mw.Ports = append(mw.Ports, model.ContainerPort{Name: p.Name, Port: uint16(p.Port), Protocol: proto})
		}
		for _, ip := range w.IPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				mw.IPs = append(mw.IPs, a)
			}
		}
		ws = append(ws, mw)
	}
	return nss, ws
}

func parseSet(cidrs []string) model.IPSet {
	var ps []netip.Prefix
	for _, s := range cidrs {
		if p, err := model.ParsePrefix(s); err == nil {
			ps = append(ps, p)
		}
	}
	return model.IPSetOf(ps...)
}
