package reach_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/reachgate/reachgate/pipeline/reach"
)

// redisEgress is a component whose egress policy allows DNS to wherever
// the resolver is, written TO, with a peer list.
func redisEgress(to string) *txtar.Archive {
	return txtar.Parse([]byte(`-- manifests.yaml --
apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: v1
kind: Pod
metadata: {namespace: argocd, name: redis, labels: {app: redis}}
spec:
  containers:
  - {name: redis, image: redis:7, ports: [{containerPort: 6379}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: argocd, name: server, labels: {app: server}}
spec:
  containers:
  - {name: server, image: argocd:3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: argocd, name: redis}
spec:
  podSelector: {matchLabels: {app: redis}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: server}}}]
    ports: [{port: 6379}]
  egress:
  - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
` + to + `
`))
}

// TestDiffIPBlockHoldingEveryPodChangesNothing: rewriting a rule's "to
// everywhere" (no peers) as an ipBlock 0.0.0.0/0, or back, changes no flow
// in a single-stack cluster. The block holds every pod address, so the
// flows to pods stay definite rather than turning address-dependent.
func TestDiffIPBlockHoldingEveryPodChangesNothing(t *testing.T) {
	t.Parallel()
	open := loadScenario(t, redisEgress(""))
	block := loadScenario(t, redisEgress("    to: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: '::/0'}}]"))
	partial := loadScenario(t, redisEgress("    to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.244.0.0/17]}}, {ipBlock: {cidr: '::/0'}}]"))
	ms := reach.ComputeAll(open, block, partial)
	d := reach.Diff(ms[0], ms[1])
	require.True(t, d.Empty(), "added %v, removed %v, changed %v", d.Added, d.Removed, d.Changed)

	// A block that excepts part of the pod CIDR does change something:
	// redis reaches server only if server lands outside the except.
	d = reach.Diff(ms[0], ms[2])
	require.Len(t, d.Changed, 1, "changed %v", d.Changed)
	require.Empty(t, d.Added)
	require.Empty(t, d.Removed)
}
