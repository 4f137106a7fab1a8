package observe

import (
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/valyala/fastjson"
)

// flow fills f with what fromHubble reads, setting the upstream
// generated fields directly (enums through their generated name maps):
// a million lines through protoreflect cost twice the budget. Anything
// unexpected in those fields returns errUnsupported, and the line goes
// through the generic decoder; fields fromHubble does not read are not
// decoded. TestLeanDecodingReducesAlike checks it against protojson.
func (ln *lean) flow(v *fastjson.Value, f *flowpb.Flow) error {
	o, err := v.Object()
	if err != nil {
		return errUnsupported
	}
	var ferr error
	fail := func() { ferr = errUnsupported }
	o.Visit(func(key []byte, val *fastjson.Value) {
		if ferr != nil {
			return
		}
		switch string(key) {
		case "time":
			t, ok := timeOf(val)
			if !ok || f.Time != nil {
				fail()
				return
			}
			ts := &ln.scratch.ts
			ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
			f.Time = ts
		case "verdict":
			n, ok := enumOf(val, flowpb.Verdict_value)
			if !ok {
				fail()
				return
			}
			f.Verdict = flowpb.Verdict(n)
		case "drop_reason_desc", "dropReasonDesc":
			n, ok := enumOf(val, flowpb.DropReason_value)
			if !ok {
				fail()
				return
			}
			f.DropReasonDesc = flowpb.DropReason(n)
		case "Type", "type":
			n, ok := enumOf(val, flowpb.FlowType_value)
			if !ok {
				fail()
				return
			}
			f.Type = flowpb.FlowType(n)
		case "is_reply", "isReply":
			if val.Type() == fastjson.TypeNull {
				return
			}
			b, err := val.Bool()
			if err != nil {
				fail()
				return
			}
			ln.scratch.reply.Value = b
			f.IsReply = &ln.scratch.reply
		case "IP":
			ip, ok := ipOf(val, &ln.scratch.ip)
			if !ok {
				fail()
				return
			}
			f.IP = ip
		case "l4":
			l4, ok := ln.layer4(val)
			if !ok {
				fail()
				return
			}
			f.L4 = l4
		case "source", "destination":
			ep, err := ln.endpoint(val)
			if err != nil {
				ferr = err
				return
			}
			if key[0] == 's' {
				f.Source = ep
			} else {
				f.Destination = ep
			}
		case "aggregate":
			a := &flowpb.Aggregate{}
			if err := ln.unmarshal(val, a.ProtoReflect()); err != nil {
				ferr = err
				return
			}
			f.Aggregate = a
		}
	})
	return ferr
}

// endpoint decodes an Endpoint once per distinct JSON text.
func (ln *lean) endpoint(val *fastjson.Value) (*flowpb.Endpoint, error) {
	if val.Type() != fastjson.TypeObject {
		return nil, errUnsupported
	}
	ln.buf = val.MarshalTo(ln.buf[:0])
	if ep, ok := ln.endpoints[string(ln.buf)]; ok {
		return ep, nil
	}
	ep := &flowpb.Endpoint{}
	if err := ln.unmarshal(val, ep.ProtoReflect()); err != nil {
		return nil, err
	}
	if len(ln.endpoints) >= maxCachedEndpoints {
		clear(ln.endpoints)
	}
	ln.endpoints[string(ln.buf)] = ep
	return ep, nil
}

func timeOf(v *fastjson.Value) (time.Time, bool) {
	b, err := v.StringBytes()
	if err != nil || len(b) < 20 || b[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

func enumOf(v *fastjson.Value, names map[string]int32) (int32, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		n, ok := names[string(b)]
		return n, ok
	case fastjson.TypeNumber:
		n, err := intOf(v, 32, true)
		return int32(n), err == nil
	}
	return 0, false
}

func ipOf(v *fastjson.Value, ip *flowpb.IP) (*flowpb.IP, bool) {
	o, err := v.Object()
	if err != nil {
		return nil, false
	}
	ip.Source, ip.Destination = "", ""
	ok := true
	o.Visit(func(key []byte, val *fastjson.Value) {
		switch string(key) {
		case "source":
			b, err := val.StringBytes()
			ok = ok && err == nil
			ip.Source = string(b)
		case "destination":
			b, err := val.StringBytes()
			ok = ok && err == nil
			ip.Destination = string(b)
		case "ipVersion", "ip_version", "encrypted", "source_xlated", "sourceXlated":
			// not read
		default:
			ok = false
		}
	})
	return ip, ok
}

// layer4Of decodes TCP, UDP and SCTP destination ports; other protocols
// go to the generic decoder.
func (ln *lean) layer4(v *fastjson.Value) (*flowpb.Layer4, bool) {
	o, err := v.Object()
	if err != nil || o.Len() != 1 {
		return nil, false
	}
	var l4 *flowpb.Layer4
	ok := true
	o.Visit(func(key []byte, val *fastjson.Value) {
		po, err := val.Object()
		if err != nil {
			ok = false
			return
		}
		var dport uint32
		po.Visit(func(k []byte, pv *fastjson.Value) {
			switch string(k) {
			case "destination_port", "destinationPort":
				n, err := uintOf(pv, 32)
				ok = ok && err == nil
				dport = uint32(n)
			case "source_port", "sourcePort", "flags":
			default:
				ok = false
			}
		})
		sc := &ln.scratch
		l4 = &sc.l4
		switch string(key) {
		case "TCP":
			sc.tcp.DestinationPort = dport
			sc.ltcp.TCP = &sc.tcp
			l4.Protocol = &sc.ltcp
		case "UDP":
			sc.udp.DestinationPort = dport
			sc.ludp.UDP = &sc.udp
			l4.Protocol = &sc.ludp
		case "SCTP":
			sc.sctp.DestinationPort = dport
			sc.lsctp.SCTP = &sc.sctp
			l4.Protocol = &sc.lsctp
		default:
			ok = false
		}
	})
	return l4, ok && l4 != nil
}
