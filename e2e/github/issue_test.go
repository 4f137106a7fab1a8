//go:build e2e

package githube2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/github"
	"github.com/reachgate/reachgate/pipeline/run"
)

// issueMarker rewrites Prism's example issue list so that its issues carry
// the marker and are issues, not pull requests: the client then edits one.
type issueMarker struct{ next http.RoundTripper }

func (m issueMarker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/issues") || resp.StatusCode != 200 {
		return resp, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var issues []map[string]any
	if err := json.Unmarshal(data, &issues); err != nil {
		return nil, fmt.Errorf("prism issue list: %w", err)
	}
	for _, is := range issues {
		is["body"] = "<!-- " + marker + " -->\nan older review"
		delete(is, "pull_request")
	}
	out, _ := json.Marshal(issues)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return resp, nil
}

func prismIssueClient(t *testing.T, tr *prismTransport, markIssues bool) *github.Client {
	t.Helper()
	url := requireEnv(t, "REACHGATE_PRISM_URL", prismHow)
	var base http.RoundTripper = http.DefaultTransport
	if markIssues {
		base = issueMarker{base}
	}
	tr.base = base
	c, err := github.New(github.Options{
		BaseURL: url, Token: "e2e-token-not-a-secret", Owner: "octo-org", Repo: "policy-repo",
		Marker: marker, HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1,
	})
	require.NoError(t, err)
	return c
}

// The review issue's requests as GitHub's description accepts them:
// find the identity, list the repository's issues (every page), create.
func TestContractReviewIssueCreate(t *testing.T) {
	tr := &prismTransport{}
	c := prismIssueClient(t, tr, false)
	res, err := c.UpsertIssue(ctx(t), "Policy review due: 1 waiver", "## Policy review due\n\n1 waiver expires in 3 days")
	require.NoError(t, err)
	assert.Equal(t, github.IssueCreated, res.Action)
	assert.NotZero(t, res.Number)
	list := "/repos/octo-org/policy-repo/issues"
	// Nothing marked under the creator filter: the client lists every
	// issue before it creates one.
	assertAccepted(t, tr.Exchanges(), []string{"GET /user 200", "GET " + list + " 200", "GET " + list + " 200",
		"GET " + list + " 200", "GET " + list + " 200", "POST " + list + " 201"})
}

// Updating and closing: PATCH with a body, a title and a state.
func TestContractReviewIssueUpdateAndClose(t *testing.T) {
	tr := &prismTransport{}
	c := prismIssueClient(t, tr, true)
	res, err := c.UpsertIssue(ctx(t), "Policy review due: 2 stale files", "## Policy review due\n\n2 stale files")
	require.NoError(t, err)
	assert.Equal(t, github.IssueUpdated, res.Action)
	list := "/repos/octo-org/policy-repo/issues"
	patch := fmt.Sprintf("PATCH %s/%d 200", list, res.Number)
	assertAccepted(t, tr.Exchanges(), []string{"GET /user 200", "GET " + list + " 200", "GET " + list + " 200", patch})

	tr2 := &prismTransport{}
	c = prismIssueClient(t, tr2, true)
	closed, err := c.CloseIssue(ctx(t), "Nothing is due.")
	require.NoError(t, err)
	assert.Equal(t, github.IssueClosed, closed.Action)
	assertAccepted(t, tr2.Exchanges(), []string{"GET /user 200", "GET " + list + " 200", "GET " + list + " 200", patch})
}

type giteaIssue struct {
	Number int    `json:"number"`
	State  string `json:"state"`
	Title  string `json:"title"`
	Body   string `json:"body"`
}

// markedIssues lists the repository's issues carrying marker, through
// Gitea's own API.
func (g gitea) markedIssues(t *testing.T, marker string) []giteaIssue {
	t.Helper()
	var all []giteaIssue
	g.api(t, http.MethodGet, fmt.Sprintf("/repos/%s/%s/issues?state=all&type=issues&limit=50", g.owner, g.repo), nil, &all)
	var out []giteaIssue
	for _, is := range all {
		if strings.Contains(is.Body, "<!-- "+marker+" -->") {
			out = append(out, is)
		}
	}
	return out
}

// TestGiteaReviewIssueThreeRuns runs `reachgate review` on this
// repository three times against Gitea, at three dates: a year on, every
// policy file is due (the issue is created); half a year on, still due
// with another body (updated, the same issue); a week on, nothing is due
// (closed).
func TestGiteaReviewIssueThreeRuns(t *testing.T) {
	g := giteaEnv(t)
	mk := uniqueMarker(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	review := func(now time.Time) string {
		t.Helper()
		var stderr bytes.Buffer
		c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := run.Review(c, run.ReviewParams{Common: run.Common{Dir: root}, Repo: g.owner + "/" + g.repo, Token: g.token, APIURL: g.apiURL,
			Marker: mk, Now: now}, io.Discard, &stderr)
		require.NoError(t, err, stderr.String())
		return stderr.String()
	}
	head, err := run.BuildReview(ctx(t), run.ReviewParams{Common: run.Common{Dir: root}})
	require.NoError(t, err)
	require.Empty(t, head.Failing, "the repository's rules pass at HEAD")
	require.Empty(t, head.Waivers)

	out := review(time.Now().AddDate(1, 0, 0))
	assert.Contains(t, out, "created")
	issues := g.markedIssues(t, mk)
	require.Len(t, issues, 1)
	first := issues[0]
	assert.Equal(t, "open", first.State)
	assert.Contains(t, first.Title, "Policy review due: ")
	assert.Contains(t, first.Body, "bases/app/network-policies/")

	out = review(time.Now().AddDate(0, 7, 0))
	assert.Contains(t, out, "updated")
	issues = g.markedIssues(t, mk)
	require.Len(t, issues, 1, "one sticky issue")
	assert.Equal(t, first.Number, issues[0].Number)
	assert.Equal(t, "open", issues[0].State)
	assert.NotEqual(t, first.Body, issues[0].Body)

	out = review(time.Now().AddDate(0, 0, 7))
	assert.Contains(t, out, "closed")
	issues = g.markedIssues(t, mk)
	require.Len(t, issues, 1)
	assert.Equal(t, first.Number, issues[0].Number)
	assert.Equal(t, "closed", issues[0].State)
	assert.Contains(t, issues[0].Body, "Nothing is due.")

	// A fourth run with nothing due leaves the closed issue alone.
	assert.Contains(t, review(time.Now().AddDate(0, 0, 7)), "nothing due, no issue open")
}
