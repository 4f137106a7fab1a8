package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const bot = "github-actions[bot]"

func TestUpsertCommentCreates(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	var lists, posts int
	mux.HandleFunc("/repos/o/r/issues/7/comments", func(w http.ResponseWriter, r *http.Request) {
		testHeaders(t, r)
		rateHeaders(w, 4990, start.Add(time.Hour))
		switch r.Method {
		case http.MethodGet:
			lists++
			assert.Equal(t, "100", r.URL.Query().Get("per_page"))
			assert.Equal(t, "1", r.URL.Query().Get("page"))
			if posts == 0 {
				fmt.Fprint(w, `[{"id":1,"body":"LGTM","user":{"login":"octocat"}}]`)
				return
			}
			fmt.Fprint(w, `[{"id":1,"body":"LGTM","user":{"login":"octocat"}},`+
				`{"id":2,"body":"<!-- reachgate:policy-gate/check -->\nhello","user":{"login":"github-actions[bot]"}}]`)
		case http.MethodPost:
			posts++
			testBody(t, r, `{"body":"<!-- reachgate:policy-gate/check -->\nhello"}`)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":2,"body":"<!-- reachgate:policy-gate/check -->\nhello",`+
				`"html_url":"https://github.com/o/r/pull/7#issuecomment-2","user":{"login":"github-actions[bot]"}}`)
		default:
			t.Errorf("unexpected %s", r.Method)
		}
	})

	res, err := c.UpsertComment(context.Background(), "hello")
	require.NoError(t, err)
	assert.Equal(t, Result{Action: Created, CommentID: 2, URL: "https://github.com/o/r/pull/7#issuecomment-2"}, res)
	assert.Equal(t, 1, posts)
	// list, list again right before creating, list after creating
	assert.Equal(t, 3, lists)
}

func TestUpsertCommentUpdatesOnlyItsOwn(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	other := f.add("octocat", "see <!-- reachgate:policy-gate/check --> in the middle is not a marker")
	otherKey := f.add(bot, "<!-- reachgate:other-key -->\nnot ours")
	prefixKey := f.add(bot, "<!-- reachgate:policy-gate/check-extra -->\nnot ours either")
	mine := f.add(bot, markerLine+"\nold body")
	c, _ := f.client(t)

	res, err := c.UpsertComment(context.Background(), "new body")
	require.NoError(t, err)
	assert.Equal(t, Result{Action: Updated, CommentID: mine, URL: fmt.Sprintf("https://github.com/o/r/pull/7#issuecomment-%d", mine)}, res)
	assert.Equal(t, []string{
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		fmt.Sprintf("PATCH /repos/o/r/issues/comments/%d", mine),
	}, f.Requests())
	assert.Equal(t, []fakeComment{
		{other, "see <!-- reachgate:policy-gate/check --> in the middle is not a marker", "octocat"},
		{otherKey, "<!-- reachgate:other-key -->\nnot ours", bot},
		{prefixKey, "<!-- reachgate:policy-gate/check-extra -->\nnot ours either", bot},
		{mine, markerLine + "\nnew body", bot},
	}, f.Comments())
}

func TestUpsertCommentUnchanged(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	// Servers may store CRLF and drop the trailing newline.
	mine := f.add(bot, markerLine+"\r\n| a | b |\r\n|---|---|")
	c, _ := f.client(t)

	res, err := c.UpsertComment(context.Background(), "| a | b |\n|---|---|\n")
	require.NoError(t, err)
	assert.Equal(t, Unchanged, res.Action)
	assert.Equal(t, mine, res.CommentID)
	assert.Equal(t, []string{"GET /repos/o/r/issues/7/comments?page=1&per_page=100"}, f.Requests())
}

func TestUpsertCommentBodyAlreadyMarked(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c, _ := f.client(t)
	_, err := c.UpsertComment(context.Background(), markerLine+"\nbody")
	require.NoError(t, err)
	require.Len(t, f.Comments(), 1)
	assert.Equal(t, markerLine+"\nbody", f.Comments()[0].Body, "the marker is not doubled")
}

func TestUpsertCommentPaginatesToLastPage(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	for i := range 240 {
		f.add("octocat", fmt.Sprintf("comment %d", i))
	}
	mine := f.add(bot, markerLine+"\nold")
	for i := range 10 {
		f.add("octocat", fmt.Sprintf("later comment %d", i))
	}
	c, _ := f.client(t)

	res, err := c.UpsertComment(context.Background(), "new")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action)
	assert.Equal(t, mine, res.CommentID)
	assert.Equal(t, []string{
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		"GET /repos/o/r/issues/7/comments?page=2&per_page=100",
		"GET /repos/o/r/issues/7/comments?page=3&per_page=100",
		fmt.Sprintf("PATCH /repos/o/r/issues/comments/%d", mine),
	}, f.Requests())
}

