package scaffold

import (
	"regexp"
	"sort"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Controller is an ingress controller init knows how to describe: the
// namespace and the pod labels of its usual installation.
type Controller struct {
	// Class is the IngressClass name it serves.
	Class     string
	Namespace model.Namespace
	Workload  model.Workload
}

// Controllers are the ingress controllers init recognises, as their
// upstream Helm charts install them.
var Controllers = []Controller{
	{
		Class: "nginx",
		Namespace: model.Namespace{Name: "ingress-nginx", Labels: map[string]string{
			"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx"}},
		Workload: model.Workload{Namespace: "ingress-nginx", Name: "ingress-nginx-controller", Kind: "Deployment",
			Labels: map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/component": "controller"},
			Ports: []model.ContainerPort{{Name: "http", Port: 80, Protocol: model.TCP}, {Name: "https", Port: 443, Protocol: model.TCP},
				{Name: "metrics", Port: 10254, Protocol: model.TCP}}},
	},
	{
		Class:     "traefik",
		Namespace: model.Namespace{Name: "traefik", Labels: map[string]string{}},
		Workload: model.Workload{Namespace: "traefik", Name: "traefik", Kind: "Deployment",
			Labels: map[string]string{"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-traefik"},
			Ports: []model.ContainerPort{{Name: "web", Port: 8000, Protocol: model.TCP}, {Name: "websecure", Port: 8443, Protocol: model.TCP},
				{Name: "metrics", Port: 9100, Protocol: model.TCP}}},
	},
}

// FindIngressControllers returns the controllers the rendered clusters
// point at, and why: an Ingress of the controller's class, or a
// NetworkPolicy peer that selects its namespace or its pods. A
// controller whose namespace the repository renders itself is not
// returned: it is not outside the repository.
func FindIngressControllers(clusters []*model.Cluster) (found []Controller, why []string) {
	rendered := map[string]bool{}
	for _, c := range clusters {
		for _, n := range c.Namespaces {
			if !n.Inventory {
				rendered[n.Name] = true
			}
		}
	}
	for _, ctl := range Controllers {
		if rendered[ctl.Namespace.Name] {
			continue
		}
		if reason := pointsAt(clusters, ctl); reason != "" {
			found = append(found, ctl)
			why = append(why, reason)
		}
	}
	return found, why
}

func pointsAt(clusters []*model.Cluster, ctl Controller) string {
	for _, c := range clusters {
		for _, o := range c.Objects {
			if o.Kind != "Ingress" {
				continue
			}
			if ingressClass(o.Doc) == ctl.Class {
				return "the Ingress " + o.Namespace + "/" + o.Name + " (" + o.Source.String() + ") has class " + ctl.Class
			}
		}
		for _, p := range c.Policies {
			for _, r := range p.Spec.Ingress {
				for _, peer := range r.From {
					if peer.NamespaceSelector != nil && selects(peer.NamespaceSelector.MatchLabels, ctl.Namespace.Name, ctl.Namespace.Labels) ||
						peer.PodSelector != nil && peer.NamespaceSelector != nil && selects(peer.PodSelector.MatchLabels, "", ctl.Workload.Labels) {
						return "the NetworkPolicy " + p.Key() + " (" + p.Source.String() + ") allows ingress from it"
					}
				}
			}
		}
	}
	return ""
}

// selects reports whether matchLabels is non-empty and names the
// namespace by name or matches labels.
func selects(matchLabels map[string]string, name string, labels map[string]string) bool {
	if len(matchLabels) == 0 {
		return false
	}
	for k, v := range matchLabels {
		switch {
		case name != "" && (k == model.NamespaceNameLabel || k == "name") && v == name:
		case labels[k] == v:
		default:
			return false
		}
	}
	return true
}

func ingressClass(doc map[string]any) string {
	if spec, ok := doc["spec"].(map[string]any); ok {
		if c, ok := spec["ingressClassName"].(string); ok && c != "" {
			return c
		}
	}
	if md, ok := doc["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			if c, ok := ann["kubernetes.io/ingress.class"].(string); ok {
				return c
			}
		}
	}
	return ""
}

// databasePorts are the ports data stores listen on by default.
var databasePorts = map[uint16]bool{
	5432: true, 3306: true, 6379: true, 27017: true, 9042: true, 1433: true,
	26257: true, 5984: true, 9200: true, 8086: true, 11211: true, 1521: true,
}

var databaseName = regexp.MustCompile(`(^|-)(postgres|postgresql|pg|mysql|mariadb|redis|valkey|mongo|mongodb|db|database|cassandra|elasticsearch|opensearch|cockroachdb|memcached)($|-)`)

// IsDatabase reports whether a workload looks like a data store: it
// declares a data store's default port, or its name says so.
func IsDatabase(w *model.Workload) bool {
	if w.Inventory {
		return false
	}
	for _, p := range w.Ports {
		if databasePorts[p.Port] {
			return true
		}
	}
	return databaseName.MatchString(w.Name)
}

// Databases maps each data store of the matrices ("ns/name") to the
// workloads that reach it today, on any port, in any of them: the
// clients NP016 then holds it to.
func Databases(matrices []*model.Matrix) map[string][]string {
	clients := map[string]map[string]bool{}
	for _, m := range matrices {
		for i := range m.Peers {
			if w := m.Peers[i].Workload; w != nil && IsDatabase(w) {
				key := w.Namespace + "/" + w.Name
				if clients[key] == nil {
					clients[key] = map[string]bool{}
				}
			}
		}
		for _, c := range m.Connections {
			dst, src := m.Peers[c.Dst].Workload, m.Peers[c.Src].Workload
			if dst == nil || src == nil || !IsDatabase(dst) {
				continue
			}
			clients[dst.Namespace+"/"+dst.Name][src.Namespace+"/"+src.Name] = true
		}
	}
	out := map[string][]string{}
	for db, cs := range clients {
		list := []string{}
		for c := range cs {
			if c != db {
				list = append(list, c)
			}
		}
		sort.Strings(list)
		out[db] = list
	}
	return out
}
