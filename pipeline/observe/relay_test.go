package observe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/observer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// relay is an in-process Hubble Relay: the upstream ObserverServer
// interface, streaming recorded flows of the requested window.
type relay struct {
	observer.UnimplementedObserverServer
	flows []*observer.GetFlowsResponse

	mu       sync.Mutex
	requests []*observer.GetFlowsRequest
	// breakAfter breaks the first stream after that many responses.
	breakAfter int
	// hang makes every stream wait for its client to give up.
	hang bool
}

func (r *relay) GetFlows(req *observer.GetFlowsRequest, s grpc.ServerStreamingServer[observer.GetFlowsResponse]) error {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	first := len(r.requests) == 1
	r.mu.Unlock()
	if r.hang {
		<-s.Context().Done()
		return s.Context().Err()
	}
	sent := 0
	for _, f := range r.flows {
		t := responseTime(f)
		if req.GetSince() != nil && t.Before(req.GetSince().AsTime()) {
			continue
		}
		if req.GetUntil() != nil && t.After(req.GetUntil().AsTime()) {
			continue
		}
		if first && r.breakAfter > 0 && sent == r.breakAfter {
			return status.Error(codes.Unavailable, "relay lost its connection to a node")
		}
		if err := s.Send(f); err != nil {
			return err
		}
		sent++
	}
	return nil
}

func recorded(t *testing.T) []*observer.GetFlowsResponse {
	t.Helper()
	var out []*observer.GetFlowsResponse
	for _, l := range fixtureLines(t) {
		var r observer.GetFlowsResponse
		require.NoError(t, protojson.Unmarshal([]byte(l), &r))
		out = append(out, &r)
	}
	return out
}

func serve(t *testing.T, r *relay, opts ...grpc.ServerOption) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := grpc.NewServer(opts...)
	observer.RegisterObserverServer(s, r)
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func window() RelayOptions {
	return RelayOptions{Since: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Timeout: 20 * time.Second, Backoff: 10 * time.Millisecond}
}

// fromFile is what reading the fixture as a file gives.
func fromFile(t *testing.T) *Capture {
	f, err := os.Open(fixture)
	require.NoError(t, err)
	defer f.Close()
	c, err := Read(context.Background(), Source{Name: "file", R: f})
	require.NoError(t, err)
	return c
}

func TestRelayStreamsTheWindow(t *testing.T) {
	t.Parallel()
	r := &relay{flows: recorded(t)}
	o := window()
	o.Addr = serve(t, r)
	o.Namespaces = []string{"app"}
	c, err := ReadRelay(context.Background(), o)
	require.NoError(t, err)
	want := fromFile(t)
	assert.Equal(t, want.Records, c.Records)
	assert.Equal(t, want.Input.Flows, c.Input.Flows)
	assert.Equal(t, []string{"hubble-relay " + o.Addr}, c.Input.Sources)
	require.Len(t, r.requests, 1)
	req := r.requests[0]
	assert.Equal(t, o.Since, req.GetSince().AsTime())
	assert.Equal(t, o.Until, req.GetUntil().AsTime())
	require.Len(t, req.GetWhitelist(), 2, "from or to the namespace")
	assert.Equal(t, []string{"app/"}, req.GetWhitelist()[0].GetSourcePod())
	assert.Equal(t, []string{"app/"}, req.GetWhitelist()[1].GetDestinationPod())
}

// TestRelayResumesWithoutDuplicates breaks the stream where several flows
// share one instant; the client resumes from that instant and counts each
// flow once.
func TestRelayResumesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	flows := recorded(t)
	// Flows 600 to 604 happened at the same instant; the stream breaks
	// after 602 of them.
	same := flows[600].GetFlow().GetTime()
	for _, f := range flows[600:605] {
		f.GetFlow().Time = timestamppb.New(same.AsTime())
		f.Time = f.GetFlow().Time
	}
	r := &relay{flows: flows, breakAfter: 602}
	o := window()
	o.Addr = serve(t, r)
	c, err := ReadRelay(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, r.requests, 2, "one reconnection")
	assert.Equal(t, same.AsTime(), r.requests[1].GetSince().AsTime(), "resumed from the last flow's time")
	var total int64
	for _, rec := range c.Records {
		total += rec.Count
	}
	// The same flows as a straight read of the (modified) export.
	straight := &relay{flows: flows}
	o2 := window()
	o2.Addr = serve(t, straight)
	want, err := ReadRelay(context.Background(), o2)
	require.NoError(t, err)
	assert.Equal(t, want.Input.Flows, c.Input.Flows, "no flow counted twice or lost")
	assert.Equal(t, want.Records, c.Records)
	assert.Equal(t, int64(len(flows)), c.Input.Lines)
}

func TestRelayDeadline(t *testing.T) {
	t.Parallel()
	o := window()
	o.Addr = serve(t, &relay{hang: true})
	o.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := ReadRelay(context.Background(), o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deadline of 300ms exceeded")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestRelayGivesUpAfterRetries(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens
	o := window()
	o.Addr, o.Retries = addr, 2
	_, err = ReadRelay(context.Background(), o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 3 attempts")
}

func TestRelayOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, cert := testPKI(t, dir)
	r := &relay{flows: recorded(t)[:50]}
	addr := serve(t, r, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))

	o := window()
	o.Addr, o.CAFile, o.ServerName = addr, caFile, "hubble-relay.kube-system.svc"
	c, err := ReadRelay(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, int64(50), c.Input.Lines)

	// Without the CA the server's certificate is not trusted.
	o.CAFile, o.TLS, o.Retries = "", true, 1
	_, err = ReadRelay(context.Background(), o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")

	// A CA file that holds no certificate.
	bad := filepath.Join(dir, "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o600))
	o.CAFile = bad
	_, err = ReadRelay(context.Background(), o)
	assert.ErrorContains(t, err, "no PEM certificate")
}

// testPKI makes a CA and a server certificate signed by it.
func testPKI(t *testing.T, dir string) (caFile string, cert tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hubble-relay"},
		DNSNames: []string{"hubble-relay.kube-system.svc"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	caFile = filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	cert, err = tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	require.NoError(t, err)
	return caFile, cert
}
