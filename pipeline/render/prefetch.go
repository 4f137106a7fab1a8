package render

import (
	"sync/atomic"
)

// prefetchedFile is a resource file read, parsed and converted ahead of
// the walk's indexFile.
type prefetchedFile struct {
	data []byte
	docs []document
}

// prefetch reads the files that a kustomization's resources and bases
// list, and parses and converts their documents on every core, all files'
// documents together: a walk of a tree with many small files otherwise
// parses them one at a time. It reads only what entry would index (the
// same resolve), reports nothing (indexFile does, in order, as it would
// without it) and stops converting ahead once the documents converted
// ahead hold more values than Limits.RunValues: indexFile converts the
// rest, in order, against the run's budget.
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
	for _, refs := range lists {
		for _, ref := range refs {
			p, isDir, problem := w.resolve(k, ref, wantFile|wantDir)
			if problem != "" || isDir {
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
			chunks := splitChunks(data)
			f := prefetchedFile{data: data, docs: make([]document, len(chunks))}
			for i, c := range chunks {
				jobs = append(jobs, job{p, &f.docs[i], c})
			}
			w.ready[p] = f
			files = append(files, p)
		}
	}
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

// prefetching is off in tests that compare with a walk without it.
var prefetching = true

// prefetched takes the file prefetch prepared, if it did.
func (w *kustWalker) prefetched(p string) (data []byte, docs []document, ok bool) {
	f, ok := w.ready[p]
	if !ok {
		return nil, nil, false
	}
	delete(w.ready, p)
	return f.data, f.docs, true
}
