package policy

import (
	"bytes"
	"net/netip"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The seed task's policies (testdata/seed-policies.yaml, verbatim) with the
// workloads they talk about and the inventory of reachgate.yaml, built by
// hand, and the reachability matrix worked out by hand. It stands in for
// render + reach until the end-to-end test on testdata/seed exists.

const seedFile = "testdata/seed-policies.yaml"

// seedParams mirrors rules.params of the repository's reachgate.yaml.
var seedParams = map[string]any{
	"namingPattern":       "^(default-deny-(ingress|egress)|allow-[a-z0-9-]+)$",
	"internetFacingLabel": "reachgate.dev/internet-facing",
	"databases": map[string]any{
		"app/postgres": []any{"app/backend-api", "app/backup-agent", "app/postgres-replica"},
		"app/redis":    []any{"app/backend-api", "app/worker", "app/cache-invalidation", "app/redis-replica"},
	},
	"dnsSelector": map[string]any{"namespace": "kube-system", "labels": map[string]any{"k8s-app": "kube-dns"}},
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func seedCluster(t testing.TB) *model.Cluster {
	t.Helper()
	data, err := os.ReadFile(seedFile)
	require.NoError(t, err)
	c := &model.Cluster{
		PodCIDRs:     model.IPSetOf(pfx("10.244.0.0/16")),
		ServiceCIDRs: model.IPSetOf(pfx("10.96.0.0/12")),
		Externals: []model.External{
			{Name: "cloud-metadata", CIDRs: model.IPSetOf(pfx("169.254.169.254/32"))},
			{Name: "internet", CIDRs: model.IPSetOf(pfx("0.0.0.0/0"), pfx("::/0"))},
		},
	}
	// Each object starts at its top-level apiVersion line.
	var starts []int
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "apiVersion:") {
			starts = append(starts, i+1)
		}
	}
	n := 0
	for _, doc := range strings.Split(string(data), "\n---") {
		if !strings.Contains(doc, "\napiVersion:") {
			continue
		}
		loc := model.Location{File: seedFile, Line: starts[n]}
		n++
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m))
		meta, _ := m["metadata"].(map[string]any)
		ref := model.ObjectRef{Kind: m["kind"].(string), Name: meta["name"].(string)}
		ref.Namespace, _ = meta["namespace"].(string)
		c.Objects = append(c.Objects, model.Object{ObjectRef: ref, APIVersion: m["apiVersion"].(string), Source: loc, Doc: m})
		switch ref.Kind {
		case "Namespace":
			labels := map[string]string{model.NamespaceNameLabel: ref.Name}
			for k, v := range meta["labels"].(map[string]any) {
				labels[k] = v.(string)
			}
			c.Namespaces = append(c.Namespaces, model.Namespace{Name: ref.Name, Labels: labels, Source: loc})
		case "NetworkPolicy":
			var np networkingv1.NetworkPolicy
			// default-deny-egress is invalid (a rule inside policyTypes):
			// the renderer reports it and leaves it out, as here.
			if err := yaml.UnmarshalStrict([]byte(doc), &np); err != nil {
				require.Equal(t, "default-deny-egress", ref.Name, "only the known-bad policy may fail: %v", err)
				continue
			}
			c.Policies = append(c.Policies, model.Policy{NetworkPolicy: &np, Source: loc})
		}
	}
	inv := model.Location{File: "reachgate.yaml"}
	for _, ns := range []struct {
		name   string
		labels map[string]string
	}{
		{"ingress-nginx", map[string]string{"app.kubernetes.io/name": "ingress-nginx"}},
		{"kube-system", nil},
		{"monitoring", map[string]string{"team": "observability"}},
	} {
		labels := map[string]string{model.NamespaceNameLabel: ns.name}
		for k, v := range ns.labels {
			labels[k] = v
		}
		c.Namespaces = append(c.Namespaces, model.Namespace{Name: ns.name, Labels: labels, Source: inv, Inventory: true})
	}
	app := func(name string, line int, ports ...model.ContainerPort) model.Workload {
		return model.Workload{
			Namespace: "app", Name: name, Kind: "Deployment",
			Labels: map[string]string{"app": name}, Ports: ports,
			Source: model.Location{File: "bases/app/" + name + ".yaml", Line: line},
		}
	}
	tcp := func(name string, port uint16) model.ContainerPort {
		return model.ContainerPort{Name: name, Port: port, Protocol: model.TCP}
	}
	c.Workloads = append(c.Workloads,
		app("frontend", 1, tcp("http", 3000), tcp("metrics", 9090)),
		app("backend-api", 1, tcp("http", 3000), tcp("metrics", 9090)),
		app("postgres", 1, tcp("postgres", 5432)),
		app("redis", 1, tcp("redis", 6379)),
		app("rabbitmq", 1, tcp("amqp", 5672), tcp("management", 15672)),
		app("worker", 1, tcp("metrics", 9090)),
		model.Workload{Namespace: "kube-system", Name: "coredns", Kind: "Deployment", Labels: map[string]string{"k8s-app": "kube-dns"},
			Ports:  []model.ContainerPort{{Name: "dns", Port: 53, Protocol: model.UDP}, {Name: "dns-tcp", Port: 53, Protocol: model.TCP}},
			Source: inv, Inventory: true},
		model.Workload{Namespace: "ingress-nginx", Name: "ingress-nginx-controller", Kind: "Deployment",
			Labels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}, Ports: []model.ContainerPort{tcp("http", 80), tcp("https", 443)},
			Source: inv, Inventory: true},
		model.Workload{Namespace: "monitoring", Name: "prometheus", Kind: "StatefulSet",
			Labels: map[string]string{"app.kubernetes.io/name": "prometheus"}, Ports: []model.ContainerPort{tcp("web", 9090)},
			Source: inv, Inventory: true},
	)
	c.Sort()
	return c
}

