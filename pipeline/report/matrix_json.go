package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/reachgate/reachgate/internal/par"
	"github.com/reachgate/reachgate/pipeline/model"
)

type jsonUnmanaged struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason"`
}

// jsonMatrix is who can reach whom as flows: every source of a flow
// reaches every destination of it on the flow's ports, for the reasons of
// one allowance. Peers, rules, grants and allowances are listed once, and
// refer to each other by index. A cluster of 5,000 workloads has millions
// of pairs, tens of thousands of flows and allowances, and a few thousand
// rules.
type jsonMatrix struct {
	FormatVersion string     `json:"formatVersion"`
	Title         string     `json:"title,omitempty"`
	Focus         *jsonFocus `json:"focus,omitempty"`
	Peers         []jsonPeer `json:"peers"`
	provenance
	Flows []jsonFlow `json:"flows"`
	// Connections is how many (source, destination) pairs the flows hold.
	Connections int             `json:"connections"`
	Unmanaged   []jsonUnmanaged `json:"unmanaged"`
	// Omitted are the traffic policies the matrix leaves out: invalid
	// NetworkPolicies and policies of kinds reachgate does not evaluate.
	Omitted []model.OmittedPolicy `json:"omitted,omitempty"`
}

// jsonFlow is one flow: indices into peers and allowances. A pair of it
// may be denied by the invalid policies named in the source's
// mayBeDeniedBy.egress and the destination's mayBeDeniedBy.ingress.
type jsonFlow struct {
	Srcs      []int32   `json:"srcs"`
	Dsts      []int32   `json:"dsts"`
	Ports     jsonPorts `json:"ports"`
	Allowance int32     `json:"allowance"`
}

// appendJSON appends the flow as encoding/json writes it (the matrix's
// bulk: tens of thousands of flows, each with hundreds of indices).
func (f jsonFlow) appendJSON(b []byte) []byte {
	b = append(b, `{"srcs":`...)
	b = appendInts(b, f.Srcs)
	b = append(b, `,"dsts":`...)
	b = appendInts(b, f.Dsts)
	b = append(b, `,"ports":`...)
	b = f.Ports.AppendJSON(b)
	b = append(b, `,"allowance":`...)
	b = strconv.AppendInt(b, int64(f.Allowance), 10)
	return append(b, '}')
}

