package render

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/validate"
	"github.com/reachgate/reachgate/pipeline/validate/validatetest"
)

// summary prints a cluster compactly, one line per entry.
func summary(c *model.Cluster) []string {
	labels := func(m map[string]string) string {
		var kv []string
		for k, v := range m {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		return "{" + strings.Join(kv, ",") + "}"
	}
	out := []string{}
	for _, n := range c.Namespaces {
		inv := ""
		if n.Inventory {
			inv = " inventory"
		}
		out = append(out, fmt.Sprintf("namespace %s %s%s %s", n.Name, labels(n.Labels), inv, n.Source))
	}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		var ports []string
		for _, p := range w.Ports {
			s := fmt.Sprintf("%s/%d/%s", p.Name, p.Port, p.Protocol)
			if p.HostPort != 0 {
				s += fmt.Sprintf("(host %d)", p.HostPort)
			}
			ports = append(ports, s)
		}
		extra := ""
		if w.HostNetwork {
			extra += " hostNetwork"
		}
		if len(w.IPs) > 0 {
			extra += fmt.Sprintf(" ips%v", w.IPs)
		}
		if w.Inventory {
			extra += " inventory"
		}
		out = append(out, fmt.Sprintf("workload %s %s ports%v%s %s", w.String(), labels(w.Labels), ports, extra, w.Source))
	}
	for _, s := range c.Services {
		var ports []string
		for _, p := range s.Ports {
			ps := fmt.Sprintf("%s:%d->%s/%s", p.Name, p.Port, p.TargetPort, p.Protocol)
			if p.NodePort != 0 {
				ps += fmt.Sprintf("(node %d)", p.NodePort)
			}
			ports = append(ports, ps)
		}
		out = append(out, fmt.Sprintf("service %s/%s %s %s ports%v externalIPs%v %s",
			s.Namespace, s.Name, s.Type, labels(s.Selector), ports, s.ExternalIPs, s.Source))
	}
	for _, p := range c.Policies {
		out = append(out, fmt.Sprintf("policy %s %s", p.Key(), p.Source))
	}
	return out
}

func TestDecodeModel(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- m/namespaces.yaml --
apiVersion: v1
kind: Namespace
metadata:
  name: app
  labels:
    team: platform
    kubernetes.io/metadata.name: wrong
-- m/workloads.yaml --
apiVersion: v1
kind: Pod
metadata:
  name: probe
  namespace: app
  labels: {app: probe}
spec:
  hostNetwork: true
  initContainers:
  - name: sidecar
    image: envoy
    restartPolicy: Always
    ports:
    - {name: admin, containerPort: 9901}
  containers:
  - name: main
    image: busybox
    ports:
    - {name: dns, containerPort: 53, protocol: UDP, hostPort: 53}
    - {containerPort: 8080}
status:
  podIP: 10.244.1.7
  podIPs:
  - ip: 10.244.1.7
  - ip: fd00::7
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{name: http, containerPort: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: app}
spec:
  selector: {matchLabels: {app: db}}
  serviceName: db
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5432, protocol: TCP}]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: app}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: a, image: agent, ports: [{name: sctp, containerPort: 9999, protocol: SCTP}]}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: app}
spec:
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec:
      containers: [{name: r, image: r}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: app}
spec:
  template:
    metadata: {labels: {app: migrate}}
    spec:
      restartPolicy: Never
      containers: [{name: m, image: m}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: app}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec:
          restartPolicy: OnFailure
          containers: [{name: b, image: b}]
-- m/services.yaml --
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  type: NodePort
  selector: {app: web}
  externalIPs: [192.0.2.10]
  ports:
  - {name: http, port: 80, targetPort: http, nodePort: 30080}
  - {name: alt, port: 8080}
  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}
-- m/policies.yaml --
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - {port: http}
    - {port: 8000, endPort: 8100, protocol: TCP}
