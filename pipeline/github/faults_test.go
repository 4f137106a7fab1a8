package github

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const listPath = "GET /repos/o/r/issues/7/comments?page=1&per_page=100"

func TestRetries5xxThenSucceeds(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	mine := f.add(bot, markerLine+"\nold")
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch n {
		case 1:
			ghError(w, http.StatusInternalServerError, "Server Error", "")
			return true
		case 2:
			// A proxy's 502 has an HTML body, not JSON.
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
			return true
		}
		return false
	}
	c, h := f.client(t, func(o *Options) { o.CommentAuthor = bot })

	res, err := c.UpsertComment(context.Background(), "new")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action)
	assert.Equal(t, mine, res.CommentID)
	assert.Equal(t, []string{listPath, listPath, listPath, fmt.Sprintf("PATCH /repos/o/r/issues/comments/%d", mine)}, f.Requests())
	// base 1s doubling, the upper half jittered (jitter 0.5 here)
	assert.Equal(t, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}, h.Sleeps())
	require.Len(t, h.logs, 2)
	assert.Contains(t, h.logs[0], "500 Internal Server Error; retry 1 of 4")
	assert.Contains(t, h.logs[1], "502 Bad Gateway; retry 2 of 4")
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	t.Parallel()
	p := newRetryPolicy(Options{RetryBaseDelay: time.Second, RetryMaxDelay: 10 * time.Second, Jitter: func() float64 { return 0 }}, newRedactor("x"))
	var got []time.Duration
	for n := range 6 {
		got = append(got, p.backoff(n))
	}
	assert.Equal(t, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, got)
	p.jitter = func() float64 { return 0.999999 }
	assert.InDelta(t, float64(10*time.Second), float64(p.backoff(10)), float64(time.Millisecond))
}

func TestPermanent5xx(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		ghError(w, http.StatusInternalServerError, "Server Error", "")
		return true
	}
	c, h := f.client(t, func(o *Options) { o.MaxRetries = 3 })

	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrServer)
	assert.Equal(t, "list comments on o/r#7: 500 server error: Server Error", err.Error())
	assert.Len(t, f.Requests(), 4, "first attempt and 3 retries")
	assert.Len(t, h.Sleeps(), 3)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusInternalServerError, e.Status)
}

func TestNoRetriesWhenDisabled(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		ghError(w, http.StatusBadGateway, "Bad Gateway", "")
		return true
	}
	c, h := f.client(t, func(o *Options) { o.MaxRetries = -1 })
	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrServer)
	assert.Len(t, f.Requests(), 1)
	assert.Empty(t, h.Sleeps())
}

func TestPrimaryRateLimitWaitsForReset(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 1 {
					rateHeaders(w, 0, start.Add(90*time.Second))
					ghError(w, status, "API rate limit exceeded for installation ID 123.", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
					return true
				}
				return false
			}
			c, h := f.client(t, func(o *Options) { o.CommentAuthor = bot })
			res, err := c.UpsertComment(context.Background(), "x")
			require.NoError(t, err)
			assert.Equal(t, Created, res.Action)
			assert.Equal(t, []time.Duration{91 * time.Second}, h.Sleeps(), "until the reset, plus a second")
			assert.Contains(t, h.logs[0], "primary rate limit; retry 1 of 4 in 1m31s")
		})
	}
}

func TestPrimaryRateLimitTooFarAway(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		rateHeaders(w, 0, start.Add(47*time.Minute))
		ghError(w, http.StatusForbidden, "API rate limit exceeded for installation ID 123.", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
		return true
	}
	c, h := f.client(t, func(o *Options) { o.MaxRateLimitWait = 5 * time.Minute })

	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, "list comments on o/r#7: 403 rate limited: primary rate limit exhausted; it resets at 2026-03-14T15:56:26Z (in 47m0s), "+
		"later than this client waits (5m0s) (API rate limit exceeded for installation ID 123.)", err.Error())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, start.Add(47*time.Minute), e.Reset.UTC())
	assert.Empty(t, h.Sleeps())
	assert.Len(t, f.Requests(), 1)
}

