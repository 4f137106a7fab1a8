package run_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/reachgate/reachgate/internal/synth"
	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/observe"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/run"
)

// writeSynthRepo writes the 5,000-workload synthetic cluster as a
// directory of manifests with its reachgate.yaml, as a user would have it.
func writeSynthRepo(b *testing.B, dir string, c *model.Cluster) {
	b.Helper()
	list := func(name string, items []any) {
		data, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "manifests", name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "manifests"), 0o755); err != nil {
		b.Fatal(err)
	}
	var nss, ws, ps []any
	for _, n := range c.Namespaces {
		nss = append(nss, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": n.Name, "labels": n.Labels}})
	}
	for _, w := range c.Workloads {
		var ports []any
		seen := map[string]bool{}
		for _, p := range w.Ports {
			name := p.Name
			if seen[name] {
				name += "-" + p.Protocol.String()[:1]
			}
			seen[name] = true
			ports = append(ports, map[string]any{"name": name, "containerPort": p.Port, "protocol": p.Protocol.String()})
		}
		ws = append(ws, map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": w.Name, "namespace": w.Namespace},
			"spec": map[string]any{"selector": map[string]any{"matchLabels": w.Labels},
				"template": map[string]any{"metadata": map[string]any{"labels": w.Labels},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "main", "image": "registry.example/app:1", "ports": ports}}}}}})
	}
	for _, p := range c.Policies {
		np := p.NetworkPolicy.DeepCopy()
		np.APIVersion, np.Kind = "networking.k8s.io/v1", "NetworkPolicy"
		ps = append(ps, np)
	}
	list("namespaces.json", nss)
	list("workloads.json", ws)
	list("policies.json", ps)
	cfg := `apiVersion: reachgate.dev/v1alpha1
kind: Config
cluster:
  podCIDRs: [10.244.0.0/16, "fd00:244::/64"]
  serviceCIDRs: [10.96.0.0/12]
externals:
  - {name: cloud-metadata, cidrs: [169.254.169.254/32]}
  - {name: internet, cidrs: [0.0.0.0/0, "::/0"]}
`
	if err := os.WriteFile(filepath.Join(dir, "reachgate.yaml"), []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
}

