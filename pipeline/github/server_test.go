package github

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test servers here speak GitHub's wire format: JSON shaped like the
// REST API's, Link headers for pagination, X-RateLimit-* headers on every
// response, and GitHub's error bodies.

const (
	testToken  = "ghp_T0kenThatMustNeverLeak1234567890abcd"
	testMarker = "reachgate:policy-gate/check"
	markerLine = "<!-- reachgate:policy-gate/check -->"
	apiPrefix  = "/api/v3"
)

// start is the fake clock's start; reset times are relative to it.
var start = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// harness holds what a test looks at besides the server: the waits the
// client asked for and its log lines.
type harness struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	logs   []string
	// user answers GET /user when set; else 403, as for a GITHUB_TOKEN.
	user http.HandlerFunc
}

func (h *harness) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// Sleep records d and moves the fake clock on, without sleeping.
func (h *harness) Sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.sleeps = append(h.sleeps, d)
	h.now = h.now.Add(d)
	h.mu.Unlock()
	return ctx.Err()
}

func (h *harness) Logf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, fmt.Sprintf(format, args...))
}

func (h *harness) Sleeps() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sleeps)
}

// setup starts a server that serves mux under /api/v3/, as go-github's own
// tests do, and a Client for o/r#7 pointing at it.
func setup(t *testing.T, mods ...func(*Options)) (*Client, *http.ServeMux, *harness, string) {
	t.Helper()
	mux := http.NewServeMux()
	api := http.NewServeMux()
	api.Handle(apiPrefix+"/", http.StripPrefix(apiPrefix, mux))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Client.BaseURL path prefix is not preserved in the request URL: "+r.URL.Path, http.StatusBadRequest)
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	h := &harness{now: start}
	// What GitHub answers a GITHUB_TOKEN: it may not read /user.
	mux.HandleFunc("/user", func(w http.ResponseWriter, r *http.Request) {
		if h.user != nil {
			h.user(w, r)
			return
		}
		ghError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
	})

	opts := Options{
		BaseURL: srv.URL + apiPrefix + "/",
		Token:   testToken,
		Owner:   "o", Repo: "r", PR: 7,
		Marker: testMarker,
		Sleep:  h.Sleep, Now: h.Now, Logf: h.Logf,
		Jitter: func() float64 { return 0.5 },
	}
	for _, m := range mods {
		m(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	return c, mux, h, srv.URL
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	assert.Equal(t, want, r.Method, "method of %s", r.URL.Path)
}

// testHeaders checks what go-github and the client put on every request.
func testHeaders(t *testing.T, r *http.Request) {
	t.Helper()
	assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
	// go-github asks for the v3 media type, or for comments the reactions
	// preview ("squirrel-girl").
	assert.Contains(t, []string{"application/vnd.github.v3+json", "application/vnd.github.squirrel-girl-preview"}, r.Header.Get("Accept"))
	assert.Equal(t, "reachgate", r.Header.Get("User-Agent"))
}

// testBody checks a JSON request body.
func testBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.JSONEq(t, want, string(got), "body of %s %s", r.Method, r.URL.Path)
}

// rateHeaders sets GitHub's rate-limit headers.
func rateHeaders(w http.ResponseWriter, remaining int, reset time.Time) {
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	w.Header().Set("X-RateLimit-Resource", "core")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ghError writes GitHub's error body.
func ghError(w http.ResponseWriter, status int, message, doc string) {
	writeJSON(w, status, map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)})
}

// fakeGitHub is a stateful GitHub for one repository "o/r": issue comments
// and commit statuses, with faults injected through before.
type fakeGitHub struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	comments []fakeComment
	nextID   int64
	statuses []map[string]any
	requests []string
	// before runs first for every request; returning true means it answered.
	before func(w http.ResponseWriter, r *http.Request, n int) bool
	// afterCreate runs after a comment was stored, before the response.
	afterCreate func(w http.ResponseWriter, id int64) bool
	// self is the login of the token's owner: comments it creates are
	// theirs. readUser lets the token read GET /user (a personal token);
	// without it /user is forbidden, as for a GITHUB_TOKEN or an app.
	self     string
	readUser bool
	userGets int
}

type fakeComment struct {
	ID   int64
	Body string
	User string
}