-- m/crd.yaml --
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: calico, namespace: app}
spec: {selector: all(), anything: goes}
`)
	objs, _, err := Manifests(fs, "m")
	require.NoError(t, err)

	base := &model.Cluster{
		Namespaces: []model.Namespace{
			{Name: "ingress", Labels: map[string]string{model.NamespaceNameLabel: "ingress"}, Inventory: true},
		},
		Workloads: []model.Workload{
			{Namespace: "ingress", Name: "controller", Kind: "Deployment", Labels: map[string]string{"app": "ingress"}, Inventory: true},
		},
		Externals: []model.External{{Name: "internet", CIDRs: model.IPSetOf(netip.MustParsePrefix("0.0.0.0/0"))}},
		PodCIDRs:  model.IPSetOf(netip.MustParsePrefix("10.244.0.0/16")),
	}
	c, errs := Decode(objs, base)
	assert.Empty(t, inputErrors(errs))
	assert.Equal(t, []string{
		"namespace app {kubernetes.io/metadata.name=app,team=platform} m/namespaces.yaml:1",
		"namespace default {kubernetes.io/metadata.name=default} inventory <unknown>",
		"namespace ingress {kubernetes.io/metadata.name=ingress} inventory <unknown>",
		"workload app/agent[DaemonSet] {app=agent} ports[sctp/9999/SCTP] m/workloads.yaml:51",
		"workload app/backup[CronJob] {app=backup} ports[] m/workloads.yaml:81",
		"workload app/db[StatefulSet] {app=db} ports[pg/5432/TCP] m/workloads.yaml:40",
		"workload app/migrate[Job] {app=migrate} ports[] m/workloads.yaml:71",
		"workload app/probe[Pod] {app=probe} ports[admin/9901/TCP dns/53/UDP(host 53) /8080/TCP] hostNetwork ips[10.244.1.7 fd00::7] m/workloads.yaml:1",
		"workload app/rs[ReplicaSet] {app=rs} ports[] m/workloads.yaml:61",
		"workload app/web[Deployment] {app=web,tier=front} ports[http/80/TCP] m/workloads.yaml:27",
		"workload ingress/controller[Deployment] {app=ingress} ports[] inventory <unknown>",
		"service app/web NodePort {app=web} ports[http:80->http/TCP(node 30080) alt:8080->8080/TCP dns:53->5353/UDP] externalIPs[192.0.2.10] m/services.yaml:1",
		"policy app/allow-web m/policies.yaml:8",
		"policy default/deny-all m/policies.yaml:1",
	}, summary(c))
	assert.Len(t, c.Objects, 12, "every object, the Calico policy included")
	assert.Equal(t, base.Externals, c.Externals)
	assert.Equal(t, base.PodCIDRs, c.PodCIDRs)

	np := c.Policies[0].NetworkPolicy
	assert.Equal(t, "app", np.Namespace)
	require.Len(t, np.Spec.Ingress, 1)
	assert.Equal(t, "http", np.Spec.Ingress[0].Ports[0].Port.StrVal)
	assert.Equal(t, int32(8100), *np.Spec.Ingress[0].Ports[1].EndPort)
	assert.Equal(t, "default", c.Policies[1].Namespace, "a namespaced kind without namespace is in default")

	// base is untouched.
	assert.Len(t, base.Namespaces, 1)
	assert.Len(t, base.Workloads, 1)
	assert.Nil(t, base.Objects)
}

// Each bad object is reported with file:line, object and field, is left
// out of the model, and everything else still loads.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- m/ns.yaml --
apiVersion: v1
kind: Namespace
metadata:
  name: app
-- m/policies.yaml --
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: app}
spec:
  podSelector: {}
  ingress:
  - form:
    - podSelector: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: types, namespace: app}
spec:
  podSelector: {matchLabels: {app: [web]}}
  ingress:
  - ports:
    - port: 80.5
    - port: true
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: good, namespace: app}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: extensions/v1beta1
kind: NetworkPolicy
metadata: {name: ancient, namespace: app}
spec:
  podSelector: {}
-- m/workloads.yaml --
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        portz: []
        ports: [{containerPort: "80"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: app}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: api, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: app}
spec:
  template:
    spec:
      containers: [{name: api, image: api}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: lost, namespace: staging}
spec:
  template:
    spec:
      containers: [{name: x, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system}
spec:
  containers: [{name: dns, image: coredns}]
status: {podIP: 10.0.0.300}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app}
spec:
  containers: [{name: x, image: x}]
---
metadata: {name: kindless}
-- m/services.yaml --
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  selector: {app: web}
  ports: [{port: "80"}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: app}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: nowhere}
`)
	objs, _, err := Manifests(fs, "m")
	require.NoError(t, err)
	c, errs := Decode(objs, &model.Cluster{Workloads: []model.Workload{
		{Namespace: "app", Name: "api", Kind: "Deployment", Inventory: true},
	}})
	assert.Equal(t, []string{
		`m/policies.yaml:1: NetworkPolicy app/typo: spec.ingress[0].form: unknown field`,
		`m/policies.yaml:10: NetworkPolicy app/types: spec.ingress[0].ports[0].port: expected an integer or a string, got a number (80.5)`,
		`m/policies.yaml:10: NetworkPolicy app/types: spec.ingress[0].ports[1].port: expected an integer or a string, got a boolean (true)`,
		`m/policies.yaml:10: NetworkPolicy app/types: spec.podSelector.matchLabels.app: expected a string, got a list`,
		`m/policies.yaml:27: NetworkPolicy app/ancient: apiVersion: extensions/v1beta1 NetworkPolicy is not served by current Kubernetes: use networking.k8s.io/v1`,
		`m/services.yaml:1: Service app/web: spec.ports[0].port: expected an integer, got a string ("80")`,
		`m/services.yaml:15: Widget nowhere/w: metadata.namespace: namespace "nowhere" is neither rendered nor in the inventory`,
		`m/workloads.yaml:1: Deployment app/web: spec.template.spec.containers[0].ports[0].containerPort: expected an integer, got a string ("80")`,
		`m/workloads.yaml:1: Deployment app/web: spec.template.spec.containers[0].portz: unknown field`,
		`m/workloads.yaml:15: Deployment app/api: workload app/api is also declared in the inventory; the rendered one is used`,
		`m/workloads.yaml:25: Deployment app/api: duplicate object: also defined at m/workloads.yaml:15`,
		`m/workloads.yaml:33: Deployment staging/lost: metadata.namespace: namespace "staging" is neither rendered nor in the inventory`,
		`m/workloads.yaml:41: Pod kube-system/coredns: status.podIP: invalid IP address "10.0.0.300"`,
		`m/workloads.yaml:48: Pod app/: metadata.name: missing name`,
		`m/workloads.yaml:54: /kindless: kind: missing kind`,
	}, inputErrors(errs))

	// What is valid still loads.
	assert.Equal(t, []string{
		"namespace app {kubernetes.io/metadata.name=app} m/ns.yaml:1",
		"namespace kube-system {kubernetes.io/metadata.name=kube-system} inventory <unknown>",
		"workload app/api[Deployment] {app=api} ports[http/8080/TCP] m/workloads.yaml:15",
		"service app/api ClusterIP {app=api} ports[:80->http/TCP] externalIPs[] m/services.yaml:8",
		"policy app/good m/policies.yaml:20",
	}, summary(c))
	assert.Len(t, c.Objects, len(objs))
}

