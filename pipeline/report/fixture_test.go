package report

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/reach"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/golden/name, or rewrites the file
// with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./pipeline/report -update")
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

// The fixture: a small shop in namespace app, DNS in kube-system, a
// hostNetwork node agent, an ipBlock egress to a partner API and an
// ipBlock ingress from the internet that also holds every pod address (so
// pods match it, and match it for sure).

func lbls(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func sel(kv ...string) *metav1.LabelSelector { return &metav1.LabelSelector{MatchLabels: lbls(kv...)} }

func ns(name string, kv ...string) model.Namespace {
	l := lbls(kv...)
	l[model.NamespaceNameLabel] = name
	return model.Namespace{Name: name, Labels: l}
}

func workload(ns, name, kind string, ports ...model.ContainerPort) model.Workload {
	return model.Workload{Namespace: ns, Name: name, Kind: kind, Labels: lbls("app", name), Ports: ports,
		Source: model.Location{File: "bases/" + ns + "/" + name + ".yaml", Line: 1}}
}

func cport(name string, port uint16, p model.Protocol) model.ContainerPort {
	return model.ContainerPort{Name: name, Port: port, Protocol: p}
}

func policy(ns, name string, line int, spec networkingv1.NetworkPolicySpec) model.Policy {
	return model.Policy{
		NetworkPolicy: &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec},
		Source:        model.Location{File: "bases/" + ns + "/networkpolicies.yaml", Line: line},
	}
}

var (
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
	both = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	eg   = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	in   = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
)

func npPort(p corev1.Protocol, port int) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(int32(port))
	return networkingv1.NetworkPolicyPort{Protocol: &p, Port: &v}
}

func npNamed(p corev1.Protocol, name string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Protocol: &p, Port: &v}
}

func ports(ps ...networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyPort { return ps }

func to(peers ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer { return peers }

func pod(app string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: sel("app", app)}
}

func ipBlock(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

// shop is the base of the fixture.
func shop() *model.Cluster {
	c := &model.Cluster{
		Namespaces: []model.Namespace{ns("app", "team", "shop"), ns("kube-system"), ns("monitoring")},
		Workloads: []model.Workload{
			workload("app", "backend-api", "Deployment", cport("http", 3000, model.TCP)),
			workload("app", "frontend", "Deployment", cport("http", 8080, model.TCP)),
			workload("app", "postgres", "StatefulSet", cport("pg", 5432, model.TCP)),
			workload("app", "redis", "Deployment", cport("redis", 6379, model.TCP)),
			workload("kube-system", "kube-dns", "Deployment", cport("dns", 53, model.UDP), cport("dns-tcp", 53, model.TCP)),
		},
		Externals: []model.External{
			{Name: "internet", CIDRs: model.IPSetOf(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))},
			{Name: "partner-api", CIDRs: model.IPSetOf(netip.MustParsePrefix("203.0.113.0/24"))},
		},
		PodCIDRs:     model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16")),
		ServiceCIDRs: model.IPSetOf(netip.MustParsePrefix("10.96.0.0/12")),
	}
	agent := workload("monitoring", "node-exporter", "DaemonSet", cport("metrics", 9100, model.TCP))
	agent.HostNetwork = true
	c.Workloads = append(c.Workloads, agent)
	dns := networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(model.NamespaceNameLabel, "kube-system"), PodSelector: sel("app", "kube-dns")}
	c.Policies = []model.Policy{
		policy("app", "default-deny", 1, networkingv1.NetworkPolicySpec{PolicyTypes: both}),
		policy("app", "allow-dns", 10, networkingv1.NetworkPolicySpec{PolicyTypes: eg, Egress: []networkingv1.NetworkPolicyEgressRule{
			{To: to(dns), Ports: ports(npPort(udp, 53), npPort(tcp, 53))},
		}}),
		policy("app", "allow-frontend", 30, networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "frontend"), PolicyTypes: both,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: to(ipBlock("0.0.0.0/0")), Ports: ports(npNamed(tcp, "http"))}},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: to(pod("backend-api")), Ports: ports(npNamed(tcp, "http"))},
				{To: to(pod("redis")), Ports: ports(npPort(tcp, 6379))},
			},
		}),
		policy("app", "allow-backend-api", 60, networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "backend-api"), PolicyTypes: both,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: to(pod("frontend")), Ports: ports(npPort(tcp, 3000))}},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: to(pod("postgres")), Ports: ports(npPort(tcp, 5432))},
				{To: to(ipBlock("203.0.113.0/24")), Ports: ports(npPort(tcp, 443))},
			},
		}),
		policy("app", "allow-postgres-ingress", 90, networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "postgres"), PolicyTypes: in,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: to(pod("backend-api")), Ports: ports(npPort(tcp, 5432))}},
		}),
		policy("app", "allow-redis-ingress", 110, networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "redis"), PolicyTypes: in,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: to(pod("frontend")), Ports: ports(npPort(tcp, 6379))}},
		}),
	}
	c.Sort()
	return c
}

