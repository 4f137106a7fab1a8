package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/reachgate/reachgate/pipeline/model"
)

// protoPort is one port of one protocol.
type protoPort struct {
	proto model.Protocol
	port  uint16
}

func (pp protoPort) String() string { return strconv.Itoa(int(pp.port)) + "/" + pp.proto.String() }

// listeners holds the sockets that answer probes.
type listeners struct {
	mu      sync.Mutex
	closers []io.Closer
	wg      sync.WaitGroup
}

func (ls *listeners) add(c io.Closer) {
	ls.mu.Lock()
	ls.closers = append(ls.closers, c)
	ls.mu.Unlock()
}

// close stops every listener and waits for their goroutines, so no socket
// keeps a lab namespace alive.
func (ls *listeners) close() {
	ls.mu.Lock()
	cs := ls.closers
	ls.closers = nil
	ls.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
	ls.wg.Wait()
}

// listen opens, inside ns, a TCP listener (accept and close), a UDP echo
// responder or an SCTP listener on every port of want. TCP and SCTP bind
// the wildcard address. UDP binds each of udpAddrs, so that a reply leaves
// from the address the probe went to (a wildcard socket would answer from
// the namespace's primary address, and the prober's connected socket would
// drop it); none means the wildcard.
func (ls *listeners) listen(ns *labNS, bits int, want []protoPort, udpAddrs []netip.Addr) error {
	return inThread(func() error {
		if err := netns.Set(ns.h); err != nil {
			return err
		}
		any := netip.IPv4Unspecified()
		if bits == 128 {
			any = netip.IPv6Unspecified()
		}
		if len(udpAddrs) == 0 {
			udpAddrs = []netip.Addr{any}
		}
		for _, pp := range want {
			addrs := []netip.Addr{any}
			if pp.proto == model.UDP {
				addrs = udpAddrs
			}
			for _, a := range addrs {
				if err := ls.listenOne(bits, a, pp); err != nil {
					return fmt.Errorf("listen %s in %s: %w", pp, ns.name, err)
				}
			}
		}
		return nil
	})
}

func (ls *listeners) listenOne(bits int, a netip.Addr, pp protoPort) error {
	tcp, udp := "tcp4", "udp4"
	if bits == 128 {
		tcp, udp = "tcp6", "udp6"
	}
	addr := netip.AddrPortFrom(a, pp.port).String()
	switch pp.proto {
	case model.TCP:
		ln, err := net.Listen(tcp, addr)
		if err != nil {
			return err
		}
		ls.add(ln)
		ls.wg.Add(1)
		go func() {
			defer ls.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
	case model.UDP:
		pc, err := net.ListenPacket(udp, addr)
		if err != nil {
			return err
		}
		ls.add(pc)
		ls.wg.Add(1)
		go func() {
			defer ls.wg.Done()
			buf := make([]byte, 64)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(buf[:n], from)
			}
		}()
	case model.SCTP:
		f, err := sctpListen(bits, a, pp.port)
		if err != nil {
			return err
		}
		ls.add(f)
		ls.wg.Add(1)
		go func() {
			defer ls.wg.Done()
			rc, err := f.SyscallConn()
			if err != nil {
				return
			}
			for {
				var nfd int
				var aerr error
				if err := rc.Read(func(fd uintptr) bool {
					nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC)
					return aerr != unix.EAGAIN
				}); err != nil {
					return
				}
				if aerr == nil {
					unix.Close(nfd)
				}
			}
		}()
	}
	return nil
}

func sockaddr(a netip.Addr, port uint16) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Addr: a.As4(), Port: int(port)}
	}
	return &unix.SockaddrInet6{Addr: a.As16(), Port: int(port)}
}

func sctpSocket(bits int) (int, error) {
	fam := unix.AF_INET
	if bits == 128 {
		fam = unix.AF_INET6
	}
	return unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
}

func sctpListen(bits int, a netip.Addr, port uint16) (*os.File, error) {
	fd, err := sctpSocket(bits)
	if err != nil {
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sockaddr(a, port)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "sctp-listener"), nil
}

// outcome is what the kernel did with one probe.
type outcome struct {
	allowed bool
	detail  string // "connected", "echoed", "refused", "prohibited", "blocked", "timeout", ...
}

