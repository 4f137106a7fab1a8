package model

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// IPRange is an inclusive range of addresses of one family.
type IPRange struct {
	From, To netip.Addr
}

// PrefixRange is the range a CIDR prefix covers.
func PrefixRange(p netip.Prefix) IPRange {
	p = p.Masked()
	return IPRange{From: p.Addr(), To: lastAddr(p)}
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range a {
		lo := i * 8
		switch {
		case lo >= bits:
			a[i] = 0xff
		case lo+8 > bits:
			a[i] |= 0xff >> (bits - lo)
		}
	}
	out, _ := netip.AddrFromSlice(a)
	return out
}

// Contains reports whether a lies in the range.
func (r IPRange) Contains(a netip.Addr) bool {
	return r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0
}

// ContainsRange reports whether o lies wholly inside r.
func (r IPRange) ContainsRange(o IPRange) bool {
	return r.From.Compare(o.From) <= 0 && o.To.Compare(r.To) <= 0
}

// Overlaps reports whether the ranges share an address.
func (r IPRange) Overlaps(o IPRange) bool {
	return r.From.Compare(o.To) <= 0 && o.From.Compare(r.To) <= 0
}

// Prefixes decomposes the range into the fewest CIDR prefixes.
func (r IPRange) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	from := r.From
	for from.IsValid() && from.Compare(r.To) <= 0 {
		bits := from.BitLen()
		// Largest aligned block starting at from that stays within r.
		best := netip.PrefixFrom(from, bits)
		for b := bits - 1; b >= 0; b-- {
			p := netip.PrefixFrom(from, b)
			if p.Masked().Addr() != from || lastAddr(p).Compare(r.To) > 0 {
				break
			}
			best = p
		}
		out = append(out, best)
		last := lastAddr(best)
		if last == r.To {
			break
		}
		from = last.Next()
	}
	return out
}

// String is the CIDR when the range is one prefix, a short list of CIDRs
// when it is two or three, and "from-to" otherwise.
func (r IPRange) String() string {
	ps := r.Prefixes()
	if len(ps) <= 3 {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		return strings.Join(s, ",")
	}
	return r.From.String() + "-" + r.To.String()
}

// MarshalText renders String, so ranges read the same everywhere.
func (r IPRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// IPSet is a set of addresses kept as sorted, disjoint ranges. IPv4 sorts
// before IPv6; a range never mixes families.
type IPSet struct {
	Ranges []IPRange
}

// IPSetOf builds a set from prefixes: sorted and merged once, O(n log n).
func IPSetOf(ps ...netip.Prefix) IPSet {
	rs := make([]IPRange, len(ps))
	for i, p := range ps {
		rs[i] = PrefixRange(p)
	}
	return IPSetOfRanges(rs...)
}

// IPSetOfRanges builds a set from ranges that may overlap, touch or come
// in any order: sorted and merged once, O(n log n).
func IPSetOfRanges(rs ...IPRange) IPSet {
	all := slices.Clone(rs)
	slices.SortFunc(all, func(a, b IPRange) int { return a.From.Compare(b.From) })
	var out []IPRange
	for _, r := range all {
		if n := len(out); n > 0 && out[n-1].From.BitLen() == r.From.BitLen() {
			last := &out[n-1]
			next := last.To.Next()
			if r.From.Compare(last.To) <= 0 || (next.IsValid() && next == r.From) {
				if r.To.Compare(last.To) > 0 {
					last.To = r.To
				}
				continue
			}
		}
		out = append(out, r)
	}
	return IPSet{Ranges: out}
}

// IPBlockSet is what a NetworkPolicy ipBlock covers: cidr minus every
// except, in O(n log n) for n excepts. Host bits are masked off.
func IPBlockSet(cidr netip.Prefix, except ...netip.Prefix) IPSet {
	return IPSetOf(cidr).Subtract(IPSetOf(except...))
}

// IsEmpty reports whether the set holds no address.
func (s IPSet) IsEmpty() bool { return len(s.Ranges) == 0 }

// Contains reports whether a is in the set.
func (s IPSet) Contains(a netip.Addr) bool {
	rs := s.Ranges
	i := sort.Search(len(rs), func(i int) bool { return rs[i].To.Compare(a) >= 0 })
	return i < len(rs) && rs[i].From.Compare(a) <= 0
}

// Overlaps reports whether the sets share an address.
func (s IPSet) Overlaps(o IPSet) bool { return !s.Intersect(o).IsEmpty() }

// ContainsRange reports whether r lies wholly inside the set.
func (s IPSet) ContainsRange(r IPRange) bool {
	rs := s.Ranges
	i := sort.Search(len(rs), func(i int) bool { return rs[i].To.Compare(r.From) >= 0 })
	return i < len(rs) && rs[i].ContainsRange(r)
}

// Union returns s ∪ o.
func (s IPSet) Union(o IPSet) IPSet {
	return IPSetOfRanges(append(slices.Clip(s.Ranges), o.Ranges...)...)
}

// Intersect returns s ∩ o.
func (s IPSet) Intersect(o IPSet) IPSet {
	var out []IPRange
	i, j := 0, 0
	a, b := s.Ranges, o.Ranges
	for i < len(a) && j < len(b) {
		lo, hi := a[i].From, a[i].To
		if b[j].From.Compare(lo) > 0 {
			lo = b[j].From
		}
		if b[j].To.Compare(hi) < 0 {
			hi = b[j].To
		}
		if lo.BitLen() == hi.BitLen() && lo.Compare(hi) <= 0 {
			out = append(out, IPRange{lo, hi})
		}
		if a[i].To.Compare(b[j].To) < 0 {
			i++
		} else {
			j++
		}
	}
	return IPSet{Ranges: out}
}

// Subtract returns s \ o, in one pass over both sorted lists.
func (s IPSet) Subtract(o IPSet) IPSet {
	var out []IPRange
	j := 0
	for _, r := range s.Ranges {
		// Ranges of o that end before r starts cannot touch r nor any
		// later range of s.
		for j < len(o.Ranges) && o.Ranges[j].To.Compare(r.From) < 0 {
			j++
		}
		from, done := r.From, false
		for k := j; k < len(o.Ranges) && o.Ranges[k].From.Compare(r.To) <= 0; k++ {
			x := o.Ranges[k]
			if x.To.Compare(from) < 0 {
				continue
			}
			if x.From.Compare(from) > 0 {
				out = append(out, IPRange{from, x.From.Prev()})
			}
			if x.To.Compare(r.To) >= 0 {
				done = true
				break
			}
			from = x.To.Next()
		}
		if !done {
			out = append(out, IPRange{from, r.To})
		}
	}
	return IPSet{Ranges: out}
}

// String lists the ranges, comma separated.
func (s IPSet) String() string {
	parts := make([]string, len(s.Ranges))
	for i, r := range s.Ranges {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// ParsePrefix parses a CIDR; host bits are masked off.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
	}
	return p.Masked(), nil
}
