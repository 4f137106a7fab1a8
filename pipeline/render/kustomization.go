package render

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/reachgate/reachgate/pipeline/model"
)

// kustomization is one kustomization file of the tree.
type kustomization struct {
	dir  string // root-relative directory
	file string // root-relative path of the kustomization file
	k    types.Kustomization
	node *yaml.Node // the file's mapping, for lines; may be nil
	data []byte
	// children counts the references to each kustomization (by dir) this
	// one includes; files are the files whose objects it reads itself.
	children map[string]int
	files    []string
}

// sourceIndex locates rendered objects in their source files.
type sourceIndex struct {
	// docs lists the objects of every resource file (and the generators
	// of every kustomization file), by root-relative path.
	docs map[string][]docEntry
	// kustFiles are the kustomization files, by root-relative path.
	kustFiles map[string]bool
	// tagged holds the resource files with every document tagged with
	// its source (see tagSources), by root-relative path, as kustomize
	// reads them; untagged holds those of plain files still to encode:
	// the fast path reads their documents as parsed, and only a build
	// through krusty needs them encoded (see taggedFiles).
	tagged   map[string][]byte
	untagged map[string][]document
	// broken marks files with errors.
	broken map[string]bool
	// plain marks the resource files without anchors, aliases, merge keys
	// or Lists (see readResources).
	plain map[string]bool
	// ahead holds the documents of plain files that convertAhead
	// converted before tagSources tagged them, by node (see fastObject).
	ahead map[*yaml.Node]aheadDoc
	// memo holds the files taken from the renderer's memo, and fresh the
	// plain files parsed, each document converted ahead, that the fast
	// path may add to it.
	memo  map[string]*memoFile
	fresh map[string]freshFile
}

// freshFile is a resource file as read, and what its documents count
// against the run's budget.
type freshFile struct {
	data  []byte
	nodes int64
}

// aheadDoc is a document as converted before tagging, and the tag
// tagSources gave it.
type aheadDoc struct {
	doc   map[string]any
	nodes int64
	tag   string
}

// docEntry is one object as written in a source file.
type docEntry struct {
	line                              int
	apiVersion, kind, name, namespace string
}

// kustWalker walks a kustomization tree before kustomize builds it,
// refusing remote references and paths that leave the repository, and
// indexing the source files it meets.
type kustWalker struct {
	ctx      context.Context
	r        *Renderer
	t        *tree
	errs     model.InputErrors
	done     map[string]*kustomization // by dir
	visiting []string
	index    sourceIndex
	// ready holds the files prefetch read, parsed and converted, until
	// indexFile takes them.
	ready map[string]prefetchedFile
	// peeked holds the kustomizations prefetch loaded, until walk takes
	// them.
	peeked map[string]peeked
	// customSchema is set when a kustomization has an openapi field.
	customSchema bool
}

func newKustWalker(ctx context.Context, r *Renderer, t *tree) *kustWalker {
	return &kustWalker{
		ctx:    ctx,
		r:      r,
		t:      t,
		done:   map[string]*kustomization{},
		ready:  map[string]prefetchedFile{},
		peeked: map[string]peeked{},
		index:  sourceIndex{docs: map[string][]docEntry{}, kustFiles: map[string]bool{}, tagged: map[string][]byte{}, untagged: map[string][]document{}, broken: map[string]bool{}, plain: map[string]bool{}, ahead: map[*yaml.Node]aheadDoc{}, memo: map[string]*memoFile{}, fresh: map[string]freshFile{}},
	}
}

// referrer is the entry that led the walk to a path.
type referrer struct {
	k     *kustomization
	field fieldPath
}

func (w *kustWalker) fail(loc model.Location, field string, format string, args ...any) {
	w.errs = append(w.errs, &model.InputError{Location: loc, Field: field, Message: fmt.Sprintf(format, args...)})
}

// loc is where a field of a kustomization file is.
func (k *kustomization) loc(field fieldPath) model.Location {
	return model.Location{File: k.file, Line: lineFold(k.node, field)}
}

func (w *kustWalker) failEntry(r referrer, format string, args ...any) {
	w.fail(r.k.loc(r.field), r.field.String(), format, args...)
}

