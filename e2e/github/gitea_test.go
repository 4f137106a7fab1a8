//go:build e2e

package githube2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/github"
)

// The integration test: a real, stateful Gitea (GitHub-compatible issue
// comments and commit statuses under /api/v1/) started by
// scripts/e2e/gitea.sh. Each test uses its own marker, so the tests can run
// again against the same server.

const giteaHow = "run scripts/e2e/gitea.sh build && scripts/e2e/gitea.sh up DIR, then export REACHGATE_GITEA_ENV=DIR/gitea.env"

type gitea struct {
	apiURL, token, roToken, owner, repo, headSHA, baseSHA string
	otherUser, otherToken                                 string
	pr                                                    int
}

func giteaEnv(t *testing.T) gitea {
	t.Helper()
	env := readEnvFile(t, requireEnv(t, "REACHGATE_GITEA_ENV", giteaHow))
	g := gitea{
		apiURL: env["REACHGATE_GITEA_API_URL"], token: env["REACHGATE_GITEA_TOKEN"],
		roToken: env["REACHGATE_GITEA_READONLY_TOKEN"],
		owner:   env["REACHGATE_GITEA_OWNER"], repo: env["REACHGATE_GITEA_REPO"],
		headSHA: env["REACHGATE_GITEA_HEAD_SHA"], baseSHA: env["REACHGATE_GITEA_BASE_SHA"],
		otherUser: env["REACHGATE_GITEA_OTHER_USER"], otherToken: env["REACHGATE_GITEA_OTHER_TOKEN"],
	}
	var err error
	g.pr, err = strconv.Atoi(env["REACHGATE_GITEA_PR"])
	require.NoError(t, err, "REACHGATE_GITEA_PR")
	for k, v := range map[string]string{
		"API_URL": g.apiURL, "TOKEN": g.token, "READONLY_TOKEN": g.roToken, "OWNER": g.owner, "REPO": g.repo,
		"HEAD_SHA": g.headSHA, "BASE_SHA": g.baseSHA, "OTHER_USER": g.otherUser, "OTHER_TOKEN": g.otherToken,
	} {
		require.NotEmpty(t, v, "REACHGATE_GITEA_%s in the env file", k)
	}
	return g
}

// uniqueMarker gives each test run its own sticky comment.
func uniqueMarker(t *testing.T) string {
	return fmt.Sprintf("reachgate:e2e/%s/%d", strings.ToLower(t.Name()), time.Now().UnixNano())
}

