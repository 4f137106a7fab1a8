package report

import (
	"io"

	"github.com/reachgate/reachgate/pipeline/model"
)

type jsonDiffDoc struct {
	FormatVersion string `json:"formatVersion"`
	Name          string `json:"name"`
	*jsonDiff
}

// writeDiffJSON writes the diff as a versioned document: every added,
// removed and changed flow with its ports and the rules behind it before
// and after, and the workloads added and removed.
func writeDiffJSON(w io.Writer, name string, d *model.Diff) error {
	return writeJSON(w, jsonDiffDoc{FormatVersion: FormatVersion, Name: name, jsonDiff: toJSONDiff(d)})
}
