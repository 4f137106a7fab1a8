package observe

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/valyala/fastjson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The fast decoder fills an upstream message from JSON in the protojson
// mapping, driven by the message's own descriptors (no copy of the
// schema here): field names (JSON or proto), enum names or numbers,
// 64-bit integers as strings, Timestamp and wrapper types. protojson
// decodes at about 25 MB/s, too slow for a million-line export; this
// covers what Hubble writes and gives up (errUnsupported) on anything
// else, which then goes through protojson itself. Tests check that both
// give equal messages.

var errUnsupported = errors.New("not supported by the fast decoder")

const (
	timestampName = "google.protobuf.Timestamp"
	flowName      = "flow.Flow"
	endpointName  = "flow.Endpoint"
)

func fastUnmarshal(v *fastjson.Value, m protoreflect.Message) error {
	return (*lean)(nil).unmarshal(v, m)
}

// lean decodes only what reachgate reads of a flow (see flowFields), and
// decodes each distinct endpoint object once: most lines of an export
// repeat a few thousand endpoints. A nil *lean decodes everything.
type lean struct {
	endpoints map[string]*flowpb.Endpoint
	buf       []byte
	// The parts of a flow that are read and dropped at once are reused
	// from line to line: a flow decoded by lean must be used before the
	// next line is decoded.
	scratch struct {
		ts    timestamppb.Timestamp
		ip    flowpb.IP
		reply wrapperspb.BoolValue
		l4    flowpb.Layer4
		tcp   flowpb.TCP
		udp   flowpb.UDP
		sctp  flowpb.SCTP
		ltcp  flowpb.Layer4_TCP
		ludp  flowpb.Layer4_UDP
		lsctp flowpb.Layer4_SCTP
	}
}

// flowFields are the fields of a Flow that fromHubble reads.
var flowFields = map[protoreflect.Name]bool{
	"time": true, "verdict": true, "drop_reason_desc": true, "IP": true, "l4": true, "source": true,
	"destination": true, "Type": true, "is_reply": true, "aggregate": true,
}

const maxCachedEndpoints = 1 << 16

func newLean() *lean { return &lean{endpoints: map[string]*flowpb.Endpoint{}} }

func (ln *lean) unmarshal(v *fastjson.Value, m protoreflect.Message) error {
	o, err := v.Object()
	if err != nil {
		return errUnsupported
	}
	if ln != nil && m.Descriptor().FullName() == flowName {
		if f, ok := m.Interface().(*flowpb.Flow); ok {
			return ln.flow(v, f)
		}
	}
	fields := m.Descriptor().Fields()
	isFlow := m.Descriptor().FullName() == flowName
	var ferr error
	o.Visit(func(key []byte, val *fastjson.Value) {
		if ferr != nil {
			return
		}
		// Hubble writes proto names; protojson accepts both. No field of
		// the flow API has a JSON name that is another field's proto name.
		name := string(key)
		fd := fields.ByTextName(name)
		if fd == nil {
			fd = fields.ByJSONName(name)
		}
		if fd == nil {
			ferr = errUnsupported
			return
		}
		if ln != nil && isFlow {
			if !flowFields[fd.Name()] {
				return
			}
			if fd.Message() != nil && fd.Message().FullName() == endpointName && val.Type() == fastjson.TypeObject {
				if m.Has(fd) {
					ferr = errUnsupported
					return
				}
				ln.buf = val.MarshalTo(ln.buf[:0])
				ep, ok := ln.endpoints[string(ln.buf)]
				if !ok {
					ep = &flowpb.Endpoint{}
					if err := ln.unmarshal(val, ep.ProtoReflect()); err != nil {
						ferr = err
						return
					}
					if len(ln.endpoints) >= maxCachedEndpoints {
						clear(ln.endpoints)
					}
					ln.endpoints[string(ln.buf)] = ep
				}
				m.Set(fd, protoreflect.ValueOfMessage(ep.ProtoReflect()))
				return
			}
		}
		if val.Type() == fastjson.TypeNull {
			if fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Value" {
				ferr = errUnsupported
			}
			return
		}
		if fd.IsMap() {
			ferr = errUnsupported
			return
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && m.WhichOneof(od) != nil {
			ferr = errUnsupported // two members of one oneof: protojson refuses
			return
		}
		if fd.IsList() {
			if m.Has(fd) {
				ferr = errUnsupported // duplicate key
				return
			}
			arr, err := val.Array()
			if err != nil {
				ferr = errUnsupported
				return
			}
			l := m.Mutable(fd).List()
			for _, el := range arr {
				if fd.Message() != nil {
					e := l.NewElement()
					if err := ln.message(el, e.Message()); err != nil {
						ferr = err
						return
					}
					l.Append(e)
					continue
				}
				sv, err := fastScalar(el, fd)
				if err != nil {
					ferr = err
					return
				}
				l.Append(sv)
			}
			return
		}
		if m.Has(fd) {
			ferr = errUnsupported // duplicate key
			return
		}
		if fd.Message() != nil {
			sub := m.Mutable(fd).Message()
			if err := ln.message(val, sub); err != nil {
				ferr = err
			}
			return
		}
		sv, err := fastScalar(val, fd)
		if err != nil {
			ferr = err
			return
		}
		m.Set(fd, sv)
	})
	return ferr
}