// kustomizationFile finds the kustomization file of dir.
func (w *kustWalker) kustomizationFile(dir string) (string, error) {
	var found []string
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := joinDir(dir, name)
		if w.t.exists(p) && !w.t.isDir(p) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no kustomization file (%s) in %s", strings.Join(konfig.RecognizedKustomizationFileNames(), ", "), displayDir(dir))
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("more than one kustomization file in %s: %s", displayDir(dir), strings.Join(found, ", "))
}

func joinDir(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}

func displayDir(dir string) string {
	if dir == "" || dir == "." {
		return "the repository root"
	}
	return dir
}

// walk checks the kustomization in dir and everything it references. from
// is nil for the top.
func (w *kustWalker) walk(dir string, from *referrer) *kustomization {
	if k, ok := w.done[dir]; ok {
		return k
	}
	if w.ctx.Err() != nil {
		return nil
	}
	for i, v := range w.visiting {
		if v == dir {
			cycle := append(append([]string{}, w.visiting[i:]...), dir)
			w.failEntry(*from, "kustomization cycle: %s", strings.Join(cycle, " -> "))
			return nil
		}
	}
	file, err := w.kustomizationFile(dir)
	if err != nil {
		if from != nil {
			w.failEntry(*from, "%v", err)
		} else {
			w.fail(model.Location{File: dir}, "", "%v", err)
		}
		return nil
	}
	if target, bad := w.t.escapes(dir); bad {
		if from != nil {
			w.failEntry(*from, "%s resolves to %s, outside the repository", dir, target)
		} else {
			w.fail(model.Location{File: file}, "", "%s resolves to %s, outside the repository", dir, target)
		}
		return nil
	}
	k := w.loaded(dir, file)
	if k == nil {
		return nil
	}
	w.indexGenerators(k)
	if len(k.k.OpenAPI) > 0 {
		w.customSchema = true
	}
	w.done[dir] = k
	w.index.kustFiles[file] = true
	w.visiting = append(w.visiting, dir)
	defer func() { w.visiting = w.visiting[:len(w.visiting)-1] }()
	w.entries(k)
	return k
}

