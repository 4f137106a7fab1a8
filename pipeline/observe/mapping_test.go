package observe

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/reachgate/reachgate/pipeline/model"
)

func TestMapperNeverGuesses(t *testing.T) {
	t.Parallel()
	c := &model.Cluster{
		PodCIDRs:     model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16")),
		ServiceCIDRs: model.IPSetOf(netip.MustParsePrefix("10.96.0.0/12")),
		Workloads: []model.Workload{
			{Namespace: "app", Name: "frontend", Kind: "Deployment", Labels: map[string]string{"app": "frontend"}},
			{Namespace: "app", Name: "postgres", Kind: "StatefulSet", Labels: map[string]string{"app": "postgres"}},
			{Namespace: "app", Name: "backup", Kind: "CronJob", Labels: map[string]string{"app": "backup"}},
			{Namespace: "app", Name: "web", Kind: "Deployment", Labels: map[string]string{"tier": "web"}},
			{Namespace: "app", Name: "web-canary", Kind: "Deployment", Labels: map[string]string{"tier": "web"}},
			{Namespace: "app", Name: "pinned", Kind: "Pod", Labels: map[string]string{"app": "pinned"}, IPs: []netip.Addr{netip.MustParseAddr("10.244.3.3")}},
			{Namespace: "kube-system", Name: "agent", Kind: "DaemonSet", HostNetwork: true},
		},
		Externals: []model.External{{Name: "partner", CIDRs: model.IPSetOf(netip.MustParsePrefix("203.0.113.0/24"))}},
	}
	m := &model.Matrix{}
	for i := range c.Workloads {
		if !c.Workloads[i].HostNetwork {
			m.Peers = append(m.Peers, model.Peer{Workload: &c.Workloads[i]})
		}
	}
	m.Peers = append(m.Peers,
		model.Peer{Range: model.IPRange{From: netip.MustParseAddr("0.0.0.0"), To: netip.MustParseAddr("10.95.255.255")}},
		model.Peer{Range: model.PrefixRange(netip.MustParsePrefix("203.0.113.0/24")), External: "partner"},
	)
	mp := NewMapper(c, m)
	name := func(e Endpoint) string {
		p, why := mp.Map(e)
		if p < 0 {
			return "unknown: " + why
		}
		return m.Peers[p].String()
	}
	for _, tc := range []struct {
		e    Endpoint
		want string
	}{
		{Endpoint{Namespace: "app", Pod: "frontend-7c9d8b6f5d-x2k4p"}, "app/frontend[Deployment]"},
		{Endpoint{Namespace: "app", Pod: "postgres-0"}, "app/postgres[StatefulSet]"},
		{Endpoint{Namespace: "app", Pod: "backup-29412345-mkx8f"}, "app/backup[CronJob]"},
		{Endpoint{Namespace: "app", Pod: "frontend"}, "app/frontend[Deployment]"},
		// A StatefulSet's pod has one generated segment, not two.
		{Endpoint{Namespace: "app", Pod: "postgres-7c9d8b6f5d-x2k4p"}, "unknown: no workload of namespace app matches it by pod name, owner, labels or address"},
		{Endpoint{Namespace: "app", Pod: "renamed-xyz", Workload: "Deployment/frontend"}, "app/frontend[Deployment]"},
		{Endpoint{Namespace: "app", Labels: "app=postgres\nversion=16"}, "app/postgres[StatefulSet]"},
		{Endpoint{Namespace: "app", Labels: "tier=web"}, "unknown: the labels of app/{tier=web} match app/web-canary[Deployment], app/web[Deployment]"},
		{Endpoint{Namespace: "app", Pod: "anonymous", IP: netip.MustParseAddr("10.244.3.3")}, "app/pinned[Pod]"},
		{Endpoint{IP: netip.MustParseAddr("10.244.3.3")}, "app/pinned[Pod]"},
		{Endpoint{IP: netip.MustParseAddr("10.244.9.9")}, "unknown: an address in the pod CIDRs that no workload of the overlay holds (pod addresses are known only from exported manifests with status.podIP)"},
		{Endpoint{IP: netip.MustParseAddr("10.96.0.10")}, "unknown: a Service address: the flow was recorded before translation to a backend pod"},
		{Endpoint{IP: netip.MustParseAddr("203.0.113.7"), Reserved: "world"}, "partner(203.0.113.0/24)"},
		{Endpoint{IP: netip.MustParseAddr("8.8.8.8")}, "0.0.0.0-10.95.255.255"},
		{Endpoint{IP: netip.MustParseAddr("10.244.0.1"), Reserved: "host"}, `unknown: Cilium's reserved identity "host" (the node, the API server, ...): outside NetworkPolicy`},
		{Endpoint{Namespace: "kube-system", Pod: "agent-x2k4p"}, "unknown: kube-system/agent[DaemonSet] uses the host network: outside NetworkPolicy"},
		{Endpoint{Namespace: "legacy", Pod: "batch-1"}, "unknown: namespace legacy has no workloads in the overlay"},
	} {
		assert.Equal(t, tc.want, name(tc.e), "%+v", tc.e)
	}
}