// shopHead is the pull request: a worker that may reach postgres, the
// frontend no longer reaching redis, and the backend also calling the
// partner on 8443.
func shopHead() *model.Cluster {
	c := shop()
	c.Workloads = append(c.Workloads, workload("app", "worker", "Deployment"))
	for i := range c.Policies {
		p := &c.Policies[i]
		switch p.Name {
		case "allow-frontend":
			spec := p.Spec.DeepCopy()
			spec.Egress = spec.Egress[:1]
			p.NetworkPolicy = &networkingv1.NetworkPolicy{ObjectMeta: p.ObjectMeta, Spec: *spec}
		case "allow-backend-api":
			spec := p.Spec.DeepCopy()
			spec.Egress[1].Ports = ports(npPort(tcp, 443), npPort(tcp, 8443))
			p.NetworkPolicy = &networkingv1.NetworkPolicy{ObjectMeta: p.ObjectMeta, Spec: *spec}
		case "allow-postgres-ingress":
			spec := p.Spec.DeepCopy()
			spec.Ingress = append(spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: to(pod("worker")), Ports: ports(npPort(tcp, 5432))})
			p.NetworkPolicy = &networkingv1.NetworkPolicy{ObjectMeta: p.ObjectMeta, Spec: *spec}
		}
	}
	c.Policies = append(c.Policies, policy("app", "allow-worker-egress", 130, networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "worker"), PolicyTypes: eg,
		Egress: []networkingv1.NetworkPolicyEgressRule{{To: to(pod("postgres")), Ports: ports(npPort(tcp, 5432))}},
	}))
	c.Sort()
	return c
}

const (
	baseSHA = "1111111111111111111111111111111111111111"
	headSHA = "2222222222222222222222222222222222222222"
)

