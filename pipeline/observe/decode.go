package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/cilium/cilium/api/v1/observer"
	"github.com/valyala/fastjson"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/reachgate/reachgate/pipeline/model"
)

// MaxLine is the longest line read; a longer one is reported malformed.
const MaxLine = 1 << 20

// maxListed is how many malformed lines a capture lists (all are counted).
const maxListed = 100

// Capture is what was read from flow sources: the flows aggregated by
// their endpoints as the source described them, and what could not be
// used.
type Capture struct {
	Records []Record
	Input   model.FlowInput
	skipped map[string]int64
}

// Problems counts the malformed lines that are input errors: all but
// truncated final lines.
func (c *Capture) Problems() int64 { return c.Input.MalformedCount - int64(c.Input.Truncated) }

func newCapture() *Capture { return &Capture{skipped: map[string]int64{}} }

func (c *Capture) skip(why string, n int64) { c.skipped[why] += n }

// finish sorts the records and fills the summary.
func (c *Capture) finish() {
	slices.SortFunc(c.Records, func(a, b Record) int { return compareKeys(&a.Key, &b.Key) })
	c.Input.Skipped = c.Input.Skipped[:0]
	for what, n := range c.skipped {
		c.Input.Skipped = append(c.Input.Skipped, model.Tally{What: what, Count: n})
	}
	slices.SortFunc(c.Input.Skipped, func(a, b model.Tally) int { return strings.Compare(a.What, b.What) })
	c.Input.Flows = 0
	var w model.Window
	for i := range c.Records {
		r := &c.Records[i]
		c.Input.Flows += r.Count
		if !r.First.IsZero() && (w.First.IsZero() || r.First.Before(w.First)) {
			w.First = r.First
		}
		if r.Last.After(w.Last) {
			w.Last = r.Last
		}
	}
	c.Input.Window = w
	slices.SortFunc(c.Input.Malformed, func(a, b model.LineError) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	if c.Input.Malformed == nil {
		c.Input.Malformed = []model.LineError{}
	}
}

func compareEndpoints(a, b *Endpoint) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Pod, b.Pod); c != 0 {
		return c
	}
	if c := strings.Compare(a.Workload, b.Workload); c != 0 {
		return c
	}
	if c := a.IP.Compare(b.IP); c != 0 {
		return c
	}
	if c := strings.Compare(a.Reserved, b.Reserved); c != 0 {
		return c
	}
	return strings.Compare(a.Labels, b.Labels)
}

func compareKeys(a, b *Key) int {
	if c := compareEndpoints(&a.Src, &b.Src); c != 0 {
		return c
	}
	if c := compareEndpoints(&a.Dst, &b.Dst); c != 0 {
		return c
	}
	if a.Protocol != b.Protocol {
		return int(a.Protocol) - int(b.Protocol)
	}
	if a.Port != b.Port {
		return int(a.Port) - int(b.Port)
	}
	if c := strings.Compare(a.Verdict, b.Verdict); c != 0 {
		return c
	}
	return strings.Compare(a.DropReason, b.DropReason)
}

// Source is one input of flows: a name for reports and the reader.
type Source struct {
	Name string
	R    io.Reader
}

// Read reads flow sources line by line: Hubble GetFlowsResponse lines
// (`hubble observe -o jsonpb`), Hubble Flow lines (`-o json`) and the
// neutral format, told apart per line. Lines are decoded on every core.
// Malformed lines are counted and listed with their line numbers; the
// rest is used. An error is returned only when a source cannot be read.
func Read(ctx context.Context, srcs ...Source) (*Capture, error) {
	c := newCapture()
	for _, s := range srcs {
		c.Input.Sources = append(c.Input.Sources, s.Name)
		if err := c.read(ctx, s); err != nil {
			return nil, fmt.Errorf("read %s: %w", s.Name, err)
		}
	}
	c.finish()
	return c, nil
}

// chunk is a run of whole lines and the number of its first line.
type chunk struct {
	data  []byte
	first int
	// last: the chunk ends the source, and its final line had no newline.
	unterminated bool
}