// Decode checks structure only: values the API server refuses (a bad
// operator, a duplicate policy type, a port of 70000, protocol ICMP) are
// pipeline/validate's to report, and pipeline/run leaves those objects out
// before decoding. What the model cannot hold is skipped, not reported a
// second time; what the API server accepts loads.
func TestDecodeChecksStructureOnly(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- w.yaml --
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
        ports:
        - {containerPort: 70000, protocol: ICMP}
        - {containerPort: 80, name: Bad_Name, hostPort: -1}
        - {containerPort: 8080, name: http}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 70000}, {port: 80, targetPort: "Not_A_Name"}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: twice}
spec:
  podSelector:
    matchExpressions:
    - {key: app, operator: Equals, values: [web]}
  policyTypes: [Ingress, Ingress]
`)
	objs, _, err := Manifests(fs, "w.yaml")
	require.NoError(t, err)
	c, errs := Decode(objs, nil)
	assert.Empty(t, inputErrors(errs))
	assert.Equal(t, []string{
		"namespace default {kubernetes.io/metadata.name=default} inventory <unknown>",
		"workload default/web[Deployment] {} ports[http/8080/TCP] w.yaml:1",
		"service default/web ClusterIP {} ports[:80->Not_A_Name/TCP] externalIPs[] w.yaml:15",
		"policy default/twice w.yaml:21",
	}, summary(c))
}

// YAML 1.1 would read y, on, no, yes and off as booleans; Kubernetes
// manifests rendered by kustomize are YAML 1.2, where they are strings.
// Nothing may be dropped or mangled, and what WriteYAML prints must read
// back the same even with a YAML 1.1 reader.
func TestYAML11Traps(t *testing.T) {
	t.Parallel()
	files := `
-- base/kustomization.yaml --
resources: [all.yaml]
-- base/all.yaml --
apiVersion: v1
kind: Namespace
metadata:
  name: y
  labels:
    on: on
    enabled: no
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: off
  namespace: y
  labels: {legacy: yes, n: n, octal: "0777"}
