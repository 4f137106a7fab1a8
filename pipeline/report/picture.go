package report

import (
	"fmt"
	"io"
)

// The most a picture's reader draws, past which reach warns (the picture
// is written all the same):
//   - Mermaid refuses a flowchart of more edges than its maxEdges (500 by
//     default) or more text than its maxTextSize (50,000 characters, as
//     JavaScript counts a string's length: UTF-16 code units);
//     these are secure settings, which a diagram cannot raise itself:
//     only whoever renders it can;
//   - Graphviz's layout grows much faster than the edges: on a 2-core
//     machine `dot -Tsvg` took 0.5 s for 360 edges, 4.3 s for 619, 8.7 s
//     for 991 and 2 min 42 s for 2,551 (reach's pictures of synthetic
//     clusters);
//   - an html page is a table a browser has to hold: at 100,000 rows it
//     is some 30 MB.
const (
	mermaidMaxEdges    = 500
	mermaidMaxTextSize = 50_000
	dotMaxEdges        = 1_000
	htmlMaxRows        = 100_000
)

// pictureWarning is what to tell the user of a picture of the given size
// in format, "" when its reader draws it; size is a Mermaid flowchart's
// length in UTF-16 code units (countingWriter.units).
func pictureWarning(format string, edges, rows int, size int64) string {
	var why string
	switch {
	case format == "mermaid" && edges > mermaidMaxEdges:
		why = fmt.Sprintf("the Mermaid flowchart has %s; Mermaid draws at most %s unless whoever renders it raises maxEdges, which a diagram cannot do itself", plural(edges, "edge", "edges"), count(mermaidMaxEdges))
	case format == "mermaid" && size > mermaidMaxTextSize:
		why = fmt.Sprintf("the Mermaid flowchart is %s characters long; Mermaid draws at most %s unless whoever renders it raises maxTextSize", count(int(size)), count(mermaidMaxTextSize))
	case format == "dot" && edges > dotMaxEdges:
		why = fmt.Sprintf("the DOT graph has %s, more than %s: Graphviz's layout time grows steeply with the edges (minutes at a few thousand), and the picture is too dense to read", plural(edges, "edge", "edges"), count(dotMaxEdges))
	case format == "html" && rows > htmlMaxRows:
		why = fmt.Sprintf("the page has %s; past %s a browser struggles to open it", plural(rows, "row", "rows"), count(htmlMaxRows))
	default:
		return ""
	}
	return why + ": focus it with --namespace or --workload"
}

// warnPicture tells opts.Warn what pictureWarning finds, if anything.
func warnPicture(opts MatrixOptions, format string, edges, rows int, size int64) {
	if opts.Warn == nil {
		return
	}
	if msg := pictureWarning(format, edges, rows, size); msg != "" {
		opts.Warn(msg)
	}
}

// countingWriter counts the UTF-8 text written through it in UTF-16 code
// units, the length JavaScript gives a string: one per character, two for
// a character past U+FFFF (a four-byte sequence). It counts lead bytes
// only, so a character split between two writes counts once.
type countingWriter struct {
	w     io.Writer
	units int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	for _, b := range p[:n] {
		switch {
		case b >= 0xf0:
			c.units += 2
		case b&0xc0 != 0x80:
			c.units++
		}
	}
	return n, err
}
