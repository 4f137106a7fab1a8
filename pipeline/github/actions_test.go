package github

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadEvent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file, event string
		want        EventInfo
	}{
		{"pull_request.json", "pull_request", EventInfo{
			Owner: "acme", Repo: "platform-gitops", PR: 42,
			BaseSHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", HeadSHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
			BaseRef: "main", HeadRef: "allow-worker-db",
		}},
		{"pull_request_fork.json", "pull_request", EventInfo{
			Owner: "acme", Repo: "platform-gitops", PR: 43,
			BaseSHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", HeadSHA: "b7c1e0d2f3a4958677a8b9c0d1e2f3a4b5c6d7e8",
			BaseRef: "main", HeadRef: "main", Fork: true,
		}},
		{"pull_request_fork.json", "pull_request_target", EventInfo{
			Owner: "acme", Repo: "platform-gitops", PR: 43,
			BaseSHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", HeadSHA: "b7c1e0d2f3a4958677a8b9c0d1e2f3a4b5c6d7e8",
			BaseRef: "main", HeadRef: "main", Fork: true,
		}},
		{"workflow_run.json", "workflow_run", EventInfo{
			Owner: "acme", Repo: "platform-gitops", PR: 42,
			BaseSHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", HeadSHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
			BaseRef: "main", HeadRef: "allow-worker-db",
		}},
		{"workflow_run_fork.json", "workflow_run", EventInfo{
			Owner: "acme", Repo: "platform-gitops", PR: 0,
			HeadSHA: "b7c1e0d2f3a4958677a8b9c0d1e2f3a4b5c6d7e8", HeadRef: "main", Fork: true,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.event, func(t *testing.T) {
			t.Parallel()
			got, err := ReadEvent(filepath.Join("testdata", "events", tc.file), tc.event)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReadEventErrors(t *testing.T) {
	t.Parallel()
	ev := filepath.Join("testdata", "events")
	cases := []struct{ path, event, want string }{
		{filepath.Join(ev, "pull_request.json"), "push", "read event: push is not a pull_request, pull_request_target or workflow_run event"},
		{filepath.Join(ev, "pull_request.json"), "", "read event: no event name (GITHUB_EVENT_NAME is not set)"},
		{filepath.Join(ev, "workflow_run.json"), "pull_request", "pull_request event without pull_request.number"},
		{filepath.Join(ev, "pull_request.json"), "workflow_run", "workflow_run event without workflow_run"},
		{filepath.Join(ev, "broken.json"), "pull_request", "read event " + filepath.Join(ev, "broken.json") + ": unexpected end of JSON input"},
		{filepath.Join(ev, "missing.json"), "pull_request", "no such file or directory"},
	}
	for _, tc := range cases {
		_, err := ReadEvent(tc.path, tc.event)
		require.Error(t, err, tc.path)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestWriteStepSummary(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "step_summary_1")
	require.NoError(t, os.WriteFile(path, []byte("# earlier step\n"), 0o644))

	require.NoError(t, WriteStepSummary(path, "## reachgate\n\n| env | added |\n|---|---|\n| prod | 1 |"))
	require.NoError(t, WriteStepSummary(path, "done\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# earlier step\n## reachgate\n\n| env | added |\n|---|---|\n| prod | 1 |\ndone\n", string(got))

	err = WriteStepSummary(path, strings.Repeat("x", MaxStepSummary))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "would exceed GitHub's limit of 1048576")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, got, after, "nothing written when over the limit")

	err = WriteStepSummary("", "x")
	assert.EqualError(t, err, "write step summary: no file (GITHUB_STEP_SUMMARY is not set)")
	err = WriteStepSummary(filepath.Join(t.TempDir(), "no", "dir"), "x")
	assert.ErrorContains(t, err, "write step summary: open ")
}
