package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

const expectationsYAML = `apiVersion: reachgate.dev/v1alpha1
kind: Expectations
allow:
  - {from: app/frontend, to: app/backend-api, port: 3000/TCP, reason: "the storefront calls the API"}
  - {from: app/backend-api, to: app/postgres, port: 5432/TCP, reason: "orders"}
  - {from: app/backend-api, to: internet, port: 443/TCP}
  - {from: app/worker, to: app/rabbitmq}
deny:
  - {from: app/frontend, to: app/postgres, port: 5432/TCP}
  - {from: app/worker, to: cloud-metadata, reason: "credentials"}
  - {from: app/backend-api, to: 8.8.8.8, port: 53/UDP}
  - {from: app/backend-api, to: 169.254.169.254}
`

func TestParseExpectations(t *testing.T) {
	t.Parallel()
	exp, err := ParseExpectations("overlays/dev/expectations.yaml", []byte(expectationsYAML))
	require.NoError(t, err)
	require.Len(t, exp.Allow, 4)
	require.Len(t, exp.Deny, 4)
	assert.Equal(t, Expectation{
		From: "app/frontend", To: "app/backend-api", Port: "3000/TCP", HasPort: true,
		Protocol: model.TCP, Ports: model.PortRange{From: 3000, To: 3000},
		Reason: "the storefront calls the API", Source: model.Location{File: "overlays/dev/expectations.yaml", Line: 4},
	}, exp.Allow[0])
	assert.False(t, exp.Allow[3].HasPort)
	assert.Equal(t, 10, exp.Deny[1].Source.Line)
	assert.Equal(t, model.UDP, exp.Deny[2].Protocol)
}

func TestParseExpectationsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		line      int
		field     string
		want      string
	}{
		{"unknown field", "apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\nallow:\n  - from: a/b\n    to: c/d\n    prot: 80\n", 6, "allow.0.prot", "unknown field; did you mean port?"},
		{"bad port", "apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\ndeny:\n  - from: a/b\n    to: c/d\n    port: 99999/TCP\n", 6, "deny[0].port", "not a port number"},
		{"bad protocol", "apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\nallow:\n  - {from: a/b, to: c/d, port: 80/ICMP}\n", 4, "allow[0].port", "unsupported protocol"},
		{"missing to", "apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\nallow:\n  - from: a/b\n", 4, "allow[0].to", "needs to"},
		{"wrong kind", "apiVersion: reachgate.dev/v1alpha1\nkind: Waivers\n", 2, "kind", `kind "Waivers": want Expectations`},
		{"syntax", "apiVersion: reachgate.dev/v1alpha1\nkind: [\n", 2, "", "did not find expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseExpectations("exp.yaml", []byte(tc.src))
			require.Error(t, err)
			var ie *model.InputError
			var ies model.InputErrors
			switch {
			case errors.As(err, &ies):
				require.Len(t, ies, 1)
				ie = ies[0]
			case errors.As(err, &ie):
			default:
				t.Fatalf("want an InputError, got %T: %v", err, err)
			}
			assert.Equal(t, model.Location{File: "exp.yaml", Line: tc.line}, ie.Location)
			assert.Equal(t, tc.field, ie.Field)
			assert.Contains(t, ie.Message, tc.want)
		})
	}
}

func TestParseExpectationsNumericPort(t *testing.T) {
	t.Parallel()
	exp, err := ParseExpectations("e.yaml", []byte("apiVersion: reachgate.dev/v1alpha1\nkind: Expectations\nallow:\n  - {from: a/b, to: c/d, port: 5432}\n"))
	require.NoError(t, err)
	assert.Equal(t, model.TCP, exp.Allow[0].Protocol)
	assert.Equal(t, model.PortRange{From: 5432, To: 5432}, exp.Allow[0].Ports)
}

