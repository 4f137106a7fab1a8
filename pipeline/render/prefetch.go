package render

import (
	"slices"
	"sync/atomic"
)

// prefetchedFile is a resource file read, parsed and converted ahead of
// the walk's indexFile.
type prefetchedFile struct {
	data []byte
	docs []document
	// memo is what the renderer's memo holds for the file; docs is
	// nil then.
	memo *memoFile
}

// prefetch reads the files that a kustomization's resources and bases
// list, and those of the kustomizations below it that they list, and
// parses and converts their documents on every core, all files' documents
// together: a walk of a tree with many small files otherwise parses them
// one at a time, and a tree of many small kustomizations a few at a time.
// It reads only what entry would index (the same resolve), reports
// nothing (indexFile and walk do, in order, as they would without it) and
// stops converting ahead once the documents converted ahead hold more
// values than Limits.RunValues: indexFile converts the rest, in order,
// against the run's budget.
func (w *kustWalker) prefetch(k *kustomization, lists [][]string) {
	if !prefetching || w.ctx.Err() != nil {
		return
	}
	type job struct {
		file string
		doc  *document
		text chunk
	}
	var files []string
	var jobs []job
	var visit func(k *kustomization, lists [][]string)
	visit = func(k *kustomization, lists [][]string) {
		for _, refs := range lists {
			for _, ref := range refs {
				p, isDir, problem := w.resolve(k, ref, wantFile|wantDir)
				if problem != "" {
					continue
				}
				if isDir {
					if child := w.peek(p); child != nil {
						visit(child, [][]string{child.k.Resources, child.k.Bases})
					}
					continue
				}
				if _, ok := w.ready[p]; ok {
					continue
				}
				if _, ok := w.index.docs[p]; ok {
					continue
				}
				data, err := w.t.read(p)
				if err != nil {
					continue
				}
				if m := w.r.memo.lookup(p, data); m != nil {
					w.ready[p] = prefetchedFile{data: data, memo: m}
					files = append(files, p)
					continue
				}
				chunks := splitChunks(data)
				f := prefetchedFile{data: data, docs: make([]document, len(chunks))}
				for i, c := range chunks {
					jobs = append(jobs, job{p, &f.docs[i], c})
				}
				w.ready[p] = f
				files = append(files, p)
			}
		}
	}
	visit(k, lists)
	if len(files) < 2 && len(jobs) < 2 {
		// Nothing to share out: indexFile does it as before.
		for _, p := range files {
			delete(w.ready, p)
		}
		return
	}
	var values atomic.Int64
	parallel(len(jobs), func(i int) bool {
		j := jobs[i]
		*j.doc = parseDocument(j.text.text, j.text.first)
		if w.ctx.Err() == nil && values.Load() <= w.r.limits.RunValues {
			w.r.convertDoc(j.file, j.doc)
			values.Add(j.doc.ahead.nodes)
		}
		return true
	})
}

// peeked is a kustomization loaded ahead of the walk (nil when loading it
// failed), and the values it holds, which walk counts against the run's
// budget when it gets there.
type peeked struct {
	k              *kustomization
	nodes, aliased int64
}

// peek loads the kustomization of a directory that prefetch meets, ahead
// of the walk, with the checks walk makes before it loads one, against a
// budget of its own and reporting nothing: walk counts it, or loads it
// again to fail, in order (see loaded). It returns nil for a directory
// walk has been to, one peek has been to, or one whose kustomization walk
// would refuse.
func (w *kustWalker) peek(dir string) *kustomization {
	if _, ok := w.done[dir]; ok {
		return nil
	}
	if _, ok := w.peeked[dir]; ok || slices.Contains(w.visiting, dir) {
		return nil
	}
	file, err := w.kustomizationFile(dir)
	if err != nil {
		return nil
	}
	if _, bad := w.t.escapes(dir); bad {
		return nil
	}
	own := *w.r
	own.values, own.aliased = new(atomic.Int64), new(atomic.Int64)
	r, errs := w.r, len(w.errs)
	w.r = &own
	k := w.load(dir, file)
	w.r = r
	w.errs = w.errs[:errs]
	w.peeked[dir] = peeked{k: k, nodes: own.values.Load(), aliased: own.aliased.Load()}
	return k
}

// loaded is the kustomization of dir, loaded now or by peek. One that
// failed to load ahead, or that the run's budget no longer covers, is
// loaded again, to fail as it does in order.
func (w *kustWalker) loaded(dir, file string) *kustomization {
	p, ok := w.peeked[dir]
	delete(w.peeked, dir)
	if !ok || p.k == nil || p.k.file != file || w.r.values.Load()+p.nodes > w.r.limits.RunValues {
		return w.load(dir, file)
	}
	w.r.values.Add(p.nodes)
	w.r.aliased.Add(p.aliased)
	return p.k
}

// prefetching is off in tests that compare with a walk without it.
var prefetching = true

// prefetched takes the file prefetch prepared, if it did.
func (w *kustWalker) prefetched(p string) (prefetchedFile, bool) {
	f, ok := w.ready[p]
	if ok {
		delete(w.ready, p)
	}
	return f, ok
}