// matrixBuilder assembles a matrix by peer key.
type matrixBuilder struct {
	m   *model.Matrix
	idx map[string]int32
}

func newMatrixBuilder(c *model.Cluster, externals ...model.Peer) *matrixBuilder {
	b := &matrixBuilder{m: &model.Matrix{}, idx: map[string]int32{}}
	for i := range c.Workloads {
		b.add(model.Peer{Workload: &c.Workloads[i]})
	}
	for _, p := range externals {
		b.add(p)
	}
	return b
}

func (b *matrixBuilder) add(p model.Peer) {
	b.idx[p.Key()] = int32(len(b.m.Peers))
	b.m.Peers = append(b.m.Peers, p)
}

func (b *matrixBuilder) peer(key string) int32 {
	i, ok := b.idx[key]
	if !ok {
		panic("no peer " + key)
	}
	return i
}

// conn adds src -> dst with the grants; Ports is their union.
func (b *matrixBuilder) conn(src, dst string, addressDependent bool, grants ...model.Grant) {
	a := &model.Allowance{Grants: grants, AddressDependent: addressDependent}
	for _, g := range grants {
		a.Ports = a.Ports.Union(g.Ports)
	}
	b.m.Connect(b.peer(src), b.peer(dst), a)
}

func (b *matrixBuilder) done() *model.Matrix {
	sort.Slice(b.m.Connections, func(i, j int) bool {
		x, y := b.m.Connections[i], b.m.Connections[j]
		return x.Src < y.Src || (x.Src == y.Src && x.Dst < y.Dst)
	})
	return b.m
}

func eg(policy string, rule int) *model.RuleRef {
	return &model.RuleRef{Policy: policy, Direction: model.Egress, Rule: rule}
}

func ing(policy string, rule int) *model.RuleRef {
	return &model.RuleRef{Policy: policy, Direction: model.Ingress, Rule: rule}
}

var (
	notIsolatedEg  = &model.RuleRef{Direction: model.Egress}
	notIsolatedIng = &model.RuleRef{Direction: model.Ingress}
)

func ports(p model.Protocol, ns ...uint16) model.PortSet {
	var s model.PortSet
	for _, n := range ns {
		s = s.Union(model.SinglePort(p, n, n))
	}
	return s
}

func rangeOf(from, to string) model.IPRange {
	return model.IPRange{From: netip.MustParseAddr(from), To: netip.MustParseAddr(to)}
}