// expectMatrix: frontend -> backend-api TCP 3000, backend-api -> postgres
// TCP 5432, backend-api -> internet TCP 443 (the low range only), worker ->
// rabbitmq TCP 5672, worker -> cloud-metadata all ports, backend-api ->
// 8.0.0.0/8 (unnamed) UDP 53.
func expectMatrix() *model.Matrix {
	ws := []model.Workload{
		{Namespace: "app", Name: "backend-api", Kind: "Deployment"},
		{Namespace: "app", Name: "frontend", Kind: "Deployment"},
		{Namespace: "app", Name: "postgres", Kind: "StatefulSet", IPs: []netip.Addr{netip.MustParseAddr("10.244.1.5")}},
		{Namespace: "app", Name: "rabbitmq", Kind: "StatefulSet"},
		{Namespace: "app", Name: "worker", Kind: "Deployment"},
	}
	c := &model.Cluster{Workloads: ws}
	b := newMatrixBuilder(c,
		model.Peer{Range: rangeOf("0.0.0.0", "7.255.255.255"), External: "internet"},
		model.Peer{Range: model.PrefixRange(pfx("8.0.0.0/8"))},
		model.Peer{Range: model.PrefixRange(pfx("169.254.169.254/32")), External: "cloud-metadata"},
		model.Peer{Range: rangeOf("169.254.169.255", "255.255.255.255"), External: "internet"},
	)
	g := func(s model.PortSet) model.Grant {
		return model.Grant{Ports: s, Egress: eg("app/allow-egress", 0), Ingress: ing("app/allow-ingress", 0)}
	}
	b.conn("app/frontend", "app/backend-api", false, g(ports(model.TCP, 3000)))
	b.conn("app/backend-api", "app/postgres", false, g(ports(model.TCP, 5432)))
	b.conn("app/backend-api", "0.0.0.0/5", false, g(ports(model.TCP, 443)))
	b.conn("app/backend-api", "8.0.0.0/8", false, g(ports(model.UDP, 53)))
	b.conn("app/worker", "app/rabbitmq", false, g(ports(model.TCP, 5672)))
	b.conn("app/worker", "169.254.169.254/32", false, g(model.AllPorts()))
	return b.done()
}

type explainCall struct {
	src, dst string
	proto    model.Protocol
	port     uint16
	hasPort  bool
}

func recordingExplain(calls *[]explainCall) ExplainFunc {
	return func(srcPeer, dstPeer model.Peer, proto model.Protocol, port uint16, hasPort bool) string {
		src, dst := srcPeer.Key(), dstPeer.Key()
		*calls = append(*calls, explainCall{src, dst, proto, port, hasPort})
		return fmt.Sprintf("because %s -> %s %s/%d", src, dst, proto, port)
	}
}

func TestCheckExpectationsPass(t *testing.T) {
	t.Parallel()
	exp, err := ParseExpectations("e.yaml", []byte(`apiVersion: reachgate.dev/v1alpha1
kind: Expectations
allow:
  - {from: app/frontend, to: app/backend-api, port: 3000/TCP}
  - {from: app/backend-api, to: internet, port: 443/TCP}
  - {from: app/worker, to: app/rabbitmq}
  - {from: app/backend-api, to: 10.244.1.5, port: 5432/TCP}
  - {from: app/backend-api, to: 8.8.8.8, port: 53/UDP}
deny:
  - {from: app/frontend, to: app/postgres, port: 5432/TCP}
  - {from: app/frontend, to: app/postgres}
  - {from: app/backend-api, to: app/postgres, port: 5433/TCP}
  - {from: app/frontend, to: internet}
  - {from: app/backend-api, to: cloud-metadata}
  - {from: app/backend-api, to: 1.1.1.1, port: 53/UDP}
  - {from: app/worker, to: 1.1.1.1}
`))
	require.NoError(t, err)
	var calls []explainCall
	got := CheckExpectations(exp, expectMatrix(), recordingExplain(&calls))
	assert.Empty(t, got)
	assert.Empty(t, calls, "explain is only asked about failures")
}