spec:
  selector: {matchLabels: {app: on}}
  template:
    metadata:
      labels: {app: on, debug: off}
    spec:
      containers: [{name: no, image: "y:1", ports: [{name: y, containerPort: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no, namespace: y}
spec:
  podSelector: {matchLabels: {app: on}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {on: yes}}}]
    ports: [{port: y}]
`
	check := func(t *testing.T, objs []model.Object) {
		t.Helper()
		c, errs := Decode(objs, nil)
		require.Empty(t, inputErrors(errs))
		assert.Equal(t, []string{
			"namespace y {enabled=no,kubernetes.io/metadata.name=y,on=on} base/all.yaml:1",
			"workload y/off[Deployment] {app=on,debug=off} ports[y/80/TCP] base/all.yaml:9",
			"policy y/no base/all.yaml:23",
		}, summary(c))
		assert.Equal(t, "on", c.Policies[0].Spec.PodSelector.MatchLabels["app"])
		assert.Equal(t, "yes", c.Policies[0].Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels["on"])
	}

	t.Run("kustomize", func(t *testing.T) {
		t.Parallel()
		objs, err := Overlay(memFS(t, files), "base")
		require.NoError(t, err)
		check(t, objs)
	})
	t.Run("manifests", func(t *testing.T) {
		t.Parallel()
		objs, _, err := Manifests(memFS(t, files), "base/all.yaml")
		require.NoError(t, err)
		check(t, objs)

		var b strings.Builder
		require.NoError(t, WriteYAML(&b, objs))
		out := b.String()
		for _, quoted := range []string{`name: "y"`, `"on": "on"`, `enabled: "no"`, `name: "off"`, `legacy: "yes"`, `"n": "n"`, `octal: "0777"`, `debug: "off"`} {
			assert.Contains(t, out, quoted)
		}
		// And it reads back to the same objects.
		back := memFS(t, "-- out.yaml --\n"+out)
		again, _, err := Manifests(back, "out.yaml")
		require.NoError(t, err)
		require.Len(t, again, len(objs))
		for i := range objs {
			assert.Equal(t, objs[i].Doc, again[i].Doc)
			assert.Equal(t, objs[i].ObjectRef, again[i].ObjectRef)
		}
	})
}

// Traffic policies of kinds reachgate does not evaluate are listed as
// omitted (the matrix ignores them); other unknown kinds stay silent, and
// so does a kind of the table under another group.
func TestDecodeListsUnevaluatedPolicies(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- m/all.yaml --
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: fqdn}
spec: {selector: all()}
---
apiVersion: crd.antrea.io/v1beta1
kind: NetworkPolicy
metadata: {name: host, namespace: app}
spec: {priority: 5}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: calico, namespace: app}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: global}
spec: {selector: all()}
---
apiVersion: crd.antrea.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: antrea}
spec: {priority: 5}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: anp}
spec: {priority: 10, subject: {namespaces: {}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
---
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata: {name: pool}
---
apiVersion: example.com/v1
kind: CiliumNetworkPolicy
metadata: {name: lookalike, namespace: app}
`)
	objs, _, err := Manifests(fs, "m")
	require.NoError(t, err)
	c, errs := Decode(objs, nil)
	assert.Empty(t, inputErrors(errs))
	var got []string
	for _, o := range c.Omitted {
		got = append(got, fmt.Sprintf("%s %s %s %s", o.Reason, o.APIVersion, o.Object, o.Source))
	}
	assert.Equal(t, []string{
		"unevaluated crd.projectcalico.org/v1 GlobalNetworkPolicy/fqdn m/all.yaml:5",
		"unevaluated crd.antrea.io/v1beta1 NetworkPolicy app/host m/all.yaml:10",
		"unevaluated crd.projectcalico.org/v1 NetworkPolicy app/calico m/all.yaml:15",
		"unevaluated projectcalico.org/v3 GlobalNetworkPolicy/global m/all.yaml:20",
		"unevaluated crd.antrea.io/v1beta1 ClusterNetworkPolicy/antrea m/all.yaml:25",
	}, got)
	assert.Empty(t, c.Policies)
	// AdminNetworkPolicies are evaluated: in the model, not omitted.
	require.Len(t, c.ClusterPolicies, 1)
	assert.Equal(t, "AdminNetworkPolicy/anp", c.ClusterPolicies[0].Key())
}