// writeSynthFlows writes n Hubble lines (`-o jsonpb`, about 1 KB each) of
// an hour of traffic: mostly connections the policies allow, some
// dropped, a few forwarded that the policies deny, and external traffic.
func writeSynthFlows(b *testing.B, file string, c *model.Cluster, n int) {
	b.Helper()
	m := reach.Compute(c)
	r := rand.New(rand.NewPCG(1, 2))
	endpoint := func(p *model.Peer) (*flowpb.Endpoint, string) {
		if p.Workload == nil {
			return &flowpb.Endpoint{Identity: 2, Labels: []string{"reserved:world"}}, "93.184.216.34"
		}
		w := p.Workload
		labels := []string{"k8s:io.kubernetes.pod.namespace=" + w.Namespace}
		for k, v := range w.Labels {
			labels = append(labels, "k8s:"+k+"="+v)
		}
		return &flowpb.Endpoint{ID: 1000, Identity: 50000, ClusterName: "synth", Namespace: w.Namespace, PodName: observe.PodName(w),
			Labels: labels, Workloads: []*flowpb.Workload{{Name: w.Name, Kind: w.Kind}}}, "10.244.1.1"
	}
	sentinel := time.Date(2000, 1, 1, 0, 0, 0, 123456789, time.UTC)
	var templates [][]byte
	mk := func(s, d *model.Peer, proto model.Protocol, port uint16, v flowpb.Verdict) {
		src, sip := endpoint(s)
		dst, dip := endpoint(d)
		f := &flowpb.Flow{Time: timestamppb.New(sentinel), Uuid: "0b7e2a44-1f3c-4d5e-8a9b-0c1d2e3f4a5b", Emitter: &flowpb.Emitter{Name: "Hubble", Version: "1.20.2"},
			Verdict: v, Type: flowpb.FlowType_L3_L4, NodeName: "synth/worker-1", Source: src, Destination: dst,
			IP: &flowpb.IP{Source: sip, Destination: dip, IpVersion: flowpb.IPVersion_IPv4}, IsReply: wrapperspb.Bool(false),
			EventType: &flowpb.CiliumEventType{Type: 4}, TrafficDirection: flowpb.TrafficDirection_EGRESS, TraceObservationPoint: flowpb.TraceObservationPoint_TO_STACK}
		switch proto {
		case model.UDP:
			f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_UDP{UDP: &flowpb.UDP{SourcePort: 40000, DestinationPort: uint32(port)}}}
		case model.SCTP:
			f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_SCTP{SCTP: &flowpb.SCTP{SourcePort: 40000, DestinationPort: uint32(port)}}}
		default:
			f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: 40000, DestinationPort: uint32(port), Flags: &flowpb.TCPFlags{SYN: true}}}}
		}
		if v == flowpb.Verdict_DROPPED {
			f.DropReasonDesc = flowpb.DropReason_POLICY_DENIED
		}
		line, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(&observer.GetFlowsResponse{
			ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: f}, NodeName: f.NodeName, Time: f.Time})
		if err != nil {
			b.Fatal(err)
		}
		templates = append(templates, compactJSON(line))
	}
	for range 20000 {
		c := m.Connections[r.IntN(len(m.Connections))]
		a := m.Of(c)
		var proto model.Protocol
		var port uint16
		for _, p := range model.Protocols {
			if rs := a.Ports.Ranges(p); len(rs) > 0 {
				proto, port = p, rs[0].From
				break
			}
		}
		mk(&m.Peers[c.Src], &m.Peers[c.Dst], proto, port, flowpb.Verdict_FORWARDED)
	}
	nw := 0
	for nw < len(m.Peers) && m.Peers[nw].Workload != nil {
		nw++
	}
	for i := range 400 {
		s, d := &m.Peers[r.IntN(nw)], &m.Peers[r.IntN(nw)]
		v := flowpb.Verdict_DROPPED
		if i%10 == 0 {
			v = flowpb.Verdict_FORWARDED
		}
		mk(s, d, model.TCP, 1, v)
	}
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	old := []byte(sentinel.Format(time.RFC3339Nano))
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for i := range n {
		t := start.Add(time.Duration(i) * time.Hour / time.Duration(n))
		w.Write(bytes.Replace(templates[r.IntN(len(templates))], old, []byte(t.Format(time.RFC3339Nano)), 2))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkObserve1M is `reachgate observe OVERLAY --flows FILE -o json`
// on 1,000,000 Hubble lines against the 5,000-workload synthetic overlay,
// report written to a file. Budget: < 10 s and < 1 GiB on 2 cores.
func BenchmarkObserve1M(b *testing.B) {
	dir := b.TempDir()
	c := synth.Cluster(synth.Options{Workloads: 5000, Namespaces: 50, Seed: 42})
	writeSynthRepo(b, dir, c)
	flows := filepath.Join(dir, "flows.json")
	lines := 1_000_000
	if s := os.Getenv("REACHGATE_BENCH_LINES"); s != "" {
		fmt.Sscan(s, &lines)
	}
	writeSynthFlows(b, flows, c, lines)
	st, err := os.Stat(flows)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "observe.json")
	p := run.ObserveParams{Common: run.Common{Dir: dir}, Overlays: []string{filepath.Join(dir, "manifests")},
		Flows: run.FlowParams{Files: []string{flows}}, Format: "json"}
	runtime.GC()
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		before := cpuTime()
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		var stderr bytes.Buffer
		err = run.Observe(context.Background(), p, f, &stderr)
		// exit 2: synth draws some policies the API server refuses
		// (reported on stderr, left out, as for a user).
		if code := exitCode(err); code < 0 || code > 2 {
			b.Fatal(err)
		}
		if b.N == 1 {
			b.Logf("exit %d: %v; stderr starts %.300s", exitCode(err), err, stderr.String())
		}
		f.Close()
		cpu += cpuTime() - before
	}
	b.StopTimer()
	// The machine is shared: CPU time says what the run costs whatever
	// else is running; wall time on an idle 2-core machine is about half
	// of it (decoding runs on both cores).
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sysMiB")
	b.ReportMetric(float64(st.Size())/(1<<20), "inputMiB")
	b.ReportMetric(float64(lines), "lines")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