func TestCheckExpectationsFailures(t *testing.T) {
	t.Parallel()
	exp, err := ParseExpectations("overlays/dev/expectations.yaml", []byte(expectationsYAML+
		"  - {from: app/worker, to: 169.254.169.254, port: 80/TCP}\n"+
		"  - {from: app/ghost, to: nowhere}\n"))
	require.NoError(t, err)
	// Make two allows fail: drop backend-api -> postgres and ask for a
	// port range frontend -> backend-api only half allows.
	exp.Allow[1].Ports = model.PortRange{From: 5432, To: 5432}
	exp.Allow = append(exp.Allow, Expectation{From: "app/frontend", To: "app/backend-api", HasPort: true, Protocol: model.TCP,
		Ports: model.PortRange{From: 3000, To: 3001}, Port: "3000-3001/TCP", Source: model.Location{File: "x.yaml", Line: 99}})
	m := expectMatrix()
	// backend-api -> postgres is gone.
	var keep []model.Connection
	for _, c := range m.Connections {
		if m.Peers[c.Src].Key() == "app/backend-api" && m.Peers[c.Dst].Key() == "app/postgres" {
			continue
		}
		keep = append(keep, c)
	}
	m.Connections = keep

	var calls []explainCall
	got := CheckExpectations(exp, m, recordingExplain(&calls))
	var lines []string
	for _, f := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s", f.Location, f.RuleID, f.Message))
		assert.Equal(t, model.SeverityError, f.Severity)
	}
	assert.Equal(t, []string{
		`overlays/dev/expectations.yaml:5 expect/allow expected app/backend-api -> app/postgres TCP 5432 to be allowed, but it is not (orders): because app/backend-api -> app/postgres TCP/5432`,
		`x.yaml:99 expect/allow expected app/frontend -> app/backend-api TCP 3000-3001 to be allowed, but it is not: because app/frontend -> app/backend-api TCP/3001`,
		`overlays/dev/expectations.yaml:10 expect/deny expected app/worker -> cloud-metadata to be denied, but app/worker[Deployment] -> cloud-metadata(169.254.169.254/32) is allowed on all ports (credentials): because app/worker -> 169.254.169.254/32 TCP/1`,
		`overlays/dev/expectations.yaml:11 expect/deny expected app/backend-api -> 8.8.8.8 UDP 53 to be denied, but app/backend-api[Deployment] -> 8.0.0.0/8 is allowed on UDP 53: because app/backend-api -> 8.0.0.0/8 UDP/53`,
		`overlays/dev/expectations.yaml:13 expect/deny expected app/worker -> 169.254.169.254 TCP 80 to be denied, but app/worker[Deployment] -> cloud-metadata(169.254.169.254/32) is allowed on TCP 80: because app/worker -> 169.254.169.254/32 TCP/80`,
		`overlays/dev/expectations.yaml:14 expect/unknown-peer from "app/ghost" is not a workload (namespace/name) of this overlay, an external endpoint of reachgate.yaml, or an address any of them holds`,
		`overlays/dev/expectations.yaml:14 expect/unknown-peer to "nowhere" is not a workload (namespace/name) of this overlay, an external endpoint of reachgate.yaml, or an address any of them holds`,
	}, lines)
	assert.Equal(t, explainCall{"app/backend-api", "app/postgres", model.TCP, 5432, true}, calls[0])
	assert.Equal(t, "from", got[5].Field)
}

func TestCheckExpectationsNamedExternalAnyRange(t *testing.T) {
	t.Parallel()
	m := expectMatrix()
	// internet has two ranges; backend-api reaches only the low one.
	allow := &Expectations{Allow: []Expectation{{From: "app/backend-api", To: "internet", HasPort: true, Protocol: model.TCP, Ports: model.PortRange{From: 443, To: 443}}}}
	assert.Empty(t, CheckExpectations(allow, m, nil), "allow passes if any range allows")
	deny := &Expectations{Deny: []Expectation{{From: "app/backend-api", To: "internet", HasPort: true, Protocol: model.TCP, Ports: model.PortRange{From: 443, To: 443}}}}
	got := CheckExpectations(deny, m, nil)
	require.Len(t, got, 1, "deny fails if any range allows")
	assert.Equal(t, "expected app/backend-api -> internet TCP 443 to be denied, but app/backend-api[Deployment] -> internet(0.0.0.0/5) is allowed on TCP 443", got[0].Message)
}
