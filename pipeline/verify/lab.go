package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/reachgate/reachgate/pipeline/model"
)

// DefaultPrefix starts the name of every network namespace and link the lab
// creates. Cleanup(DefaultPrefix) removes whatever a crashed run left.
const DefaultPrefix = "rgv-"

// netnsDir is where named network namespaces are bind-mounted.
const netnsDir = "/run/netns"

// inThread runs fn on a goroutine locked to a fresh OS thread that is
// never unlocked: whatever namespace fn leaves the thread in, the thread
// ends with the goroutine and no other goroutine ever runs in it.
func inThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- fn()
	}()
	return <-errc
}

// labNS is one network namespace of the lab.
type labNS struct {
	name string
	h    netns.NsHandle
	nl   *netlink.Handle
}

// newNS creates the named namespace, applies the sysctls inside it and
// opens a netlink handle on it.
func newNS(name string, sysctls map[string]string) (*labNS, error) {
	ns := &labNS{name: name, h: netns.None()}
	err := inThread(func() error {
		h, err := netns.NewNamed(name) // creates and enters it
		if err != nil {
			return err
		}
		ns.h = h
		for k, v := range sysctls {
			p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				return fmt.Errorf("sysctl %s: %w", k, err)
			}
		}
		return nil
	})
	if err == nil {
		ns.nl, err = netlink.NewHandleAt(ns.h)
	}
	if err != nil {
		ns.close()
		_ = netns.DeleteNamed(name)
		return nil, fmt.Errorf("create network namespace %s: %w", name, err)
	}
	return ns, nil
}

func (ns *labNS) close() {
	if ns.nl != nil {
		ns.nl.Close()
		ns.nl = nil
	}
	if ns.h.IsOpen() {
		_ = ns.h.Close()
	}
}

// destroy closes the namespace's handles and removes its name; the kernel
// frees it, with its links, once no socket refers to it.
func (ns *labNS) destroy() error {
	ns.close()
	if err := netns.DeleteNamed(ns.name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete network namespace %s: %w", ns.name, err)
	}
	return nil
}

// Cleanup removes every network namespace and every link in the current
// namespace whose name starts with prefix: the leftovers of runs that were
// killed before they could tear their lab down. Run removes its own lab on
// success, failure and interrupt; only SIGKILL or a crash leaves any.
// Give the prefix of runs that are surely over: Cleanup(DefaultPrefix)
// also removes the lab of a run still in progress.
func Cleanup(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("cleanup: empty prefix would remove every namespace")
	}
	var errs []error
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("cleanup: %w", err))
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := netns.DeleteNamed(e.Name()); err != nil {
				errs = append(errs, fmt.Errorf("cleanup: delete network namespace %s: %w", e.Name(), err))
			}
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		errs = append(errs, fmt.Errorf("cleanup: list links: %w", err))
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("cleanup: delete link %s: %w", l.Attrs().Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// leftovers lists the namespaces and links whose name starts with prefix.
func leftovers(prefix string) []string {
	var out []string
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, filepath.Join(netnsDir, e.Name()))
		}
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			out = append(out, "link "+l.Attrs().Name)
		}
	}
	return out
}

var (
	canRunOnce sync.Once
	canRunErr  error
	sctpOnce   sync.Once
	sctpOK     bool
)

// CanRun reports whether this process can build a lab: nil when it has
// CAP_NET_ADMIN and CAP_SYS_ADMIN and the kernel offers network namespaces,
// veth, bridges and nftables inet tables with conntrack, reject and
// interval sets; otherwise an error saying what is missing. Tests skip
// with that message.
func CanRun() error {
	canRunOnce.Do(func() { canRunErr = canRun() })
	return canRunErr
}