func (g gitea) client(t *testing.T, marker, token string) *github.Client {
	t.Helper()
	c, err := github.New(github.Options{
		BaseURL: g.apiURL, Token: token,
		Owner: g.owner, Repo: g.repo, PR: g.pr,
		Marker:     marker,
		MaxRetries: 2, RetryBaseDelay: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	return c
}

// api calls Gitea's own API with the admin token, outside the client.
func (g gitea) api(t *testing.T, method, path string, in, out any) {
	t.Helper()
	g.apiAs(t, g.token, method, path, in, out)
}

// apiAs calls Gitea's API with token.
func (g gitea) apiAs(t *testing.T, token, method, path string, in, out any) {
	t.Helper()
	var body *strings.Reader
	if in != nil {
		data, err := json.Marshal(in)
		require.NoError(t, err)
		body = strings.NewReader(string(data))
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx(t), method, strings.TrimSuffix(g.apiURL, "/")+path, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "token "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s", method, path)
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
}

type giteaComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
}

// comment is a giteaComment with its author left out, for comparisons.
func comment(id int64, body string) giteaComment { return giteaComment{ID: id, Body: body} }

func withoutUsers(cs []giteaComment) []giteaComment {
	out := make([]giteaComment, len(cs))
	for i, c := range cs {
		out[i] = comment(c.ID, c.Body)
	}
	return out
}

// marked lists the PR's comments carrying marker, through Gitea's API.
func (g gitea) marked(t *testing.T, marker string) []giteaComment {
	t.Helper()
	var all []giteaComment
	g.api(t, http.MethodGet, fmt.Sprintf("/repos/%s/%s/issues/%d/comments", g.owner, g.repo, g.pr), nil, &all)
	var out []giteaComment
	for _, c := range all {
		if strings.Contains(c.Body, "<!-- "+marker+" -->") {
			out = append(out, c)
		}
	}
	return out
}

func TestGiteaStickyComment(t *testing.T) {
	g := giteaEnv(t)
	marker := uniqueMarker(t)
	c := g.client(t, marker, g.token)
	line := "<!-- " + marker + " -->"

	first, err := c.UpsertComment(ctx(t), "## reachgate\n\nfirst run: no change")
	require.NoError(t, err)
	assert.Equal(t, github.Created, first.Action)
	assert.Contains(t, first.URL, fmt.Sprintf("/pulls/%d#issuecomment-%d", g.pr, first.CommentID))

	second, err := c.UpsertComment(ctx(t), "## reachgate\n\nsecond run: 1 connection opened")
	require.NoError(t, err)
	assert.Equal(t, github.Updated, second.Action)
	assert.Equal(t, first.CommentID, second.CommentID)

	third, err := c.UpsertComment(ctx(t), "## reachgate\n\nsecond run: 1 connection opened")
	require.NoError(t, err)
	assert.Equal(t, github.Unchanged, third.Action)
	assert.Equal(t, first.CommentID, third.CommentID)

	assert.Equal(t, []giteaComment{comment(first.CommentID, line+"\n## reachgate\n\nsecond run: 1 connection opened")}, withoutUsers(g.marked(t, marker)))
}

func TestGiteaDuplicatesCleanedUp(t *testing.T) {
	g := giteaEnv(t)
	marker := uniqueMarker(t)
	line := "<!-- " + marker + " -->"
	path := fmt.Sprintf("/repos/%s/%s/issues/%d/comments", g.owner, g.repo, g.pr)
	var ids []int64
	for i := range 3 {
		var created giteaComment
		g.api(t, http.MethodPost, path, map[string]string{"body": fmt.Sprintf("%s\nleft over %d", line, i)}, &created)
		ids = append(ids, created.ID)
		g.api(t, http.MethodPost, path, map[string]string{"body": "a human comment in between"}, nil)
	}

	res, err := g.client(t, marker, g.token).UpsertComment(ctx(t), "latest")
	require.NoError(t, err)
	assert.Equal(t, github.Updated, res.Action)
	assert.Equal(t, ids[0], res.CommentID, "the oldest is kept")
	assert.Equal(t, ids[1:], res.Deleted)
	assert.Equal(t, []giteaComment{comment(ids[0], line+"\nlatest")}, withoutUsers(g.marked(t, marker)))
}

// TestGiteaSpoofedMarker: another user (not a collaborator) posts
// comments that start with the gate's marker, one before the gate's
// first run and one after. The gate, running as the repository's user,
// creates and then updates its own comment; the other user's comments are
// neither edited nor deleted.
func TestGiteaSpoofedMarker(t *testing.T) {
	g := giteaEnv(t)
	marker := uniqueMarker(t)
	line := "<!-- " + marker + " -->"
	path := fmt.Sprintf("/repos/%s/%s/issues/%d/comments", g.owner, g.repo, g.pr)
	var before, after giteaComment
	g.apiAs(t, g.otherToken, http.MethodPost, path, map[string]string{"body": line + "\n## ✅ reachgate: all environments pass"}, &before)
	require.Equal(t, g.otherUser, before.User.Login)

	c := g.client(t, marker, g.token)
	login, err := c.Identity(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, g.owner, login, "GET /user names the token's user")

	first, err := c.UpsertComment(ctx(t), "first run")
	require.NoError(t, err)
	assert.Equal(t, github.Created, first.Action)
	assert.NotEqual(t, before.ID, first.CommentID)
	assert.Empty(t, first.Deleted)

	g.apiAs(t, g.otherToken, http.MethodPost, path, map[string]string{"body": line + "\nanother planted one"}, &after)
	second, err := g.client(t, marker, g.token).UpsertComment(ctx(t), "second run")
	require.NoError(t, err)
	assert.Equal(t, github.Updated, second.Action)
	assert.Equal(t, first.CommentID, second.CommentID)
	assert.Empty(t, second.Deleted, "the newer spoof is not a duplicate to delete")

	got := g.marked(t, marker)
	require.Len(t, got, 3)
	assert.Equal(t, []giteaComment{
		comment(before.ID, line+"\n## ✅ reachgate: all environments pass"),
		comment(first.CommentID, line+"\nsecond run"),
		comment(after.ID, line+"\nanother planted one"),
	}, withoutUsers(got))
	assert.Equal(t, []string{g.otherUser, g.owner, g.otherUser}, []string{got[0].User.Login, got[1].User.Login, got[2].User.Login})
}

// TestGiteaConcurrentRuns races several runs for the same marker: however
// they interleave, one comment remains, with one of their bodies.
func TestGiteaConcurrentRuns(t *testing.T) {
	g := giteaEnv(t)
	marker := uniqueMarker(t)
	const runs = 4
	var wg sync.WaitGroup
	errs := make([]error, runs)
	results := make([]github.Result, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = g.client(t, marker, g.token).UpsertComment(ctx(t), fmt.Sprintf("run %d", i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "run %d", i)
		t.Logf("run %d: %+v", i, results[i])
	}
	got := g.marked(t, marker)
	require.Len(t, got, 1, "exactly one sticky comment: %+v", got)
	assert.Regexp(t, `\nrun [0-3]$`, got[0].Body)
}

func TestGiteaCommitStatus(t *testing.T) {
	g := giteaEnv(t)
	c := g.client(t, uniqueMarker(t), g.token)
	statusContext := fmt.Sprintf("reachgate/e2e-%d", time.Now().UnixNano())
	require.NoError(t, c.SetStatus(ctx(t), g.headSHA, statusContext, github.StatePending, "checking 3 overlays", ""))
	require.NoError(t, c.SetStatus(ctx(t), g.headSHA, statusContext, github.StateFailure, "1 rule violation", "http://127.0.0.1/run/1"))

	// Gitea names the state field "status" in its responses (GitHub: "state").
	var statuses []struct {
		Status      string `json:"status"`
		State       string `json:"state"`
		Context     string `json:"context"`
		Description string `json:"description"`
		TargetURL   string `json:"target_url"`
	}
	g.api(t, http.MethodGet, fmt.Sprintf("/repos/%s/%s/statuses/%s", g.owner, g.repo, g.headSHA), nil, &statuses)
	var mine []string
	for _, s := range statuses {
		if s.Context == statusContext {
			mine = append(mine, s.Status+"|"+s.State+"|"+s.Description+"|"+s.TargetURL)
		}
	}
	assert.ElementsMatch(t, []string{"pending||checking 3 overlays|", "failure||1 rule violation|http://127.0.0.1/run/1"}, mine)
}

func TestGiteaErrors(t *testing.T) {
	g := giteaEnv(t)
	marker := uniqueMarker(t)

	_, err := g.client(t, marker, g.roToken).UpsertComment(ctx(t), "x")
	require.ErrorIs(t, err, github.ErrReadOnly, "a read-only token")
	assert.NotContains(t, err.Error(), g.roToken)
	assert.Empty(t, g.marked(t, marker))

	_, err = g.client(t, marker, "0123456789abcdef0123456789abcdef01234567").UpsertComment(ctx(t), "x")
	require.ErrorIs(t, err, github.ErrUnauthorized, "an unknown token")

	// (Gitea answers 500, not 404, for comments of a pull request that does
	// not exist; a repository that does not exist is a 404 as on GitHub.)
	c, err := github.New(github.Options{BaseURL: g.apiURL, Token: g.token, Owner: g.owner, Repo: "no-such-repo", PR: g.pr, Marker: marker})
	require.NoError(t, err)
	_, err = c.UpsertComment(ctx(t), "x")
	require.ErrorIs(t, err, github.ErrNotFound, "a repository that does not exist")
	assert.NotContains(t, err.Error(), g.token)
}
