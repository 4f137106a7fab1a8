package report

import (
	"strconv"
	"unicode/utf8"
)

// The tables of a matrix document (rules, grants, allowances) are most of
// the bytes of a large matrix besides its flows: they are encoded by hand,
// as encoding/json (with HTML escaping off, as marshalCompact) writes them.
// TestAllowanceJSONAsEncodingJSON holds the two together.

// appendJSON appends the allowance as marshalCompact writes it.
func (a *jsonMatrixAllowance) appendJSON(b []byte) []byte {
	b = append(b, `{"ports":`...)
	b = a.Ports.AppendJSON(b)
	b = append(b, `,"allPorts":`...)
	b = strconv.AppendBool(b, a.AllPorts)
	b = append(b, `,"addressDependent":`...)
	b = strconv.AppendBool(b, a.AddressDependent)
	b = append(b, `,"grants":`...)
	b = appendInts(b, a.Grants)
	return append(b, '}')
}

// appendJSON appends the grant as marshalCompact writes it.
func (g jsonGrantRef) appendJSON(b []byte) []byte {
	b = append(b, `{"ports":`...)
	b = g.Ports.AppendJSON(b)
	b = append(b, `,"egress":`...)
	b = strconv.AppendInt(b, int64(g.Egress), 10)
	b = append(b, `,"ingress":`...)
	b = strconv.AppendInt(b, int64(g.Ingress), 10)
	return append(b, '}')
}

// appendInts appends xs as encoding/json writes a []int32.
func appendInts(b []byte, xs []int32) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, ']')
}

// appendJSON appends the reference as marshalCompact writes it.
func (j jsonRuleRef) appendJSON(b []byte) []byte {
	b = append(b, '{')
	n := len(b)
	field := func(name string) {
		if len(b) > n {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	// str writes a string field unless it is empty (omitempty).
	str := func(name, v string) {
		if v != "" {
			field(name)
			b = appendJSONString(b, v)
		}
	}
	str("policy", j.Policy)
	str("kind", j.Kind)
	if j.Rule != nil {
		field("rule")
		b = strconv.AppendInt(b, int64(*j.Rule), 10)
	}
	str("action", j.Action)
	if j.Source != nil {
		field("source")
		b = append(b, `{"file":`...)
		b = appendJSONString(b, j.Source.File)
		if j.Source.Line != 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, int64(j.Source.Line), 10)
		}
		b = append(b, '}')
	}
	str("section", j.Section)
	str("l7", j.L7)
	if j.NotIsolated {
		field("notIsolated")
		b = append(b, "true"...)
	}
	str("passedBy", j.PassedBy)
	return append(b, '}')
}

// appendJSONString appends s quoted as encoding/json quotes it without
// HTML escaping: printable ASCII as it is, the rest through the encoder.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, err := marshalCompact(s)
			if err != nil { // a string always encodes
				panic(err)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
