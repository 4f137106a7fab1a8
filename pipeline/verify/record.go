package verify

import (
	"net/netip"
	"sort"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Record is one probe of a run and what the kernel did with it, for
// `verify --record-flows`: the lab's traffic as flows made by the kernel.
type Record struct {
	// Src and Dst are the workloads probed from and to; nil for the
	// external address, which SrcAddr/DstAddr hold.
	Src, Dst         *model.Workload
	SrcAddr, DstAddr netip.Addr
	Protocol         model.Protocol
	Port             uint16
	Allowed          bool
	// Detail is what the kernel did ("connected", "refused", "blocked
	// on egress", ...).
	Detail string
	Time   time.Time
}

// DeniedOnEgress reports whether the source's own egress rules refused the
// probe (the kernel answered EPERM to the sender).
func (r *Record) DeniedOnEgress() bool { return !r.Allowed && r.Detail == "blocked on egress" }

func records(probes []*probe) []Record {
	out := make([]Record, 0, len(probes))
	for _, p := range probes {
		r := Record{SrcAddr: p.src.addr, DstAddr: p.dst.addr, Protocol: p.pp.proto, Port: p.pp.port,
			Allowed: p.allowed, Detail: p.detail, Time: p.at}
		if p.src.pod != nil {
			r.Src = p.src.pod.w
		}
		if p.dst.pod != nil {
			r.Dst = p.dst.pod.w
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
