package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Cilium policies are checked against the CRD schema that cilium v1.20.2
// ships and against the agent's own checks; every problem names its
// field, the object is left out (and listed as omitted), and valid ones
// load.
func TestDecodeCiliumPolicies(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- m/ns.yaml --
apiVersion: v1
kind: Namespace
metadata: {name: app}
-- m/cnp.yaml --
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {namespace: app, name: good}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: edge}}]
    toPorts: [{ports: [{port: "8080", endPort: 8090, protocol: TCP}, {port: http}], rules: {http: [{method: GET}]}}]
  egress:
  - toFQDNs: [{matchName: API.Stripe.com.}, {matchPattern: "*.github.com"}]
  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]
  egressDeny:
  - toCIDRSet: [{cidr: 169.254.0.0/16, except: [169.254.1.0/24]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {namespace: app, name: bad}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingres: []
  ingress:
  - fromEndpoints: [{matchLabels: {app: a}}]
    fromEntities: [world, moon]
  - toPorts: [{ports: [{port: "70000", protocol: ICMP}]}]
  egress:
  - toCIDR: [10.0.0.0/33]
  egressDeny:
  - toFQDNs: [{matchName: a.example.com}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {namespace: app, name: unsound}
specs:
- endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: a}}]
    fromEntities: [world]
  - toPorts: [{ports: [{port: "0", endPort: 10}]}]
  egress:
  - toServices: [{k8sService: {serviceName: x, namespace: app}}]
  - toPorts: [{ports: [{port: "5353"}], rules: {dns: [{matchName: x.example.com}]}}]
- nodeSelector: {}
  ingress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: nothing}
---
apiVersion: cilium.io/v2alpha1
kind: CiliumNetworkPolicy
metadata: {namespace: app, name: old}
spec: {}
`)
	objs, _, err := Manifests(fs, "m")
	require.NoError(t, err)
	c, errs := Decode(objs, nil)
	assert.Equal(t, []string{
		`m/cnp.yaml:16: CiliumNetworkPolicy app/bad: spec.egress[0].toCIDR[0]: invalid value "10.0.0.0/33": not a CIDR`,
		`m/cnp.yaml:16: CiliumNetworkPolicy app/bad: spec.egressDeny[0].toFQDNs: unknown field "toFQDNs"`,
		`m/cnp.yaml:16: CiliumNetworkPolicy app/bad: spec.ingres: unknown field "ingres"`,
		`m/cnp.yaml:16: CiliumNetworkPolicy app/bad: spec.ingress[0].fromEntities[1]: unsupported value "moon": supported values: "all", "world", "cluster", "cluster-mesh", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"`,
		`m/cnp.yaml:16: CiliumNetworkPolicy app/bad: spec.ingress[1].toPorts[0].ports[0].protocol: unsupported value "ICMP": supported values: "TCP", "UDP", "SCTP", "VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH", "ANY"`,
		`m/cnp.yaml:31: CiliumNetworkPolicy app/unsound: specs[0].ingress[0]: combining fromEndpoints, fromEntities, fromCIDR and fromCIDRSet in one rule is not supported by Cilium: use one rule each`,
		`m/cnp.yaml:31: CiliumNetworkPolicy app/unsound: specs[0].ingress[1].toPorts[0].ports[0].endPort: endPort needs a port`,
		`m/cnp.yaml:31: CiliumNetworkPolicy app/unsound: specs[0].egress[0].toServices: toServices is not evaluated: Service-backed peers of Cilium policies are not evaluated`,
		`m/cnp.yaml:31: CiliumNetworkPolicy app/unsound: specs[0].egress[1].toPorts[0].ports: port 53 must be specified for DNS rules`,
		`m/cnp.yaml:31: CiliumNetworkPolicy app/unsound: specs[1].nodeSelector: nodeSelector is not evaluated: nodes are not in the model (host policies)`,
		`m/cnp.yaml:46: CiliumClusterwideNetworkPolicy/nothing: spec: spec or specs must be provided`,
		`m/cnp.yaml:50: CiliumNetworkPolicy app/old: apiVersion: cilium.io/v2alpha1 CiliumNetworkPolicy is not served by current Kubernetes: use cilium.io/v2`,
	}, inputErrors(errs))
	require.Len(t, c.CiliumPolicies, 1)
	p := c.CiliumPolicies[0]
	assert.Equal(t, "app/good", p.Key())
	r := p.Rules[0]
	assert.Equal(t, "spec", r.Section)
	assert.Equal(t, []model.CiliumPort{{Protocols: []model.Protocol{model.TCP}, From: 8080, To: 8090}, {Protocols: model.Protocols[:], Named: "http"}}, r.Ingress[0].Ports)
	assert.Equal(t, []string{"http"}, r.Ingress[0].L7)
	assert.Equal(t, []model.FQDNSelector{{MatchName: "api.stripe.com"}, {MatchPattern: "*.github.com"}}, r.Egress[0].FQDNs)
	assert.Equal(t, []string{"*"}, r.Egress[1].DNSNames)
	assert.Equal(t, "169.254.0.0/16 except 169.254.1.0/24", r.EgressDeny[0].CIDRText)
	var omitted []string
	for _, o := range c.Omitted {
		omitted = append(omitted, o.Object.String())
	}
	assert.Equal(t, []string{"CiliumNetworkPolicy app/bad", "CiliumNetworkPolicy app/unsound", "CiliumClusterwideNetworkPolicy/nothing"}, omitted)
}
