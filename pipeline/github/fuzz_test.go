package github_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/reachgate/reachgate/pipeline/github"
)

// FuzzParseEvent parses the event payload of a workflow run; a
// workflow_run event carries what a fork's run produced.
func FuzzParseEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/events/*.json")
	if len(files) == 0 {
		f.Fatal("no seeds")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "pull_request")
		f.Add(b, "workflow_run")
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		info, err := github.ParseEvent("event.json", data, name)
		if err == nil && (info.Owner == "" || info.Repo == "") {
			t.Fatalf("an event without its repository: %+v", info)
		}
	})
}