var (
	unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)
	structFieldRE  = regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.([A-Za-z0-9_.]+) of type`)
)

// load reads and parses one kustomization file the way kustomize does.
func (w *kustWalker) load(dir, file string) *kustomization {
	data, err := w.t.read(file)
	if err != nil {
		w.fail(model.Location{File: file}, "", "read: %v", err)
		return nil
	}
	k := &kustomization{dir: dir, file: file, data: data}
	docs := splitDocuments(data)
	if len(docs) == 0 {
		w.fail(model.Location{File: file}, "", "kustomization file is empty")
		return nil
	}
	if docs[0].err != nil {
		w.fail(model.Location{File: file, Line: docs[0].line}, "", "malformed YAML: %v", docs[0].err)
		return nil
	}
	if len(docs) > 1 {
		w.fail(model.Location{File: file, Line: docs[1].line}, "", "a kustomization file holds one YAML document, found %d", len(docs))
		return nil
	}
	k.node = docs[0].node
	if k.node == nil {
		w.fail(model.Location{File: file}, "", "kustomization file is empty")
		return nil
	}
	if k.node.Kind != yaml.MappingNode {
		w.fail(model.Location{File: file, Line: docs[0].line}, "", "a kustomization file must be a mapping")
		return nil
	}
	if _, err := w.r.value(k.node, docs[0].offset); err != nil {
		pe := err.(*pathError)
		w.fail(model.Location{File: file, Line: pe.line}, pe.path.String(), "%s", pe.msg)
		return nil
	}
	if err := k.k.Unmarshal(data); err != nil {
		msg := strings.TrimPrefix(err.Error(), "invalid Kustomization: ")
		msg = strings.TrimPrefix(msg, "json: ")
		var field fieldPath
		if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
			field = fieldPath{m[1]}
			msg = "unknown field"
		} else if m := structFieldRE.FindStringSubmatch(msg); m != nil {
			for _, f := range strings.Split(m[1], ".") {
				field = append(field, f)
			}
		}
		if strings.Contains(msg, "cannot unmarshal bool into") {
			// kustomize reads kustomization files as YAML 1.1.
			msg += " (kustomize reads unquoted y, yes, on, n, no, off as booleans in kustomization files: quote the value)"
		}
		w.fail(k.loc(field), field.String(), "invalid kustomization: %s", msg)
		return nil
	}
	if err := k.k.CheckEmpty(); err != nil {
		w.fail(model.Location{File: file}, "", "kustomization file is empty")
		return nil
	}
	if errs := k.k.EnforceFields(); len(errs) > 0 {
		w.fail(model.Location{File: file}, "", "invalid kustomization: %s", strings.Join(errs, "; "))
		return nil
	}
	return k
}

// entry kinds.
const (
	wantFile = 1 << iota
	wantDir
	indexFile // a file whose documents become objects
	checkYAML // a YAML file kustomize parses (patches, ...): check it first
	annotate  // a resource file: tag its documents with their source
)

// entries checks every path a kustomization refers to.
func (w *kustWalker) entries(k *kustomization) {
	kk := &k.k
	list := func(field string, refs []string, want int) {
		for i, ref := range refs {
			w.entry(k, fieldPath{field, i}, ref, want)
		}
	}
	w.prefetch(k, [][]string{kk.Resources, kk.Bases})
	list("resources", kk.Resources, wantFile|wantDir|indexFile|annotate)
	list("bases", kk.Bases, wantFile|wantDir|indexFile|annotate)
	list("components", kk.Components, wantDir)
	list("crds", kk.Crds, wantFile|checkYAML)
	list("configurations", kk.Configurations, wantFile|checkYAML)
	for _, f := range []struct {
		name string
		refs []string
	}{{"generators", kk.Generators}, {"transformers", kk.Transformers}, {"validators", kk.Validators}} {
		for i, ref := range f.refs {
			if strings.Contains(ref, "\n") {
				continue // an inline configuration
			}
			w.entry(k, fieldPath{f.name, i}, ref, wantFile|wantDir|indexFile)
		}
	}
	for i, p := range kk.Patches {
		if p.Path != "" {
			w.entry(k, fieldPath{"patches", i, "path"}, p.Path, wantFile|checkYAML)
		}
	}
	for i, p := range kk.PatchesJson6902 {
		if p.Path != "" {
			w.entry(k, fieldPath{"patchesJson6902", i, "path"}, p.Path, wantFile|checkYAML)
		}
	}
	for i, p := range kk.PatchesStrategicMerge {
		if s := string(p); !strings.Contains(s, "\n") && !strings.HasPrefix(strings.TrimSpace(s), "{") {
			w.entry(k, fieldPath{"patchesStrategicMerge", i}, s, wantFile|checkYAML)
		}
	}
	for i, r := range kk.Replacements {
		if r.Path != "" {
			w.entry(k, fieldPath{"replacements", i, "path"}, r.Path, wantFile|checkYAML)
		}
	}
	if p := kk.OpenAPI["path"]; p != "" {
		w.entry(k, fieldPath{"openapi", "path"}, p, wantFile|checkYAML)
	}
	gens := func(field string, i int, src types.KvPairSources) {
		for j, f := range src.FileSources {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			w.entry(k, fieldPath{field, i, "files", j}, f, wantFile)
		}
		for j, f := range src.EnvSources {
			w.entry(k, fieldPath{field, i, "envs", j}, f, wantFile)
		}
		if src.EnvSource != "" {
			w.entry(k, fieldPath{field, i, "env"}, src.EnvSource, wantFile)
		}
	}
	for i, g := range kk.ConfigMapGenerator {
		gens("configMapGenerator", i, g.KvPairSources)
	}
	for i, g := range kk.SecretGenerator {
		gens("secretGenerator", i, g.KvPairSources)
	}
	if len(kk.HelmCharts) > 0 || len(kk.HelmChartInflationGenerator) > 0 || kk.HelmGlobals != nil {
		field := "helmCharts"
		if len(kk.HelmCharts) == 0 {
			field = "helmChartInflationGenerator"
			if len(kk.HelmChartInflationGenerator) == 0 {
				field = "helmGlobals"
			}
		}
		f := fieldPath{field}
		w.fail(k.loc(f), f.String(), "Helm charts are not rendered: reachgate runs kustomize without plugins; render the chart into the repository")
	}
}

// entry checks one path of a kustomization and follows it.
func (w *kustWalker) entry(k *kustomization, field fieldPath, ref string, want int) {
	r := referrer{k: k, field: field}
	p, isDir, problem := w.resolve(k, ref, want)
	if problem != "" {
		w.failEntry(r, "%s", problem)
		return
	}
	if isDir {
		if child := w.walk(p, &r); child != nil {
			if k.children == nil {
				k.children = map[string]int{}
			}
			k.children[child.dir]++
		}
		return
	}
	switch {
	case want&indexFile != 0:
		w.indexFile(p, want&annotate != 0)
		k.files = append(k.files, p)
	case want&checkYAML != 0:
		w.checkFile(p)
	}
}

// resolve is the path an entry of kustomization k refers to, and whether
// it is a directory; problem says why the entry is refused.
func (w *kustWalker) resolve(k *kustomization, ref string, want int) (p string, isDir bool, problem string) {
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return "", false, "empty path"
	case isRemote(ref):
		return "", false, fmt.Sprintf("remote reference %q is not allowed: rendering never fetches anything; vendor it into the repository", ref)
	}
	p, ok := join(k.dir, ref)
	if !ok {
		return "", false, fmt.Sprintf("%q is outside the repository", ref)
	}
	if !w.t.exists(p) {
		return "", false, fmt.Sprintf("%q does not exist (%s)", ref, p)
	}
	if target, bad := w.t.escapes(p); bad {
		return "", false, fmt.Sprintf("%q resolves to %s, outside the repository", ref, target)
	}
	if w.t.isDir(p) {
		if want&wantDir == 0 {
			return "", false, fmt.Sprintf("%q is a directory, not a file", ref)
		}
		return p, true, ""
	}
	if want&wantFile == 0 {
		return "", false, fmt.Sprintf("%q is a file, not a directory", ref)
	}
	if _, inside := within(k.dir, p); !inside && k.dir != "." {
		return "", false, fmt.Sprintf("%q is outside the kustomization's directory, which load restrictions (root only) forbid: list its directory instead", ref)
	}
	return p, false, ""
}

// checkFile reports syntax errors, alias cycles and bombs in a YAML file
// that kustomize will parse, with their line, before kustomize sees them.
func (w *kustWalker) checkFile(p string) {
	if w.ctx.Err() != nil {
		return
	}
	data, err := w.t.read(p)
	if err != nil {
		w.fail(model.Location{File: p}, "", "read: %v", err)
		return
	}
	for _, d := range splitDocuments(data) {
		w.checkDocument(p, &d, false)
	}
}

// checkDocument reports a document's syntax errors, and whatever goes
// over the limits, with their line; manifest: it must be a mapping.
func (w *kustWalker) checkDocument(p string, d *document, manifest bool) bool {
	switch {
	case d.err != nil:
		w.fail(model.Location{File: p, Line: d.line}, "", "malformed YAML: %v", d.err)
		return false
	case d.node == nil:
		return true
	case manifest && d.node.Kind != yaml.MappingNode:
		w.fail(model.Location{File: p, Line: d.line}, "", "a manifest must be a mapping, found %s", nodeKind(d.node))
		return false
	}
	if e := w.r.objectTooLarge(p, d); e != nil {
		w.errs = append(w.errs, e)
		return false
	}
	if w.r.counted(d) {
		return true
	}
	if _, err := w.r.value(d.node, d.offset); err != nil {
		pe := err.(*pathError)
		w.fail(model.Location{File: p, Line: pe.line}, pe.path.String(), "%s", pe.msg)
		return false
	}
	return true
}

// indexFile records the objects of a resource file, and reports syntax
// errors with their line before kustomize sees them.
func (w *kustWalker) indexFile(p string, annotate bool) {
	if _, ok := w.index.docs[p]; ok && (!annotate || w.index.tagged[p] != nil || w.index.untagged[p] != nil || w.index.broken[p] || w.index.memo[p] != nil) {
		return
	}
	if w.ctx.Err() != nil {
		return
	}
	pf, ok := w.prefetched(p)
	data, docs, m := pf.data, pf.docs, pf.memo
	if !ok {
		var err error
		if data, err = w.t.read(p); err != nil {
			w.fail(model.Location{File: p}, "", "read: %v", err)
			return
		}
		m = w.r.memo.lookup(p, data)
	}
	// A file the memo holds counts what its documents hold, all at once:
	// one of them goes over the run's budget exactly when the file does.
	if m != nil && annotate && w.r.values.Load()+m.nodes <= w.r.limits.RunValues {
		w.r.values.Add(m.nodes)
		w.index.docs[p] = m.entries
		w.index.broken[p] = false
		w.index.plain[p] = true
		w.index.memo[p] = m
		return
	}
	if docs == nil {
		docs = splitDocuments(data)
		w.r.convertAhead(p, docs, data)
	}
	var entries []docEntry
	failed := false
	// The values of the documents, when each was converted ahead: what a
	// memo of the file counts against the run's budget.
	var nodes int64
	ahead := true
	for i := range docs {
		d := &docs[i]
		if !w.checkDocument(p, d, true) {
			failed = true
			continue
		}
		if d.node != nil {
			entries = append(entries, docEntries(d)...)
			nodes += d.ahead.nodes
			ahead = ahead && d.ahead.ok
		}
	}
	w.index.docs[p] = entries
	w.index.broken[p] = failed
	plain := plainDocuments(docs)
	w.index.plain[p] = plain
	if annotate && !failed {
		if len(entries) == 0 {
			// An empty or comment-only file: kustomize reads it as no
			// objects, and so does the render.
			w.index.tagged[p] = data
			return
		}
		tagSources(p, docs)
		if plain {
			w.index.untagged[p] = docs
			if ahead {
				w.index.fresh[p] = freshFile{data: data, nodes: nodes}
			}
			if w.r.limits == DefaultLimits {
				for i := range docs {
					d := &docs[i]
					if doc, ok := d.ahead.value.(map[string]any); ok && d.node != nil {
						w.index.ahead[d.node] = aheadDoc{doc: doc, nodes: d.ahead.nodes, tag: p + ":" + strconv.Itoa(d.line)}
					}
				}
			}
			return
		}
		tagged, err := encodeDocuments(docs)
		if err != nil {
			w.fail(model.Location{File: p}, "", "%v", err)
			return
		}
		w.index.tagged[p] = tagged
	}
}

// expansion checks what kustomize will build before it does: kustomize
// builds a kustomization once for every path that includes it, and
// transforms every object once for every kustomization it passes through,
// so a tree where each level includes the one below twice (with different
// name prefixes) renders 2^depth copies. The objects the overlay renders
// count against Limits.Objects, and every object once for each
// kustomization it passes through against Limits.Builds.
func (w *kustWalker) expansion(top *kustomization) *model.InputError {
	const inf = int64(1) << 61      // sums of two stay below 1<<63
	sat := func(a, b int64) int64 { // a*b, saturated
		if a != 0 && b > inf/a {
			return inf
		}
		return a * b
	}
	add := func(a, b int64) int64 { return min(inf, a+b) }
	// objects under each kustomization, its own and its children's.
	under := map[string]int64{}
	var count func(k *kustomization) int64
	count = func(k *kustomization) int64 {
		if n, ok := under[k.dir]; ok {
			return n
		}
		n := int64(len(k.k.ConfigMapGenerator) + len(k.k.SecretGenerator))
		for _, f := range k.files {
			n += int64(len(w.index.docs[f]))
		}
		for d, times := range k.children {
			if c := w.done[d]; c != nil {
				n = add(n, sat(int64(times), count(c)))
			}
		}
		under[k.dir] = n
		return n
	}
	// How many times each kustomization is built: the sum over the
	// paths from the top, in an order where parents come first.
	var order []*kustomization
	seen := map[string]bool{}
	var visit func(k *kustomization)
	visit = func(k *kustomization) {
		seen[k.dir] = true
		for _, d := range sortedKeys(k.children) {
			if c := w.done[d]; c != nil && !seen[d] {
				visit(c)
			}
		}
		order = append(order, k)
	}
	visit(top)
	builds := map[string]int64{top.dir: 1}
	var total int64
	most := top
	for i := len(order) - 1; i >= 0; i-- {
		k := order[i]
		total = add(total, sat(builds[k.dir], count(k)))
		if builds[k.dir] >= builds[most.dir] { // ties: the one deepest down
			most = k
		}
		for d, times := range k.children {
			builds[d] = add(builds[d], sat(builds[k.dir], int64(times)))
		}
	}
	var msg string
	switch {
	case count(top) > w.r.limits.Objects:
		msg = fmt.Sprintf("the overlay renders %s objects, more than %d, the limit per overlay (kustomize's time grows with the square of the number of objects)", atLeast(count(top), inf), w.r.limits.Objects)
	case total > w.r.limits.Builds:
		msg = fmt.Sprintf("kustomize would build %s objects, more than %d, the limit per overlay (each object counts once for every kustomization it passes through)", atLeast(total, inf), w.r.limits.Builds)
	default:
		return nil
	}
	if builds[most.dir] > 1 {
		msg += fmt.Sprintf("; %s is included %s times", displayDir(most.dir), atLeast(builds[most.dir], inf))
	}
	return &model.InputError{Location: model.Location{File: top.file}, Message: msg}
}

// atLeast writes a saturated count.
func atLeast(n, inf int64) string {
	if n >= inf {
		return "more than " + strconv.FormatInt(inf, 10)
	}
	return strconv.FormatInt(n, 10)
}

// docEntries describes the objects of a document: itself, or the items of
// a List.
func docEntries(d *document) []docEntry {
	e := entryOf(d.node, d.lineOf(d.node))
	items := mapValue(d.node, "items")
	if !strings.HasSuffix(e.kind, "List") || items == nil || items.Kind != yaml.SequenceNode {
		return []docEntry{e}
	}
	var out []docEntry
	for _, it := range items.Content {
		ie := entryOf(it, d.lineOf(it))
		if ie.kind == "" && e.kind != "List" {
			ie.kind = strings.TrimSuffix(e.kind, "List")
		}
		out = append(out, ie)
	}
	return out
}

func entryOf(n *yaml.Node, line int) docEntry {
	md := mapValue(n, "metadata")
	return docEntry{
		line:       line,
		apiVersion: scalarString(mapValue(n, "apiVersion")),
		kind:       scalarString(mapValue(n, "kind")),
		name:       scalarString(mapValue(md, "name")),
		namespace:  scalarString(mapValue(md, "namespace")),
	}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "something else"
}

// indexGenerators records where each configMapGenerator and
// secretGenerator entry of a kustomization is.
func (w *kustWalker) indexGenerators(k *kustomization) {
	var entries []docEntry
	for i, g := range k.k.ConfigMapGenerator {
		entries = append(entries, docEntry{line: lineFold(k.node, fieldPath{"configMapGenerator", i}), kind: "ConfigMap", name: g.Name, namespace: g.Namespace})
	}
	for i, g := range k.k.SecretGenerator {
		entries = append(entries, docEntry{line: lineFold(k.node, fieldPath{"secretGenerator", i}), kind: "Secret", name: g.Name, namespace: g.Namespace})
	}
	w.index.docs[k.file] = entries
}

// lineFold finds the line of a field path in a kustomization, matching
// keys without regard to case as kustomize does; 0 when not found.
func lineFold(n *yaml.Node, path fieldPath) int {
	if n == nil {
		return 0
	}
	line := n.Line
	for _, e := range path {
		n = resolveAlias(n)
		switch e := e.(type) {
		case string:
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if strings.EqualFold(n.Content[i].Value, e) {
						next, line = n.Content[i+1], n.Content[i].Line
					}
				}
			}
			if next == nil {
				return line
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || e >= len(n.Content) {
				return line
			}
			n = n.Content[e]
			line = n.Line
		}
	}
	return line
}

// plainDocuments reports whether no document has an anchor, an alias, a
// merge key or a kind ending in List.
func plainDocuments(docs []document) bool {
	var plain func(n *yaml.Node) bool
	plain = func(n *yaml.Node) bool {
		if n.Anchor != "" || n.Kind == yaml.AliasNode || n.ShortTag() == "!!merge" {
			return false
		}
		for _, c := range n.Content {
			if !plain(c) {
				return false
			}
		}
		return true
	}
	for i := range docs {
		n := docs[i].node
		if n == nil {
			continue
		}
		if strings.HasSuffix(scalarString(mapValue(n, "kind")), "List") || !plain(n) {
			return false
		}
	}
	return true
}

// taggedFiles returns every tagged resource file as kustomize reads it,
// encoding those the fast path left as documents.
func (ix *sourceIndex) taggedFiles() (map[string][]byte, *model.InputError) {
	for p, docs := range ix.untagged {
		data, err := encodeDocuments(docs)
		if err != nil {
			return nil, &model.InputError{Location: model.Location{File: p}, Message: err.Error()}
		}
		ix.tagged[p] = data
		delete(ix.untagged, p)
	}
	return ix.tagged, nil
}
