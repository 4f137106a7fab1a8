// Package verify checks the reachability engine against the Linux kernel.
//
// It builds a lab on the local kernel: one network namespace per workload,
// veth pairs into a bridge in a "node" namespace, the lab addresses from the
// pod CIDR, and one namespace holding an address for every external range
// of the matrix and every host name of a toFQDNs rule. It compiles the
// cluster's NetworkPolicies, tiered cluster policies and Cilium policies
// into nftables rules in every pod namespace, independently of
// pipeline/reach, listens on the ports it will probe, probes them from
// every source namespace and compares what the kernel let through with the
// engine's matrix.
//
// Building a lab needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root); CanRun says
// whether this process can. See docs/verify.md.
package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netns"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Options tune a run. The zero value is usable.
type Options struct {
	// Prefix starts the names of the run's namespaces; a random run id
	// follows it. Default DefaultPrefix.
	Prefix string
	// Parallel is how many source namespaces are probed at once; default 8.
	Parallel int
	// Timeout bounds one TCP or SCTP connect and one UDP attempt; default
	// 3s. Denials answer at once, so only lost packets wait this long.
	Timeout time.Duration
	// UDPRetries is how often a UDP probe that got no answer is sent
	// again; default 3. Negative means none.
	UDPRetries int
	// Logf receives progress messages; nil discards them.
	Logf func(format string, args ...any)
	// Record keeps every probe and the kernel's verdict in
	// Result.Records (verify --record-flows).
	Record bool
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.UDPRetries == 0 {
		o.UDPRetries = 3
	} else if o.UDPRetries < 0 {
		o.UDPRetries = 0
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Verdict is what one side says about one probe.
type Verdict bool

func (v Verdict) String() string {
	if v {
		return "allow"
	}
	return "deny"
}

// Mismatch is a probe on which the engine and the kernel disagree.
type Mismatch struct {
	Src, Dst string // model.Peer.String() of both ends
	Protocol model.Protocol
	Port     uint16
	Engine   Verdict
	Kernel   Verdict
	// Detail is what the kernel did: "connected", "echoed", "refused",
	// "prohibited", "blocked on egress", "timeout", ...
	Detail string
}

// String is "src -> dst 5432/TCP: engine says allow, kernel says deny (refused)".
func (m Mismatch) String() string {
	return fmt.Sprintf("%s -> %s %d/%s: engine says %s, kernel says %s (%s)",
		m.Src, m.Dst, m.Port, m.Protocol, m.Engine, m.Kernel, m.Detail)
}

// Result is the outcome of a run.
type Result struct {
	// Workloads and Externals are the peers the lab held; Pairs the
	// ordered pairs probed.
	Workloads, Externals, Pairs int
	// Probes is how many (src, dst, protocol, port) probes ran; Allowed how
	// many of them the kernel let through; Timeouts how many got no answer
	// (denials answer at once, so timeouts hint at a lossy lab).
	Probes, Allowed, Timeouts int
	Mismatches                []Mismatch
	// Skipped lists what the lab did not check, and why.
	Skipped []string
	// Warnings are policy parts the lab could not express; they match
	// nothing, as in the API server's validation they would be rejected.
	Warnings []string
	Timings  struct{ Setup, Rules, Probe, Teardown time.Duration }
	// Records are the probes and what the kernel did, when
	// Options.Record is set.
	Records []Record
}

// OK reports whether the kernel agreed with the engine on every probe.
func (r *Result) OK() bool { return len(r.Mismatches) == 0 }

// peer is one end of a probe in the lab.
type peer struct {
	label string // model.Peer.String()
	idx   int32  // index into the matrix's peers, -1 when absent
	pod   *pod   // nil for an external address
	addr  netip.Addr
	ns    *labNS
}

// probe is one (src, dst, protocol, port) check.
type probe struct {
	src, dst *peer
	pp       protoPort
	engine   bool
	outcome
	at time.Time // when the kernel answered
}

// Run builds the lab for c, probes it and compares what the kernel allowed
// with m. c must carry the lab addresses (AssignAddresses) and m must have
// been computed from that same c. The lab is removed before Run returns,
// also on error, panic, SIGINT or SIGTERM.
func Run(ctx context.Context, c *model.Cluster, m *model.Matrix, opts Options) (res *Result, err error) {
	opts = opts.withDefaults()
	if err := CanRun(); err != nil {
		return nil, err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	res = &Result{}
	bits, cidrs, err := labFamily(c)
	if err != nil {
		return nil, err
	}
	pods, err := labPods(c, bits, cidrs)
	if err != nil {
		return nil, err
	}
	cp := newCompiler(c, bits, pods)
	peers, err := matchPeers(cp, m, res)
	if err != nil {
		return nil, err
	}
	plans, err := cp.compile()
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	res.Warnings = cp.warnings
	if n := addressDependent(m); n > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the engine marks %d connections address-dependent although every workload has a lab address; they are checked as allowed", n))
	}
	sctp := sctpSupported()
	probes, skippedSCTP := probeSet(peers, m, plans, sctp)
	res.Pairs = countPairs(probes)
	if skippedSCTP > 0 {
		res.Skipped = append(res.Skipped, fmt.Sprintf("%d SCTP probes: the kernel has no SCTP", skippedSCTP))
	}

	id := make([]byte, 3)
	_, _ = rand.Read(id)
	l := &lab{prefix: opts.Prefix + hex.EncodeToString(id) + "-", bits: bits, cidrs: cidrs}
	for _, p := range peers {
		if p.pod == nil {
			l.extIPs = append(l.extIPs, p.addr)
		} else {
			res.Workloads++
		}
	}
	res.Externals = len(l.extIPs)
	ls := &listeners{}
	defer func() {
		t := time.Now()
		ls.close()
		if derr := l.destroy(); derr != nil {
			err = errors.Join(err, derr)
		}
		res.Timings.Teardown = time.Since(t)
		if left := leftovers(l.prefix); len(left) > 0 {
			err = errors.Join(err, fmt.Errorf("lab left behind: %s", strings.Join(left, ", ")))
		}
	}()

	t := time.Now()
	opts.Logf("verify: building lab %s: %d workloads, %d external addresses", l.prefix, res.Workloads, res.Externals)
	if err := l.build(pods); err != nil {
		return res, fmt.Errorf("build lab: %w", err)
	}
	for _, p := range peers {
		if p.pod != nil {
			p.ns = l.podNS[p.pod]
		} else {
			p.ns = l.ext
		}
	}
	ready, err := startListeners(ls, l, probes)
	if err != nil {
		return res, err
	}
	if err := l.waitReady(ctx, ready); err != nil {
		return res, err
	}
	res.Timings.Setup = time.Since(t)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("verify interrupted: %w", err)
	}

	t = time.Now()
	for _, p := range sortedPods(plans) {
		if err := plans[p].install(int(l.podNS[p].h), bits); err != nil {
			return res, fmt.Errorf("install nftables rules for %s: %w", p.w.Key(), err)
		}
	}
	res.Timings.Rules = time.Since(t)

	t = time.Now()
	opts.Logf("verify: %d probes over %d pairs", len(probes), res.Pairs)
	pr := &prober{bits: bits, timeout: opts.Timeout, retries: opts.UDPRetries}
	if err := runProbes(ctx, pr, probes, opts.Parallel); err != nil {
		return res, err
	}
	res.Timings.Probe = time.Since(t)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("verify interrupted: %w", err)
	}
	compare(res, probes)
	if opts.Record {
		res.Records = records(probes)
	}
	return res, nil
}

