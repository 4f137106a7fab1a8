package synth

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// TestCiliumPoliciesAreDrawnLast checks that the Cilium option leaves
// the rest of a cluster as it was (benchmarks and goldens depend on it)
// and that the same options give the same policies.
func TestCiliumPoliciesAreDrawnLast(t *testing.T) {
	o := Options{Workloads: 300, Namespaces: 10, Seed: 7, AdminPolicies: 20, Baseline: true}
	plain := Cluster(o)
	o.CiliumPolicies = 200
	with := Cluster(o)
	if !reflect.DeepEqual(plain.Workloads, with.Workloads) || !reflect.DeepEqual(plain.Policies, with.Policies) ||
		!reflect.DeepEqual(plain.ClusterPolicies, with.ClusterPolicies) || !reflect.DeepEqual(plain.Namespaces, with.Namespaces) {
		t.Fatal("adding Cilium policies changed the rest of the cluster")
	}
	if len(plain.CiliumPolicies) != 0 || len(with.CiliumPolicies) != 200 {
		t.Fatalf("%d and %d Cilium policies, want 0 and 200", len(plain.CiliumPolicies), len(with.CiliumPolicies))
	}
	if again := Cluster(o); !reflect.DeepEqual(again.CiliumPolicies, with.CiliumPolicies) {
		t.Fatal("the same options drew different Cilium policies")
	}
}

// TestCiliumPoliciesAreValid checks each drawn rule the way the decoder
// would accept it: one kind of L3 peer per rule, ports in order, DNS
// rules on port 53 and no host names or L7 rules in a deny; and that the
// mix holds every feature the benchmark is meant to exercise.
func TestCiliumPoliciesAreValid(t *testing.T) {
	c := Cluster(Options{Workloads: 1000, Namespaces: 20, Seed: 42, CiliumPolicies: 400})
	seen := map[string]int{}
	for _, p := range c.CiliumPolicies {
		seen[p.Kind]++
		for _, r := range p.Rules {
			if r.EndpointSelector == nil {
				t.Fatalf("%s: no endpointSelector", p.Key())
			}
			check := func(dir string, prs []model.CiliumPeerRule, deny bool) {
				for _, pr := range prs {
					kinds := 0
					for _, has := range []bool{pr.Endpoints != nil, len(pr.Entities) > 0, pr.HasCIDR, len(pr.FQDNs) > 0} {
						if has {
							kinds++
						}
					}
					if kinds != 1 {
						t.Fatalf("%s %s: %d kinds of peer in one rule", p.Key(), dir, kinds)
					}
					if deny && (len(pr.FQDNs) > 0 || len(pr.L7) > 0) {
						t.Fatalf("%s %s: host names or L7 rules in a deny", p.Key(), dir)
					}
					for _, port := range pr.Ports {
						if port.Named == "" && (port.From == 0 || port.From > port.To) {
							t.Fatalf("%s %s: port range %d-%d", p.Key(), dir, port.From, port.To)
						}
					}
					for _, k := range pr.L7 {
						seen["l7:"+k]++
					}
					if len(pr.FQDNs) > 0 {
						seen["fqdn"]++
					}
					if pr.HasCIDR {
						seen["cidr"]++
					}
					for _, e := range pr.Entities {
						seen["entity:"+e]++
					}
					if deny {
						seen["deny"]++
					}
				}
			}
			check("ingress", r.Ingress, false)
			check("egress", r.Egress, false)
			check("ingressDeny", r.IngressDeny, true)
			check("egressDeny", r.EgressDeny, true)
		}
	}
	for _, k := range []string{model.KindCiliumNetworkPolicy, model.KindCiliumClusterwideNetworkPolicy, "l7:dns", "l7:http", "fqdn", "cidr", "entity:world", "entity:cluster", "deny"} {
		if seen[k] == 0 {
			t.Errorf("no %s among 400 policies", k)
		}
	}
}

// TestNumberedPorts: the tree for netpol-analyzer has no named port in
// any NetworkPolicy, where the plain tree has some.
func TestNumberedPorts(t *testing.T) {
	t.Parallel()
	c := Cluster(Options{Workloads: 200, Namespaces: 5, Seed: 7})
	named := regexp.MustCompile(`(?m)^\s*(- )?port: [a-z]`)
	count := func(o TreeOptions) (names, numbers int) {
		dir := t.TempDir()
		written, err := WriteTree(dir, c, o)
		require.NoError(t, err)
		for _, f := range written {
			if !strings.HasSuffix(f, "policies.yaml") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			names += len(named.FindAll(data, -1))
			numbers += strings.Count(string(data), "port: 9090")
		}
		return names, numbers
	}
	names, before := count(TreeOptions{})
	require.Positive(t, names, "the plain tree has named ports")
	names, after := count(TreeOptions{NumberedPorts: true})
	assert.Zero(t, names)
	assert.Greater(t, after, before, "metrics became 9090")
}

// TestBump: the image bump changes one line of one file, an image tag.
func TestBump(t *testing.T) {
	t.Parallel()
	c := Cluster(Options{Workloads: 100, Namespaces: 4, Seed: 7})
	read := func(o TreeOptions) map[string]string {
		dir := t.TempDir()
		written, err := WriteTree(dir, c, o)
		require.NoError(t, err)
		out := map[string]string{}
		for _, f := range written {
			data, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			out[f] = string(data)
		}
		return out
	}
	before, after := read(TreeOptions{}), read(TreeOptions{Bump: true})
	require.Len(t, after, len(before))
	var changed []string
	for f, data := range after {
		if data == before[f] {
			continue
		}
		changed = append(changed, f)
		a, b := strings.Split(before[f], "\n"), strings.Split(data, "\n")
		require.Len(t, b, len(a), f)
		var lines []string
		for i := range a {
			if a[i] != b[i] {
				lines = append(lines, a[i]+" -> "+b[i])
			}
		}
		require.Len(t, lines, 1, f)
		assert.Regexp(t, `image: registry.example/\S+:1.0 -> .*image: registry.example/\S+:1.1$`, lines[0])
	}
	assert.Len(t, changed, 1)
}
