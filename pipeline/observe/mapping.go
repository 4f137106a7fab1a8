package observe

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

// Mapper maps flow endpoints onto the peers of one overlay's matrix: by
// pod name and namespace, then by owner (Hubble's workloads), then by
// labels, then by pod address; an address outside the pod and service
// ranges goes to the external range holding it. What it cannot map it
// says why, rather than guess.
type Mapper struct {
	c     *model.Cluster
	m     *model.Matrix
	peer  map[*model.Workload]int32
	byNS  map[string][]*model.Workload
	byIP  map[netip.Addr][]*model.Workload
	ext   []int32 // external peers, sorted by range
	cache map[Endpoint]mapping
}

type mapping struct {
	peer   int32
	reason string
}

// NewMapper indexes the cluster c and its matrix m.
func NewMapper(c *model.Cluster, m *model.Matrix) *Mapper {
	mp := &Mapper{c: c, m: m, peer: map[*model.Workload]int32{}, byNS: map[string][]*model.Workload{},
		byIP: map[netip.Addr][]*model.Workload{}, cache: map[Endpoint]mapping{}}
	byKey := map[string]int32{}
	for i := range m.Peers {
		p := &m.Peers[i]
		if p.Workload != nil {
			byKey[p.Workload.Namespace+"/"+p.Workload.Name+"/"+p.Workload.Kind] = int32(i)
		} else if p.Range.From.IsValid() {
			mp.ext = append(mp.ext, int32(i))
		}
	}
	sort.Slice(mp.ext, func(a, b int) bool { return m.Peers[mp.ext[a]].Range.From.Less(m.Peers[mp.ext[b]].Range.From) })
	for i := range c.Workloads {
		w := &c.Workloads[i]
		mp.byNS[w.Namespace] = append(mp.byNS[w.Namespace], w)
		for _, a := range w.IPs {
			mp.byIP[a] = append(mp.byIP[a], w)
		}
		if idx, ok := byKey[w.Namespace+"/"+w.Name+"/"+w.Kind]; ok {
			mp.peer[w] = idx
		}
	}
	return mp
}

// Map returns the matrix peer of e, or -1 and why it has none.
func (mp *Mapper) Map(e Endpoint) (int32, string) {
	if r, ok := mp.cache[e]; ok {
		return r.peer, r.reason
	}
	p, why := mp.resolve(e)
	mp.cache[e] = mapping{p, why}
	return p, why
}

func (mp *Mapper) resolve(e Endpoint) (int32, string) {
	if e.Namespace != "" && (e.Pod != "" || e.Workload != "" || e.Labels != "") {
		w, why := mp.workload(e)
		if w == nil {
			return -1, why
		}
		i, ok := mp.peer[w]
		if !ok {
			if w.HostNetwork {
				return -1, fmt.Sprintf("%s uses the host network: outside NetworkPolicy", w)
			}
			return -1, fmt.Sprintf("%s is not in the reachability matrix", w)
		}
		return i, ""
	}
	switch e.Reserved {
	case "", "world", "world-ipv4", "world-ipv6":
	default:
		return -1, fmt.Sprintf("Cilium's reserved identity %q (the node, the API server, ...): outside NetworkPolicy", e.Reserved)
	}
	if !e.IP.IsValid() {
		return -1, "no pod, labels or address to map it by"
	}
	return mp.address(e.IP)
}

// address maps an IP: a workload holding it, else an external range.
func (mp *Mapper) address(a netip.Addr) (int32, string) {
	if ws := mp.byIP[a]; len(ws) > 0 {
		if len(ws) > 1 {
			return -1, fmt.Sprintf("%d workloads hold the address: %s", len(ws), workloadList(ws))
		}
		if i, ok := mp.peer[ws[0]]; ok {
			return i, ""
		}
		return -1, fmt.Sprintf("%s is not in the reachability matrix", ws[0])
	}
	if mp.c.PodCIDRs.Contains(a) {
		return -1, "an address in the pod CIDRs that no workload of the overlay holds (pod addresses are known only from exported manifests with status.podIP)"
	}
	if mp.c.ServiceCIDRs.Contains(a) {
		return -1, "a Service address: the flow was recorded before translation to a backend pod"
	}
	ext := mp.ext
	peers := mp.m.Peers
	i := sort.Search(len(ext), func(i int) bool { return peers[ext[i]].Range.To.Compare(a) >= 0 })
	if i < len(ext) && peers[ext[i]].Range.Contains(a) {
		return ext[i], ""
	}
	return -1, "no external range of the overlay holds the address"
}

