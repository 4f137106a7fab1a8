package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Anybody can post a comment that starts with the marker. Only comments
// the authenticated identity wrote are ever edited or deleted.

// TestSpoofedMarkerIsLeftAlone is the attack: mallory's comment carries
// the marker and is older than the gate's. The gate updates its own and
// neither edits nor deletes mallory's. (The identity is found as in
// GitHub Actions: GET /user is forbidden for a GITHUB_TOKEN.)
func TestSpoofedMarkerIsLeftAlone(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	spoof := f.add("mallory", markerLine+"\n## ✅ reachgate: all environments pass")
	mine := f.add(bot, markerLine+"\nold")
	c, h := f.client(t)

	res, err := c.UpsertComment(context.Background(), "new")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action)
	assert.Equal(t, mine, res.CommentID)
	assert.Empty(t, res.Deleted)
	assert.Equal(t, []fakeComment{
		{spoof, markerLine + "\n## ✅ reachgate: all environments pass", "mallory"},
		{mine, markerLine + "\nnew", bot},
	}, f.Comments())
	assert.Equal(t, 1, f.userGets)
	require.NotEmpty(t, h.logs)
	assert.Contains(t, h.logs[0], "only comments by github-actions[bot] count")
}

// TestSpoofedMarkerOnlyCreates: with only somebody else's marker comment
// there, the gate creates its own.
func TestSpoofedMarkerOnlyCreates(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	spoof := f.add("mallory", markerLine+"\nplanted")
	c, _ := f.client(t)

	res, err := c.UpsertComment(context.Background(), "ours")
	require.NoError(t, err)
	assert.Equal(t, Created, res.Action)
	assert.Equal(t, []fakeComment{
		{spoof, markerLine + "\nplanted", "mallory"},
		{res.CommentID, markerLine + "\nours", bot},
	}, f.Comments())
}

// TestIdentityFromUser: a token that may read GET /user (a personal
// token) counts that user's comments only, github-actions[bot]'s included
// among the others. /user is asked once per client.
func TestIdentityFromUser(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.self, f.readUser = "alice", true
	botsComment := f.add(bot, markerLine+"\nfrom another workflow")
	spoof := f.add("mallory", markerLine+"\nplanted")
	alices := f.add("Alice", markerLine+"\nold") // logins compare without case
	c, _ := f.client(t)

	login, err := c.Identity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "alice", login)
	for _, body := range []string{"first", "second"} {
		res, err := c.UpsertComment(context.Background(), body)
		require.NoError(t, err)
		assert.Equal(t, alices, res.CommentID)
	}
	assert.Equal(t, []fakeComment{
		{botsComment, markerLine + "\nfrom another workflow", bot},
		{spoof, markerLine + "\nplanted", "mallory"},
		{alices, markerLine + "\nsecond", "Alice"},
	}, f.Comments())
	assert.Equal(t, 1, f.userGets)
}

// TestIdentityGitHubApp: an installation token of a GitHub App may not
// read /user either, and its comments are "APP[bot]"'s. Without the
// author configured, the first guess (github-actions[bot]) finds nothing
// and the gate creates a comment; the server's answer names the app,
// which from then on is the identity: the older comment of the app is
// kept and updated, the new one deleted. One comment remains. (Were a
// comment of github-actions[bot] with the marker there, the guess would
// take it for the gate's: docs/github.md tells an app to set its login.)
func TestIdentityGitHubApp(t *testing.T) {
	t.Parallel()
	const app = "reachgate-app[bot]"
	f := newFake(t)
	f.self = app
	spoof := f.add("mallory", markerLine+"\nplanted")
	old := f.add(app, markerLine+"\nold")
	c, h := f.client(t)

	res, err := c.UpsertComment(context.Background(), "new")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action)
	assert.Equal(t, old, res.CommentID)
	assert.Len(t, res.Deleted, 1)
	assert.Equal(t, []fakeComment{
		{spoof, markerLine + "\nplanted", "mallory"},
		{old, markerLine + "\nnew", app},
	}, f.Comments())
	assert.Contains(t, strings.Join(h.logs, "\n"), "the comment was created as reachgate-app[bot], not github-actions[bot]")
	login, err := c.Identity(context.Background())
	require.NoError(t, err)
	assert.Equal(t, app, login)

	// Configured, the app finds its comment at once and never asks /user.
	f2 := newFake(t)
	f2.self = app
	mine := f2.add(app, markerLine+"\nold")
	spoof2 := f2.add(bot, markerLine+"\nnot ours")
	c2, _ := f2.client(t, func(o *Options) { o.CommentAuthor = app })
	res, err = c2.UpsertComment(context.Background(), "new")
	require.NoError(t, err)
	assert.Equal(t, Result{Action: Updated, CommentID: mine, URL: res.URL}, res)
	assert.Equal(t, 0, f2.userGets)
	assert.Equal(t, []fakeComment{{mine, markerLine + "\nnew", app}, {spoof2, markerLine + "\nnot ours", bot}}, f2.Comments())
}

// TestIdentityErrors: a token GitHub does not know fails before any
// comment is read; the token is not in the error.
func TestIdentityErrors(t *testing.T) {
	t.Parallel()
	var comments int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/user" {
			ghError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
			return
		}
		comments++
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, Token: testToken, Owner: "o", Repo: "r", PR: 7, Marker: testMarker})
	require.NoError(t, err)
	_, err = c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.Contains(t, err.Error(), "get the authenticated user: 401")
	assert.NotContains(t, err.Error(), testToken)
	assert.Zero(t, comments, "no comment was read or written")
}
