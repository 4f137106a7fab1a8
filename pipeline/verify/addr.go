package verify

import (
	"fmt"
	"net/netip"

	"github.com/reachgate/reachgate/pipeline/model"
)

// labFamily is the address family of the lab: IPv4 when the cluster has an
// IPv4 pod CIDR, IPv6 when it has only IPv6 ones. A dual-stack cluster is
// verified on its IPv4 addresses.
func labFamily(c *model.Cluster) (bits int, cidrs []netip.Prefix, err error) {
	var v4, v6 []netip.Prefix
	for _, r := range c.PodCIDRs.Ranges {
		for _, p := range r.Prefixes() {
			if p.Addr().Is4() {
				v4 = append(v4, p)
			} else {
				v6 = append(v6, p)
			}
		}
	}
	switch {
	case len(v4) > 0:
		return 32, v4, nil
	case len(v6) > 0:
		return 128, v6, nil
	}
	return 0, nil, fmt.Errorf("cluster has no pod CIDR to take lab addresses from")
}

// gateway is the node namespace's address in a pod CIDR: its first host
// address.
func gateway(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// AssignAddresses returns a copy of c in which every workload that runs in
// the pod network has exactly one address of the lab family from c's pod
// CIDRs: the one it already has when that lies in a pod CIDR and is free,
// otherwise the next free one. The engine must compute the matrix that
// Run checks from this copy, so both see the same addresses. hostNetwork
// workloads keep their addresses: they are outside NetworkPolicy and the lab.
func AssignAddresses(c *model.Cluster) (*model.Cluster, error) {
	_, cidrs, err := labFamily(c)
	if err != nil {
		return nil, err
	}
	out := *c
	out.Workloads = append([]model.Workload(nil), c.Workloads...)

	used := map[netip.Addr]bool{}
	for _, p := range cidrs {
		used[gateway(p)] = true
	}
	inPod := func(a netip.Addr) (netip.Prefix, bool) {
		for _, p := range cidrs {
			if p.Contains(a) {
				return p, true
			}
		}
		return netip.Prefix{}, false
	}
	usable := func(a netip.Addr) bool {
		p, ok := inPod(a)
		return ok && !used[a] && a != p.Masked().Addr() && a != lastAddr(p)
	}
	// Keep the addresses workloads already have, first come first served.
	keep := make([]bool, len(out.Workloads))
	for i := range out.Workloads {
		w := &out.Workloads[i]
		if w.HostNetwork {
			continue
		}
		for _, a := range w.IPs {
			if usable(a) {
				used[a] = true
				w.IPs = []netip.Addr{a}
				keep[i] = true
				break
			}
		}
	}
	ci, next := 0, gateway(cidrs[0]).Next()
	nextFree := func() (netip.Addr, bool) {
		for ci < len(cidrs) {
			if !next.IsValid() || !cidrs[ci].Contains(next) {
				if ci++; ci < len(cidrs) {
					next = gateway(cidrs[ci]).Next()
				}
				continue
			}
			a := next
			next = next.Next()
			if usable(a) {
				return a, true
			}
		}
		return netip.Addr{}, false
	}
	for i := range out.Workloads {
		w := &out.Workloads[i]
		if w.HostNetwork || keep[i] {
			continue
		}
		a, ok := nextFree()
		if !ok {
			return nil, fmt.Errorf("pod CIDRs %s too small for %d workloads", c.PodCIDRs.String(), len(c.Workloads))
		}
		used[a] = true
		w.IPs = []netip.Addr{a}
	}
	return &out, nil
}

func lastAddr(p netip.Prefix) netip.Addr { return model.PrefixRange(p).To }

// reserved are addresses that cannot stand for an external endpoint in the
// lab: unspecified, loopback, multicast, class E and IPv6 link-local.
var reserved = model.IPSetOf(
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("224.0.0.0/3"),
	netip.MustParsePrefix("::/8"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
)

// representative picks the address that stands for an external range in
// the lab: the first address of the range that is of the lab family,
// outside the pod CIDRs, not reserved and not taken, preferring addresses
// outside the service CIDRs. ok is false when the range has none.
func representative(r model.IPRange, bits int, c *model.Cluster, taken map[netip.Addr]bool) (netip.Addr, bool) {
	if r.From.BitLen() != bits {
		return netip.Addr{}, false
	}
	free := model.IPSet{Ranges: []model.IPRange{r}}.Subtract(c.PodCIDRs).Subtract(reserved)
	for _, set := range []model.IPSet{free.Subtract(c.ServiceCIDRs), free} {
		for _, x := range set.Ranges {
			for a, n := x.From, 0; n < 1024 && a.IsValid() && a.Compare(x.To) <= 0; a, n = a.Next(), n+1 {
				if !taken[a] {
					return a, true
				}
			}
		}
	}
	return netip.Addr{}, false
}