// fixtureReport is a check of three overlays: dev with the pull request's
// changes and findings, prod unchanged, and staging that failed to render.
func fixtureReport(t *testing.T) *model.Report {
	t.Helper()
	ms := reach.ComputeAll(shop(), shopHead())
	diff := reach.Diff(ms[0], ms[1])
	require.False(t, diff.Empty())
	prodMs := reach.ComputeAll(shop(), shop())
	prodDiff := reach.Diff(prodMs[0], prodMs[1])
	require.True(t, prodDiff.Empty())

	netpol := model.ObjectRef{Kind: "NetworkPolicy", Namespace: "app", Name: "allow-frontend"}
	api := model.ObjectRef{Kind: "Deployment", Namespace: "app", Name: "backend-api"}
	shared := model.Finding{
		RuleID: "NP010", Title: "ipBlock covers pods", Severity: model.SeverityWarning,
		Message: "ipBlock 0.0.0.0/0 overlaps the pod CIDR 10.244.0.0/16 without excepting it | pods match by address",
		Object:  netpol, Field: "spec.ingress[0].from[0].ipBlock",
		Location: model.Location{File: "bases/app/networkpolicies.yaml", Line: 30},
		Controls: []string{"CIS-5.3.2"}, Remediation: "Add except: [10.244.0.0/16].",
	}
	dev := []model.Finding{
		{
			RuleID: "NP003", Title: "DNS unreachable", Severity: model.SeverityError,
			Message: "app/backend-api is isolated for egress but cannot reach DNS on TCP 53 <kube-system/kube-dns>",
			Object:  api, Location: model.Location{File: "bases/app/backend-api.yaml", Line: 1},
			Controls: []string{"SOC2-CC6.6"}, Remediation: "Allow egress to kube-dns on UDP and TCP 53.",
		},
		{
			RuleID: "expect/allow", Title: "Required flow is denied", Severity: model.SeverityError,
			Message:  "app/worker -> app/rabbitmq 5672/TCP must be allowed (queue)\nbut app/allow-worker-egress allows only TCP 5432",
			Location: model.Location{File: "overlays/dev/expectations.yaml", Line: 7},
		},
		shared,
		{
			RuleID: "NP011", Title: "Wide port range", Severity: model.SeverityWarning,
			Message: "rule allows TCP 1-65535 to app/postgres", Object: netpol, Field: "spec.egress[0].ports",
			Location: model.Location{File: "bases/app/networkpolicies.yaml", Line: 34},
			Waived:   &model.Waiver{RuleID: "NP011", Object: "NetworkPolicy/app/allow-frontend", Reason: "migration, ticket OPS-12", Owner: "@platform-team", Expires: "2027-01-31"},
		},
		{
			RuleID: "NP016", Title: "Unused label", Severity: model.SeverityInfo,
			Message: "label tier has no selector that reads it", Object: api,
			Location: model.Location{File: "bases/app/backend-api.yaml", Line: 4},
		},
	}
	return &model.Report{
		Base:      model.RefInfo{Ref: "main", Commit: baseSHA},
		Head:      model.RefInfo{Ref: "feature/worker", Commit: headSHA},
		CheckedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		RulesFrom: "base",
		// The rules that judged it: NP003, NP010, NP011 and NP016 found
		// something; NP001 found nothing and still shows as checked.
		Rules: []model.Rule{
			{ID: "NP001", Title: "Default deny in every namespace", Severity: model.SeverityError,
				Description: "Every namespace with workloads has default-deny ingress and egress.",
				Remediation: "Add default-deny-ingress and default-deny-egress.", Controls: []string{"CIS-5.3.2"}},
			{ID: "NP003", Title: "DNS unreachable", Severity: model.SeverityError, Controls: []string{"SOC2-CC6.6"},
				Remediation: "Allow egress to kube-dns on UDP and TCP 53."},
			{ID: "NP010", Title: "ipBlock covers pods", Severity: model.SeverityWarning, Controls: []string{"CIS-5.3.2"},
				Remediation: "Add except: [10.244.0.0/16]."},
			{ID: "NP011", Title: "Wide port range", Severity: model.SeverityWarning, Controls: []string{}},
			{ID: "NP016", Title: "Unused label", Severity: model.SeverityInfo, Controls: []string{}},
		},
		RulesChanged: []model.RuleChange{{File: "rego/dns.rego", Change: "modified"}},
		FailOn:       model.SeverityError,
		Repository:   "acme/gitops",
		Overlays: []model.OverlayReport{
			{Name: "dev", Environment: "dev", Path: "overlays/dev", Findings: dev, Diff: diff, Matrix: ms[1],
				InputDigest: "sha256:" + strings.Repeat("d", 64), Expectations: 4},
			{Name: "prod", Environment: "prod", Path: "overlays/prod", Findings: []model.Finding{shared}, Diff: prodDiff, Matrix: prodMs[1],
				InputDigest: "sha256:" + strings.Repeat("e", 64), Expectations: 4},
			{Name: "staging", Environment: "staging", Path: "overlays/staging", Error: "overlays/staging/kustomization.yaml:3: resources[1]: file ../missing.yaml does not exist"},
		},
	}
}
