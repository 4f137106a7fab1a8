package model

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Protocol is a NetworkPolicy protocol. The zero value is TCP, matching the
// API default.
type Protocol uint8

const (
	TCP Protocol = iota
	UDP
	SCTP
	numProtocols
)

// Protocols lists every protocol in output order.
var Protocols = [...]Protocol{TCP, UDP, SCTP}

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol accepts TCP, UDP and SCTP in any case; the empty string is TCP.
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToUpper(s) {
	case "", "TCP":
		return TCP, nil
	case "UDP":
		return UDP, nil
	case "SCTP":
		return SCTP, nil
	}
	return 0, fmt.Errorf("unsupported protocol %q: want TCP, UDP or SCTP", s)
}

// MaxPort is the highest port number.
const MaxPort = 65535

// PortRange is an inclusive range of ports, 1..65535.
type PortRange struct {
	From uint16 `json:"from"`
	To   uint16 `json:"to"`
}

func (r PortRange) String() string {
	if r.From == r.To {
		return strconv.Itoa(int(r.From))
	}
	return strconv.Itoa(int(r.From)) + "-" + strconv.Itoa(int(r.To))
}

var allPorts = []PortRange{{1, MaxPort}}

// PortSet is a set of (protocol, port) pairs kept as sorted, disjoint,
// non-adjacent intervals per protocol. The zero value is the empty set.
// PortSets are values: operations return new sets and never alias inputs
// that the caller may later change.
type PortSet struct {
	r [numProtocols][]PortRange
}

// AllPorts is every port of every protocol.
func AllPorts() PortSet {
	var s PortSet
	for _, p := range Protocols {
		s.r[p] = allPorts
	}
	return s
}

// AllPortsOf is every port of one protocol.
func AllPortsOf(p Protocol) PortSet {
	var s PortSet
	s.r[p] = allPorts
	return s
}

// SinglePort is one port, or the inclusive range from..to when to > from.
func SinglePort(p Protocol, from, to uint16) PortSet {
	if to < from {
		to = from
	}
	var s PortSet
	s.r[p] = []PortRange{{from, to}}
	return s
}

// Ranges returns the intervals of one protocol. The slice must not be modified.
func (s PortSet) Ranges(p Protocol) []PortRange { return s.r[p] }

// IsEmpty reports whether the set holds no port.
func (s PortSet) IsEmpty() bool {
	for _, p := range Protocols {
		if len(s.r[p]) > 0 {
			return false
		}
	}
	return true
}

// IsAll reports whether the set holds every port of every protocol.
func (s PortSet) IsAll() bool {
	for _, p := range Protocols {
		if !s.IsAllOf(p) {
			return false
		}
	}
	return true
}

// IsAllOf reports whether the set holds every port of protocol p.
func (s PortSet) IsAllOf(p Protocol) bool { return isAll(s.r[p]) }

// Contains reports whether port of protocol p is in the set.
func (s PortSet) Contains(p Protocol, port uint16) bool {
	r := s.r[p]
	i := sort.Search(len(r), func(i int) bool { return r[i].To >= port })
	return i < len(r) && r[i].From <= port
}

// Equal reports whether both sets hold the same ports.
func (s PortSet) Equal(o PortSet) bool {
	for _, p := range Protocols {
		a, b := s.r[p], o.r[p]
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
	}
	return true
}

// Union returns s ∪ o.
func (s PortSet) Union(o PortSet) PortSet {
	var out PortSet
	for _, p := range Protocols {
		out.r[p] = unionRanges(s.r[p], o.r[p])
	}
	return out
}

// Intersect returns s ∩ o.
func (s PortSet) Intersect(o PortSet) PortSet {
	var out PortSet
	for _, p := range Protocols {
		out.r[p] = intersectRanges(s.r[p], o.r[p])
	}
	return out
}

// Overlaps reports whether s ∩ o holds a port, without building it.
func (s PortSet) Overlaps(o PortSet) bool {
	for _, p := range Protocols {
		a, b := s.r[p], o.r[p]
		for i, j := 0, 0; i < len(a) && j < len(b); {
			switch {
			case a[i].To < b[j].From:
				i++
			case b[j].To < a[i].From:
				j++
			default:
				return true
			}
		}
	}
	return false
}

// Subtract returns s \ o.
func (s PortSet) Subtract(o PortSet) PortSet {
	var out PortSet
	for _, p := range Protocols {
		out.r[p] = subtractRanges(s.r[p], o.r[p])
	}
	return out
}

func isAll(r []PortRange) bool { return len(r) == 1 && r[0].From == 1 && r[0].To == MaxPort }

