package report

import (
	"io"
)

// writeMatrixText prints what the matrix leaves out (policies it ignores
// or omits), one line per connection:
//
//	app/frontend[Deployment] => app/backend-api[Deployment] : TCP 3000
//
// then the workloads NetworkPolicy does not govern.
func writeMatrixText(w io.Writer, v *matrixView, opts MatrixOptions) error {
	ew := newErrWriter(w)
	if opts.Title != "" {
		ew.line("# ", opts.Title)
	}
	textNotes(ew, "", omittedNotes(v.m.Omitted))
	v.eachRow(opts, func(r flowRow[viewConn]) {
		ew.line(r.src, " => ", r.dst, " : ", portsText(r.first.Allowance), mayDenyText(*v.src(r.first), *v.dst(r.first)))
	})
	if v.n == 0 {
		ew.line("no connections")
	}
	if len(v.unmanaged) > 0 {
		ew.line()
		ew.line("Not governed by NetworkPolicy:")
		for _, u := range v.unmanaged {
			ew.line("  ", u.Workload.String(), ": ", u.Reason)
		}
	}
	return ew.flush()
}