// partial is what one worker made of its chunks.
type partial struct {
	recs map[Key]*Record
	// Hubble flows aggregate by endpoint ids first: the lean decoder
	// shares one message per distinct endpoint, and a key of two ids and
	// two addresses hashes faster than one of two endpoints.
	ids       map[*flowpb.Endpoint]int32
	eps       []Endpoint
	byID      map[rawKey]*Record
	skipped   map[string]int64
	malformed []model.LineError
	nbad      int64
	truncated int
	lines     int64
}

func (c *Capture) read(ctx context.Context, s Source) error {
	workers := runtime.GOMAXPROCS(0)
	chunks := make(chan chunk, workers*2)
	parts := make([]*partial, workers)
	var wg sync.WaitGroup
	for i := range workers {
		p := &partial{recs: map[Key]*Record{}, skipped: map[string]int64{}}
		parts[i] = p
		wg.Go(func() {
			d := newDecoder(s.Name)
			for ch := range chunks {
				d.chunk(p, ch)
			}
		})
	}
	err := split(ctx, s.R, chunks, func(line int, msg string) {
		parts[0].bad(s.Name, line, msg)
	})
	close(chunks)
	wg.Wait()
	for _, p := range parts {
		c.merge(p)
	}
	return err
}

func (p *partial) bad(file string, line int, msg string) {
	p.nbad++
	if len(p.malformed) < maxListed {
		p.malformed = append(p.malformed, model.LineError{File: file, Line: line, Message: msg})
	}
}

func (c *Capture) merge(p *partial) {
	p.settle()
	idx := make(map[Key]int, len(c.Records))
	for i := range c.Records {
		idx[c.Records[i].Key] = i
	}
	for k, r := range p.recs {
		if i, ok := idx[k]; ok {
			c.Records[i].add(r.Count, r.First, r.Last)
			continue
		}
		idx[k] = len(c.Records)
		c.Records = append(c.Records, *r)
	}
	for w, n := range p.skipped {
		c.skipped[w] += n
	}
	c.Input.Lines += p.lines
	c.Input.MalformedCount += p.nbad
	c.Input.Truncated += p.truncated
	for _, m := range p.malformed {
		if len(c.Input.Malformed) < maxListed {
			c.Input.Malformed = append(c.Input.Malformed, m)
		}
	}
}

const chunkSize = 1 << 20

// split cuts r into chunks of whole lines. A line longer than MaxLine is
// reported through bad and skipped.
func split(ctx context.Context, r io.Reader, out chan<- chunk, bad func(line int, msg string)) error {
	buf := make([]byte, 0, chunkSize)
	line := 1
	skipping := false // inside an overlong line
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cap(buf)-len(buf) < chunkSize/2 {
			nb := make([]byte, len(buf), max(2*cap(buf), len(buf)+chunkSize))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return err
		}
		if skipping {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				buf = buf[:0]
				if eof {
					return nil
				}
				continue
			}
			buf = append(buf[:0], buf[i+1:]...)
			line++
			skipping = false
		}
		end := bytes.LastIndexByte(buf, '\n')
		if end >= 0 {
			data := append([]byte(nil), buf[:end+1]...)
			out <- chunk{data: data, first: line}
			line += bytes.Count(data, []byte{'\n'})
			buf = append(buf[:0], buf[end+1:]...)
		}
		if len(buf) > MaxLine {
			bad(line, fmt.Sprintf("line longer than %d bytes", MaxLine))
			buf = buf[:0]
			skipping = true
			if eof {
				return nil
			}
			continue
		}
		if eof {
			if len(bytes.TrimSpace(buf)) > 0 {
				out <- chunk{data: append([]byte(nil), buf...), first: line, unterminated: true}
			}
			return nil
		}
	}
}

// decoder decodes lines; each worker has its own.
type decoder struct {
	file string
	p    fastjson.Parser
	lean *lean
}

func newDecoder(file string) *decoder { return &decoder{file: file, lean: newLean()} }

func (d *decoder) chunk(p *partial, ch chunk) {
	data := ch.data
	line := ch.first
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		last := i < 0
		if last {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		p.lines++
		l = bytes.TrimSpace(l)
		if len(l) > MaxLine {
			p.bad(d.file, line, fmt.Sprintf("line longer than %d bytes", MaxLine))
		} else if len(l) > 0 {
			if err := d.line(p, l); err != nil {
				if last && ch.unterminated {
					p.truncated++
					p.bad(d.file, line, "truncated final line (no newline at the end): "+err.Error())
				} else {
					p.bad(d.file, line, err.Error())
				}
			}
		}
		line++
	}
}