// within reports whether every port of b is in a; both are sorted and
// merged, so each range of b lies in one range of a.
func within(b, a []PortRange) bool {
	i := 0
	for _, r := range b {
		for i < len(a) && a[i].To < r.From {
			i++
		}
		if i == len(a) || a[i].From > r.From || a[i].To < r.To {
			return false
		}
	}
	return true
}

// The set operations return an operand, not a copy, when it is the
// result: port sets are never changed in place, and most operations of
// the engine have one.

func unionRanges(a, b []PortRange) []PortRange {
	if within(b, a) {
		return a
	}
	if within(a, b) {
		return b
	}
	out := make([]PortRange, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var next PortRange
		if j >= len(b) || (i < len(a) && a[i].From <= b[j].From) {
			next = a[i]
			i++
		} else {
			next = b[j]
			j++
		}
		if n := len(out); n > 0 && uint32(out[n-1].To)+1 >= uint32(next.From) {
			if next.To > out[n-1].To {
				out[n-1].To = next.To
			}
			continue
		}
		out = append(out, next)
	}
	return out
}

func intersectRanges(a, b []PortRange) []PortRange {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	// Rules of every port are common: their sets share the ranges.
	if isAll(a) {
		return b
	}
	if isAll(b) || within(a, b) {
		return a
	}
	if within(b, a) {
		return b
	}
	var out []PortRange
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo := max(a[i].From, b[j].From)
		hi := min(a[i].To, b[j].To)
		if lo <= hi {
			out = append(out, PortRange{lo, hi})
		}
		if a[i].To < b[j].To {
			i++
		} else {
			j++
		}
	}
	return out
}

func subtractRanges(a, b []PortRange) []PortRange {
	if len(a) == 0 || len(b) == 0 {
		return a
	}
	if isAll(b) {
		return nil
	}
	var out []PortRange
	j := 0
	for _, r := range a {
		from := uint32(r.From)
		to := uint32(r.To)
		for j < len(b) && uint32(b[j].To) < from {
			j++
		}
		k := j
		for k < len(b) && uint32(b[k].From) <= to {
			if uint32(b[k].From) > from {
				out = append(out, PortRange{uint16(from), b[k].From - 1})
			}
			from = uint32(b[k].To) + 1
			if from > to {
				break
			}
			k++
		}
		if from <= to {
			out = append(out, PortRange{uint16(from), uint16(to)})
		}
	}
	return out
}

// String renders the set for people: "TCP 80,443; UDP 53", "all ports",
// "all TCP", "none".
func (s PortSet) String() string {
	if s.IsAll() {
		return "all ports"
	}
	var parts []string
	for _, p := range Protocols {
		r := s.r[p]
		if len(r) == 0 {
			continue
		}
		if s.IsAllOf(p) {
			parts = append(parts, "all "+p.String())
			continue
		}
		nums := make([]string, len(r))
		for i, x := range r {
			nums[i] = x.String()
		}
		parts = append(parts, p.String()+" "+strings.Join(nums, ","))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// MarshalJSON renders {"TCP":[{"from":..,"to":..}],...} with only the
// protocols present; the empty set is {}.
func (s PortSet) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

// AppendJSON appends the set's JSON (what MarshalJSON returns) to b.
func (s PortSet) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	for _, p := range Protocols {
		r := s.r[p]
		if len(r) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendQuote(b, p.String())
		b = append(b, ":["...)
		for i, x := range r {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"from":`...)
			b = strconv.AppendUint(b, uint64(x.From), 10)
			b = append(b, `,"to":`...)
			b = strconv.AppendUint(b, uint64(x.To), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// ParsePortSpec parses "5432", "5432/TCP", "53/udp", "8000-8080/TCP" or
// "TCP" (all ports of a protocol) into a protocol and inclusive range.
func ParsePortSpec(spec string) (Protocol, PortRange, error) {
	num, proto, hasProto := strings.Cut(spec, "/")
	if !hasProto {
		if p, err := ParseProtocol(spec); err == nil && spec != "" {
			return p, PortRange{1, MaxPort}, nil
		}
	}
	p, err := ParseProtocol(proto)
	if err != nil {
		return 0, PortRange{}, fmt.Errorf("port %q: %w", spec, err)
	}
	lo, hi, isRange := strings.Cut(num, "-")
	from, err := parsePort(lo)
	if err != nil {
		return 0, PortRange{}, fmt.Errorf("port %q: %w", spec, err)
	}
	to := from
	if isRange {
		if to, err = parsePort(hi); err != nil {
			return 0, PortRange{}, fmt.Errorf("port %q: %w", spec, err)
		}
		if to < from {
			return 0, PortRange{}, fmt.Errorf("port %q: range end below start", spec)
		}
	}
	return p, PortRange{from, to}, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPort {
		return 0, fmt.Errorf("%q is not a port number 1-65535", s)
	}
	return uint16(n), nil
}