func canRun() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("verify needs Linux network namespaces and nftables, not %s", runtime.GOOS)
	}
	caps, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("verify: read capabilities: %w", err)
	}
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}} {
		if caps&(1<<c.bit) == 0 {
			return fmt.Errorf("verify needs root (%s) to create network namespaces and nftables rules; run as root or skip", c.name)
		}
	}
	return inThread(func() error {
		h, err := netns.New() // an unnamed namespace, gone with this thread
		if err != nil {
			return fmt.Errorf("verify: create a network namespace: %w", err)
		}
		defer h.Close()
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}); err != nil {
			return fmt.Errorf("verify: kernel has no bridge support: %w", err)
		}
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "a"}, PeerName: "b"}); err != nil {
			return fmt.Errorf("verify: kernel has no veth support: %w", err)
		}
		plan := &podPlan{ingressIsolated: true, egressIsolated: true,
			ingress: []filterRule{{addrs: mustSet("10.0.0.0/8"), ports: []portMatch{{proto: 0, from: 80, to: 90}}}},
		}
		if err := plan.install(int(h), 32); err != nil {
			return fmt.Errorf("verify: kernel lacks nftables inet tables with conntrack, reject or sets: %w", err)
		}
		c, _ := nftables.New(nftables.WithNetNSFd(int(h)))
		t := &nftables.Table{Family: nftables.TableFamilyINet, Name: tableName}
		rules, err := c.GetRules(t, &nftables.Chain{Name: "ingress", Table: t})
		if err != nil || len(rules) == 0 {
			return fmt.Errorf("verify: nftables rules did not load: %v", err)
		}
		if _, ok := rules[len(rules)-1].Exprs[0].(*expr.Reject); !ok {
			return fmt.Errorf("verify: nftables rules read back differently")
		}
		return nil
	})
}

// sctpSupported reports whether the kernel has SCTP sockets.
func sctpSupported() bool {
	sctpOnce.Do(func() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_SCTP)
		if err == nil {
			unix.Close(fd)
			sctpOK = true
		}
	})
	return sctpOK
}

func effectiveCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			var caps uint64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%x", &caps)
			return caps, err
		}
	}
	return 0, fmt.Errorf("no CapEff in /proc/self/status")
}

// mac is a locally administered address: kind 0x67 for pods (numbered),
// 0x68 for the lab's infrastructure.
func mac(kind byte, n int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x72, kind, byte(n >> 16), byte(n >> 8), byte(n)}
}

var (
	bridgeMAC  = mac(0x68, 1)
	extMAC     = mac(0x68, 2)
	extPeerMAC = mac(0x68, 3)
)

// lab is the built topology.
type lab struct {
	prefix string
	bits   int
	cidrs  []netip.Prefix
	node   *labNS
	ext    *labNS
	extIPs []netip.Addr
	podNS  map[*pod]*labNS
	all    []*labNS
}

func hostPrefix(a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}
}

func (l *lab) cidrOf(a netip.Addr) netip.Prefix {
	for _, p := range l.cidrs {
		if p.Contains(a) {
			return p
		}
	}
	return l.cidrs[0]
}

func (l *lab) sysctls(node bool) map[string]string {
	s := map[string]string{
		"net.ipv4.icmp_ratemask":          "0", // deny answers must not be rate limited
		"net.ipv4.conf.all.rp_filter":     "0",
		"net.ipv4.conf.default.rp_filter": "0",
		"net.ipv6.icmp.ratelimit":         "0",
	}
	if l.bits == 32 {
		s["net.ipv6.conf.all.disable_ipv6"] = "1"
		s["net.ipv6.conf.default.disable_ipv6"] = "1"
	} else {
		s["net.ipv6.conf.all.accept_dad"] = "0"
		s["net.ipv6.conf.default.accept_dad"] = "0"
		s["net.ipv6.conf.all.accept_ra"] = "0"
		s["net.ipv6.conf.default.accept_ra"] = "0"
	}
	if node {
		s["net.ipv4.conf.all.send_redirects"] = "0"
		s["net.ipv4.conf.default.send_redirects"] = "0"
		if l.bits == 32 {
			s["net.ipv4.ip_forward"] = "1"
		} else {
			s["net.ipv6.conf.all.forwarding"] = "1"
		}
	}
	return s
}