// podSuffixes is how many generated name segments a pod of each kind
// carries after its owner's name.
var podSuffixes = map[string][]int{
	"StatefulSet": {1}, // name-0
	"DaemonSet":   {1}, // name-x2k4p
	"Job":         {1}, // name-x2k4p
	"ReplicaSet":  {1}, // name-x2k4p
	"Deployment":  {2}, // name-<replicaset hash>-<pod hash>
	"CronJob":     {2}, // name-<schedule time>-<pod hash>
}

// workload finds the workload of a pod endpoint.
func (mp *Mapper) workload(e Endpoint) (*model.Workload, string) {
	ws := mp.byNS[e.Namespace]
	if len(ws) == 0 {
		return nil, fmt.Sprintf("namespace %s has no workloads in the overlay", e.Namespace)
	}
	// 1. The pod's name, its generated suffixes cut.
	if e.Pod != "" {
		var found []*model.Workload
		name := e.Pod
		for cut := 0; cut <= 2; cut++ {
			for _, w := range ws {
				if w.Name != name {
					continue
				}
				if cut == 0 || slices.Contains(podSuffixes[w.Kind], cut) {
					found = append(found, w)
				}
			}
			if len(found) > 0 {
				break
			}
			i := strings.LastIndexByte(name, '-')
			if i <= 0 || !generated(name[i+1:]) {
				break
			}
			name = name[:i]
		}
		if len(found) == 1 {
			return found[0], ""
		}
		if len(found) > 1 {
			if w := byOwner(found, e.Workload); w != nil {
				return w, ""
			}
			return nil, fmt.Sprintf("pod %s/%s could belong to %s", e.Namespace, e.Pod, workloadList(found))
		}
	}
	// 2. The owner Hubble names.
	if e.Workload != "" {
		if w := byOwner(ws, e.Workload); w != nil {
			return w, ""
		}
	}
	// 3. The labels: the workloads whose pod labels the endpoint carries;
	// the most specific one when one is.
	if e.Labels != "" {
		have := e.LabelMap()
		var found []*model.Workload
		for _, w := range ws {
			if len(w.Labels) > 0 && subset(w.Labels, have) {
				found = append(found, w)
			}
		}
		if len(found) == 1 {
			return found[0], ""
		}
		if len(found) > 1 {
			slices.SortFunc(found, func(a, b *model.Workload) int { return len(b.Labels) - len(a.Labels) })
			if len(found[0].Labels) > len(found[1].Labels) && subsetAll(found) {
				return found[0], ""
			}
			return nil, fmt.Sprintf("the labels of %s match %s", e, workloadList(found))
		}
	}
	// 4. The pod address.
	if e.IP.IsValid() {
		for _, w := range mp.byIP[e.IP] {
			if w.Namespace == e.Namespace {
				return w, ""
			}
		}
	}
	return nil, fmt.Sprintf("no workload of namespace %s matches it by pod name, owner, labels or address", e.Namespace)
}

// subsetAll: every other workload's labels are a subset of the first's,
// so the first is the most specific match, not one of two unrelated ones.
func subsetAll(ws []*model.Workload) bool {
	for _, w := range ws[1:] {
		if !subset(w.Labels, ws[0].Labels) {
			return false
		}
	}
	return true
}

func byOwner(ws []*model.Workload, owner string) *model.Workload {
	kind, name, ok := strings.Cut(owner, "/")
	if !ok || name == "" {
		return nil
	}
	var named []*model.Workload
	for _, w := range ws {
		if w.Name == name {
			if w.Kind == kind {
				return w
			}
			named = append(named, w)
		}
	}
	if len(named) == 1 {
		return named[0]
	}
	return nil
}

// generated reports whether a name segment looks generated: a replica
// ordinal or a schedule time (digits), or a hash in the alphabet
// Kubernetes generates names from (no vowels, no 0, 1 or 3), at most 10
// characters.
func generated(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	digits := true
	for _, r := range s {
		if r < '0' || r > '9' {
			digits = false
			break
		}
	}
	if digits {
		return true
	}
	for _, r := range s {
		if !strings.ContainsRune(nameAlphabet, r) {
			return false
		}
	}
	return true
}

// nameAlphabet is what Kubernetes' rand.String draws from.
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func workloadList(ws []*model.Workload) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.String()
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
