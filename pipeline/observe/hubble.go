package observe

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"slices"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/reachgate/reachgate/pipeline/model"
)

// LabPeer is one end of a probe the kernel lab made: a workload's pod, or
// an external address (Workload nil).
type LabPeer struct {
	Workload *model.Workload
	Addr     netip.Addr
}

// LabProbe is one probe of the kernel lab and what the kernel did with it.
type LabProbe struct {
	Src, Dst LabPeer
	Protocol model.Protocol
	Port     uint16
	Allowed  bool
	// DeniedOnEgress: the source's egress rules refused it (else the
	// destination's ingress rules did).
	DeniedOnEgress bool
	Time           time.Time
}

// WriteHubble writes the probes as `hubble observe -o jsonpb` does: one
// GetFlowsResponse per line, proto field names, each flow FORWARDED or
// DROPPED (POLICY_DENIED) as the kernel decided, with the endpoints'
// namespace, a pod name as Kubernetes would generate it, labels and
// owning workload.
func WriteHubble(w io.Writer, node string, probes []LabProbe) error {
	bw := bufio.NewWriter(w)
	opts := protojson.MarshalOptions{UseProtoNames: true}
	for i, p := range probes {
		f := labFlow(node, i, &p)
		b, err := opts.Marshal(&observer.GetFlowsResponse{
			ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: f},
			NodeName:      node,
			Time:          f.Time,
		})
		if err != nil {
			return fmt.Errorf("encode flow %d: %w", i, err)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func labFlow(node string, i int, p *LabProbe) *flowpb.Flow {
	f := &flowpb.Flow{
		Time:             timestamppb.New(p.Time),
		Uuid:             uuidOf(node, i),
		Emitter:          &flowpb.Emitter{Name: "reachgate verify", Version: "1"},
		Verdict:          flowpb.Verdict_FORWARDED,
		Type:             flowpb.FlowType_L3_L4,
		NodeName:         node,
		EventType:        &flowpb.CiliumEventType{Type: 4}, // trace
		TrafficDirection: flowpb.TrafficDirection_EGRESS,
		IsReply:          wrapperspb.Bool(false),
		Source:           labEndpoint(&p.Src),
		Destination:      labEndpoint(&p.Dst),
	}
	ipv := flowpb.IPVersion_IPv4
	if p.Src.Addr.Is6() {
		ipv = flowpb.IPVersion_IPv6
	}
	f.IP = &flowpb.IP{Source: p.Src.Addr.String(), Destination: p.Dst.Addr.String(), IpVersion: ipv}
	sport := uint32(32768 + i%28000)
	switch p.Protocol {
	case model.TCP:
		f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: sport, DestinationPort: uint32(p.Port), Flags: &flowpb.TCPFlags{SYN: true}}}}
	case model.UDP:
		f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_UDP{UDP: &flowpb.UDP{SourcePort: sport, DestinationPort: uint32(p.Port)}}}
	case model.SCTP:
		f.L4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_SCTP{SCTP: &flowpb.SCTP{SourcePort: sport, DestinationPort: uint32(p.Port)}}}
	}
	if !p.Allowed {
		f.Verdict = flowpb.Verdict_DROPPED
		f.DropReasonDesc = flowpb.DropReason_POLICY_DENIED
		f.DropReason = uint32(flowpb.DropReason_POLICY_DENIED)
		if !p.DeniedOnEgress {
			f.TrafficDirection = flowpb.TrafficDirection_INGRESS
		}
	}
	return f
}

func labEndpoint(p *LabPeer) *flowpb.Endpoint {
	w := p.Workload
	if w == nil {
		return &flowpb.Endpoint{Identity: 2, Labels: []string{"reserved:world"}}
	}
	labels := make([]string, 0, len(w.Labels)+1)
	for k, v := range w.Labels {
		labels = append(labels, "k8s:"+k+"="+v)
	}
	labels = append(labels, "k8s:io.kubernetes.pod.namespace="+w.Namespace)
	slices.Sort(labels)
	return &flowpb.Endpoint{
		Namespace: w.Namespace,
		PodName:   PodName(w),
		Labels:    labels,
		Workloads: []*flowpb.Workload{{Name: w.Name, Kind: w.Kind}},
	}
}

// PodName is a name Kubernetes could give a pod of w: the owner's name
// with the generated suffixes of its kind (a hash of the name stands in
// for the random part).
func PodName(w *model.Workload) string {
	h := fnv.New64a()
	h.Write([]byte(w.Namespace + "/" + w.Name))
	sum := h.Sum64()
	const alphabet = nameAlphabet
	hash := func(n int, x uint64) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[x%uint64(len(alphabet))]
			x /= uint64(len(alphabet))
		}
		return string(b)
	}
	switch w.Kind {
	case "Deployment":
		return w.Name + "-" + hash(10, sum) + "-" + hash(5, sum>>20)
	case "CronJob":
		return w.Name + "-29412345-" + hash(5, sum)
	case "StatefulSet":
		return w.Name + "-0"
	case "DaemonSet", "Job", "ReplicaSet":
		return w.Name + "-" + hash(5, sum)
	}
	return w.Name
}

func uuidOf(node string, i int) string {
	h := fnv.New128a()
	h.Write([]byte(node))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(i))
	h.Write(n[:])
	b := h.Sum(nil)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