func TestPrimaryRateLimitUsedUpBySuccess(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.add(bot, markerLine+"\nold")
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			// The last request this hour succeeds: go-github alone would
			// refuse the next one without asking.
			rateHeaders(w, 0, start.Add(20*time.Second))
		}
		return false
	}
	c, h := f.client(t)
	res, err := c.UpsertComment(context.Background(), "new")
	require.NoError(t, err)
	assert.Equal(t, Updated, res.Action)
	assert.Equal(t, []time.Duration{21 * time.Second}, h.Sleeps())
	assert.Len(t, f.Requests(), 2)
}

func TestSecondaryRateLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   time.Duration
	}{
		{"retry-after", http.StatusForbidden, map[string]string{"Retry-After": "7"},
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", 7 * time.Second},
		{"retry-after date", http.StatusTooManyRequests, map[string]string{"Retry-After": start.Add(12 * time.Second).Format(http.TimeFormat)},
			"too many requests", 12 * time.Second},
		{"message only", http.StatusForbidden, nil,
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", time.Minute},
		{"bare 429", http.StatusTooManyRequests, nil, "", time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method == http.MethodPost && n == 3 {
					for k, v := range tc.header {
						w.Header().Set(k, v)
					}
					ghError(w, tc.status, tc.body, "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
					return true
				}
				return false
			}
			c, h := f.client(t)
			res, err := c.UpsertComment(context.Background(), "x")
			require.NoError(t, err)
			assert.Equal(t, Created, res.Action)
			assert.Equal(t, []time.Duration{tc.want}, h.Sleeps())
			assert.Len(t, f.Comments(), 1, "a rate-limited POST was not carried out and is sent again")
		})
	}
}

func TestSecondaryRateLimitTooLong(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "600")
		ghError(w, http.StatusForbidden, "You have exceeded a secondary rate limit.", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
		return true
	}
	c, h := f.client(t)
	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, "list comments on o/r#7: 403 rate limited: secondary rate limit; GitHub asks to retry after 10m0s (at 2026-03-14T15:19:26Z) "+
		"(You have exceeded a secondary rate limit.)", err.Error())
	assert.Empty(t, h.Sleeps())
	assert.False(t, errors.Is(err, ErrReadOnly))
}

func TestReadOnlyToken(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost {
			ghError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/issues/comments#create-an-issue-comment")
			return true
		}
		return false
	}
	c, h := f.client(t)
	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrReadOnly)
	assert.Equal(t, "create comment on o/r#7: 403 token cannot write to this repository: Resource not accessible by integration", err.Error())
	assert.Empty(t, h.Sleeps(), "not retried")
	assert.Len(t, f.Requests(), 3)
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c, _ := f.client(t, func(o *Options) { o.Repo = "gone" })
	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, "list comments on o/gone#7: 404 not found: Not Found (the repository or pull request does not exist, or the token cannot see it)", err.Error())
	assert.Len(t, f.Requests(), 1, "404 is not retried")
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		ghError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return true
	}
	c, _ := f.client(t)
	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.Equal(t, "list comments on o/r#7: 401 bad credentials: Bad credentials", err.Error())
}

func TestValidationFailed(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"message": "Validation Failed",
				"errors": []map[string]any{{
					"resource": "IssueComment", "code": "custom", "field": "body",
					"message": "body is too long (maximum is 65536 characters)",
				}},
				"documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
			})
			return true
		}
		return false
	}
	c, _ := f.client(t)
	_, err := c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrValidation)
	assert.Equal(t, "create comment on o/r#7: 422 validation failed: Validation Failed: body is too long (maximum is 65536 characters)", err.Error())
}

func TestValidationFailedFieldCode(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("POST /repos/o/r/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"message":"Validation Failed","errors":[{"resource":"Status","field":"target_url","code":"invalid"}],"documentation_url":"https://docs.github.com/rest/commits/statuses#create-a-commit-status"}`)
	})
	err := c.SetStatus(context.Background(), strings.Repeat("a", 40), "reachgate", StateSuccess, "", "not a url")
	require.ErrorIs(t, err, ErrValidation)
	assert.Contains(t, err.Error(), "422 validation failed: Validation Failed: target_url invalid on Status")
}

