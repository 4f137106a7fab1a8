package render

import (
	"bytes"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/reachgate/reachgate/pipeline/model"
)

// The fast path renders a kustomization tree that only lists resources
// without krusty, with the result krusty would give.
//
// Kustomize keeps its resources in a list it searches by id on every
// append, so building N resources costs N² id computations (each a walk
// of the object's YAML): 15 s of CPU for 2,600 resources, minutes for
// 8,000 (kubernetes-sigs/kustomize#5084). For a tree whose kustomizations
// hold nothing but resources, what krusty does is:
//
//  1. read each resource file with its resource factory
//     (resource.Factory.SliceFromBytes: documents, Lists inlined, empty
//     documents dropped), depth first in the order the files are listed;
//  2. refuse a resource whose id another already has;
//  3. fix name references (a no-op: no resource carries a previous name,
//     so no reference has a referral), resolve vars (there are none);
//  4. drop resources annotated config.kubernetes.io/local-config;
//  5. sort them in kustomize's legacy order;
//  6. remove its build annotations, origin and transformer annotations.
//
// The fast path does the same with the same functions of kustomize's
// resource package where they are public (1, 4, 6), with a map instead of
// a list (2), and with its own implementation of the legacy order (5),
// which the equivalence tests check against krusty. It gives up, and
// krusty builds the tree, wherever krusty could do something else: any
// other kustomization field, a duplicate id, a resource carrying one of
// kustomize's build annotations, any error, and a resource of a built-in
// kind that does not decode into its API type (step 3 walks the fields
// that hold names of built-in kinds, and fails where one holds a scalar
// instead of a mapping or a list; kinds that are not built in have no
// such fields).

// fastBuild renders the tree under top when it only lists resources, as
// objects; ok is false when krusty must build it. Files are read and
// resources converted on every core; files the walk took from the memo
// give the objects it holds, and the files this build read are added to
// it.
func fastBuild(w *kustWalker, top *kustomization) (objs []model.Object, ok bool) {
	files, all, kept, ok := fastItems(w, top)
	if !ok {
		return nil, false
	}
	// An object that does not convert goes to krusty with the rest: what
	// krusty makes of it decides the error.
	objs = make([]model.Object, len(kept))
	if !parallel(len(kept), func(i int) bool {
		it := &all[kept[i]]
		if it.memo != nil {
			objs[i] = it.memo.obj
			return true
		}
		r := it.res
		o, err := w.index.fastObject(r, top.dir)
		if err != nil {
			return false
		}
		objs[i] = o
		it.obj = &objs[i]
		return builtinDecodes(r.GetApiVersion(), r.GetKind(), o.Doc)
	}) {
		return nil, false
	}
	w.remember(files, all)
	return objs, true
}

// fastItem is one resource of the fast path: read from its file, or
// taken from the memo.
type fastItem struct {
	file  int
	id    resid.ResId
	local bool
	// res is the resource read, with memoable set when its object
	// depends on nothing but its file (see remember), and obj its object
	// once converted; memo is the resource as the memo holds it.
	res      *resource.Resource
	memoable bool
	obj      *model.Object
	memo     *memoItem
}