// A NetworkPolicy left out as invalid is read leniently for what it could
// have isolated: its namespace, its podSelector (nil when unreadable) and
// the directions it declares (the API default when it names none).
func TestInvalidPolicy(t *testing.T) {
	t.Parallel()
	fs := memFS(t, `
-- m/all.yaml --
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: seed, namespace: app}
spec:
  podSelector: {}
  policyTypes: [Egress, {to: [{podSelector: {}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: exported}
spec:
  podSelector: {matchLabels: {app: db}}
  egress: [{}]
status: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: garbled, namespace: app}
spec:
  podSelector: [app]
  policyTypes: [Egrss]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
`)
	objs, _, err := Manifests(fs, "m")
	require.NoError(t, err)
	var got []string
	for _, obj := range objs {
		o, ok := InvalidPolicy(obj)
		if !ok {
			got = append(got, "not a policy: "+obj.ObjectRef.String())
			continue
		}
		sel := "unreadable"
		if o.PodSelector != nil {
			sel = fmt.Sprint(o.PodSelector.MatchLabels)
		}
		got = append(got, fmt.Sprintf("%s %s %s ingress=%v egress=%v", o.Key(), o.Source, sel, o.Ingress, o.Egress))
	}
	assert.Equal(t, []string{
		"app/seed m/all.yaml:1 map[] ingress=false egress=true",
		"default/exported m/all.yaml:8 map[app:db] ingress=true egress=true",
		"app/garbled m/all.yaml:16 unreadable ingress=true egress=false",
		"not a policy: ConfigMap/x",
	}, got)
}

// TestDecodeTypedAsDecode: the model from the objects the validation
// decoded (validate.ObjectsDecoded, as every command loads an overlay) is
// the model Decode builds by decoding them again: on every kustomization
// of this repository, on the validation's cases (invalid objects left
// out, as the workspace does) and on a synthetic cluster; and leaves the
// decoded objects as they were.
func TestDecodeTypedAsDecode(t *testing.T) {
	t.Parallel()
	sets := map[string][]model.Object{}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dirs, err := filepath.Glob(filepath.Join(root, "overlays", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		objs, err := OverlayRoot(filesys.MakeFsOnDisk(), root, dir)
		require.NoError(t, err, dir)
		sets[dir] = objs
	}
	cases, err := validatetest.Load("../validate/testdata/cases")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		sets[c.Name] = c.Objects
	}
	tree := t.TempDir()
	_, err = synth.WriteTree(tree, synth.Cluster(synth.Options{Workloads: 300, Namespaces: 6, Seed: 3}), synth.TreeOptions{})
	require.NoError(t, err)
	objs, err := OverlayRoot(filesys.MakeFsOnDisk(), tree, filepath.Join(tree, "overlays/prod"))
	require.NoError(t, err)
	sets["synthetic"] = objs
	// A NetworkPolicy whose id names a namespace its document does not is
	// placed in the id's, in the model only.
	sets["namespace by id"] = []model.Object{{
		ObjectRef:  model.ObjectRef{Kind: "NetworkPolicy", Namespace: "team", Name: "deny"},
		APIVersion: "networking.k8s.io/v1",
		Source:     model.Location{File: "policy.yaml", Line: 1},
		Doc: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
			"metadata": map[string]any{"name": "deny"},
			"spec":     map[string]any{"podSelector": map[string]any{}},
		},
	}, {
		ObjectRef:  model.ObjectRef{Kind: "Namespace", Name: "team"},
		APIVersion: "v1",
		Source:     model.Location{File: "policy.yaml", Line: 8},
		Doc:        map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "team"}},
	}}
	reused := 0
	for name, objs := range sets {
		problems, typed := validate.ObjectsDecoded(objs)
		// DecodeTyped only reads them: check's base and head share them.
		before, err := json.Marshal(typed)
		require.NoError(t, err)
		defer func() {
			after, err := json.Marshal(typed)
			require.NoError(t, err)
			assert.JSONEq(t, string(before), string(after), "%s: DecodeTyped wrote to a decoded value", name)
		}()
		invalid := map[model.ObjectRef]bool{}
		for _, e := range problems {
			invalid[e.Object] = true
		}
		var valid []model.Object
		var validTyped []any
		for i, o := range objs {
			if !invalid[o.ObjectRef] {
				valid = append(valid, o)
				validTyped = append(validTyped, typed[i])
				if typed[i] != nil {
					reused++
				}
			}
		}
		want, wantErrs := Decode(valid, nil)
		got, gotErrs := DecodeTyped(valid, validTyped, nil)
		assert.Equal(t, wantErrs, gotErrs, name)
		assert.Equal(t, want, got, name)
		if len(validTyped) > 0 {
			// A list of the wrong length is not taken.
			got, gotErrs = DecodeTyped(valid, validTyped[1:], nil)
			assert.Equal(t, wantErrs, gotErrs, name)
			assert.Equal(t, want, got, name)
		}
	}
	assert.Greater(t, reused, 1000, "objects taken as the validation decoded them")
}