func TestUpsertCommentStopsOnLinkThatDoesNotAdvance(t *testing.T) {
	t.Parallel()
	c, mux, _, url := setup(t)
	var gets int
	mux.HandleFunc("GET /repos/o/r/issues/7/comments", func(w http.ResponseWriter, r *http.Request) {
		gets++
		// A mock that always says "next is page 2".
		w.Header().Set("Link", `<`+url+`/api/v3/repos/o/r/issues/7/comments?page=2>; rel="next"`)
		fmt.Fprint(w, `[{"id":5,"body":"<!-- reachgate:policy-gate/check -->\nx","user":{"login":"github-actions[bot]"}}]`)
	})
	res, err := c.UpsertComment(context.Background(), "x")
	require.NoError(t, err)
	assert.Equal(t, Unchanged, res.Action)
	assert.Equal(t, 2, gets, "page 1 and page 2, then stop")
}

func TestUpsertCommentRaceBeforeCreate(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var theirs int64
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		// Between this run's first list and its create, another run posts.
		if n == 2 {
			theirs = f.add(bot, markerLine+"\nfrom the other run")
		}
		return false
	}
	c, _ := f.client(t)

	res, err := c.UpsertComment(context.Background(), "from this run")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action)
	assert.Equal(t, theirs, res.CommentID)
	assert.Equal(t, []string{
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		fmt.Sprintf("PATCH /repos/o/r/issues/comments/%d", theirs),
	}, f.Requests(), "no POST: the comment that appeared is updated")
	assert.Equal(t, []fakeComment{{theirs, markerLine + "\nfrom this run", bot}}, f.Comments())
}

func TestUpsertCommentRaceBothCreate(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var theirs int64
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		// Both runs listed nothing; the other run's POST lands just
		// before this run's.
		if r.Method == http.MethodPost {
			theirs = f.add(bot, markerLine+"\nfrom the other run")
		}
		return false
	}
	c, _ := f.client(t)

	res, err := c.UpsertComment(context.Background(), "from this run")
	require.NoError(t, err)
	ours := theirs + 1
	assert.Equal(t, Result{
		Action: Updated, CommentID: theirs,
		URL:     fmt.Sprintf("https://github.com/o/r/pull/7#issuecomment-%d", theirs),
		Deleted: []int64{ours},
	}, res)
	assert.Equal(t, []fakeComment{{theirs, markerLine + "\nfrom this run", bot}}, f.Comments())
	assert.Equal(t, []string{
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		"POST /repos/o/r/issues/7/comments",
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		fmt.Sprintf("PATCH /repos/o/r/issues/comments/%d", theirs),
		fmt.Sprintf("DELETE /repos/o/r/issues/comments/%d", ours),
	}, f.Requests())
}

func TestUpsertCommentCleansUpDuplicates(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	oldest := f.add(bot, markerLine+"\nfirst")
	for i := range 120 {
		f.add("octocat", fmt.Sprintf("chatter %d", i))
	}
	dup1 := f.add(bot, markerLine+"\nsecond")
	for i := range 100 {
		f.add("octocat", fmt.Sprintf("more chatter %d", i))
	}
	dup2 := f.add(bot, "\n"+markerLine+"\nthird")
	c, _ := f.client(t)

	res, err := c.UpsertComment(context.Background(), "latest")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action)
	assert.Equal(t, oldest, res.CommentID)
	assert.Equal(t, []int64{dup1, dup2}, res.Deleted)
	var marked []fakeComment
	for _, cm := range f.Comments() {
		if strings.Contains(cm.Body, markerLine) {
			marked = append(marked, cm)
		}
	}
	assert.Equal(t, []fakeComment{{oldest, markerLine + "\nlatest", bot}}, marked)
	assert.Len(t, f.Comments(), 221)
}

func TestUpsertCommentDuplicateAlreadyDeleted(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	keep := f.add(bot, markerLine+"\nsame")
	dup := f.add(bot, markerLine+"\nsame")
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodDelete {
			// A racing run deleted it first.
			ghError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/comments#delete-an-issue-comment")
			return true
		}
		return false
	}
	c, _ := f.client(t)
	res, err := c.UpsertComment(context.Background(), "same")
	require.NoError(t, err)
	assert.Equal(t, Result{Action: Unchanged, CommentID: keep, URL: fmt.Sprintf("https://github.com/o/r/pull/7#issuecomment-%d", keep), Deleted: []int64{dup}}, res)
}

