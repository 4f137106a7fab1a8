package observe

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Endpoint is one end of a flow as the source describes it, before it is
// mapped onto an overlay. It is comparable, so flows aggregate by it.
type Endpoint struct {
	Namespace string
	// Pod is the pod's name (Hubble's pod_name); with Namespace it names
	// a pod.
	Pod string
	// Workload is the first owner Hubble names, "Kind/name".
	Workload string
	// Labels are the endpoint's labels, source prefixes ("k8s:") cut,
	// sorted and joined by newlines; reserved labels are in Reserved.
	Labels string
	// Reserved is Hubble's reserved identity ("world", "host", ...).
	Reserved string
	IP       netip.Addr
}

// String names the endpoint for a report.
func (e Endpoint) String() string {
	var b strings.Builder
	switch {
	case e.Pod != "":
		b.WriteString(e.Namespace + "/" + e.Pod)
	case e.Workload != "" && e.Namespace != "":
		b.WriteString(e.Namespace + "/" + e.Workload)
	case e.Labels != "":
		b.WriteString(e.Namespace + "/{" + strings.ReplaceAll(e.Labels, "\n", ",") + "}")
	case e.Reserved != "":
		b.WriteString("reserved:" + e.Reserved)
	}
	if e.IP.IsValid() {
		if b.Len() > 0 {
			b.WriteString(" (" + e.IP.String() + ")")
		} else {
			b.WriteString(e.IP.String())
		}
	}
	if b.Len() == 0 {
		return "<no address>"
	}
	return b.String()
}

// LabelMap returns the labels as a map.
func (e Endpoint) LabelMap() map[string]string {
	if e.Labels == "" {
		return nil
	}
	m := map[string]string{}
	for _, kv := range strings.Split(e.Labels, "\n") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// Key identifies an aggregated flow: both ends, protocol, port, verdict.
type Key struct {
	Src, Dst   Endpoint
	Protocol   model.Protocol
	Port       uint16
	Verdict    string
	DropReason string
}

// Record is a flow with its repeats aggregated.
type Record struct {
	Key
	Count       int64
	First, Last time.Time
}

func (r *Record) add(count int64, first, last time.Time) {
	r.Count += count
	if !first.IsZero() && (r.First.IsZero() || first.Before(r.First)) {
		r.First = first
	}
	if last.After(r.Last) {
		r.Last = last
	}
}

// Skip reasons: records that are not connection attempts reachgate
// judges. They are counted, not dropped silently.
const (
	skipReply     = "replies (is_reply), judged with the connection they answer"
	skipNotFlow   = "responses without a flow (node_status)"
	skipLost      = "lost-events notices (Hubble dropped events: the export is incomplete)"
	skipL7        = "L7 and socket records (their L3/L4 flow is judged)"
	skipVerdict   = "verdicts other than FORWARDED, DROPPED, AUDIT or REDIRECTED"
	skipNoIP      = "flows without an IP layer"
	skipProtocol  = "ICMP and other protocols NetworkPolicy ports do not name"
	skipSelf      = "self traffic (a workload to itself)"
	skipNoPort    = "flows without a destination port"
	skipZeroCount = "records with count 0"
)

// fromHubble reduces an upstream flow to a record; skip is set when the
// flow is not judged.
func fromHubble(f *flowpb.Flow, fallback time.Time) (r Record, skip string) {
	r, skip = judgeable(f, fallback)
	if skip == "" {
		r.Src = endpointOf(f.GetSource(), f.GetIP().GetSource())
		r.Dst = endpointOf(f.GetDestination(), f.GetIP().GetDestination())
	}
	return r, skip
}

// judgeable reduces a flow to a record without its endpoints; skip is set
// when the flow is not judged.
func judgeable(f *flowpb.Flow, fallback time.Time) (r Record, skip string) {
	switch f.GetType() {
	case flowpb.FlowType_L7, flowpb.FlowType_SOCK:
		return r, skipL7
	}
	if f.GetIsReply().GetValue() {
		return r, skipReply
	}
	switch f.GetVerdict() {
	case flowpb.Verdict_FORWARDED, flowpb.Verdict_AUDIT, flowpb.Verdict_REDIRECTED:
		r.Verdict = model.VerdictForwarded
	case flowpb.Verdict_DROPPED:
		r.Verdict = model.VerdictDropped
		if d := f.GetDropReasonDesc(); d != flowpb.DropReason_DROP_REASON_UNKNOWN {
			r.DropReason = d.String()
		}
	default:
		return r, skipVerdict
	}
	if f.GetIP() == nil {
		return r, skipNoIP
	}
	l4 := f.GetL4()
	switch {
	case l4.GetTCP() != nil:
		r.Protocol, r.Port = model.TCP, uint16(l4.GetTCP().GetDestinationPort())
	case l4.GetUDP() != nil:
		r.Protocol, r.Port = model.UDP, uint16(l4.GetUDP().GetDestinationPort())
	case l4.GetSCTP() != nil:
		r.Protocol, r.Port = model.SCTP, uint16(l4.GetSCTP().GetDestinationPort())
	default:
		return r, skipProtocol
	}
	if r.Port == 0 {
		return r, skipNoPort
	}
	t := fallback
	if ts := f.GetTime(); ts != nil {
		t = ts.AsTime()
	}
	r.Count = 1
	if a := f.GetAggregate(); a != nil {
		if n := int64(a.GetIngressFlowCount()) + int64(a.GetEgressFlowCount()) + int64(a.GetUnknownDirectionFlowCount()); n > 0 {
			r.Count = n
		}
	}
	r.First, r.Last = t, t
	return r, ""
}

func endpointOf(e *flowpb.Endpoint, ip string) Endpoint {
	out := Endpoint{Namespace: e.GetNamespace(), Pod: e.GetPodName()}
	if a, err := netip.ParseAddr(ip); err == nil {
		out.IP = a.Unmap()
	}
	if ws := e.GetWorkloads(); len(ws) > 0 {
		out.Workload = ws[0].GetKind() + "/" + ws[0].GetName()
	}
	var labels []string
	for _, l := range e.GetLabels() {
		src, kv, ok := strings.Cut(l, ":")
		if !ok {
			kv, src = l, ""
		}
		if src == "reserved" {
			if out.Reserved == "" {
				out.Reserved, _, _ = strings.Cut(kv, "=")
			}
			continue
		}
		// Namespace labels and Cilium's own metadata say nothing about
		// which workload this is.
		if strings.HasPrefix(kv, "io.cilium.k8s.namespace.labels.") || strings.HasPrefix(kv, "io.kubernetes.pod.namespace=") ||
			strings.HasPrefix(kv, "io.cilium.k8s.policy.") {
			continue
		}
		labels = append(labels, kv)
	}
	slices.Sort(labels)
	out.Labels = strings.Join(slices.Compact(labels), "\n")
	return out
}
