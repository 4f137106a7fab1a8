//go:build e2e

package githube2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

// TestCommentCommandAgainstGitea is the fork-safe comment job end to end:
// `reachgate check` writes report.json for this repository's overlays,
// `reachgate comment` posts it to a real Gitea pull request, twice; there
// is one comment, updated, carrying the marker, and a status per overlay
// on the verified head. A report for another commit is refused.
func TestCommentCommandAgainstGitea(t *testing.T) {
	g := giteaEnv(t)
	marker := uniqueMarker(t)
	dir := t.TempDir()

	r, err := run.BuildReport(context.Background(), run.CheckParams{
		Common: run.Common{Dir: "../.."}, Base: "none", Now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
	})
	require.NoError(t, err)
	// What the pull_request job computed for the PR's head commit.
	r.Head.Commit = g.headSHA
	write := func(r *model.Report) string {
		var b bytes.Buffer
		require.NoError(t, report.Write(&b, "json", r, report.Options{}))
		p := filepath.Join(dir, "report.json")
		require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
		return p
	}
	params := run.CommentParams{
		Report: write(r), Repo: g.owner + "/" + g.repo, PR: g.pr, Marker: marker,
		APIURL: g.apiURL, Token: g.token, ExpectHead: g.headSHA, Status: true,
	}
	var out, errOut bytes.Buffer
	require.NoError(t, run.Comment(context.Background(), params, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "comment created")
	first := g.marked(t, marker)
	require.Len(t, first, 1)
	assert.Contains(t, first[0].Body, "prod")

	// The next run of the gate changes the report: the same comment is
	// updated, none is added.
	r.Overlays = r.Overlays[:1]
	params.Report = write(r)
	out.Reset()
	require.NoError(t, run.Comment(context.Background(), params, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "comment updated")
	second := g.marked(t, marker)
	require.Len(t, second, 1)
	assert.Equal(t, first[0].ID, second[0].ID)
	assert.NotEqual(t, first[0].Body, second[0].Body)
	assert.NotContains(t, second[0].Body, "prod")

	// The statuses are on the head commit, one per overlay of the run.
	var statuses []struct {
		Context string `json:"context"`
	}
	g.api(t, http.MethodGet, fmt.Sprintf("/repos/%s/%s/statuses/%s", g.owner, g.repo, g.headSHA), nil, &statuses)
	var contexts []string
	for _, s := range statuses {
		contexts = append(contexts, s.Context)
	}
	for _, o := range r.Overlays {
		assert.Contains(t, contexts, "reachgate/"+o.Name)
	}

	// The PR's head is not the commit the run was for: refused.
	params.ExpectHead = "0000000000000000000000000000000000000000"
	err = run.Comment(context.Background(), params, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not at "+params.ExpectHead)
	assert.Len(t, g.marked(t, marker), 1)

	// A forged report for another commit (the base), all green: refused,
	// and nothing lands on the base commit.
	r.Head.Commit = g.baseSHA
	r.Overlays = r.Overlays[:1]
	r.Overlays[0].Findings = nil
	params.Report, params.ExpectHead = write(r), g.headSHA
	err = run.Comment(context.Background(), params, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the report is for commit \""+g.baseSHA+"\"")
	assert.Equal(t, second[0].Body, g.marked(t, marker)[0].Body, "the comment is unchanged")
	var onBase []json.RawMessage
	g.api(t, http.MethodGet, fmt.Sprintf("/repos/%s/%s/statuses/%s", g.owner, g.repo, g.baseSHA), nil, &onBase)
	assert.Empty(t, onBase)
}
