package live

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/reachgate/reachgate/pipeline/model"
)

// PolicyDrift compares the NetworkPolicies git declares with those live,
// in the namespaces that were read: missing live, live but not in git, or
// with a different spec (field by field, after the defaults the API
// server applies). The result is sorted by namespace and name.
func PolicyDrift(git, live []model.Policy, namespaces []string) []model.PolicyDrift {
	read := map[string]bool{}
	for _, n := range namespaces {
		read[n] = true
	}
	byKey := map[string]*model.Policy{}
	for i := range live {
		byKey[live[i].Key()] = &live[i]
	}
	out := []model.PolicyDrift{}
	inGit := map[string]bool{}
	for i := range git {
		g := &git[i]
		if g.NetworkPolicy == nil || !read[g.Namespace] {
			continue
		}
		inGit[g.Key()] = true
		d := model.PolicyDrift{Namespace: g.Namespace, Name: g.Name, Source: g.Source, Changes: []model.FieldChange{}}
		l, ok := byKey[g.Key()]
		switch {
		case !ok:
			d.State = model.PolicyMissingLive
		default:
			d.Changes = SpecDiff(&g.Spec, &l.Spec)
			if len(d.Changes) == 0 {
				continue
			}
			d.State = model.PolicyDiffers
		}
		out = append(out, d)
	}
	for i := range live {
		l := &live[i]
		if l.NetworkPolicy == nil || inGit[l.Key()] || !read[l.Namespace] {
			continue
		}
		out = append(out, model.PolicyDrift{Namespace: l.Namespace, Name: l.Name, State: model.PolicyNotInGit, Changes: []model.FieldChange{}})
	}
	slices.SortFunc(out, func(a, b model.PolicyDrift) int {
		if a.Namespace != b.Namespace {
			return compare(a.Namespace, b.Namespace)
		}
		return compare(a.Name, b.Name)
	})
	return out
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SpecDiff lists the fields in which two NetworkPolicy specs differ once
// both carry the API server's defaults (policyTypes, port protocols);
// paths are "spec.<field>", list elements compared by index.
func SpecDiff(git, live *networkingv1.NetworkPolicySpec) []model.FieldChange {
	a, b := normalized(git), normalized(live)
	out := []model.FieldChange{}
	diffValues("spec", a, b, &out)
	return out
}

// normalized is the spec as generic JSON, with the API server's defaults
// applied and empty lists dropped.
func normalized(s *networkingv1.NetworkPolicySpec) any {
	c := s.DeepCopy()
	if len(c.PolicyTypes) == 0 {
		c.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(c.Egress) > 0 {
			c.PolicyTypes = append(c.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	tcp := corev1.ProtocolTCP
	for i := range c.Ingress {
		for j := range c.Ingress[i].Ports {
			if c.Ingress[i].Ports[j].Protocol == nil {
				c.Ingress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	for i := range c.Egress {
		for j := range c.Egress[i].Ports {
			if c.Egress[i].Ports[j].Protocol == nil {
				c.Egress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	data, _ := json.Marshal(c)
	var v any
	_ = json.Unmarshal(data, &v)
	return v
}

func diffValues(path string, a, b any, out *[]model.FieldChange) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := slices.Sorted(maps.Keys(am))
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			diffValues(path+"."+k, am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok {
		for i := 0; i < max(len(al), len(bl)); i++ {
			var x, y any
			if i < len(al) {
				x = al[i]
			}
			if i < len(bl) {
				y = bl[i]
			}
			diffValues(path+"["+strconv.Itoa(i)+"]", x, y, out)
		}
		return
	}
	x, y := jsonText(a), jsonText(b)
	if x != y {
		*out = append(*out, model.FieldChange{Path: path, Git: x, Live: y})
	}
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return string(bytes.TrimSpace(b.Bytes()))
}

// Isolation lists the workloads ("namespace/name") that some policy of c
// selects for ingress, and for egress, from m's record of what each
// policy selects.
func Isolation(c *model.Cluster, m *model.Matrix) (ingress, egress map[string]bool) {
	ingress, egress = map[string]bool{}, map[string]bool{}
	types := map[string][2]bool{}
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.NetworkPolicy == nil {
			continue
		}
		in, eg := len(p.Spec.PolicyTypes) == 0, len(p.Spec.PolicyTypes) == 0 && len(p.Spec.Egress) > 0
		for _, t := range p.Spec.PolicyTypes {
			in = in || t == networkingv1.PolicyTypeIngress
			eg = eg || t == networkingv1.PolicyTypeEgress
		}
		types[p.Key()] = [2]bool{in, eg}
	}
	for _, s := range m.Selection {
		t := types[s.Policy]
		for _, k := range s.Selects {
			if t[0] {
				ingress[k] = true
			}
			if t[1] {
				egress[k] = true
			}
		}
	}
	return ingress, egress
}

// workloadID is how workloads of git and live are matched: namespace,
// name and kind.
func workloadID(w *model.Workload) string { return w.Namespace + "/" + w.Name + "/" + w.Kind }

// Workload compares the workloads of git and live: those live in a
// managed namespace that git does not declare (with whether policies
// isolate them, from the live matrix), and those git declares that run
// no pod.
func Workload(git, live *model.Cluster, liveMatrix *model.Matrix, managed []string, pods map[string]int) (unmanaged []model.UnmanagedWorkload, notRunning []string) {
	inGit := map[string]bool{}
	for i := range git.Workloads {
		inGit[workloadID(&git.Workloads[i])] = true
	}
	inLive := map[string]bool{}
	for i := range live.Workloads {
		inLive[workloadID(&live.Workloads[i])] = true
	}
	isIn, isEg := Isolation(live, liveMatrix)
	unmanaged = []model.UnmanagedWorkload{}
	for i := range live.Workloads {
		w := &live.Workloads[i]
		if inGit[workloadID(w)] || !slices.Contains(managed, w.Namespace) {
			continue
		}
		unmanaged = append(unmanaged, model.UnmanagedWorkload{
			Namespace: w.Namespace, Name: w.Name, Kind: w.Kind, Labels: maps.Clone(w.Labels), Pods: pods[w.Key()],
			IngressIsolated: isIn[w.Key()], EgressIsolated: isEg[w.Key()], HostNetwork: w.HostNetwork,
		})
	}
	notRunning = []string{}
	for i := range git.Workloads {
		w := &git.Workloads[i]
		if !inLive[workloadID(w)] {
			notRunning = append(notRunning, w.String())
		}
	}
	return unmanaged, notRunning
}

// FlowDrift keeps, of the diff from git's matrix to the live one, the
// flows between peers that exist on both sides (a workload on one side
// only is reported as unmanaged or not running, not as the flows it
// brings), and drops changes of the address-dependent mark alone: live,
// every address is known.
func FlowDrift(d *model.Diff, git, live *model.Cluster) *model.Diff {
	both := map[string]bool{}
	inGit := map[string]bool{}
	for i := range git.Workloads {
		inGit[workloadID(&git.Workloads[i])] = true
	}
	for i := range live.Workloads {
		if id := workloadID(&live.Workloads[i]); inGit[id] {
			both[id] = true
		}
	}
	keep := func(c model.ConnectionChange) bool {
		for _, p := range []model.Peer{c.Src, c.Dst} {
			if p.Workload != nil && !both[workloadID(p.Workload)] {
				return false
			}
		}
		return true
	}
	out := &model.Diff{}
	for _, c := range d.Added {
		if keep(c) {
			out.Added = append(out.Added, c)
		}
	}
	for _, c := range d.Removed {
		if keep(c) {
			out.Removed = append(out.Removed, c)
		}
	}
	for _, c := range d.Changed {
		if keep(c) && !c.Before.Ports.Equal(c.After.Ports) {
			out.Changed = append(out.Changed, c)
		}
	}
	return out
}
