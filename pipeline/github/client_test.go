package github

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := Options{Token: "t", Owner: "o", Repo: "r", PR: 1, Marker: "reachgate:x"}
	cases := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no token", func(o *Options) { o.Token = "" }, "github client: no token"},
		{"no owner", func(o *Options) { o.Owner = "" }, "github client: owner and repository are required"},
		{"slash in repo", func(o *Options) { o.Repo = "a/b" }, `github client: invalid repository "o"/"a/b"`},
		{"negative PR", func(o *Options) { o.PR = -1 }, "github client: invalid pull request number -1"},
		{"marker breaks the comment", func(o *Options) { o.Marker = "a-->b" }, `must not contain "--", ">" or a newline`},
		{"marker with newline", func(o *Options) { o.Marker = "a\nb" }, `must not contain`},
		{"bad scheme", func(o *Options) { o.BaseURL = "ftp://x/" }, "want http(s)://host[/path/]"},
		{"credentials in URL", func(o *Options) { o.BaseURL = "https://user:pw@ghe.example.com/" }, "must not carry credentials"},
	}
	for _, tc := range cases {
		o := ok
		tc.mod(&o)
		_, err := New(o)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
	}
	_, err := New(ok)
	require.NoError(t, err)
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                                  "https://api.github.com/",
		"https://ghe.example.com/api/v3":    "https://ghe.example.com/api/v3/",
		"https://ghe.example.com/api/v3/":   "https://ghe.example.com/api/v3/",
		"http://127.0.0.1:3000/api/v1/":     "http://127.0.0.1:3000/api/v1/",
		"http://127.0.0.1:3000/api/v1":      "http://127.0.0.1:3000/api/v1/",
		"http://127.0.0.1:4010":             "http://127.0.0.1:4010/",
		"https://api.github.com":            "https://api.github.com/",
		"http://127.0.0.1:4010/prism/root/": "http://127.0.0.1:4010/prism/root/",
	}
	for in, want := range cases {
		c, err := New(Options{BaseURL: in, Token: "t", Owner: "o", Repo: "r", PR: 1, Marker: "k"})
		require.NoError(t, err, in)
		assert.Equal(t, want, c.BaseURL(), in)
	}
	c, err := New(Options{BaseURL: "https://ghe.example.com/api/v3", Token: "t", Owner: "o", Repo: "r"})
	require.NoError(t, err)
	assert.Equal(t, "https://ghe.example.com/api/uploads/", c.gh.UploadURL.String())
}

// TestGiteaStylePath checks that a non-GitHub API root is used as given:
// requests go to /api/v1/repos/..., not /api/v1/api/v3/repos/....
func TestGiteaStylePath(t *testing.T) {
	t.Parallel()
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		switch {
		case r.URL.Path == "/api/v1/user":
			fmt.Fprint(w, `{"login":"gitea-user"}`)
		case r.Method == http.MethodGet:
			fmt.Fprint(w, `[]`)
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":3,"body":"x","html_url":"http://gitea/o/r/pulls/1#issuecomment-3","user":{"login":"gitea-user"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/api/v1", Token: "t", Owner: "o", Repo: "r", PR: 1, Marker: "k"})
	require.NoError(t, err)
	_, err = c.UpsertComment(context.Background(), "x")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"GET /api/v1/user",
		"GET /api/v1/repos/o/r/issues/1/comments", "GET /api/v1/repos/o/r/issues/1/comments",
		"POST /api/v1/repos/o/r/issues/1/comments", "GET /api/v1/repos/o/r/issues/1/comments",
	}, paths)
}

func TestSetStatus(t *testing.T) {
	t.Parallel()
	c, mux, h, _ := setup(t)
	sha := "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	calls := 0
	mux.HandleFunc("/repos/o/r/statuses/"+sha, func(w http.ResponseWriter, r *http.Request) {
		calls++
		testMethod(t, r, http.MethodPost)
		testHeaders(t, r)
		testBody(t, r, `{"state":"failure","target_url":"https://ci.example.com/run/1",`+
			`"description":"2 rule violations, 1 connection opened in prod","context":"reachgate/policy-gate"}`)
		if calls == 1 {
			// A status may be set twice without harm: retried like a read.
			ghError(w, http.StatusBadGateway, "Server Error", "")
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"url":"https://api.github.com/repos/o/r/statuses/`+sha+`","id":1,"state":"failure",`+
			`"description":"2 rule violations, 1 connection opened in prod","context":"reachgate/policy-gate"}`)
	})
	err := c.SetStatus(context.Background(), sha, "reachgate/policy-gate", StateFailure,
		"2 rule violations, 1 connection opened in prod", "https://ci.example.com/run/1")
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Len(t, h.Sleeps(), 1)
}

func TestSetStatusTruncatesDescription(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	sha := strings.Repeat("c", 40)
	long := strings.Repeat("ü", 200)
	mux.HandleFunc("POST /repos/o/r/statuses/"+sha, func(w http.ResponseWriter, r *http.Request) {
		testBody(t, r, `{"state":"pending","description":"`+strings.Repeat("ü", 139)+`…","context":"reachgate"}`)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{}`)
	})
	require.NoError(t, c.SetStatus(context.Background(), sha, "reachgate", StatePending, long, ""))
}

func TestSetStatusValidates(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("no request expected, got %s %s", r.Method, r.URL.Path)
	})
	sha := strings.Repeat("d", 40)
	cases := []struct{ sha, ctx, state, want string }{
		{sha, "reachgate", "green", `state "green" is not one of pending, success, failure, error`},
		{"main", "reachgate", StateSuccess, `"main" is not a commit SHA`},
		{sha, "", StateSuccess, "empty status context"},
	}
	for _, tc := range cases {
		err := c.SetStatus(context.Background(), tc.sha, tc.ctx, tc.state, "", "")
		require.ErrorIs(t, err, ErrInvalid)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestPullRequestHead(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("GET /repos/o/r/pulls/7", func(w http.ResponseWriter, r *http.Request) {
		testHeaders(t, r)
		fmt.Fprint(w, `{"number":7,"head":{"ref":"feature","sha":"b7c1e0d2f3a4958677a8b9c0d1e2f3a4b5c6d7e8"},"base":{"ref":"main","sha":"1a2b"}}`)
	})
	sha, err := c.PullRequestHead(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "b7c1e0d2f3a4958677a8b9c0d1e2f3a4b5c6d7e8", sha)
}