func addressDependent(m *model.Matrix) int {
	n := 0
	for _, c := range m.Connections {
		if m.Of(c).AddressDependent {
			n++
		}
	}
	return n
}

// abbreviate joins the first n items and says how many more there are.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// labPods are the workloads that get a namespace: all but hostNetwork
// ones, each with its one lab address.
func labPods(c *model.Cluster, bits int, cidrs []netip.Prefix) ([]*pod, error) {
	var pods []*pod
	seen := map[netip.Addr]string{}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		if w.HostNetwork {
			continue
		}
		var ip netip.Addr
		for _, a := range w.IPs {
			for _, p := range cidrs {
				if p.Contains(a) && a.BitLen() == bits {
					ip = a
				}
			}
		}
		if !ip.IsValid() {
			return nil, fmt.Errorf("workload %s has no address in the pod CIDRs: give Run the cluster AssignAddresses returns", w.Key())
		}
		if other, dup := seen[ip]; dup {
			return nil, fmt.Errorf("workloads %s and %s share the address %s", other, w.Key(), ip)
		}
		seen[ip] = w.Key()
		pods = append(pods, &pod{w: w, ip: ip, ns: namespaceLabels(c, w.Namespace)})
	}
	return pods, nil
}

func workloadID(w *model.Workload) string { return w.Namespace + "/" + w.Name + "/" + w.Kind }