func TestNetworkErrors(t *testing.T) {
	t.Parallel()
	// A listener that accepts and hangs up at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	h := &harness{now: start}
	c, err := New(Options{
		BaseURL: "http://" + ln.Addr().String() + "/api/v3/", Token: testToken,
		Owner: "o", Repo: "r", PR: 7, Marker: testMarker,
		MaxRetries: 2, Sleep: h.Sleep, Now: h.Now, Logf: h.Logf,
	})
	require.NoError(t, err)
	_, err = c.UpsertComment(context.Background(), "x")
	require.ErrorIs(t, err, ErrNetwork)
	// The first request finds out who the token is.
	assert.True(t, strings.HasPrefix(err.Error(), "get the authenticated user: network error: "), err.Error())
	assert.Len(t, h.Sleeps(), 2)
	assert.NotContains(t, err.Error(), testToken)
}

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	c, mux, h, _ := setup(t, func(o *Options) { o.AttemptTimeout = 500 * time.Millisecond; o.MaxRetries = 1 })
	calls := 0
	mux.HandleFunc("GET /repos/o/r/issues/7/comments", func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			<-r.Context().Done() // hangs until the client gives up
			return
		}
		fmt.Fprint(w, `[]`)
	})
	mux.HandleFunc("POST /repos/o/r/issues/7/comments", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":9,"body":"<!-- reachgate:policy-gate/check -->\nx"}`)
	})
	res, err := c.UpsertComment(context.Background(), "x")
	require.NoError(t, err)
	assert.Equal(t, int64(9), res.CommentID)
	assert.Len(t, h.Sleeps(), 1)
}

// TestTokenNeverLeaks runs every failure against a server that echoes the
// Authorization header back in its error messages.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 409, 422, 429, 500, 502} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
				auth := r.Header.Get("Authorization")
				if status == 429 {
					w.Header().Set("Retry-After", "3600")
				}
				writeJSON(w, status, map[string]any{
					"message":           "you sent " + auth + " and token " + strings.TrimPrefix(auth, "Bearer "),
					"errors":            []any{map[string]any{"message": "header was " + auth}, "raw " + auth},
					"documentation_url": "https://docs.github.com/rest?t=" + strings.TrimPrefix(auth, "Bearer "),
				})
				return true
			}
			c, h := f.client(t)
			_, err := c.UpsertComment(context.Background(), "x")
			require.Error(t, err)
			err2 := c.SetStatus(context.Background(), strings.Repeat("b", 40), "ctx", StateSuccess, "d", "")
			require.Error(t, err2)
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), err2.Error(),
				fmt.Sprintf("%v %+v %#v", c, c, c), strings.Join(h.logs, "\n")} {
				assert.NotContains(t, s, testToken)
				assert.NotContains(t, s, testToken[4:20])
			}
			assert.Contains(t, err.Error(), "[REDACTED]")
		})
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := newRedactor("s3cr3t-value")
	assert.Equal(t, "a [REDACTED] b", r.redact("a s3cr3t-value b"))
	assert.Equal(t, "other [REDACTED] and bearer [REDACTED]",
		r.redact("other ghs_16C7e42F292c6912E7710c838347Ae178B4a and bearer abcdefghijkl"))
	assert.Equal(t, "github_pat [REDACTED]", r.redact("github_pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"))
	assert.Equal(t, "token cannot write; token expired", r.redact("token cannot write; token expired"), "ordinary words stay")
	assert.Equal(t, "redactor{[REDACTED]} redactor{[REDACTED]}", fmt.Sprintf("%v %#v", r, r))
}

func TestPrimaryRateLimitUsedUpBySuccessTooFarAway(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.add(bot, markerLine+"\nold")
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			rateHeaders(w, 0, start.Add(time.Hour))
		}
		return false
	}
	c, h := f.client(t)
	_, err := c.UpsertComment(context.Background(), "new")
	require.ErrorIs(t, err, ErrRateLimited)
	assert.Contains(t, err.Error(), "update comment 1001 on o/r#7: rate limited: primary rate limit exhausted; it resets at 2026-03-14T16:09:26Z (in 1h0m0s)")
	assert.Empty(t, h.Sleeps())
	assert.Len(t, f.Requests(), 1, "the PATCH is not sent")
}

func TestSleepContext(t *testing.T) {
	t.Parallel()
	require.NoError(t, sleepContext(context.Background(), time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	require.ErrorIs(t, sleepContext(ctx, time.Hour), context.Canceled)
	assert.Less(t, time.Since(began), time.Second)
}