// message fills m from v, handling the well-known types Hubble uses.
func (ln *lean) message(v *fastjson.Value, m protoreflect.Message) error {
	md := m.Descriptor()
	switch md.FullName() {
	case timestampName:
		s, err := v.StringBytes()
		if err != nil {
			return errUnsupported
		}
		t, err := time.Parse(time.RFC3339Nano, string(s))
		if err != nil || t.Year() < 1 || t.Year() > 9999 || !strings.ContainsAny(string(s[10:11]), "T") {
			return errUnsupported
		}
		m.Set(md.Fields().ByNumber(1), protoreflect.ValueOfInt64(t.Unix()))
		m.Set(md.Fields().ByNumber(2), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
		return nil
	case "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
		"google.protobuf.Int32Value", "google.protobuf.UInt32Value", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.FloatValue", "google.protobuf.DoubleValue":
		fd := md.Fields().ByNumber(1)
		sv, err := fastScalar(v, fd)
		if err != nil {
			return err
		}
		m.Set(fd, sv)
		return nil
	}
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return errUnsupported // Any, Struct, Value, Duration, FieldMask, ...
	}
	return ln.unmarshal(v, m)
}

func fastScalar(v *fastjson.Value, fd protoreflect.FieldDescriptor) (protoreflect.Value, error) {
	var none protoreflect.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		b, err := v.StringBytes()
		if err != nil || !utf8.Valid(b) {
			return none, errUnsupported
		}
		return protoreflect.ValueOfString(string(b)), nil
	case protoreflect.BoolKind:
		b, err := v.Bool()
		if err != nil {
			return none, errUnsupported
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.EnumKind:
		if v.Type() == fastjson.TypeString {
			b, _ := v.StringBytes()
			ev := fd.Enum().Values().ByName(protoreflect.Name(b))
			if ev == nil {
				return none, errUnsupported
			}
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
		n, err := intOf(v, 32, true)
		if err != nil {
			return none, err
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := intOf(v, 32, true)
		return protoreflect.ValueOfInt32(int32(n)), err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := intOf(v, 64, true)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := uintOf(v, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := uintOf(v, 64)
		return protoreflect.ValueOfUint64(n), err
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		if v.Type() != fastjson.TypeNumber {
			return none, errUnsupported // "NaN", "Infinity": protojson's job
		}
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) {
			return none, errUnsupported
		}
		if fd.Kind() == protoreflect.FloatKind {
			if math.Abs(f) > math.MaxFloat32 {
				return none, errUnsupported
			}
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.BytesKind:
		b, err := v.StringBytes()
		if err != nil {
			return none, errUnsupported
		}
		s := string(b)
		enc := base64.StdEncoding
		if strings.ContainsAny(s, "-_") {
			enc = base64.URLEncoding
		}
		if len(s)%4 != 0 {
			enc = enc.WithPadding(base64.NoPadding)
		}
		out, err := enc.DecodeString(s)
		if err != nil {
			return none, errUnsupported
		}
		return protoreflect.ValueOfBytes(out), nil
	}
	return none, errUnsupported
}

// numText is the text of a JSON number, or of a string holding one (the
// protojson form of 64-bit integers, accepted for every integer type).
func numText(v *fastjson.Value) (string, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		return string(v.MarshalTo(nil)), true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		s := string(b)
		if s == "" || strings.TrimSpace(s) != s {
			return "", false
		}
		return s, true
	}
	return "", false
}

func intOf(v *fastjson.Value, bits int, signed bool) (int64, error) {
	s, ok := numText(v)
	if !ok {
		return 0, errUnsupported
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, errUnsupported // exponents, fractions: protojson's job
	}
	return n, nil
}

func uintOf(v *fastjson.Value, bits int) (uint64, error) {
	s, ok := numText(v)
	if !ok || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, errUnsupported
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, errUnsupported
	}
	return n, nil
}

type protoMessage interface {
	ProtoReflect() protoreflect.Message
}

func reset(m protoMessage) {
	r := m.ProtoReflect()
	r.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		r.Clear(fd)
		return true
	})
}
