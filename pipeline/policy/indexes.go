package policy

import (
	"math"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Indexes rules look up instead of joining lists in Rego. On 5,000
// workloads a Rego join of every rule's ports against the containers of
// the pods it reaches, or of every workload against the flows into it,
// costs hundreds of milliseconds per rule; these cost a few in all.
// docs/rules.md describes them (input version 6).

var (
	kDeclared   = ast.StringTerm("declared")
	kUndeclared = ast.StringTerm("undeclared")
	kNames      = ast.StringTerm("names")
	kNumbers    = ast.StringTerm("numbers")
	kSrc        = ast.StringTerm("src")
	kDst        = ast.StringTerm("dst")
)

// servicesOfTerm builds input.servicesOf: for each workload some Service
// selects, the indexes in input.services of the Services selecting it, in
// order. selects holds each Service's selected workload keys.
func servicesOfTerm(selects [][]string) *ast.Term {
	of := map[string][]int{}
	for i, ks := range selects {
		for _, k := range ks {
			of[k] = append(of[k], i)
		}
	}
	items := make([][2]*ast.Term, 0, len(of))
	for _, k := range sortedKeys(of) {
		ts := make([]*ast.Term, len(of[k]))
		for j, i := range of[k] {
			ts[j] = num(i)
		}
		items = append(items, item(str(k), ast.ArrayTerm(ts...)))
	}
	return ast.ObjectTerm(items...)
}

// declaredIndex renders, for a list of workload keys, the container ports
// those workloads declare (declared: {names: {proto: [name...]}, numbers:
// {proto: [port...]}}, sorted) and the keys of those that declare none
// (undeclared), once per distinct list: the selection's lists repeat
// (every policy of a namespace selecting all of it, every peer matching
// the same namespace).
type declaredIndex struct {
	ports   map[string][]model.ContainerPort // by workload key
	memo    map[uint64][]declaredTerms       // by hash of the keys
	names   map[string]*ast.Term
	numbers map[int]*ast.Term
	// Scratch space, reused from list to list.
	byName   [len(model.Protocols)][]string
	byNumber [len(model.Protocols)][]int
	none     []string
}

type declaredTerms struct {
	keys                 []string
	declared, undeclared *ast.Term
}

func newDeclaredIndex(c *model.Cluster) *declaredIndex {
	x := &declaredIndex{
		ports:   map[string][]model.ContainerPort{},
		memo:    map[uint64][]declaredTerms{},
		names:   map[string]*ast.Term{},
		numbers: map[int]*ast.Term{},
	}
	if c != nil {
		for i := range c.Workloads {
			w := &c.Workloads[i]
			if k := w.Key(); !x.has(k) {
				x.ports[k] = w.Ports
			}
		}
	}
	return x
}

func (x *declaredIndex) has(k string) bool {
	_, ok := x.ports[k]
	return ok
}

// terms returns the declared and undeclared terms of the workloads keys,
// which the caller must not change afterwards; mt, when not nil, shares
// the keys' terms.
func (x *declaredIndex) terms(keys []string, mt *matrixTerms) (declared, undeclared *ast.Term) {
	h := uint64(14695981039346656037)
	for _, k := range keys {
		for i := 0; i < len(k); i++ {
			h ^= uint64(k[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	for _, t := range x.memo[h] {
		if slices.Equal(t.keys, keys) {
			return t.declared, t.undeclared
		}
	}
	for _, p := range model.Protocols {
		x.byName[p], x.byNumber[p] = x.byName[p][:0], x.byNumber[p][:0]
	}
	x.none = x.none[:0]
	for _, k := range keys {
		ps := x.ports[k]
		if len(ps) == 0 {
			x.none = append(x.none, k)
			continue
		}
		for _, p := range ps {
			if p.Name != "" {
				x.byName[p.Protocol] = append(x.byName[p.Protocol], p.Name)
			}
			x.byNumber[p.Protocol] = append(x.byNumber[p.Protocol], int(p.Port))
		}
	}
	names, numbers := make([][2]*ast.Term, 0, 1), make([][2]*ast.Term, 0, 1)
	for _, proto := range model.Protocols {
		if ns := x.byName[proto]; len(ns) > 0 {
			slices.Sort(ns)
			ns = slices.Compact(ns)
			ts := make([]*ast.Term, len(ns))
			for i, n := range ns {
				if ts[i] = x.names[n]; ts[i] == nil {
					ts[i] = str(n)
					x.names[n] = ts[i]
				}
			}
			names = append(names, item(protoTerms[proto], ast.ArrayTerm(ts...)))
		}
		if ns := x.byNumber[proto]; len(ns) > 0 {
			slices.Sort(ns)
			ns = slices.Compact(ns)
			ts := make([]*ast.Term, len(ns))
			for i, n := range ns {
				if ts[i] = x.numbers[n]; ts[i] == nil {
					ts[i] = num(n)
					x.numbers[n] = ts[i]
				}
			}
			numbers = append(numbers, item(protoTerms[proto], ast.ArrayTerm(ts...)))
		}
	}
	declared = ast.ObjectTerm(item(kNames, ast.ObjectTerm(names...)), item(kNumbers, ast.ObjectTerm(numbers...)))
	if mt != nil {
		undeclared = mt.keyList(x.none)
	} else {
		undeclared = strings2(x.none)
	}
	x.memo[h] = append(x.memo[h], declaredTerms{keys, declared, undeclared})
	return declared, undeclared
}

// portsByDst returns, for each peer with flows into it, the union of the
// ports of those flows (input.reach.portsByDst); none for the others.
// each, when not nil, is called with every such peer and the merged ranges
// (which it must not keep).
func (b *inputBuilder) portsByDst(m *model.Matrix, all []*flow, each func(d int, rs *rangeSet)) []*ast.Term {
	id := make(map[*model.Allowance]int32, len(m.Allowances))
	for i, a := range m.Allowances {
		id[a] = int32(i)
	}
	into := byDestination(len(m.Peers), all, func(i int) int32 { return id[all[i].a] })
	out := make([]*ast.Term, len(m.Peers))
	var rs rangeSet
	var key []byte
	for d, as := range into {
		if len(as) == 0 {
			continue
		}
		slices.Sort(as)
		for _, p := range model.Protocols {
			rs[p] = rs[p][:0]
		}
		for _, a := range slices.Compact(as) {
			for _, p := range model.Protocols {
				rs[p] = append(rs[p], m.Allowances[a].Ports.Ranges(p)...)
			}
		}
		for _, p := range model.Protocols {
			rs[p] = mergeRanges(rs[p])
		}
		if each != nil {
			each(d, &rs)
		}
		key = rangesKey(key[:0], rs)
		t, ok := b.ports[string(key)]
		if !ok {
			t = rangesTerm(rs)
			b.ports[string(key)] = t
		}
		out[d] = t
	}
	return out
}

// mergeRanges sorts port ranges and merges those that overlap or touch,
// in place.
func mergeRanges(rs []model.PortRange) []model.PortRange {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b model.PortRange) int { return int(a.From) - int(b.From) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if uint32(last.To)+1 >= uint32(r.From) {
			last.To = max(last.To, r.To)
			continue
		}
		out = append(out, r)
	}
	return out
}

// addressSidesTerm builds input.reach.addressSides (version 8): for each
// address-dependent flow in all, judged on its first source and first
// destination, the NetworkPolicy rules among its grants that match the
// other end (the source, for an ingress rule; the destination, for an
// egress rule) only through an ipBlock: the other end is a workload, the
// rule has an ipBlock peer, and no peer of the rule matches it by its
// selectors (input.reach.selection). In flow order, then grant order,
// ingress before egress; each once per flow. NP010 walked every grant
// of every such flow in Rego, about 6 s per input at 20,000 workloads.
func addressSidesTerm(m *model.Matrix, c *model.Cluster, mt *matrixTerms, all []*flow) *ast.Term {
	type side struct {
		policy string
		dir    model.Direction
		rule   int
	}
	// The policies' specs by key (their rules' peers), and what each peer
	// of each rule matches by its selectors.
	specs := map[string]*networkingv1.NetworkPolicySpec{}
	if c != nil {
		for i := range c.Policies {
			if p := &c.Policies[i]; p.NetworkPolicy != nil && specs[p.Key()] == nil {
				specs[p.Key()] = &p.Spec
			}
		}
	}
	matches := map[side]map[int][]string{}
	for _, s := range m.Selection {
		for _, p := range s.Peers {
			k := side{s.Policy, p.Direction, p.Rule}
			if matches[k] == nil {
				matches[k] = map[int][]string{}
			}
			matches[k][p.Peer] = p.Matches
		}
	}
	onlyByAddress := func(k side, other int32) bool {
		if !validPeer(m, other) || m.Peers[other].Workload == nil {
			return false
		}
		spec := specs[k.policy]
		if spec == nil {
			return false
		}
		var ipBlocks []bool // per peer of the rule
		switch {
		case k.dir == model.Ingress && k.rule >= 0 && k.rule < len(spec.Ingress):
			for _, p := range spec.Ingress[k.rule].From {
				ipBlocks = append(ipBlocks, p.IPBlock != nil)
			}
		case k.dir == model.Egress && k.rule >= 0 && k.rule < len(spec.Egress):
			for _, p := range spec.Egress[k.rule].To {
				ipBlocks = append(ipBlocks, p.IPBlock != nil)
			}
		}
		if !slices.Contains(ipBlocks, true) {
			return false
		}
		key := m.Peers[other].Key()
		for j := range ipBlocks {
			if slices.Contains(matches[k][j], key) {
				return false
			}
		}
		return true
	}
	var out []*ast.Term
	for _, f := range all {
		if !f.a.AddressDependent || len(f.srcs) == 0 || len(f.dsts) == 0 {
			continue
		}
		src, dst := f.srcs[0], f.dsts[0]
		var seen []side
		for i := range f.a.Grants {
			g := &f.a.Grants[i]
			for dir, r := range []*model.RuleRef{model.Ingress: g.Ingress, model.Egress: g.Egress} {
				if r.Kind != "" || r.NotIsolated() {
					continue
				}
				k := side{r.Policy, model.Direction(dir), r.Rule}
				other := src
				if k.dir == model.Egress {
					other = dst
				}
				if slices.Contains(seen, k) || !onlyByAddress(k, other) {
					continue
				}
				seen = append(seen, k)
				out = append(out, ast.ObjectTerm(
					item(kDirection, str(k.dir.String())),
					item(kPolicy, str(k.policy)),
					item(kRule, num(k.rule)),
					item(kSrc, mt.keys[src]),
					item(kDst, mt.keys[dst]),
				))
			}
		}
	}
	return ast.ArrayTerm(out...)
}

// servedPort is a port a workload serves: a container port it declares, or
// the numeric targetPort of a Service selecting it (which may exceed
// 65535: validation reports it, and no rule allows it).
type servedPort struct {
	proto model.Protocol
	port  int
}

// servedPorts returns the ports each workload serves, by key: the
// container ports it declares and the numeric targetPorts (the port, when
// targetPort is empty) of the Services selecting it, sorted by protocol
// name and port, each once. Workloads that serve none are not in it.
func servedPorts(c *model.Cluster) map[string][]servedPort {
	out := map[string][]servedPort{}
	if c == nil {
		return out
	}
	byNS := map[string][]*model.Workload{}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		byNS[w.Namespace] = append(byNS[w.Namespace], w)
		if len(w.Ports) == 0 {
			continue
		}
		k := w.Key()
		for _, p := range w.Ports {
			out[k] = append(out[k], servedPort{p.Protocol, int(p.Port)})
		}
	}
	for i := range c.Services {
		s := &c.Services[i]
		var targets []servedPort
		for _, p := range s.Ports {
			if n, ok := numericTarget(p); ok {
				targets = append(targets, servedPort{p.Protocol, n})
			}
		}
		if len(targets) == 0 {
			continue
		}
		for _, k := range serviceSelects(s, byNS[s.Namespace]) {
			out[k] = append(out[k], targets...)
		}
	}
	for k, ps := range out {
		slices.SortFunc(ps, func(a, b servedPort) int {
			if c := strings.Compare(a.proto.String(), b.proto.String()); c != 0 {
				return c
			}
			return a.port - b.port
		})
		out[k] = slices.Compact(ps)
	}
	return out
}

// numericTarget is the port a Service port sends to when it is a number:
// the port itself when targetPort is empty, else targetPort when it is all
// digits (as rules read it: Rego's regex.match("^[0-9]+$") and to_number).
func numericTarget(p model.ServicePort) (int, bool) {
	if p.TargetPort == "" {
		return int(p.Port), true
	}
	if strings.Trim(p.TargetPort, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(p.TargetPort)
	if err != nil {
		return math.MaxInt, true // too many digits: beyond every port
	}
	return n, true
}

// unreached collects input.reach.unreached (version 9): the workloads some
// NetworkPolicy isolates for ingress (input.reach.isolated.ingress) that
// serve ports (servedPorts) of which no flow into them allows one (the
// ranges of input.reach.portsByDst), each with those ports as
// [protocol, port] pairs. NP022 walked every workload's ports and
// Services in Rego, about 0.7 s per input at 5,000 workloads; it now
// reads this. Call reached for every peer with flows into it, then term.
type unreached struct {
	served   map[string][]servedPort
	isolated map[string][]string // the ingress-isolated keys (and who isolates them)
	reachedK map[string]bool
	m        *model.Matrix
}

func newUnreached(c *model.Cluster, m *model.Matrix, isolatedIn map[string][]string) *unreached {
	return &unreached{served: servedPorts(c), isolated: isolatedIn, reachedK: map[string]bool{}, m: m}
}

// reached notes whether the flows into peer d, on the ranges rs, allow
// one of the ports it serves.
func (u *unreached) reached(d int, rs *rangeSet) {
	p := &u.m.Peers[d]
	if p.Workload == nil {
		return
	}
	k := p.Key()
	if _, ok := u.isolated[k]; !ok {
		return
	}
	for _, sp := range u.served[k] {
		for _, r := range rs[sp.proto] {
			if int(r.From) <= sp.port && sp.port <= int(r.To) {
				u.reachedK[k] = true
				return
			}
		}
	}
}

func (u *unreached) term() *ast.Term {
	var keys []string
	for k := range u.isolated {
		if len(u.served[k]) > 0 && !u.reachedK[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	items := make([][2]*ast.Term, len(keys))
	for i, k := range keys {
		ps := make([]*ast.Term, len(u.served[k]))
		for j, sp := range u.served[k] {
			ps[j] = ast.ArrayTerm(protoTerms[sp.proto], num(sp.port))
		}
		items[i] = item(str(k), ast.ArrayTerm(ps...))
	}
	return ast.ObjectTerm(items...)
}
