package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const prJSON = `{"number":7,"state":"open","head":{"ref":"feature","sha":"0123456789abcdef0123456789abcdef01234567"}}`

// recorder is a server that answers a pull request and remembers the
// Authorization headers it was sent.
type recorder struct {
	mu    sync.Mutex
	auths []string
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.auths = append(rec.auths, r.Header.Get("Authorization"))
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(prJSON))
}

func (rec *recorder) Auths() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.auths...)
}

// TestNoTokenOnRedirectToAnotherOrigin: the API redirects to another
// server (here the same address on another port, which Go's own redirect
// rule would still trust); that server must not see the token.
func TestNoTokenOnRedirectToAnotherOrigin(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			t.Parallel()
			other := &recorder{}
			b := httptest.NewServer(http.HandlerFunc(other.serve))
			t.Cleanup(b.Close)

			c, mux, _, _ := setup(t)
			mux.HandleFunc("/repos/o/r/pulls/7", func(w http.ResponseWriter, r *http.Request) {
				testHeaders(t, r)
				http.Redirect(w, r, b.URL+"/elsewhere/pulls/7", code)
			})
			head, err := c.PullRequestHead(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "0123456789abcdef0123456789abcdef01234567", head, "the redirect was followed")
			assert.Equal(t, []string{""}, other.Auths(), "no Authorization header at the other origin")
		})
	}
}

// TestTokenKeptOnSameOriginRedirect: GitHub redirects requests for a
// renamed repository within the API; those keep the token.
func TestTokenKeptOnSameOriginRedirect(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("/repos/o/r/pulls/7", func(w http.ResponseWriter, r *http.Request) {
		testHeaders(t, r)
		http.Redirect(w, r, apiPrefix+"/repos/o/renamed/pulls/7", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/repos/o/renamed/pulls/7", func(w http.ResponseWriter, r *http.Request) {
		testHeaders(t, r) // Authorization: Bearer <token>
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(prJSON))
	})
	head, err := c.PullRequestHead(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef0123456789abcdef01234567", head)
}

func TestOriginOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://api.github.com/":           "https://api.github.com:443",
		"https://API.GitHub.com:443/x":      "https://api.github.com:443",
		"http://api.github.com/":            "http://api.github.com:80",
		"http://127.0.0.1:3000/api/v1/":     "http://127.0.0.1:3000",
		"https://[::1]:8443/":               "https://[::1]:8443",
		"https://api.github.com.evil.test/": "https://api.github.com.evil.test:443",
	} {
		u, err := apiRoot(in)
		require.NoError(t, err)
		assert.Equal(t, want, originOf(u), in)
	}
}