// matchPeers pairs the lab's pods with the matrix's workload peers, gives
// every external range of the matrix a representative address, and every
// host name of the cluster's toFQDNs rules an address of its own
// (cp.hosts, the lab's name-to-address map), paired with the matrix's
// host-name peers.
func matchPeers(cp *compiler, m *model.Matrix, res *Result) ([]*peer, error) {
	c, bits, pods := cp.c, cp.bits, cp.pods
	idx := map[string]int32{}
	hostIdx := map[string]int32{}
	var out []*peer
	taken := map[netip.Addr]bool{}
	for _, p := range pods {
		taken[p.ip] = true
	}
	var otherFamily, unusable []string
	for i, mp := range m.Peers {
		if mp.Workload != nil {
			idx[workloadID(mp.Workload)] = int32(i)
			continue
		}
		if mp.FQDN != "" {
			hostIdx[mp.FQDN] = int32(i)
			continue
		}
		if mp.Range.From.BitLen() != bits {
			otherFamily = append(otherFamily, mp.String())
			continue
		}
		a, ok := representative(mp.Range, bits, c, taken)
		if !ok {
			unusable = append(unusable, mp.String())
			continue
		}
		taken[a] = true
		out = append(out, &peer{label: mp.String(), idx: int32(i), addr: a})
	}
	if len(otherFamily) > 0 {
		res.Skipped = append(res.Skipped, fmt.Sprintf("%d external ranges of the other address family (the lab is IPv%d): %s",
			len(otherFamily), map[int]int{32: 4, 128: 6}[bits], abbreviate(otherFamily, 3)))
	}
	if len(unusable) > 0 {
		res.Skipped = append(res.Skipped, fmt.Sprintf("%d external ranges with no address a namespace can hold (loopback, multicast, ...): %s",
			len(unusable), abbreviate(unusable, 3)))
	}
	// The lab's own list of names, and those of the matrix's host-name
	// peers (a matrix computed together with other clusters has theirs).
	endpoints := hostEndpoints(c)
	for n := range hostIdx {
		if !slices.Contains(endpoints, n) {
			endpoints = append(endpoints, n)
		}
	}
	sort.Strings(endpoints)
	hosts, why := cp.hostAddresses(endpoints, taken)
	if why != "" {
		res.Skipped = append(res.Skipped, fmt.Sprintf("%d host names (toFQDNs): %s", len(endpoints), why))
		hostIdx = map[string]int32{}
	}
	cp.hosts = hosts
	for _, h := range hosts {
		i, ok := hostIdx[h.endpoint]
		if !ok {
			i = -1
		}
		out = append(out, &peer{label: model.FQDNPrefix + h.endpoint, idx: i, addr: h.addr})
	}
	var pp []*peer
	for _, p := range pods {
		i, ok := idx[workloadID(p.w)]
		if !ok {
			i = -1
		}
		pp = append(pp, &peer{label: p.w.String(), idx: i, pod: p, addr: p.ip})
		delete(idx, workloadID(p.w))
	}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		if w.HostNetwork {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s: hostNetwork, outside NetworkPolicy", w.String()))
			delete(idx, workloadID(w))
		}
	}
	var unknown []string
	for id := range idx {
		unknown = append(unknown, id)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("matrix has workloads the cluster lacks: %s", strings.Join(unknown, ", "))
	}
	return append(pp, out...), nil
}

// probeSet chooses the probes. For every ordered pair (s, d) of lab peers,
// except a peer with itself and two external addresses, and every
// protocol, it probes:
//   - port 1;
//   - every container port d declares;
//   - for every port range [a, b] the engine allows from s to d: a, b, b+1;
//   - for every port range [a, b] of the compiled egress rules of s and
//     ingress rules of d: a, b, b+1.
//
// The kernel's verdict for (s, d) can change only where some compiled rule
// range starts or ends, and the engine's only where one of its ranges
// does; so every maximal run of ports on which both are constant starts at
// 1, at some a or at some b+1, and a difference anywhere shows on one of
// these probes.
func probeSet(peers []*peer, m *model.Matrix, plans map[*pod]*podPlan, sctp bool) (probes []*probe, skippedSCTP int) {
	for _, s := range peers {
		for _, d := range peers {
			if s == d || (s.pod == nil && d.pod == nil) {
				continue
			}
			var allow *model.Allowance
			if s.idx >= 0 && d.idx >= 0 {
				allow = m.Find(s.idx, d.idx)
			}
			want := map[protoPort]bool{}
			add := func(p model.Protocol, port uint16) { want[protoPort{p, port}] = true }
			for _, p := range model.Protocols {
				add(p, 1)
			}
			if d.pod != nil {
				for _, cp := range d.pod.w.Ports {
					add(cp.Protocol, cp.Port)
				}
				if pl := plans[d.pod]; pl.filters(true) {
					pl.edges(pl.ingress, add)
					pl.edges(pl.adminIn, add)
					pl.edges(pl.denyIn, add)
					pl.edges(pl.baseIn, add)
				}
			}
			if s.pod != nil {
				if pl := plans[s.pod]; pl.filters(false) {
					pl.edges(pl.egress, add)
					pl.edges(pl.adminEg, add)
					pl.edges(pl.denyEg, add)
					pl.edges(pl.baseEg, add)
				}
			}
			if allow != nil {
				for _, p := range model.Protocols {
					for _, r := range allow.Ports.Ranges(p) {
						add(p, r.From)
						add(p, r.To)
						if r.To < model.MaxPort {
							add(p, r.To+1)
						}
					}
				}
			}
			for pp := range want {
				if pp.proto == model.SCTP && !sctp {
					skippedSCTP++
					continue
				}
				probes = append(probes, &probe{src: s, dst: d, pp: pp,
					engine: allow != nil && allow.Ports.Contains(pp.proto, pp.port)})
			}
		}
	}
	sort.Slice(probes, func(i, j int) bool { return probes[i].less(probes[j]) })
	return probes, skippedSCTP
}