func TestUpsertCommentAuthorFilter(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	spoof := f.add("mallory", markerLine+"\nplanted by somebody else")
	c, _ := f.client(t, func(o *Options) { o.CommentAuthor = bot })

	res, err := c.UpsertComment(context.Background(), "ours")
	require.NoError(t, err)
	assert.Equal(t, Created, res.Action)
	assert.NotEqual(t, spoof, res.CommentID)
	assert.Equal(t, []fakeComment{
		{spoof, markerLine + "\nplanted by somebody else", "mallory"},
		{res.CommentID, markerLine + "\nours", bot},
	}, f.Comments(), "somebody else's comment is neither edited nor deleted")
}

func TestUpsertCommentCreateFailsAfterCreating(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	// The server stores the comment and then answers 502: a retry of the
	// POST would duplicate it.
	f.afterCreate = func(w http.ResponseWriter, id int64) bool {
		ghError(w, http.StatusBadGateway, "Server Error", "")
		return true
	}
	c, h := f.client(t)

	res, err := c.UpsertComment(context.Background(), "body")
	require.NoError(t, err)
	require.Len(t, f.Comments(), 1, "never duplicated")
	assert.Equal(t, Unchanged, res.Action)
	assert.Equal(t, f.Comments()[0].ID, res.CommentID)
	assert.Equal(t, []string{
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
		"POST /repos/o/r/issues/7/comments",
		"GET /repos/o/r/issues/7/comments?page=1&per_page=100",
	}, f.Requests())
	assert.Equal(t, []time.Duration{750 * time.Millisecond}, h.Sleeps())
}

func TestUpsertCommentCreateRetriedAfter5xx(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	posts := 0
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost {
			posts++
			if posts == 1 {
				// Refused before storing anything.
				ghError(w, http.StatusServiceUnavailable, "Service Unavailable", "")
				return true
			}
		}
		return false
	}
	c, _ := f.client(t)
	res, err := c.UpsertComment(context.Background(), "body")
	require.NoError(t, err)
	assert.Equal(t, Created, res.Action)
	assert.Equal(t, 2, posts)
	assert.Len(t, f.Comments(), 1)
}

func TestUpsertCommentBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c, _ := f.client(t)
	// Characters, not bytes: "é" is two bytes.
	max := c.MaxBodyLength()
	assert.Equal(t, MaxCommentLength-len(markerLine)-1, max)

	_, err := c.UpsertComment(context.Background(), strings.Repeat("é", max+1))
	require.ErrorIs(t, err, ErrBodyTooLong)
	assert.Contains(t, err.Error(), fmt.Sprintf("65537 characters with the marker line, GitHub accepts 65536; trim the body to %d characters", max))
	assert.Empty(t, f.Requests(), "refused before any request")

	res, err := c.UpsertComment(context.Background(), strings.Repeat("é", max))
	require.NoError(t, err)
	assert.Equal(t, Created, res.Action)
}

func TestUpsertCommentNeedsMarkerAndPR(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c, _ := f.client(t, func(o *Options) { o.Marker = "" })
	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrInvalid)
	c, _ = f.client(t, func(o *Options) { o.PR = 0 })
	_, err = c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrNoPullRequest)
	assert.Empty(t, f.Requests())
}

func TestUpsertCommentContextCanceledDuringBackoff(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		ghError(w, http.StatusBadGateway, "Server Error", "")
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := f.client(t, func(o *Options) {
		o.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	})
	_, err := c.UpsertComment(ctx, "x")
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, f.Requests(), 1)
	assert.False(t, errors.Is(err, ErrServer))
}

func TestUpsertCommentRaceOtherRunDeletedOurs(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var theirs int64
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost {
			theirs = f.add(bot, markerLine+"\nsame")
		}
		return false
	}
	f.afterCreate = func(w http.ResponseWriter, id int64) bool {
		// The other run settles first and deletes this run's newer comment
		// right after it is created; this run still gets its 201.
		f.mu.Lock()
		f.comments = f.comments[:len(f.comments)-1]
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, f.commentJSON(fakeComment{ID: id, Body: markerLine + "\nsame", User: bot}))
		return true
	}
	c, _ := f.client(t)
	res, err := c.UpsertComment(context.Background(), "same")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action, "the surviving comment carries this body")
	assert.Equal(t, theirs, res.CommentID)
	assert.Empty(t, res.Deleted)
	assert.Equal(t, []fakeComment{{theirs, markerLine + "\nsame", bot}}, f.Comments())
}
