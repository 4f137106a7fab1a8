package report_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/reachgate/reachgate/pipeline/report"
)

// FuzzReadJSON reads a saved report as `reachgate comment --report` does
// (from an artifact a fork's run may have forged) and writes the comment.
func FuzzReadJSON(f *testing.F) {
	for _, p := range []string{"testdata/golden/check.json.json", "testdata/golden/check.evidence.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := report.ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, format := range []string{"markdown", "text", "json"} {
			if err := report.Write(io.Discard, format, r, report.Options{Marker: "<!-- reachgate:check -->"}); err != nil {
				t.Fatalf("%s of a report that read: %v", format, err)
			}
		}
	})
}