// line decodes one line and adds what it holds to p.
func (d *decoder) line(p *partial, l []byte) error {
	v, err := d.p.ParseBytes(l)
	if err != nil {
		return fmt.Errorf("not JSON: %s", shortErr(err))
	}
	o, err := v.Object()
	if err != nil {
		return errors.New("not a JSON object")
	}
	switch {
	case o.Get("src") != nil || o.Get("dst") != nil:
		r, err := neutralRecord(l)
		if err != nil {
			return err
		}
		if r.Count == 0 {
			p.skipped[skipZeroCount]++
			return nil
		}
		p.add(r)
		return nil
	case o.Get("flow") != nil || o.Get("node_status") != nil || o.Get("nodeStatus") != nil ||
		o.Get("lost_events") != nil || o.Get("lostEvents") != nil:
		var resp observer.GetFlowsResponse
		if err := d.decodeProto(v, l, &resp); err != nil {
			return err
		}
		return p.response(&resp)
	default:
		var f flowpb.Flow
		if err := d.decodeProto(v, l, &f); err != nil {
			return err
		}
		p.flow(&f, time.Time{})
		return nil
	}
}

var protoOpts = protojson.UnmarshalOptions{DiscardUnknown: true}

// decodeProto fills m from the line: the fast decoder first, protojson
// for whatever it leaves to it (and for the error message).
func (d *decoder) decodeProto(v *fastjson.Value, l []byte, m protoMessage) error {
	if err := d.lean.unmarshal(v, m.ProtoReflect()); err == nil {
		return nil
	}
	// Start again from an empty message: the fast decoder may have set
	// part of it.
	reset(m)
	if err := protoOpts.Unmarshal(l, m); err != nil {
		return fmt.Errorf("not a Hubble %s: %s", m.ProtoReflect().Descriptor().Name(), shortErr(err))
	}
	return nil
}

func (p *partial) response(r *observer.GetFlowsResponse) error {
	switch {
	case r.GetFlow() != nil:
		var fallback time.Time
		if r.GetTime() != nil {
			fallback = r.GetTime().AsTime()
		}
		p.flow(r.GetFlow(), fallback)
	case r.GetLostEvents() != nil:
		p.skipped[skipLost] += int64(max(r.GetLostEvents().GetNumEventsLost(), 1))
	default:
		p.skipped[skipNotFlow]++
	}
	return nil
}

// rawKey is Key with endpoints by id (without their addresses).
type rawKey struct {
	src, dst   int32
	sip, dip   netip.Addr
	proto      model.Protocol
	port       uint16
	verdict    string
	dropReason string
}

func (p *partial) flow(f *flowpb.Flow, fallback time.Time) {
	r, skip := judgeable(f, fallback)
	if skip != "" {
		p.skipped[skip]++
		return
	}
	if p.ids == nil {
		p.ids, p.byID = map[*flowpb.Endpoint]int32{}, map[rawKey]*Record{}
	}
	k := rawKey{src: p.endpointID(f.GetSource()), dst: p.endpointID(f.GetDestination()),
		sip: addrOf(f.GetIP().GetSource()), dip: addrOf(f.GetIP().GetDestination()),
		proto: r.Protocol, port: r.Port, verdict: r.Verdict, dropReason: r.DropReason}
	if x, ok := p.byID[k]; ok {
		x.add(r.Count, r.First, r.Last)
		return
	}
	p.byID[k] = &r
}

func (p *partial) endpointID(e *flowpb.Endpoint) int32 {
	if id, ok := p.ids[e]; ok {
		return id
	}
	id := int32(len(p.eps))
	p.eps = append(p.eps, endpointOf(e, ""))
	p.ids[e] = id
	return id
}

