package observe

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// RelayOptions say how to read flows from Hubble Relay (or a Hubble
// server): observer.Observer/GetFlows over gRPC for a time window.
type RelayOptions struct {
	// Addr is host:port.
	Addr string
	// TLS turns TLS on, verified against the system roots or CAFile;
	// CAFile alone turns it on too. CertFile and KeyFile are a client
	// certificate for mutual TLS. ServerName overrides the name the
	// server's certificate is checked for.
	TLS                       bool
	CAFile, CertFile, KeyFile string
	ServerName                string
	// Since and Until bound the window; Until zero means now.
	Since, Until time.Time
	// Namespaces keeps flows from or to these namespaces; empty keeps
	// all.
	Namespaces []string
	// Timeout bounds the whole read; zero means 5 minutes.
	Timeout time.Duration
	// Retries is how often a broken stream is resumed without progress
	// in between; zero means 5.
	Retries int
	// Backoff is the first wait before resuming; it doubles. Zero means
	// 200ms.
	Backoff time.Duration
}

func (o RelayOptions) credentials() (credentials.TransportCredentials, error) {
	if !o.TLS && o.CAFile == "" && o.CertFile == "" {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg), nil
}

// request is the GetFlows request for the window, from since on.
func (o RelayOptions) request(since time.Time) *observer.GetFlowsRequest {
	req := &observer.GetFlowsRequest{Since: timestamppb.New(since)}
	until := o.Until
	if until.IsZero() {
		until = time.Now()
	}
	req.Until = timestamppb.New(until)
	if len(o.Namespaces) > 0 {
		var pods []string
		for _, ns := range o.Namespaces {
			pods = append(pods, ns+"/")
		}
		req.Whitelist = []*flowpb.FlowFilter{{SourcePod: pods}, {DestinationPod: pods}}
	}
	return req
}

// ReadRelay reads the window's flows from Hubble Relay. When the stream
// breaks it reconnects and resumes from the time of the last flow it
// received, skipping the flows of that instant it already has, so none
// is counted twice; it gives up after Retries attempts without progress.
func ReadRelay(ctx context.Context, o RelayOptions) (*Capture, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.Since.IsZero() {
		return nil, errors.New("no window: give --since or --last")
	}
	if !o.Until.IsZero() && o.Until.Before(o.Since) {
		return nil, errors.New("--until is before --since")
	}
	creds, err := o.credentials()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	conn, err := grpc.NewClient(o.Addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	client := observer.NewObserverClient(conn)

	c := newCapture()
	c.Input.Sources = []string{"hubble-relay " + o.Addr}
	p := &partial{recs: map[Key]*Record{}, skipped: map[string]int64{}}
	r := &resumer{since: o.Since}
	failures := 0
	wait := o.Backoff
	for {
		progress, err := r.stream(ctx, client, o, p)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("deadline of %s exceeded after %d flows: %w", o.Timeout, p.lines, ctx.Err())
		}
		if code := status.Code(err); code == codes.InvalidArgument || code == codes.Unauthenticated ||
			code == codes.PermissionDenied || code == codes.Unimplemented {
			return nil, err
		}
		if progress {
			failures, wait = 0, o.Backoff
		}
		failures++
		if failures > o.Retries {
			return nil, fmt.Errorf("gave up after %d attempts: %w", failures, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("deadline of %s exceeded after %d flows: %w", o.Timeout, p.lines, ctx.Err())
		}
		wait *= 2
	}
	c.merge(p)
	c.finish()
	return c, nil
}

// resumer remembers where a stream got to.
type resumer struct {
	since time.Time
	// atSince are digests of the responses received with time == since,
	// to skip them when the stream resumes at that instant.
	atSince map[[32]byte]bool
}

// stream reads one GetFlows stream to its end; progress says whether it
// received anything new.
func (r *resumer) stream(ctx context.Context, client observer.ObserverClient, o RelayOptions, p *partial) (progress bool, err error) {
	s, err := client.GetFlows(ctx, o.request(r.since))
	if err != nil {
		return false, err
	}
	for {
		resp, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return progress, nil
		}
		if err != nil {
			return progress, err
		}
		t := responseTime(resp)
		if !t.IsZero() && !t.Before(r.since) {
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
			d := sha256.Sum256(b)
			switch {
			case t.After(r.since):
				r.since, r.atSince = t, map[[32]byte]bool{d: true}
			case r.atSince[d]:
				continue // received before the stream broke
			default:
				if r.atSince == nil {
					r.atSince = map[[32]byte]bool{}
				}
				r.atSince[d] = true
			}
		}
		progress = true
		p.lines++
		if err := p.response(resp); err != nil {
			p.bad("hubble-relay "+o.Addr, int(p.lines), err.Error())
		}
	}
}

func responseTime(r *observer.GetFlowsResponse) time.Time {
	if f := r.GetFlow(); f != nil && f.GetTime() != nil {
		return f.GetTime().AsTime()
	}
	if r.GetTime() != nil {
		return r.GetTime().AsTime()
	}
	return time.Time{}
}
