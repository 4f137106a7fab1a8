package verify

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/reachgate/reachgate/pipeline/model"
)

// tableName is the nftables table the lab installs in every isolated pod.
const tableName = "reachgate"

var l4proto = map[model.Protocol]byte{
	model.TCP:  unix.IPPROTO_TCP,
	model.UDP:  unix.IPPROTO_UDP,
	model.SCTP: unix.IPPROTO_SCTP,
}

// install puts the plan into the namespace nsFd as one inet table, in one
// netlink batch. Pods isolated in neither direction get no table.
func (pl *podPlan) install(nsFd int, bits int) error {
	if !pl.filters(true) && !pl.filters(false) {
		return nil
	}
	c, err := nftables.New(nftables.WithNetNSFd(nsFd))
	if err != nil {
		return err
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: tableName})
	b := &nftBuilder{c: c, t: t, bits: bits}
	if pl.filters(true) {
		if err := b.chain("ingress", nftables.ChainHookInput, pl.ingressIsolated, pl.adminIn, pl.denyIn, pl.ingress, pl.baseIn, true); err != nil {
			return err
		}
	}
	if pl.filters(false) {
		if err := b.chain("egress", nftables.ChainHookOutput, pl.egressIsolated, pl.adminEg, pl.denyEg, pl.egress, pl.baseEg, false); err != nil {
			return err
		}
	}
	return c.Flush()
}

type nftBuilder struct {
	c    *nftables.Conn
	t    *nftables.Table
	bits int
	sets int
}

// chain builds one direction: the base chain hooked into input (ingress)
// or output (egress). It jumps to the Admin tier's chain first, where the
// first matching rule accepts, rejects, or returns (Pass) to the base
// chain; then come the Cilium deny rules, which reject, and the
// NetworkPolicy and Cilium allow rules, which accept; then, for an
// isolated pod, a reject of everything else, and for one nothing
// isolates, the Baseline tier's rules and the chain's accept policy.
func (b *nftBuilder) chain(name string, hook *nftables.ChainHook, isolated bool, admin, deny, rules, baseline []filterRule, ingress bool) error {
	policy := nftables.ChainPolicyDrop
	if !isolated {
		policy = nftables.ChainPolicyAccept
	}
	var adminCh *nftables.Chain
	if len(admin) > 0 {
		adminCh = b.c.AddChain(&nftables.Chain{Name: name + "-admin", Table: b.t})
	}
	ch := b.c.AddChain(&nftables.Chain{
		Name: name, Table: b.t, Type: nftables.ChainTypeFilter,
		Hooknum: hook, Priority: nftables.ChainPriorityFilter, Policy: &policy,
	})
	add := func(c *nftables.Chain, comment string, exprs ...expr.Any) {
		r := &nftables.Rule{Table: b.t, Chain: c, Exprs: exprs}
		if comment != "" {
			r.UserData = userdata.AppendString(nil, userdata.TypeComment, comment)
		}
		b.c.AddRule(r)
	}
	// iif/oif "lo" accept: a pod may always talk to itself.
	ifKey := expr.MetaKeyIIFNAME
	if !ingress {
		ifKey = expr.MetaKeyOIFNAME
	}
	add(ch, "", &expr.Meta{Key: ifKey, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")}, accept())
	// ct state established,related accept: replies, and the resets and
	// ICMP errors the deny rules send back.
	add(ch, "", &expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)}, accept())

	emit := func(c *nftables.Chain, rules []filterRule) error {
		for _, r := range rules {
			var match []expr.Any
			if !r.anyAddr {
				set, err := b.addrSet(name, r.addrs)
				if err != nil {
					return err
				}
				match = append(b.family(), b.addr(ingress)...)
				match = append(match, &expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID})
			}
			for _, m := range r.ports {
				exprs := append([]expr.Any(nil), match...)
				exprs = append(exprs, portExprs(m)...)
				switch r.verdict {
				case model.ActionDeny:
					add(c, r.origin, append(exprs, rejectTCP()...)...)
					add(c, r.origin, append(exprs, rejectOther())...)
				case model.ActionPass:
					add(c, r.origin, append(exprs, &expr.Verdict{Kind: expr.VerdictReturn})...)
				default:
					add(c, r.origin, append(exprs, accept())...)
				}
			}
		}
		return nil
	}
	if adminCh != nil {
		if err := emit(adminCh, admin); err != nil {
			return err
		}
		add(ch, "", &expr.Verdict{Kind: expr.VerdictJump, Chain: adminCh.Name})
	}
	if err := emit(ch, deny); err != nil {
		return err
	}
	if err := emit(ch, rules); err != nil {
		return err
	}
	if !isolated {
		return emit(ch, baseline)
	}
	// Deny at once: a reset for TCP, ICMP administratively prohibited for
	// the rest, so a denied probe needs no timeout.
	add(ch, "", rejectTCP()...)
	add(ch, "", rejectOther())
	return nil
}

func rejectTCP() []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST, Code: unix.NFT_REJECT_TCP_RST}}
}

func rejectOther() expr.Any {
	return &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED}
}

func accept() expr.Any { return &expr.Verdict{Kind: expr.VerdictAccept} }

func ifname(n string) []byte {
	b := make([]byte, 16)
	copy(b, n)
	return b
}

// family matches packets of the lab's address family.
func (b *nftBuilder) family() []expr.Any {
	proto := byte(unix.NFPROTO_IPV4)
	if b.bits == 128 {
		proto = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// addr loads the remote address into register 1: the source address on
// ingress, the destination on egress.
func (b *nftBuilder) addr(ingress bool) []expr.Any {
	off, n := uint32(16), uint32(4) // IPv4 daddr
	switch {
	case b.bits == 32 && ingress:
		off = 12
	case b.bits == 128 && ingress:
		off, n = 8, 16
	case b.bits == 128:
		off, n = 24, 16
	}
	return []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}}
}

// addrSet adds a named interval set holding the addresses.
func (b *nftBuilder) addrSet(chain string, addrs model.IPSet) (*nftables.Set, error) {
	b.sets++
	keyType := nftables.TypeIPAddr
	if b.bits == 128 {
		keyType = nftables.TypeIP6Addr
	}
	s := &nftables.Set{Table: b.t, Name: fmt.Sprintf("%s%d", chain, b.sets), KeyType: keyType, Interval: true}
	var elems []nftables.SetElement
	for _, r := range addrs.Ranges {
		elems = append(elems, nftables.SetElement{Key: r.From.AsSlice()})
		if end := r.To.Next(); end.IsValid() && end.BitLen() == b.bits {
			elems = append(elems, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	if err := b.c.AddSet(s, elems); err != nil {
		return nil, fmt.Errorf("nftables set %s: %w", s.Name, err)
	}
	return s, nil
}

// portExprs matches one protocol/port condition.
func portExprs(m portMatch) []expr.Any {
	if m.anyProto {
		return nil
	}
	out := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{l4proto[m.proto]}},
	}
	if m.all {
		return out
	}
	// TCP, UDP and SCTP all keep the destination port at offset 2.
	out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
	if m.from == m.to {
		return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(m.from)})
	}
	return append(out, &expr.Range{Op: expr.CmpOpEq, Register: 1,
		FromData: binaryutil.BigEndian.PutUint16(m.from), ToData: binaryutil.BigEndian.PutUint16(m.to)})
}