func (l *lab) addNS(name string, node bool) (*labNS, error) {
	ns, err := newNS(l.prefix+name, l.sysctls(node))
	if err != nil {
		return nil, err
	}
	l.all = append(l.all, ns)
	return ns, nil
}

// build creates the node namespace with its bridge, one namespace per pod
// and, when there are external addresses, a namespace holding them.
func (l *lab) build(pods []*pod) error {
	var err error
	if l.node, err = l.addNS("node", true); err != nil {
		return err
	}
	nl := l.node.nl
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0", HardwareAddr: bridgeMAC}}
	if err := nl.LinkAdd(br); err != nil {
		return fmt.Errorf("node bridge: %w", err)
	}
	for _, p := range l.cidrs {
		gw := netip.PrefixFrom(gateway(p), p.Bits())
		if err := nl.AddrAdd(br, &netlink.Addr{IPNet: prefixNet(gw), Flags: nodad(l.bits)}); err != nil {
			return fmt.Errorf("node bridge address %s: %w", gw, err)
		}
	}
	if err := nl.LinkSetUp(br); err != nil {
		return fmt.Errorf("node bridge up: %w", err)
	}

	l.podNS = make(map[*pod]*labNS, len(pods))
	macs := make(map[*pod]net.HardwareAddr, len(pods))
	for i, p := range pods {
		ns, err := l.addNS(fmt.Sprintf("p%d", i), false)
		if err != nil {
			return err
		}
		p.name = ns.name
		l.podNS[p] = ns
		macs[p] = mac(0x67, i+1)
		host := fmt.Sprintf("p%d", i)
		if err := l.plug(ns, host, macs[p], br.Index, []netip.Addr{p.ip}, true); err != nil {
			return fmt.Errorf("pod %s: %w", p.w.Key(), err)
		}
	}
	// Static neighbour entries: a full mesh overflows the host-wide ARP
	// table and allowed probes would then be lost silently.
	brLink, err := nl.LinkByName("br0")
	if err != nil {
		return err
	}
	for _, p := range pods {
		if err := neigh(nl, brLink.Attrs().Index, p.ip, macs[p]); err != nil {
			return fmt.Errorf("node neighbour %s: %w", p.ip, err)
		}
		ns := l.podNS[p]
		eth, err := ns.nl.LinkByName("eth0")
		if err != nil {
			return err
		}
		cidr := l.cidrOf(p.ip)
		if err := neigh(ns.nl, eth.Attrs().Index, gateway(cidr), bridgeMAC); err != nil {
			return fmt.Errorf("pod %s neighbour: %w", p.w.Key(), err)
		}
		for _, q := range pods {
			if q != p && cidr.Contains(q.ip) {
				if err := neigh(ns.nl, eth.Attrs().Index, q.ip, macs[q]); err != nil {
					return fmt.Errorf("pod %s neighbour %s: %w", p.w.Key(), q.ip, err)
				}
			}
		}
	}
	if len(l.extIPs) == 0 {
		return nil
	}
	if l.ext, err = l.addNS("ext", false); err != nil {
		return err
	}
	if err := l.plug(l.ext, "ext", extMAC, 0, l.extIPs, false); err != nil {
		return fmt.Errorf("externals: %w", err)
	}
	vext, err := nl.LinkByName("ext")
	if err != nil {
		return err
	}
	for _, a := range l.extIPs {
		if err := nl.RouteAdd(&netlink.Route{LinkIndex: vext.Attrs().Index, Dst: hostPrefix(a), Scope: netlink.SCOPE_LINK}); err != nil {
			return fmt.Errorf("node route to %s: %w", a, err)
		}
		if err := neigh(nl, vext.Attrs().Index, a, extPeerMAC); err != nil {
			return fmt.Errorf("node neighbour %s: %w", a, err)
		}
	}
	return nil
}

