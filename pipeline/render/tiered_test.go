package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Every field of the tiered kinds that the API server (the CRD schema and
// its CEL rules) would refuse is reported with its path, and the object is
// left out; valid ones load, converted for the engine.
func TestDecodeTieredPolicies(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- m/ns.yaml --
apiVersion: v1
kind: Namespace
metadata: {name: app}
-- m/anp.yaml --
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: good}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - {name: a, action: Pass, from: [{namespaces: {}}], ports: [{portNumber: {port: 80}}, {namedPort: http}]}
  egress:
  - {action: Deny, to: [{networks: [10.0.0.1/8]}, {nodes: {}}], ports: [{portRange: {protocol: UDP, start: 5000, end: 6000}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad}
spec:
  priority: 1001
  subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}
  ingress:
  - {action: Maybe, from: []}
  - {action: Allow, from: [{namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}], ports: []}
  egress:
  - action: Allow
    to: [{networks: [300.0.0.0/8]}, {domainNames: ["*.example..com"]}]
    ports: [{portNumber: {protocol: ICMP, port: 0}}, {portRange: {start: 90, end: 80}}, {portNumber: {port: 1}, namedPort: x}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: typo}
spec:
  priority: 1
  subjects: {namespaces: {}}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: not-default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {action: Pass, from: [{namespaces: {}}]}
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: cnp-bad}
spec:
  tier: Middle
  priority: 0
  subject: {namespaces: {}}
  egress:
  - action: Allow
    to: [{networks: [10.0.0.1/8]}]
    protocols: [{tcp: {destinationPort: {number: 80, range: {start: 1, end: 2}}}}, {destinationNamedPort: http}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: cnp-good}
spec:
  tier: Baseline
  priority: 7
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}
  egress:
  - {action: Accept, to: [{domainNames: [api.example.com, "*.example.org"]}], protocols: [{tcp: {destinationPort: {number: 443}}}, {udp: {}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha3
kind: ClusterNetworkPolicy
metadata: {name: cnp-future}
spec: {}
`)
	objs, _, err := Manifests(fs, "m")
	require.NoError(t, err)
	c, errs := Decode(objs, nil)
	assert.Equal(t, []string{
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.priority: priority 1001 is out of range 0-1000`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.subject: set exactly one of namespaces and pods`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.ingress[0].action: unsupported action "Maybe": want Allow, Deny or Pass`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.ingress[0].from: at least one peer is required`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.ingress[1].from[0]: set exactly one of namespaces, pods, nodes or networks`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.ingress[1].ports: ports may not be empty: leave it out to match every port`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.egress[0].to[0].networks[0]: invalid CIDR "300.0.0.0/8"`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.egress[0].to[1].domainNames[0]: domain name *.example..com has an empty label`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.egress[0].ports[0].portNumber.protocol: unsupported protocol "ICMP": want TCP, UDP or SCTP`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.egress[0].ports[0].portNumber.port: port 0 is out of range 1-65535`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.egress[0].ports[1].portRange.end: end 80 must be greater than start 90`,
		`m/anp.yaml:12: AdminNetworkPolicy/bad: spec.egress[0].ports[2]: set exactly one of portNumber, namedPort and portRange`,
		`m/anp.yaml:26: AdminNetworkPolicy/typo: spec.subjects: unknown field`,
		`m/anp.yaml:33: BaselineAdminNetworkPolicy/not-default: metadata.name: a BaselineAdminNetworkPolicy must be named "default" (it is a singleton), not "not-default"`,
		`m/anp.yaml:33: BaselineAdminNetworkPolicy/not-default: spec.ingress[0].action: unsupported action "Pass": want Allow or Deny`,
		`m/anp.yaml:41: ClusterNetworkPolicy/cnp-bad: spec.tier: unsupported tier "Middle": want Admin or Baseline`,
		`m/anp.yaml:41: ClusterNetworkPolicy/cnp-bad: spec.egress[0].action: unsupported action "Allow": want Accept, Deny or Pass`,
		`m/anp.yaml:41: ClusterNetworkPolicy/cnp-bad: spec.egress[0].to[0].networks[0]: 10.0.0.1/8 has host bits set: write 10.0.0.0/8`,
		`m/anp.yaml:41: ClusterNetworkPolicy/cnp-bad: spec.egress[0].protocols[0].tcp.destinationPort: set exactly one of number and range`,
		`m/anp.yaml:41: ClusterNetworkPolicy/cnp-bad: spec.egress[0].protocols[1].destinationNamedPort: networks, nodes and domainNames peers cannot be set with named ports: they have none`,
		`m/anp.yaml:63: ClusterNetworkPolicy/cnp-future: apiVersion: policy.networking.k8s.io/v1alpha3 ClusterNetworkPolicy is not served by current Kubernetes: use policy.networking.k8s.io/v1beta1`,
	}, inputErrors(errs))
	require.Len(t, c.ClusterPolicies, 2)
	good, cnp := c.ClusterPolicies[0], c.ClusterPolicies[1]
	assert.Equal(t, "AdminNetworkPolicy/good", good.Key())
	assert.Equal(t, model.TierAdmin, good.Tier)
	assert.Equal(t, model.ActionPass, good.Ingress[0].Action)
	assert.Equal(t, []model.ClusterPort{{Protocol: model.TCP, From: 80, To: 80}, {Named: "http"}}, good.Ingress[0].Ports)
	assert.Equal(t, "10.0.0.0/8", good.Egress[0].Peers[0].NetworksText, "the ANP CRD takes host bits; implementations mask them")
	assert.NotNil(t, good.Egress[0].Peers[1].Nodes)
	assert.Equal(t, []model.ClusterPort{{Protocol: model.UDP, From: 5000, To: 6000}}, good.Egress[0].Ports)
	assert.Equal(t, "ClusterNetworkPolicy/cnp-good", cnp.Key())
	assert.Equal(t, model.TierBaseline, cnp.Tier)
	assert.Equal(t, int32(7), cnp.Priority)
	assert.Equal(t, []string{"api.example.com", "*.example.org"}, cnp.Egress[0].Peers[0].DomainNames)
	assert.Equal(t, []model.ClusterPort{{Protocol: model.TCP, From: 443, To: 443}, {Protocol: model.UDP, From: 1, To: model.MaxPort}}, cnp.Egress[0].Ports)
}