// prober dials from inside a source namespace.
type prober struct {
	bits    int
	timeout time.Duration
	retries int
}

// run probes one destination port from the current thread's namespace;
// local is the source address to bind, invalid for the default.
func (pr *prober) run(ctx context.Context, local, dst netip.Addr, pp protoPort) outcome {
	switch pp.proto {
	case model.TCP:
		return pr.tcp(ctx, local, dst, pp.port)
	case model.UDP:
		return pr.udp(ctx, local, dst, pp.port)
	}
	return pr.sctp(local, dst, pp.port)
}

func (pr *prober) network(proto string) string {
	if pr.bits == 128 {
		return proto + "6"
	}
	return proto + "4"
}

func (pr *prober) tcp(ctx context.Context, local, dst netip.Addr, port uint16) outcome {
	d := net.Dialer{Timeout: pr.timeout}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	c, err := d.DialContext(ctx, pr.network("tcp"), netip.AddrPortFrom(dst, port).String())
	if err != nil {
		return denied(err)
	}
	_ = c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT pile-up
	_ = c.Close()
	return outcome{allowed: true, detail: "connected"}
}

var probeSeq struct {
	sync.Mutex
	n uint64
}

func nonce() []byte {
	probeSeq.Lock()
	probeSeq.n++
	n := probeSeq.n
	probeSeq.Unlock()
	return []byte("reachgate-probe-" + strconv.FormatUint(n, 10))
}

// udp sends a nonce to the echo responder and waits for it to come back,
// retrying lost datagrams; an ICMP error ends the probe at once.
func (pr *prober) udp(ctx context.Context, local, dst netip.Addr, port uint16) outcome {
	d := net.Dialer{Timeout: pr.timeout}
	if local.IsValid() {
		d.LocalAddr = &net.UDPAddr{IP: local.AsSlice()}
	}
	c, err := d.DialContext(ctx, pr.network("udp"), netip.AddrPortFrom(dst, port).String())
	if err != nil {
		return denied(err)
	}
	defer c.Close()
	msg := nonce()
	buf := make([]byte, 64)
	for attempt := 0; attempt <= pr.retries && ctx.Err() == nil; attempt++ {
		_ = c.SetDeadline(time.Now().Add(pr.timeout))
		if _, err := c.Write(msg); err != nil {
			return denied(err)
		}
		for {
			n, err := c.Read(buf)
			if err != nil {
				if isTimeout(err) {
					break
				}
				return denied(err)
			}
			if bytes.Equal(buf[:n], msg) {
				return outcome{allowed: true, detail: "echoed"}
			}
		}
	}
	return outcome{detail: "timeout"}
}

// sctp connects a one-to-one SCTP socket.
func (pr *prober) sctp(local, dst netip.Addr, port uint16) outcome {
	fd, err := sctpSocket(pr.bits)
	if err != nil {
		return denied(err)
	}
	if local.IsValid() {
		if err := unix.Bind(fd, sockaddr(local, 0)); err != nil {
			unix.Close(fd)
			return denied(err)
		}
	}
	f := os.NewFile(uintptr(fd), "sctp-probe")
	defer f.Close()
	if err := unix.Connect(fd, sockaddr(dst, port)); err != nil && err != unix.EINPROGRESS {
		return denied(err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return denied(err)
	}
	_ = f.SetWriteDeadline(time.Now().Add(pr.timeout))
	var soErr error
	waited := false
	err = rc.Write(func(fd uintptr) bool {
		if !waited { // the first call comes before the socket is writable
			waited = true
			return false
		}
		v, gerr := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case gerr != nil:
			soErr = gerr
		case v != 0:
			soErr = syscall.Errno(v)
		}
		return true
	})
	if err != nil {
		return denied(err)
	}
	if soErr != nil {
		return denied(soErr)
	}
	return outcome{allowed: true, detail: "connected"}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// denied names why a probe did not get through.
func denied(err error) outcome {
	switch {
	case isTimeout(err):
		return outcome{detail: "timeout"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return outcome{detail: "refused"}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EACCES):
		return outcome{detail: "prohibited"}
	case errors.Is(err, syscall.EPERM):
		return outcome{detail: "blocked on egress"}
	case errors.Is(err, context.Canceled):
		return outcome{detail: "interrupted"}
	}
	return outcome{detail: err.Error()}
}
