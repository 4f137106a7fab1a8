package run_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/cilium/cilium/api/v1/observer"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/observe"
	"github.com/reachgate/reachgate/pipeline/run"
)

// hubbleFixture is a Hubble export of an hour of the prod overlay's
// traffic, in the upstream JSON shape of `hubble observe -o jsonpb`
// (Cilium v1.20: emitter, aggregate, policy_log, *_allowed_by and
// *_denied_by, ip_trace_id), written by TestHubbleFixture -update from
// the scenario below through the upstream types and protojson.
var hubbleFixture = filepath.Join(repoRoot, "testdata", "flows", "hubble-prod-v1.20.jsonl")

// fixtureFlow is one kind of traffic of the scenario.
type fixtureFlow struct {
	src, dst   string // namespace/workload, an IP, or "host"
	proto      model.Protocol
	port       uint16
	verdict    flowpb.Verdict
	times      int // lines
	aggregated bool
}

// The scenario, hand-checked against overlays/prod: what observe must
// find is in testdata/observe-prod.golden.json.
var scenario = []fixtureFlow{
	// Allowed and forwarded.
	{"ingress-nginx/ingress-nginx-controller", "app/frontend", model.TCP, 3000, flowpb.Verdict_FORWARDED, 150, false},
	{"app/frontend", "app/backend-api", model.TCP, 3000, flowpb.Verdict_FORWARDED, 200, false},
	{"app/backend-api", "app/postgres", model.TCP, 5432, flowpb.Verdict_FORWARDED, 120, false},
	{"app/backend-api", "app/redis", model.TCP, 6379, flowpb.Verdict_FORWARDED, 80, true},
	{"app/worker", "app/rabbitmq", model.TCP, 5672, flowpb.Verdict_FORWARDED, 60, false},
	{"monitoring/prometheus", "app/backend-api", model.TCP, 9090, flowpb.Verdict_FORWARDED, 40, false},
	// DNS, with the replies Hubble also records.
	{"app/frontend", "kube-system/coredns", model.UDP, 53, flowpb.Verdict_FORWARDED, 60, false},
	{"app/backend-api", "kube-system/coredns", model.UDP, 53, flowpb.Verdict_FORWARDED, 60, false},
	{"app/worker", "kube-system/coredns", model.UDP, 53, flowpb.Verdict_FORWARDED, 40, false},
	// External: the payments partner (allowed).
	{"app/backend-api", "203.0.113.10", model.TCP, 443, flowpb.Verdict_FORWARDED, 40, false},
	// Dropped, as the overlay intends.
	{"app/worker", "8.8.8.8", model.UDP, 53, flowpb.Verdict_DROPPED, 25, false},
	{"app/frontend", "app/postgres", model.TCP, 5432, flowpb.Verdict_DROPPED, 15, false},
	{"app/backend-api", "198.51.100.200", model.TCP, 443, flowpb.Verdict_DROPPED, 10, false},
	// Dropped although the overlay allows it and an expectation says so.
	{"app/backend-api", "app/rabbitmq", model.TCP, 15672, flowpb.Verdict_DROPPED, 6, false},
	// Forwarded although the overlay denies it: not enforced.
	{"app/worker", "app/postgres", model.TCP, 5432, flowpb.Verdict_FORWARDED, 5, false},
	// Endpoints reachgate cannot map: the node (kubelet probes) and a
	// namespace the repository does not hold.
	{"host", "app/frontend", model.TCP, 3000, flowpb.Verdict_FORWARDED, 30, false},
	{"legacy/batch", "app/backend-api", model.TCP, 3000, flowpb.Verdict_DROPPED, 10, false},
}

var fixtureStart = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func TestHubbleFixture(t *testing.T) {
	ws, err := run.OpenWorkTree(repoRoot, "")
	require.NoError(t, err)
	o := ws.Load(context.Background(), "prod")
	require.NoError(t, o.Err)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(hubbleFixture), 0o755))
		f, err := os.Create(hubbleFixture)
		require.NoError(t, err)
		require.NoError(t, writeScenario(f, o.Cluster))
		require.NoError(t, f.Close())
	}
	data, err := os.ReadFile(hubbleFixture)
	require.NoError(t, err)
	lines := strings.Count(string(data), "\n")
	require.GreaterOrEqual(t, lines, 1000, "the fixture holds at least 1,000 lines")
	for _, field := range []string{`"emitter"`, `"aggregate"`, `"policy_log"`, `"egress_allowed_by"`, `"ingress_denied_by"`, `"egress_denied_by"`, `"ip_trace_id"`, `"drop_reason_desc":"POLICY_DENIED"`, `"is_reply":true`, `"lost_events"`, `"Type":"L7"`} {
		require.Contains(t, strings.ReplaceAll(string(data), " ", ""), field, "the fixture has %s", field)
	}
}