func newFake(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t, nextID: 1000, self: "github-actions[bot]"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a Client for o/r#7 on the fake.
func (f *fakeGitHub) client(t *testing.T, mods ...func(*Options)) (*Client, *harness) {
	h := &harness{now: start}
	opts := Options{
		BaseURL: f.srv.URL + apiPrefix + "/",
		Token:   testToken,
		Owner:   "o", Repo: "r", PR: 7,
		Marker: testMarker,
		Sleep:  h.Sleep, Now: h.Now, Logf: h.Logf,
		Jitter: func() float64 { return 0.5 },
	}
	for _, m := range mods {
		m(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	return c, h
}

// add stores a comment as if somebody had posted it; returns its ID.
func (f *fakeGitHub) add(user, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(user, body)
}

func (f *fakeGitHub) addLocked(user, body string) int64 {
	f.nextID++
	f.comments = append(f.comments, fakeComment{ID: f.nextID, Body: body, User: user})
	return f.nextID
}

func (f *fakeGitHub) Comments() []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.comments)
}

func (f *fakeGitHub) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeGitHub) commentJSON(c fakeComment) map[string]any {
	created := start.Add(time.Duration(c.ID) * time.Second).Format(time.RFC3339)
	return map[string]any{
		"id":                 c.ID,
		"node_id":            "IC_kwDO" + strconv.FormatInt(c.ID, 10),
		"url":                fmt.Sprintf("%s/api/v3/repos/o/r/issues/comments/%d", f.srv.URL, c.ID),
		"html_url":           fmt.Sprintf("https://github.com/o/r/pull/7#issuecomment-%d", c.ID),
		"issue_url":          f.srv.URL + "/api/v3/repos/o/r/issues/7",
		"body":               c.Body,
		"user":               map[string]any{"login": c.User, "id": 41898282, "type": "Bot"},
		"created_at":         created,
		"updated_at":         created,
		"author_association": "NONE",
	}
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == apiPrefix+"/user" {
		// Kept out of requests and before: the tests of the comment
		// traffic count and fault those requests only.
		assert.Equal(f.t, "Bearer "+testToken, r.Header.Get("Authorization"))
		f.mu.Lock()
		f.userGets++
		self, readUser := f.self, f.readUser
		f.mu.Unlock()
		rateHeaders(w, 4999, start.Add(time.Hour))
		if !readUser {
			ghError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"login": self, "id": 1, "type": "User"})
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+strings.TrimPrefix(r.URL.Path, apiPrefix)+queryOf(r.URL))
	n := len(f.requests)
	before := f.before
	f.mu.Unlock()

	assert.Equal(f.t, "Bearer "+testToken, r.Header.Get("Authorization"))
	rateHeaders(w, 4999-n, start.Add(time.Hour))
	if before != nil && before(w, r, n) {
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, apiPrefix+"/repos/o/r/")
	if !ok {
		ghError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	switch {
	case path == "issues/7/comments" && r.Method == http.MethodGet:
		f.list(w, r)
	case path == "issues/7/comments" && r.Method == http.MethodPost:
		f.create(w, r)
	case strings.HasPrefix(path, "issues/comments/"):
		id, err := strconv.ParseInt(strings.TrimPrefix(path, "issues/comments/"), 10, 64)
		if err != nil {
			ghError(w, http.StatusNotFound, "Not Found", "")
			return
		}
		f.one(w, r, id)
	case strings.HasPrefix(path, "statuses/") && r.Method == http.MethodPost:
		var st map[string]any
		require.NoError(f.t, json.NewDecoder(r.Body).Decode(&st))
		f.mu.Lock()
		f.statuses = append(f.statuses, st)
		f.mu.Unlock()
		st["id"] = 1
		st["url"] = f.srv.URL + "/api/v3/repos/o/r/statuses/" + strings.TrimPrefix(path, "statuses/")
		writeJSON(w, http.StatusCreated, st)
	default:
		ghError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

func queryOf(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.Query().Encode()
}

func (f *fakeGitHub) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	f.mu.Lock()
	all := slices.Clone(f.comments)
	f.mu.Unlock()
	last := max(1, (len(all)+per-1)/per)
	out := []map[string]any{}
	for i := (page - 1) * per; i < min(page*per, len(all)); i++ {
		out = append(out, f.commentJSON(all[i]))
	}
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	require.NoError(f.t, json.NewDecoder(r.Body).Decode(&in))
	f.mu.Lock()
	id := f.addLocked(f.self, in.Body)
	c := f.comments[len(f.comments)-1]
	after := f.afterCreate
	f.mu.Unlock()
	if after != nil && after(w, id) {
		return
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v3/repos/o/r/issues/comments/%d", f.srv.URL, id))
	writeJSON(w, http.StatusCreated, f.commentJSON(c))
}

func (f *fakeGitHub) one(w http.ResponseWriter, r *http.Request, id int64) {
	f.mu.Lock()
	idx := slices.IndexFunc(f.comments, func(c fakeComment) bool { return c.ID == id })
	f.mu.Unlock()
	if idx < 0 {
		ghError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/comments")
		return
	}
	switch r.Method {
	case http.MethodPatch:
		var in struct {
			Body string `json:"body"`
		}
		require.NoError(f.t, json.NewDecoder(r.Body).Decode(&in))
		f.mu.Lock()
		f.comments[idx].Body = in.Body
		c := f.comments[idx]
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, f.commentJSON(c))
	case http.MethodDelete:
		f.mu.Lock()
		f.comments = slices.Delete(f.comments, idx, idx+1)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		ghError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "")
	}
}
