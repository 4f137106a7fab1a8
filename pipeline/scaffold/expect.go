package scaffold

import (
	"fmt"
	"sort"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// MaxDenies bounds the deny entries a recording lists: a big overlay has
// too many pairs of workloads without a flow for a file someone reads.
const MaxDenies = 200

// ExpectKey identifies an expectation for carrying its reason over from
// a previous recording: "allow" or "deny", from, to and port as written.
func ExpectKey(kind, from, to, port string) string {
	return kind + "\x00" + from + "\x00" + to + "\x00" + port
}

type expectation struct{ from, to, port string }

// ExpectationsYAML records an overlay's reachability as expectations: an
// allow for every flow open today (per port range; to and from named
// external endpoints by name, unnamed address ranges left out), and a
// deny for every pair of the repository's workloads with no flow at all.
// Flows that neither start nor end at a workload of the repository (the
// inventory and the outside) are left out.
// reasons (by ExpectKey) are kept for entries recorded again.
func ExpectationsYAML(overlay string, m *model.Matrix, reasons map[string]string) []byte {
	type pair struct{ from, to string }
	ports := map[pair]model.PortSet{}
	unnamed := 0
	name := func(p *model.Peer) string {
		if p.Workload != nil {
			return p.Workload.Key()
		}
		return p.External
	}
	own := func(p *model.Peer) bool { return p.Workload != nil && !p.Workload.Inventory }
	for _, c := range m.Connections {
		src, dst := &m.Peers[c.Src], &m.Peers[c.Dst]
		if !own(src) && !own(dst) {
			// Between the inventory and the outside: not this
			// repository's to expect.
			continue
		}
		from, to := name(src), name(dst)
		if from == "" || to == "" {
			unnamed++
			continue
		}
		k := pair{from, to}
		ports[k] = ports[k].Union(m.Of(c).Ports)
	}
	var allow []expectation
	for k, ps := range ports {
		for _, spec := range portSpecs(ps) {
			allow = append(allow, expectation{k.from, k.to, spec})
		}
	}
	sortExpectations(allow)

	var repo []int32
	for i := range m.Peers {
		if w := m.Peers[i].Workload; w != nil && !w.Inventory {
			repo = append(repo, int32(i))
		}
	}
	var deny []expectation
	closed := 0
	for _, s := range repo {
		for _, d := range repo {
			if s != d && m.Find(s, d) == nil {
				closed++
				if closed <= MaxDenies {
					deny = append(deny, expectation{name(&m.Peers[s]), name(&m.Peers[d]), ""})
				}
			}
		}
	}
	sortExpectations(deny)

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# yaml-language-server: $schema=https://raw.githubusercontent.com/reachgate/reachgate/main/schemas/expectations.schema.json")
	p("# Connectivity expectations for %s, recorded by `reachgate expect record %s`", overlay, overlay)
	p("# from its reachability: each allow is a flow open when it was recorded,")
	p("# each deny a pair of this repository's workloads with no flow at all.")
	p("# Edit it: give each entry a reason, delete what is incidental, keep what")
	p("# must hold. `reachgate check` fails when one stops holding.")
	if unnamed > 0 {
		p("# Left out: %d connection(s) to or from address ranges no external endpoint", unnamed)
		p("# of reachgate.yaml names.")
	}
	if closed > MaxDenies {
		p("# Left out: %d more pairs without a flow (only the first %d are listed).", closed-MaxDenies, MaxDenies)
	}
	p("apiVersion: reachgate.dev/v1alpha1")
	p("kind: Expectations")
	write := func(kind string, list []expectation) {
		if len(list) == 0 {
			p("%s: []", kind)
			return
		}
		p("%s:", kind)
		for _, x := range list {
			fields := []string{"from: " + q(x.from), "to: " + q(x.to)}
			if x.port != "" {
				fields = append(fields, "port: "+q(x.port))
			}
			if r := reasons[ExpectKey(kind, x.from, x.to, x.port)]; r != "" {
				fields = append(fields, "reason: "+quote(r))
			}
			p("  - {%s}", strings.Join(fields, ", "))
		}
	}
	write("allow", allow)
	write("deny", deny)
	return []byte(b.String())
}

// portSpecs writes a port set as expectation ports: "" for every port,
// "TCP" for every port of a protocol, "5432/TCP" or "8000-8080/TCP".
func portSpecs(s model.PortSet) []string {
	if s.IsAll() {
		return []string{""}
	}
	var out []string
	for _, proto := range model.Protocols {
		if s.IsAllOf(proto) {
			out = append(out, proto.String())
			continue
		}
		for _, r := range s.Ranges(proto) {
			if r.From == r.To {
				out = append(out, fmt.Sprintf("%d/%s", r.From, proto))
			} else {
				out = append(out, fmt.Sprintf("%d-%d/%s", r.From, r.To, proto))
			}
		}
	}
	return out
}

func sortExpectations(xs []expectation) {
	sort.Slice(xs, func(i, j int) bool {
		a, b := xs[i], xs[j]
		if a.from != b.from {
			return a.from < b.from
		}
		if a.to != b.to {
			return a.to < b.to
		}
		return a.port < b.port
	})
}

// quote always quotes: a reason is free text.
func quote(s string) string {
	b, _ := jsonMarshal(s)
	return b
}