// writeScenario writes the scenario as GetFlowsResponse lines.
func writeScenario(w *os.File, c *model.Cluster) error {
	r := rand.New(rand.NewPCG(7, 11))
	workloads := map[string]*model.Workload{}
	for i := range c.Workloads {
		workloads[c.Workloads[i].Key()] = &c.Workloads[i]
	}
	ipOf := map[string]string{}
	next := 10
	endpoint := func(name string) (*flowpb.Endpoint, string) {
		switch {
		case name == "host":
			return &flowpb.Endpoint{Identity: 1, Labels: []string{"reserved:host"}}, "10.244.0.1"
		case name == "legacy/batch":
			return &flowpb.Endpoint{ID: 901, Identity: 40901, Namespace: "legacy", PodName: "batch-28931040-q7w2x",
				Labels: []string{"k8s:app=batch", "k8s:io.kubernetes.pod.namespace=legacy"}, Workloads: []*flowpb.Workload{{Name: "batch", Kind: "CronJob"}}}, "10.244.9.9"
		}
		if a, err := netip.ParseAddr(name); err == nil {
			return &flowpb.Endpoint{Identity: 2, Labels: []string{"reserved:world"}}, a.String()
		}
		w := workloads[name]
		if w == nil {
			panic("no workload " + name)
		}
		if ipOf[name] == "" {
			ipOf[name] = fmt.Sprintf("10.244.%d.%d", next/250, next%250+2)
			next++
		}
		labels := []string{"k8s:io.kubernetes.pod.namespace=" + w.Namespace, "k8s:io.cilium.k8s.policy.serviceaccount=" + w.Name}
		for k, v := range w.Labels {
			labels = append(labels, "k8s:"+k+"="+v)
		}
		slices.Sort(labels)
		return &flowpb.Endpoint{ID: uint32(100 + next), Identity: uint32(30000 + next), ClusterName: "prod", Namespace: w.Namespace,
			PodName: observe.PodName(w), Labels: labels, Workloads: []*flowpb.Workload{{Name: w.Name, Kind: w.Kind}}}, ipOf[name]
	}
	type line struct {
		t time.Time
		r *observer.GetFlowsResponse
	}
	var out []line
	for si, s := range scenario {
		for i := range s.times {
			src, sip := endpoint(s.src)
			dst, dip := endpoint(s.dst)
			at := fixtureStart.Add(time.Duration(r.Int64N(int64(time.Hour))))
			f := &flowpb.Flow{
				Time: timestamppb.New(at), Uuid: fmt.Sprintf("5f0c%04x-%04x-4a1e-9c3b-%012x", si, i, r.Int64N(1<<40)),
				Emitter: &flowpb.Emitter{Name: "Hubble", Version: "1.20.2"},
				Verdict: s.verdict, Type: flowpb.FlowType_L3_L4, NodeName: "prod/worker-" + fmt.Sprint(si%3+1),
				NodeLabels: []string{"kubernetes.io/hostname=worker-" + fmt.Sprint(si%3+1)},
				Source:     src, Destination: dst,
				IP:        &flowpb.IP{Source: sip, Destination: dip, IpVersion: flowpb.IPVersion_IPv4},
				EventType: &flowpb.CiliumEventType{Type: 4, SubType: 3}, TrafficDirection: flowpb.TrafficDirection_EGRESS,
				TraceObservationPoint: flowpb.TraceObservationPoint_TO_STACK, TraceReason: flowpb.TraceReason_NEW,
				IsReply: wrapperspb.Bool(false), Interface: &flowpb.NetworkInterface{Index: uint32(10 + si), Name: fmt.Sprintf("lxc%04x", si)},
			}
			sport := uint32(32768 + r.IntN(28000))
			switch s.proto {
			case model.TCP:
				f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: sport, DestinationPort: uint32(s.port), Flags: &flowpb.TCPFlags{SYN: true}}}}
				f.Summary = "TCP Flags: SYN"
			case model.UDP:
				f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_UDP{UDP: &flowpb.UDP{SourcePort: sport, DestinationPort: uint32(s.port)}}}
				f.Summary = "UDP"
			}
			if i%7 == 3 {
				f.IpTraceId = &flowpb.IPTraceID{TraceId: uint64(r.Int64N(1 << 50)), IpOptionType: 136}
			}
			if s.aggregated {
				f.Aggregate = &flowpb.Aggregate{EgressFlowCount: uint32(1 + i%4)}
			}
			if s.verdict == flowpb.Verdict_DROPPED {
				f.DropReasonDesc = flowpb.DropReason_POLICY_DENIED
				f.DropReason = uint32(flowpb.DropReason_POLICY_DENIED)
				f.EventType = &flowpb.CiliumEventType{Type: 1, SubType: 133}
				deny := &flowpb.Policy{Name: "default-deny-egress", Namespace: src.Namespace, Kind: "NetworkPolicy", Revision: 42,
					Labels: []string{"k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy"}}
				if s.dst == "app/rabbitmq" || s.dst == "app/postgres" || s.src == "legacy/batch" {
					f.TrafficDirection = flowpb.TrafficDirection_INGRESS
					deny.Name, deny.Namespace = "default-deny-ingress", dst.Namespace
					f.IngressDeniedBy = []*flowpb.Policy{deny}
				} else {
					f.EgressDeniedBy = []*flowpb.Policy{deny}
				}
				f.PolicyLog = []string{"policy-verdict:none DENIED " + s.src + " -> " + s.dst}
			} else if src.Namespace != "" {
				f.EgressAllowedBy = []*flowpb.Policy{{Name: "allow-egress", Namespace: src.Namespace, Kind: "NetworkPolicy", Revision: 42}}
				if dst.Namespace != "" {
					f.IngressAllowedBy = []*flowpb.Policy{{Name: "allow-ingress", Namespace: dst.Namespace, Kind: "NetworkPolicy", Revision: 42}}
				}
			}
			out = append(out, line{at, &observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: f}, NodeName: f.NodeName, Time: f.Time}})
			// The answer: DNS and TCP replies, which reachgate does not judge.
			if s.verdict == flowpb.Verdict_FORWARDED && i%2 == 0 {
				rf := &flowpb.Flow{Time: timestamppb.New(at.Add(time.Millisecond)), Verdict: flowpb.Verdict_FORWARDED, Type: flowpb.FlowType_L3_L4,
					Source: dst, Destination: src, IP: &flowpb.IP{Source: dip, Destination: sip, IpVersion: flowpb.IPVersion_IPv4},
					IsReply: wrapperspb.Bool(true), TrafficDirection: flowpb.TrafficDirection_INGRESS, NodeName: f.NodeName}
				switch s.proto {
				case model.TCP:
					rf.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: uint32(s.port), DestinationPort: sport, Flags: &flowpb.TCPFlags{SYN: true, ACK: true}}}}
				case model.UDP:
					rf.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_UDP{UDP: &flowpb.UDP{SourcePort: uint32(s.port), DestinationPort: sport}}}
				}
				out = append(out, line{rf.Time.AsTime(), &observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: rf}, NodeName: f.NodeName, Time: rf.Time}})
			}
		}
	}
	// L7 records of the frontend's API calls, a lost-events notice and a
	// node status, as Relay sends them.
	for i := range 10 {
		src, sip := endpoint("app/frontend")
		dst, dip := endpoint("app/backend-api")
		at := fixtureStart.Add(time.Duration(i) * time.Minute)
		f := &flowpb.Flow{Time: timestamppb.New(at), Verdict: flowpb.Verdict_FORWARDED, Type: flowpb.FlowType_L7, Source: src, Destination: dst,
			IP: &flowpb.IP{Source: sip, Destination: dip, IpVersion: flowpb.IPVersion_IPv4},
			L4: &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: 40000, DestinationPort: 3000}}},
			L7: &flowpb.Layer7{Type: flowpb.L7FlowType_REQUEST, Record: &flowpb.Layer7_Http{Http: &flowpb.HTTP{Method: "GET", Url: "/api/orders", Protocol: "HTTP/1.1"}}}}
		out = append(out, line{at, &observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: f}, NodeName: "prod/worker-1", Time: f.Time}})
	}
	lostAt := fixtureStart.Add(30 * time.Minute)
	out = append(out, line{lostAt, &observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_LostEvents{LostEvents: &flowpb.LostEvent{
		Source: flowpb.LostEventSource_HUBBLE_RING_BUFFER, NumEventsLost: 3, Cpu: wrapperspb.Int32(1)}}, NodeName: "prod/worker-2", Time: timestamppb.New(lostAt)}})
	slices.SortStableFunc(out, func(a, b line) int { return a.t.Compare(b.t) })
	bw := bufio.NewWriter(w)
	opts := protojson.MarshalOptions{UseProtoNames: true}
	for _, l := range out {
		b, err := opts.Marshal(l.r)
		if err != nil {
			return err
		}
		// protojson varies its spacing from build to build; Hubble writes
		// none.
		bw.Write(compactJSON(b))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