func addrOf(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// settle moves the flows aggregated by endpoint id into recs.
func (p *partial) settle() {
	for k, r := range p.byID {
		r.Src, r.Dst = p.eps[k.src], p.eps[k.dst]
		r.Src.IP, r.Dst.IP = k.sip, k.dip
		p.add(*r)
	}
	p.ids, p.eps, p.byID = nil, nil, nil
}

func (p *partial) add(r Record) {
	if x, ok := p.recs[r.Key]; ok {
		x.add(r.Count, r.First, r.Last)
		return
	}
	p.recs[r.Key] = &r
}

func shortErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "proto: ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// The neutral format: one JSON object per line.
//
//	{"src": "app/frontend-6d4b9c7f8-x2k4p", "dst": "10.0.3.7", "proto": "TCP",
//	 "port": 5432, "verdict": "FORWARDED", "count": 12,
//	 "first": "2026-11-30T10:00:00Z", "last": "2026-11-30T10:05:00Z"}
type neutralLine struct {
	Src        *string `json:"src"`
	Dst        *string `json:"dst"`
	Proto      string  `json:"proto"`
	Port       *int    `json:"port"`
	Verdict    *string `json:"verdict"`
	DropReason string  `json:"dropReason"`
	Count      *int64  `json:"count"`
	First      string  `json:"first"`
	Last       string  `json:"last"`
}

func neutralRecord(l []byte) (Record, error) {
	var n neutralLine
	dec := json.NewDecoder(bytes.NewReader(l))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&n); err != nil {
		return r, fmt.Errorf("neutral format: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if n.Src == nil || *n.Src == "" {
		return r, errors.New("neutral format: src is missing")
	}
	if n.Dst == nil || *n.Dst == "" {
		return r, errors.New("neutral format: dst is missing")
	}
	var err error
	if r.Src, err = neutralEndpoint(*n.Src); err != nil {
		return r, fmt.Errorf("neutral format: src: %w", err)
	}
	if r.Dst, err = neutralEndpoint(*n.Dst); err != nil {
		return r, fmt.Errorf("neutral format: dst: %w", err)
	}
	if r.Protocol, err = model.ParseProtocol(n.Proto); err != nil {
		return r, fmt.Errorf("neutral format: proto: %w", err)
	}
	if n.Port == nil {
		return r, errors.New("neutral format: port is missing")
	}
	if *n.Port < 1 || *n.Port > model.MaxPort {
		return r, fmt.Errorf("neutral format: port %d: want 1-65535", *n.Port)
	}
	r.Port = uint16(*n.Port)
	if n.Verdict == nil {
		return r, errors.New("neutral format: verdict is missing")
	}
	switch v := strings.ToUpper(*n.Verdict); v {
	case model.VerdictForwarded, model.VerdictDropped:
		r.Verdict = v
	default:
		return r, fmt.Errorf("neutral format: verdict %q: want FORWARDED or DROPPED", *n.Verdict)
	}
	if n.DropReason != "" {
		if r.Verdict != model.VerdictDropped {
			return r, errors.New("neutral format: dropReason on a flow that was not dropped")
		}
		r.DropReason = n.DropReason
	}
	r.Count = 1
	if n.Count != nil {
		if *n.Count < 0 {
			return r, fmt.Errorf("neutral format: count %d is negative", *n.Count)
		}
		r.Count = *n.Count
	}
	if n.First != "" {
		if r.First, err = time.Parse(time.RFC3339Nano, n.First); err != nil {
			return r, fmt.Errorf("neutral format: first %q: want RFC 3339 time", n.First)
		}
	}
	if n.Last != "" {
		if r.Last, err = time.Parse(time.RFC3339Nano, n.Last); err != nil {
			return r, fmt.Errorf("neutral format: last %q: want RFC 3339 time", n.Last)
		}
	}
	switch {
	case r.First.IsZero():
		r.First = r.Last
	case r.Last.IsZero():
		r.Last = r.First
	}
	if r.Last.Before(r.First) {
		return r, errors.New("neutral format: last is before first")
	}
	r.First, r.Last = r.First.UTC(), r.Last.UTC()
	return r, nil
}

// neutralEndpoint parses "namespace/pod" or an IP address.
func neutralEndpoint(s string) (Endpoint, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return Endpoint{IP: a.Unmap()}, nil
	}
	ns, pod, ok := strings.Cut(s, "/")
	if !ok || ns == "" || pod == "" || strings.Contains(pod, "/") {
		return Endpoint{}, fmt.Errorf("%q: want namespace/pod or an IP address", s)
	}
	return Endpoint{Namespace: ns, Pod: pod}, nil
}