type jsonFocus struct {
	Workload  string `json:"workload,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// writeMatrixJSON writes the matrix as a versioned document: the peers,
// the allowances, the flows that refer to both, and the workloads
// NetworkPolicy does not govern. Each element of a list is one compact
// line, so that the document stays a fraction of the indented size and
// diffs well.
func writeMatrixJSON(w io.Writer, v *matrixView, opts MatrixOptions) error {
	return writeJSONLines(w, toJSONMatrix(v, opts))
}

// writeJSONLines writes the matrix compactly, with each element of its
// lists on a line of its own.
func writeJSONLines(w io.Writer, m jsonMatrix) error {
	ew := newErrWriter(w)
	field := func(name string, v any, sep string) error {
		b, err := marshalCompact(v)
		if err != nil {
			return err
		}
		ew.print("\n", strconv.Quote(name), ":", string(b), sep)
		return nil
	}
	encodedList := func(name string, n int, encode func(b []byte, i int) ([]byte, error), sep string) error {
		ew.print("\n", strconv.Quote(name), ":[")
		err := marshalEach(n, encode, func(i int, b []byte) {
			if i > 0 {
				ew.print(",")
			}
			ew.print("\n")
			ew.write(b)
		})
		if err != nil {
			return err
		}
		if n > 0 {
			ew.print("\n")
		}
		ew.print("]", sep)
		return nil
	}
	list := func(name string, n int, elem func(i int) any, sep string) error {
		return encodedList(name, n, func(b []byte, i int) ([]byte, error) {
			e, err := marshalCompact(elem(i))
			return append(b, e...), err
		}, sep)
	}
	ew.print("{")
	steps := []func() error{
		func() error { return field("formatVersion", m.FormatVersion, ",") },
		func() error {
			if m.Title == "" {
				return nil
			}
			return field("title", m.Title, ",")
		},
		func() error {
			if m.Focus == nil {
				return nil
			}
			return field("focus", m.Focus, ",")
		},
		func() error { return list("peers", len(m.Peers), func(i int) any { return m.Peers[i] }, ",") },
		func() error {
			return encodedList("rules", len(m.Rules), func(b []byte, i int) ([]byte, error) { return m.Rules[i].appendJSON(b), nil }, ",")
		},
		func() error {
			return encodedList("grants", len(m.Grants), func(b []byte, i int) ([]byte, error) { return m.Grants[i].appendJSON(b), nil }, ",")
		},
		func() error {
			return encodedList("allowances", len(m.Allowances), func(b []byte, i int) ([]byte, error) { return m.Allowances[i].appendJSON(b), nil }, ",")
		},
		func() error {
			return encodedList("flows", len(m.Flows), func(b []byte, i int) ([]byte, error) { return m.Flows[i].appendJSON(b), nil }, ",")
		},
		func() error { return field("connections", m.Connections, ",") },
		func() error {
			sep := ""
			if len(m.Omitted) > 0 {
				sep = ","
			}
			return list("unmanaged", len(m.Unmanaged), func(i int) any { return m.Unmanaged[i] }, sep)
		},
		func() error {
			if len(m.Omitted) == 0 {
				return nil
			}
			return list("omitted", len(m.Omitted), func(i int) any { return m.Omitted[i] }, "")
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	ew.line("\n}")
	return ew.flush()
}

func toJSONMatrix(v *matrixView, opts MatrixOptions) jsonMatrix {
	return v.jsonMatrix(opts, model.GroupFlows(v.m, v.keptConnections(), model.FlowKeys{}), v.n)
}

// FromFlows reports whether WriteMatrix, in format with opts, writes
// nothing WriteMatrixFlows does not: the json format, every peer shown.
// The engine then need not list the pairs (reach.ComputeFlows).
func FromFlows(format string, opts MatrixOptions) bool {
	return format == "json" && focus(opts) == nil
}

// WriteMatrixFlows writes matrix m, whose connections flows partition
// (reach.ComputeFlows: m lists none), in the json format, every peer
// shown (opts has no focus). The document is the json format's for the
// same matrix, but for how its flows cut the pairs.
func WriteMatrixFlows(w io.Writer, m *model.Matrix, flows []model.Flow, opts MatrixOptions) error {
	if !FromFlows("json", opts) {
		return fmt.Errorf("a focused matrix is written from its connections")
	}
	v, err := newMatrixView(m, opts)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range flows {
		n += len(f.Srcs) * len(f.Dsts)
	}
	return writeJSONLines(w, v.jsonMatrix(opts, flows, n))
}

// jsonMatrix is the document of the view whose n connections flows
// partition, in peer indices (rewritten to display positions, and
// sorted, in place).
func (v *matrixView) jsonMatrix(opts MatrixOptions, flows []model.Flow, n int) jsonMatrix {
	out := jsonMatrix{
		FormatVersion: FormatVersion,
		Title:         opts.Title,
		Peers:         make([]jsonPeer, len(v.peers)),
		Flows:         make([]jsonFlow, 0, len(flows)),
		Connections:   n,
		Unmanaged:     make([]jsonUnmanaged, len(v.unmanaged)),
		Omitted:       v.m.Omitted,
	}
	if v.focused {
		out.Focus = &jsonFocus{Workload: opts.Workload, Namespace: opts.Namespace}
	}
	pos := v.positions()
	for i, p := range v.peers {
		out.Peers[i] = toJSONPeer(*p)
	}
	// Peers the engine lists are in display order already: their flows'
	// lists need no rewriting (at 20,000 workloads, 50 million indices).
	if !identity(pos) {
		for i := range flows {
			f := &flows[i]
			for k, s := range f.Srcs {
				f.Srcs[k] = pos[s]
			}
			for k, d := range f.Dsts {
				f.Dsts[k] = pos[d]
			}
			slices.Sort(f.Srcs)
			slices.Sort(f.Dsts)
		}
	}
	byFirst := func(a, b model.Flow) int {
		if a.Srcs[0] != b.Srcs[0] {
			return int(a.Srcs[0] - b.Srcs[0])
		}
		return int(a.Dsts[0] - b.Dsts[0])
	}
	if !slices.IsSortedFunc(flows, byFirst) {
		slices.SortFunc(flows, byFirst)
	}
	number, used := flowAllowances(flows, len(v.m.Allowances))
	out.provenance = provenanceOf(v.m.Allowances, used)
	for _, f := range flows {
		out.Flows = append(out.Flows, jsonFlow{Srcs: f.Srcs, Dsts: f.Dsts, Ports: jsonPorts{v.m.Allowances[f.Allowance].Ports}, Allowance: number[f.Allowance]})
	}
	for i, u := range v.unmanaged {
		out.Unmanaged[i] = jsonUnmanaged{Namespace: u.Workload.Namespace, Name: u.Workload.Name, Kind: u.Workload.Kind, Reason: u.Reason}
	}
	return out
}

// identity reports whether pos maps every peer to its own index.
func identity(pos []int32) bool {
	for i, p := range pos {
		if p != int32(i) {
			return false
		}
	}
	return true
}

// flowAllowances numbers the allowances flows use as allowances does for
// connections: the first connection of an allowance in display order is
// the least of its flows' first ones, each flow's first source with its
// first destination, so it lies in the allowance's first flow in flows'
// order (first source, then first destination).
func flowAllowances(flows []model.Flow, all int) (number, used []int32) {
	number = make([]int32, all)
	for i := range number {
		number[i] = -1
	}
	for _, f := range flows {
		if number[f.Allowance] < 0 {
			number[f.Allowance] = int32(len(used))
			used = append(used, f.Allowance)
		}
	}
	return number, used
}

// check reports a matrix read back whose flows name peers or allowances
// it does not have, or none: "flows[3].srcs[1]: peer 12 of 10".
func (m *jsonMatrix) check() error {
	for i, f := range m.Flows {
		if len(f.Srcs) == 0 || len(f.Dsts) == 0 {
			return fmt.Errorf("flows[%d]: a flow needs sources and destinations", i)
		}
		for _, side := range []struct {
			name string
			idx  []int32
		}{{"srcs", f.Srcs}, {"dsts", f.Dsts}} {
			for k, p := range side.idx {
				if p < 0 || int(p) >= len(m.Peers) {
					return fmt.Errorf("flows[%d].%s[%d]: peer %d of %d", i, side.name, k, p, len(m.Peers))
				}
			}
		}
		if f.Allowance < 0 || int(f.Allowance) >= len(m.Allowances) {
			return fmt.Errorf("flows[%d].allowance: %d of %d", i, f.Allowance, len(m.Allowances))
		}
	}
	return m.provenance.check()
}

// allowances numbers the allowances of the kept connections in the order
// connections first use them: number maps the matrix's index to that
// number (-1 for unused ones), used lists the matrix's indices in order.
func (v *matrixView) allowances() (number, used []int32) {
	number = make([]int32, len(v.m.Allowances))
	for i := range number {
		number[i] = -1
	}
	for _, c := range v.connections() {
		if (v.sorted != nil || v.kept(c)) && number[c.Allowance] < 0 {
			number[c.Allowance] = int32(len(used))
			used = append(used, c.Allowance)
		}
	}
	return number, used
}

// positions maps each peer of the matrix to its index among the peers
// shown (-1 for those not shown).
func (v *matrixView) positions() []int32 {
	pos := make([]int32, len(v.m.Peers))
	for i := range pos {
		pos[i] = -1
	}
	for i, p := range v.order {
		pos[p] = int32(i)
	}
	return pos
}

// jsonlHeader is the first line of the jsonl format.
type jsonlHeader struct {
	FormatVersion string     `json:"formatVersion"`
	Title         string     `json:"title,omitempty"`
	Focus         *jsonFocus `json:"focus,omitempty"`
	provenance
	Connections int                   `json:"connections"`
	Unmanaged   []jsonUnmanaged       `json:"unmanaged"`
	Omitted     []model.OmittedPolicy `json:"omitted,omitempty"`
}

// writeMatrixJSONL streams one pair per line for tools that want pairs:
// a header line ({"formatVersion", "rules", "grants", "allowances", "connections",
// "unmanaged", ...}), then per connection {"src", "dst", "ports",
// "allowance"} (and "mayBeDeniedBy" where set), allowance being an index
// into the header's allowances. Lines are written as the connections are
// read: memory does not grow with the output.
func writeMatrixJSONL(w io.Writer, v *matrixView, opts MatrixOptions) error {
	ew := newErrWriter(w)
	h := jsonlHeader{FormatVersion: FormatVersion, Title: opts.Title, Connections: v.n,
		Unmanaged: []jsonUnmanaged{}, Omitted: v.m.Omitted}
	if v.focused {
		h.Focus = &jsonFocus{Workload: opts.Workload, Namespace: opts.Namespace}
	}
	number, used := v.allowances()
	h.provenance = provenanceOf(v.m.Allowances, used)
	for _, u := range v.unmanaged {
		h.Unmanaged = append(h.Unmanaged, jsonUnmanaged{Namespace: u.Workload.Namespace, Name: u.Workload.Name, Kind: u.Workload.Kind, Reason: u.Reason})
	}
	if err := writeJSONLine(ew, h); err != nil {
		return err
	}
	peers := make([][]byte, len(v.m.Peers))
	peer := func(i int32) ([]byte, error) {
		if peers[i] == nil {
			b, err := marshalCompact(toJSONPeer(v.m.Peers[i]))
			if err != nil {
				return nil, err
			}
			peers[i] = b
		}
		return peers[i], nil
	}
	ports := make([][]byte, len(v.m.Allowances))
	for _, c := range v.connections() {
		if v.sorted == nil && !v.kept(c) {
			continue
		}
		src, err := peer(c.Src)
		if err != nil {
			return err
		}
		dst, err := peer(c.Dst)
		if err != nil {
			return err
		}
		if ports[c.Allowance] == nil {
			if ports[c.Allowance], err = marshalCompact(jsonPorts{v.m.Allowances[c.Allowance].Ports}); err != nil {
				return err
			}
		}
		ew.print(`{"src":`, string(src), `,"dst":`, string(dst), `,"ports":`, string(ports[c.Allowance]), `,"allowance":`, strconv.Itoa(int(number[c.Allowance])))
		if keys := model.MayBeDeniedBy(v.m.Peers[c.Src], v.m.Peers[c.Dst]); len(keys) > 0 {
			b, err := marshalCompact(keys)
			if err != nil {
				return err
			}
			ew.print(`,"mayBeDeniedBy":`, string(b))
		}
		ew.line("}")
	}
	return ew.flush()
}

// marshalEach encodes elements 0..n-1 with encode, a batch at a time on
// every core, and passes them to write in order. encode appends to the
// buffer it is given: each worker appends a batch's elements to one
// buffer of its own, kept from batch to batch.
func marshalEach(n int, encode func(b []byte, i int) ([]byte, error), write func(i int, b []byte)) error {
	const batch = 4096
	out := make([][]byte, min(n, batch))
	errs := make([]error, len(out))
	bufs := make([][]byte, par.Workers(len(out)))
	for start := 0; start < n; start += batch {
		k := min(batch, n-start)
		par.ForWorkers(k, func(w, j int) {
			b, err := encode(bufs[w], start+j)
			if errs[j] = err; err == nil {
				out[j], bufs[w] = b[len(bufs[w]):len(b):len(b)], b
			}
		})
		for j := range k {
			if errs[j] != nil {
				return errs[j]
			}
			write(start+j, out[j])
		}
		for w := range bufs {
			bufs[w] = bufs[w][:0]
		}
	}
	return nil
}

// marshalCompact is json.Marshal without HTML escaping.
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func writeJSONLine(ew *errWriter, v any) error {
	b, err := marshalCompact(v)
	if err != nil {
		return err
	}
	ew.line(string(b))
	return nil
}