// fastItems lists the resource files of the tree under top, every
// resource of them in file order (all), and the resources krusty would
// build (kept, indexes into all), in its order.
func fastItems(w *kustWalker, top *kustomization) (files []string, all []fastItem, kept []int, ok bool) {
	if !w.plainResources(top, &files, map[string]bool{}) {
		return nil, nil, nil, false
	}
	perFile := make([][]*resource.Resource, len(files))
	if !parallel(len(files), func(i int) bool {
		if w.index.memo[files[i]] != nil {
			return true
		}
		rs, ok := w.readResources(files[i])
		perFile[i] = rs
		return ok
	}) {
		return nil, nil, nil, false
	}
	for i, f := range files {
		if m := w.index.memo[f]; m != nil {
			for j := range m.items {
				it := &m.items[j]
				all = append(all, fastItem{file: i, id: it.id, local: it.local, memo: it})
			}
			continue
		}
		for _, r := range perFile[i] {
			ann := r.GetAnnotations()
			v, isLocal := ann[konfig.IgnoredByKustomizeAnnotation]
			loc, tagged := parseSource(ann[sourceAnnotation])
			_, origin := ann[originAnnotation]
			_, transformed := ann[transformationsAnnotation]
			all = append(all, fastItem{
				file: i, id: r.CurId(), res: r, local: isLocal && v != "false",
				memoable: tagged && loc.File == f && !origin && !transformed,
			})
		}
	}
	type key struct {
		group, version, kind, name, namespace string
	}
	seen := make(map[key]bool, len(all))
	for i := range all {
		id := &all[i].id
		k := key{id.Group, id.Version, id.Kind, id.Name, id.EffectiveNamespace()}
		if seen[k] {
			return nil, nil, nil, false
		}
		seen[k] = true
	}
	// Drop local configuration (kustomize's IgnoreLocal).
	kept = make([]int, 0, len(all))
	for i := range all {
		it := &all[i]
		if !it.local {
			kept = append(kept, i)
			continue
		}
		if it.memo != nil {
			continue // checked when it was read
		}
		// Gone, but after name references walked it.
		v, err := toValue(it.res.YNode(), 0)
		doc, isMap := v.(map[string]any)
		if err != nil || !isMap || !builtinDecodes(it.res.GetApiVersion(), it.res.GetKind(), doc) {
			return nil, nil, nil, false
		}
	}
	sort.Sort(newLegacyOrder(all, kept))
	// What krusty does last: build, origin and transformer annotations
	// go. fastResource let no build annotation through, so removing them
	// would only rewrite each object's annotations, sorted, at the end of
	// its metadata: the same mapping, at a tenth of a second per thousand
	// objects, and on documents the walk's index shares. Origin and
	// transformer annotations are rewritten only where present (each
	// rewrite gives the same annotations).
	if !parallel(len(kept), func(i int) bool {
		r := all[kept[i]].res
		if r == nil {
			return true
		}
		ann := r.GetAnnotations()
		if _, ok := ann[originAnnotation]; ok && r.SetOrigin(nil) != nil {
			return false
		}
		if _, ok := ann[transformationsAnnotation]; ok && r.ClearTransformations() != nil {
			return false
		}
		return true
	}) {
		return nil, nil, nil, false
	}
	return files, all, kept, true
}

// remember adds to the renderer's memo the files fastBuild read whose
// every resource's object depends on nothing but the file: each tagged
// with its source in this file, no annotations rewritten, and every
// document converted ahead, so that the memo knows what the file counts
// against the run's budget.
func (w *kustWalker) remember(files []string, all []fastItem) {
	if w.r.memo == nil || !w.r.memo.shared {
		return
	}
	for i := 0; i < len(all); {
		f := all[i].file
		j := i
		good := true
		for ; j < len(all) && all[j].file == f; j++ {
			it := &all[j]
			good = good && it.res != nil && it.memoable && (it.local || it.obj != nil)
		}
		p := files[f]
		fresh, ok := w.index.fresh[p]
		if good && ok {
			m := &memoFile{data: fresh.data, entries: w.index.docs[p], nodes: fresh.nodes, items: make([]memoItem, j-i)}
			for k := i; k < j; k++ {
				it := &all[k]
				m.items[k-i] = memoItem{id: it.id, local: it.local}
				if !it.local {
					m.items[k-i].obj = *it.obj
				}
			}
			w.r.memo.put(p, m)
		}
		i = j
	}
}

// transformationsAnnotation is where kustomize records the transformers
// that touched an object, when asked to.
const transformationsAnnotation = "alpha.config.kubernetes.io/transformations"

