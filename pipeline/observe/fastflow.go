package observe

import (
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/valyala/fastjson"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
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
			ts, ok := timestampOf(val)
			if !ok || f.Time != nil {
				fail()
				return
			}
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
			f.IsReply = wrapperspb.Bool(b)
		case "IP":
			ip, ok := ipOf(val)
			if !ok {
				fail()
				return
			}
			f.IP = ip
		case "l4":
			l4, ok := layer4Of(val)
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

func timestampOf(v *fastjson.Value) (*timestamppb.Timestamp, bool) {
	b, err := v.StringBytes()
	if err != nil || len(b) < 20 || b[10] != 'T' {
		return nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return nil, false
	}
	return &timestamppb.Timestamp{Seconds: t.Unix(), Nanos: int32(t.Nanosecond())}, true
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

func ipOf(v *fastjson.Value) (*flowpb.IP, bool) {
	o, err := v.Object()
	if err != nil {
		return nil, false
	}
	ip := &flowpb.IP{}
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
func layer4Of(v *fastjson.Value) (*flowpb.Layer4, bool) {
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
		switch string(key) {
		case "TCP":
			l4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{DestinationPort: dport}}}
		case "UDP":
			l4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_UDP{UDP: &flowpb.UDP{DestinationPort: dport}}}
		case "SCTP":
			l4 = &flowpb.Layer4{Protocol: &flowpb.Layer4_SCTP{SCTP: &flowpb.SCTP{DestinationPort: dport}}}
		default:
			ok = false
		}
	})
	return l4, ok && l4 != nil
}