func (p *probe) less(o *probe) bool {
	if p.src.label != o.src.label {
		return p.src.label < o.src.label
	}
	if p.dst.label != o.dst.label {
		return p.dst.label < o.dst.label
	}
	if p.pp.proto != o.pp.proto {
		return p.pp.proto < o.pp.proto
	}
	return p.pp.port < o.pp.port
}

// startListeners opens, in every destination namespace, the ports probed
// there. All external addresses share one namespace and its listeners. It
// returns a TCP port listening at every destination address.
func startListeners(ls *listeners, l *lab, probes []*probe) (map[netip.Addr]uint16, error) {
	ready := map[netip.Addr]uint16{}
	for _, p := range probes {
		if p.pp.proto == model.TCP {
			ready[p.dst.addr] = p.pp.port
		}
	}
	want := map[*labNS]map[protoPort]bool{}
	for _, p := range probes {
		if want[p.dst.ns] == nil {
			want[p.dst.ns] = map[protoPort]bool{}
		}
		want[p.dst.ns][p.pp] = true
	}
	for ns, set := range want {
		pps := make([]protoPort, 0, len(set))
		for pp := range set {
			pps = append(pps, pp)
		}
		var udpAddrs []netip.Addr
		if ns == l.ext {
			udpAddrs = l.extIPs
		}
		if err := ls.listen(ns, l.bits, pps, udpAddrs); err != nil {
			return nil, err
		}
	}
	return ready, nil
}

// runProbes runs the probes, grouped by (source, destination) pair, in
// parallel workers that each enter the source's namespace on their own
// locked thread. Small batches keep one slow pair from holding up the rest.
func runProbes(ctx context.Context, pr *prober, probes []*probe, parallel int) error {
	var batches [][]*probe
	for i := 0; i < len(probes); {
		j := i
		for j < len(probes) && probes[j].src == probes[i].src && probes[j].dst == probes[i].dst {
			j++
		}
		batches = append(batches, probes[i:j])
		i = j
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, parallel)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Never unlocked: the thread ends with this goroutine, in
			// whatever namespace it was left.
			runtime.LockOSThread()
			var cur *peer
			for {
				b := int(next.Add(1)) - 1
				if b >= len(batches) || ctx.Err() != nil {
					return
				}
				src := batches[b][0].src
				if src != cur {
					if err := netns.Set(src.ns.h); err != nil {
						errs[w] = fmt.Errorf("enter %s: %w", src.ns.name, err)
						return
					}
					cur = src
				}
				var local netip.Addr
				if src.pod == nil {
					local = src.addr
				}
				for _, p := range batches[b] {
					p.outcome = pr.run(ctx, local, p.dst.addr, p.pp)
					p.at = time.Now()
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func countPairs(probes []*probe) int {
	pairs := map[[2]*peer]bool{}
	for _, p := range probes {
		pairs[[2]*peer{p.src, p.dst}] = true
	}
	return len(pairs)
}

// compare fills the counters and mismatches of res.
func compare(res *Result, probes []*probe) {
	for _, p := range probes {
		res.Probes++
		if p.allowed {
			res.Allowed++
		}
		if p.detail == "timeout" {
			res.Timeouts++
		}
		if p.allowed != p.engine {
			res.Mismatches = append(res.Mismatches, Mismatch{
				Src: p.src.label, Dst: p.dst.label, Protocol: p.pp.proto, Port: p.pp.port,
				Engine: Verdict(p.engine), Kernel: Verdict(p.allowed), Detail: p.detail,
			})
		}
	}
}