// seedMatrix is the seed's reachability, worked out by hand:
//   - every app workload is isolated for ingress (default-deny-ingress);
//     only backend-api is isolated for egress (default-deny-egress is
//     invalid, so the others egress freely);
//   - allow-frontend-ingress (namespace label name=ingress-nginx) and
//     allow-metrics-scraping (name=monitoring, app=prometheus) match
//     nothing with the inventory's labels, and there is no backup-agent;
//   - backend-api's egress allows DNS on UDP only, TCP 443 to app pods and
//     TCP 80/443 to 0.0.0.0/0 except the metadata address, which covers
//     pod addresses (address-dependent) but not postgres, redis or
//     rabbitmq's ports.
func seedMatrix(c *model.Cluster) *model.Matrix {
	internetLow := model.Peer{Range: rangeOf("0.0.0.0", "169.254.169.253"), External: "internet"}
	metadata := model.Peer{Range: model.PrefixRange(pfx("169.254.169.254/32")), External: "cloud-metadata"}
	internetHigh := model.Peer{Range: rangeOf("169.254.169.255", "255.255.255.255"), External: "internet"}
	b := newMatrixBuilder(c, internetLow, metadata, internetHigh)
	all := model.AllPorts()
	open := func(s model.PortSet) model.Grant {
		return model.Grant{Ports: s, Egress: notIsolatedEg, Ingress: notIsolatedIng}
	}
	externals := []string{internetLow.Key(), metadata.Key(), internetHigh.Key()}
	inventory := []string{"ingress-nginx/ingress-nginx-controller", "kube-system/coredns", "monitoring/prometheus"}

	b.conn("app/frontend", "app/backend-api", false,
		model.Grant{Ports: ports(model.TCP, 3000), Egress: notIsolatedEg, Ingress: ing("app/allow-frontend-to-backend", 0)})
	b.conn("app/worker", "app/rabbitmq", false,
		model.Grant{Ports: ports(model.TCP, 5672, 15672), Egress: notIsolatedEg, Ingress: ing("app/allow-backend-to-queue", 0)})
	for _, src := range []string{"app/frontend", "app/postgres", "app/rabbitmq", "app/redis", "app/worker"} {
		for _, dst := range append(append([]string{}, inventory...), externals...) {
			b.conn(src, dst, false, open(all))
		}
	}
	web := ports(model.TCP, 80, 443)
	ext := "app/allow-backend-external-apis"
	b.conn("app/backend-api", "kube-system/coredns", true,
		model.Grant{Ports: ports(model.UDP, 53), Egress: eg(ext, 0), Ingress: notIsolatedIng},
		model.Grant{Ports: web, Egress: eg(ext, 2), Ingress: notIsolatedIng})
	for _, dst := range []string{"ingress-nginx/ingress-nginx-controller", "monitoring/prometheus"} {
		b.conn("app/backend-api", dst, true, model.Grant{Ports: web, Egress: eg(ext, 2), Ingress: notIsolatedIng})
	}
	for _, dst := range []string{internetLow.Key(), internetHigh.Key()} {
		b.conn("app/backend-api", dst, false, model.Grant{Ports: web, Egress: eg(ext, 2), Ingress: notIsolatedIng})
	}
	for _, src := range inventory {
		for _, dst := range append(append([]string{}, inventory...), externals...) {
			if src != dst {
				b.conn(src, dst, false, open(all))
			}
		}
	}
	for _, src := range externals {
		for _, dst := range inventory {
			b.conn(src, dst, false, open(all))
		}
	}
	m := b.done()

	appAll := []string{"app/backend-api", "app/frontend", "app/postgres", "app/rabbitmq", "app/redis", "app/worker"}
	sel := func(p string, selects []string, peers ...model.PeerSelection) model.PolicySelection {
		for i := range c.Policies {
			if c.Policies[i].Key() == p {
				return model.PolicySelection{Policy: p, Source: c.Policies[i].Source, Selects: selects, Peers: peers}
			}
		}
		panic("no policy " + p)
	}
	peer := func(d model.Direction, rule, n int, matches ...string) model.PeerSelection {
		return model.PeerSelection{Direction: d, Rule: rule, Peer: n, Matches: matches}
	}
	m.Selection = []model.PolicySelection{
		sel("app/allow-backend-external-apis", []string{"app/backend-api"},
			peer(model.Egress, 0, 0, "kube-system/coredns"),
			peer(model.Egress, 1, 0, appAll...),
			model.PeerSelection{Direction: model.Egress, Rule: 2, Peer: 0, IPBlock: "0.0.0.0-169.254.169.253,169.254.169.255-255.255.255.255"}),
		sel("app/allow-backend-to-cache", []string{"app/redis"}, peer(model.Ingress, 0, 0, "app/backend-api")),
		sel("app/allow-backend-to-database", []string{"app/postgres"},
			peer(model.Ingress, 0, 0, "app/backend-api"),
			peer(model.Ingress, 1, 0)),
		sel("app/allow-backend-to-queue", []string{"app/rabbitmq"},
			peer(model.Ingress, 0, 0, "app/backend-api"),
			peer(model.Ingress, 0, 1, "app/worker")),
		sel("app/allow-frontend-ingress", []string{"app/frontend"}, peer(model.Ingress, 0, 0)),
		sel("app/allow-frontend-to-backend", []string{"app/backend-api"}, peer(model.Ingress, 0, 0, "app/frontend")),
		sel("app/allow-metrics-scraping", appAll, peer(model.Ingress, 0, 0)),
		sel("app/default-deny-ingress", appAll),
	}
	return m
}

// goldenText compares got with testdata/name, rewriting it under -update.
func goldenText(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines only in want (-) or only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	count := map[string]int{}
	for _, l := range g {
		count[l]++
	}
	var b strings.Builder
	for _, l := range w {
		if count[l] > 0 {
			count[l]--
			continue
		}
		b.WriteString("- " + l + "\n")
	}
	count = map[string]int{}
	for _, l := range w {
		count[l]++
	}
	for _, l := range g {
		if count[l] > 0 {
			count[l]--
			continue
		}
		b.WriteString("+ " + l + "\n")
	}
	return b.String()
}