// plug connects ns to the node: a veth named host in the node namespace
// (on the bridge when master is set) and eth0 inside ns, holding addrs, with
// a default route through the node.
func (l *lab) plug(ns *labNS, host string, hw net.HardwareAddr, master int, addrs []netip.Addr, podNet bool) error {
	nl := l.node.nl
	peerMAC := hw
	hostMAC := net.HardwareAddr(nil)
	if !podNet {
		// The externals' eth0 is extPeerMAC; the node side is extMAC, the
		// gateway the externals send to.
		peerMAC, hostMAC = extPeerMAC, extMAC
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: host, MasterIndex: master, HardwareAddr: hostMAC},
		PeerName:         "eth0",
		PeerHardwareAddr: peerMAC,
		PeerNamespace:    netlink.NsFd(ns.h),
	}
	if err := nl.LinkAdd(veth); err != nil {
		return fmt.Errorf("veth %s: %w", host, err)
	}
	if err := nl.LinkSetUp(veth); err != nil {
		return fmt.Errorf("veth %s up: %w", host, err)
	}
	lo, err := ns.nl.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := ns.nl.LinkSetUp(lo); err != nil {
		return err
	}
	eth, err := ns.nl.LinkByName("eth0")
	if err != nil {
		return err
	}
	gw := gateway(l.cidrs[0])
	for _, a := range addrs {
		pfx := netip.PrefixFrom(a, a.BitLen())
		if podNet {
			pfx = netip.PrefixFrom(a, l.cidrOf(a).Bits())
			gw = gateway(l.cidrOf(a))
		}
		if err := ns.nl.AddrAdd(eth, &netlink.Addr{IPNet: prefixNet(pfx), Flags: nodad(l.bits)}); err != nil {
			return fmt.Errorf("address %s: %w", pfx, err)
		}
	}
	if err := ns.nl.LinkSetUp(eth); err != nil {
		return err
	}
	if err := ns.nl.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: gw.AsSlice(), Flags: int(netlink.FLAG_ONLINK)}); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	gwMAC := bridgeMAC
	if !podNet {
		gwMAC = extMAC
	}
	return neigh(ns.nl, eth.Attrs().Index, gw, gwMAC)
}

func neigh(nl *netlink.Handle, link int, a netip.Addr, hw net.HardwareAddr) error {
	fam := netlink.FAMILY_V4
	if a.Is6() {
		fam = netlink.FAMILY_V6
	}
	return nl.NeighSet(&netlink.Neigh{LinkIndex: link, Family: fam, State: netlink.NUD_PERMANENT, IP: a.AsSlice(), HardwareAddr: hw})
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func nodad(bits int) int {
	if bits == 128 {
		return unix.IFA_F_NODAD
	}
	return 0
}

// destroy removes every namespace of the lab.
func (l *lab) destroy() error {
	var errs []error
	for _, ns := range l.all {
		if err := ns.destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	l.all = nil
	return errors.Join(errs...)
}

func mustSet(cidrs ...string) model.IPSet {
	var s model.IPSet
	for _, c := range cidrs {
		s = s.Union(model.IPSetOf(netip.MustParsePrefix(c)))
	}
	return s
}

// waitReady returns once the node namespace can open a TCP connection to
// every address in ready (on the port given), before any rule is in
// place: new links take a moment before they pass traffic, and probes
// sent earlier would be lost.
func (l *lab) waitReady(ctx context.Context, ready map[netip.Addr]uint16) error {
	return inThread(func() error {
		if err := netns.Set(l.node.h); err != nil {
			return err
		}
		deadline := time.Now().Add(readyTimeout)
		for a, port := range ready {
			for {
				d := net.Dialer{Timeout: 200 * time.Millisecond}
				c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, port).String())
				if err == nil {
					_ = c.Close()
					break
				}
				if ctx.Err() != nil {
					return fmt.Errorf("verify interrupted: %w", ctx.Err())
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("lab not ready: %s port %d unreachable from the node after %s: %w", a, port, readyTimeout, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		return nil
	})
}

// readyTimeout bounds how long a new lab may take to pass traffic.
const readyTimeout = 20 * time.Second