// parallel runs f(0..n-1) on every core and reports whether every call
// returned true.
func parallel(n int, f func(i int) bool) bool {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if !f(i) {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return !failed.Load()
}

// readResources reads one resource file as kustomize's resource factory
// does (resource.Factory.SliceFromBytes), and checks every resource with
// fastResource. A file without anchors, aliases, merge keys or Lists is
// read without kustomize's de-anchoring, which copies every node to
// change nothing in such a file.
func (w *kustWalker) readResources(f string) ([]*resource.Resource, bool) {
	var rs []*resource.Resource
	if docs, ok := w.index.untagged[f]; ok {
		// The tagged documents as parsed: what kio.ByteReader would read
		// back from their encoding, without the encoding and the second
		// parse (TestFastPathMatchesKrusty, FuzzFastPath).
		var nodes []*kyaml.RNode
		for i := range docs {
			if docs[i].node != nil {
				nodes = append(nodes, kyaml.NewRNode(docs[i].node))
			}
		}
		rs, ok = nodeResources(nodes)
		if !ok {
			return nil, false
		}
	} else if data, ok := w.readTagged(f); !ok {
		return nil, false
	} else if w.index.plain[f] {
		nodes, err := (&kio.ByteReader{OmitReaderAnnotations: true, Reader: bytes.NewReader(data)}).Read()
		if err != nil {
			return nil, false
		}
		if rs, ok = nodeResources(nodes); !ok {
			return nil, false
		}
	} else {
		var err error
		if rs, err = allResources.SliceFromBytes(data); err != nil {
			return nil, false
		}
	}
	for _, r := range rs {
		if !fastResource(r) {
			return nil, false
		}
	}
	return rs, true
}

// readTagged is a resource file as kustomize reads it: the tagged copy,
// or the file itself when it was not tagged.
func (w *kustWalker) readTagged(f string) ([]byte, bool) {
	if data, ok := w.index.tagged[f]; ok {
		return data, true
	}
	data, err := w.t.read(f)
	return data, err == nil
}

// nodeResources is what the resource factory makes of the documents of a
// plain file: its dropBadNodes, then ResourcesFromRNodes. dropBadNodes
// refuses a document whose metadata does not validate, and so does
// ResourcesFromRNodes, so that check is left to it: either way the fast
// path gives the file to krusty.
func nodeResources(nodes []*kyaml.RNode) ([]*resource.Resource, bool) {
	var good []*kyaml.RNode
	for _, n := range nodes {
		if n.IsNilOrEmpty() {
			continue
		}
		if nilEntry, _ := n.HasNilEntryInList(); nilEntry {
			return nil, false
		}
		if strings.HasSuffix(n.GetKind(), "List") {
			return nil, false
		}
		good = append(good, n)
	}
	rs, err := allResources.ResourcesFromRNodes(good)
	return rs, err == nil
}

// allResources is kustomize's resource factory as krusty makes it, except
// that it keeps local configuration: the fast path drops it later, as
// krusty does, after checking ids.
var allResources = func() *resource.Factory {
	rf := provider.NewDepProvider().GetResourceFactory()
	rf.IncludeLocalConfigs = true
	return rf
}()

// plainResources lists, depth first, the resource files of the tree under
// k, and reports whether every kustomization of it holds resources only.
func (w *kustWalker) plainResources(k *kustomization, files *[]string, seen map[string]bool) bool {
	// A kustomization included twice is left to krusty (its objects would
	// be there twice), and its expansion limits: listing its files again
	// for every path to it could take exponential time.
	if k == nil || seen[k.dir] {
		return false
	}
	kk := k.k
	if kk.APIVersion != "" && kk.APIVersion != types.KustomizationVersion ||
		kk.Kind != "" && kk.Kind != types.KustomizationKind {
		return false
	}
	kk.TypeMeta, kk.Resources = types.TypeMeta{}, nil
	if !reflect.DeepEqual(kk, types.Kustomization{}) {
		return false
	}
	seen[k.dir] = true
	for _, ref := range k.k.Resources {
		p, ok := join(k.dir, strings.TrimSpace(ref))
		if !ok {
			return false
		}
		if w.t.isDir(p) {
			if !w.plainResources(w.done[p], files, seen) {
				return false
			}
			continue
		}
		*files = append(*files, p)
	}
	return true
}

// fastResource reports whether the fast path may build the resource: it
// carries none of kustomize's build annotations, and a resource of a
// built-in kind is of a known API version (builtinDecodes checks it
// decodes once converted).
func fastResource(r *resource.Resource) bool {
	ann := r.GetAnnotations()
	for _, a := range resource.BuildAnnotations {
		if _, ok := ann[a]; ok {
			return false
		}
	}
	kinds := builtinKinds()
	kind := r.GetKind()
	if !kinds.names[kind] {
		return true
	}
	_, ok := kinds.types[r.GetApiVersion()+"|"+kind]
	return ok
}

// builtinDecodes reports whether an object of a built-in kind has the
// structure of its API type: mappings and lists where the type has them.
// Kustomize's name references walk fields of built-in kinds and fail on a
// scalar where a mapping or list should be; kinds that are not built in
// have no such fields.
func builtinDecodes(apiVersion, kind string, doc map[string]any) bool {
	kinds := builtinKinds()
	if !kinds.names[kind] {
		return true
	}
	typ, ok := kinds.types[apiVersion+"|"+kind]
	if !ok {
		return false
	}
	c := strictChecker{quick: true}
	c.check(doc, typ, nil)
	return len(c.errs) == 0
}

// builtins are the kinds of the Kubernetes API: the names of all of
// them, and the Go types of those reachgate knows.
type builtins struct {
	names map[string]bool
	types map[string]reflect.Type // by "apiVersion|kind"
}

var builtinKinds = sync.OnceValue(func() builtins {
	s := kruntime.NewScheme()
	for _, add := range []func(*kruntime.Scheme) error{
		admissionregistrationv1.AddToScheme, appsv1.AddToScheme, autoscalingv1.AddToScheme,
		autoscalingv2.AddToScheme, batchv1.AddToScheme, coordinationv1.AddToScheme, corev1.AddToScheme,
		discoveryv1.AddToScheme, networkingv1.AddToScheme, nodev1.AddToScheme, policyv1.AddToScheme,
		rbacv1.AddToScheme, schedulingv1.AddToScheme, storagev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	b := builtins{
		// Built in too, though their types live elsewhere: the
		// aggregator's APIService, and CustomResourceDefinition.
		names: map[string]bool{"APIService": true, "CustomResourceDefinition": true},
		types: map[string]reflect.Type{},
	}
	for gvk, t := range s.AllKnownTypes() {
		b.names[gvk.Kind] = true
		b.types[gvk.GroupVersion().String()+"|"+gvk.Kind] = t
	}
	return b
})

// legacyOrder sorts resources in kustomize's legacy order: kinds listed
// first come first in that order, kinds listed last come last, and the
// rest by group, version and kind between them; then by namespace and
// name (kubernetes-sigs/kustomize#3913 explains the order).
type legacyOrder struct {
	all  []fastItem
	kept []int
	// The sort keys of each resource, built once rather than at every
	// comparison.
	ranks         []int
	gvkKeys, keys []string
}

// newLegacyOrder sorts kept, indexes into all.
func newLegacyOrder(all []fastItem, kept []int) *legacyOrder {
	o := &legacyOrder{all: all, kept: kept, ranks: make([]int, len(kept)), gvkKeys: make([]string, len(kept)), keys: make([]string, len(kept))}
	for i, k := range kept {
		id := all[k].id
		o.ranks[i], o.gvkKeys[i], o.keys[i] = kindRank[id.Kind], gvkSortKey(id.Gvk), idSortKey(id)
	}
	return o
}

// kindRank is where the legacy order puts a kind: negative for the kinds
// listed first, positive for those listed last, 0 for the others.
var kindRank = func() map[string]int {
	first := []string{"Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
		"ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
		"ConfigMap", "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
		"PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget"}
	last := []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
	m := map[string]int{}
	for i, k := range first {
		m[k] = i - len(first)
	}
	for i, k := range last {
		m[k] = i + 1
	}
	return m
}()

func (o *legacyOrder) Len() int { return len(o.kept) }
func (o *legacyOrder) Swap(i, j int) {
	o.kept[i], o.kept[j] = o.kept[j], o.kept[i]
	o.ranks[i], o.ranks[j] = o.ranks[j], o.ranks[i]
	o.gvkKeys[i], o.gvkKeys[j] = o.gvkKeys[j], o.gvkKeys[i]
	o.keys[i], o.keys[j] = o.keys[j], o.keys[i]
}

func (o *legacyOrder) Less(i, j int) bool {
	a, b := &o.all[o.kept[i]].id, &o.all[o.kept[j]].id
	if !a.Gvk.Equals(b.Gvk) {
		ra, rb := o.ranks[i], o.ranks[j]
		if ra != rb {
			return ra < rb
		}
		sa, sb := o.gvkKeys[i], o.gvkKeys[j]
		// Namespaces of the core group sort before those of other
		// groups, as kustomize has always done.
		if a.Kind == "Namespace" && b.Kind == "Namespace" && (a.Group == "" || b.Group == "") {
			return sa > sb
		}
		return sa < sb
	}
	return o.keys[i] < o.keys[j]
}

// gvkSortKey is "group_version_kind", with placeholders for empty parts
// that sort after letters.
func gvkSortKey(g resid.Gvk) string {
	return orPlaceholder(g.Group, "~G") + "_" + orPlaceholder(g.Version, "~V") + "_" + orPlaceholder(g.Kind, "~K")
}

// idSortKey is "gvk|namespace|name" with placeholders for empty parts.
func idSortKey(id resid.ResId) string {
	return id.Gvk.String() + "|" + orPlaceholder(id.Namespace, "~X") + "|" + orPlaceholder(id.Name, "~N")
}

func orPlaceholder(s, p string) string {
	if s == "" {
		return p
	}
	return s
}
