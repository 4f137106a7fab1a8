package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// retryPolicy holds the backoff and rate-limit settings, the injectable
// clock, sleeper and jitter, and the last primary rate limit seen.
type retryPolicy struct {
	maxRetries     int
	baseDelay      time.Duration
	maxDelay       time.Duration
	maxRateWait    time.Duration
	attemptTimeout time.Duration
	sleep          func(ctx context.Context, d time.Duration) error
	now            func() time.Time
	jitter         func() float64
	logf           func(format string, args ...any)
	red            *redactor

	mu        sync.Mutex
	exhausted time.Time // a 2xx said no requests remain until then
}

func newRetryPolicy(o Options, red *redactor) *retryPolicy {
	p := &retryPolicy{
		maxRetries:     o.MaxRetries,
		baseDelay:      o.RetryBaseDelay,
		maxDelay:       o.RetryMaxDelay,
		maxRateWait:    o.MaxRateLimitWait,
		attemptTimeout: o.AttemptTimeout,
		sleep:          o.Sleep,
		now:            o.Now,
		jitter:         o.Jitter,
		red:            red,
	}
	switch {
	case p.maxRetries == 0:
		p.maxRetries = DefaultMaxRetries
	case p.maxRetries < 0:
		p.maxRetries = 0
	}
	if p.baseDelay <= 0 {
		p.baseDelay = DefaultRetryBaseDelay
	}
	if p.maxDelay <= 0 {
		p.maxDelay = DefaultRetryMaxDelay
	}
	switch {
	case p.maxRateWait == 0:
		p.maxRateWait = DefaultMaxRateWait
	case p.maxRateWait < 0:
		p.maxRateWait = 0
	}
	if p.attemptTimeout <= 0 {
		p.attemptTimeout = DefaultAttemptTimeout
	}
	if p.sleep == nil {
		p.sleep = sleepContext
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.jitter == nil {
		p.jitter = rand.Float64
	}
	if o.Logf != nil {
		logf := o.Logf
		p.logf = func(format string, args ...any) { logf("%s", red.redact(fmt.Sprintf(format, args...))) }
	} else {
		p.logf = func(string, ...any) {}
	}
	return p
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the delay before retry number n (0-based): base*2^n capped at
// maxDelay, of which the upper half is jittered ("equal jitter").
func (p *retryPolicy) backoff(n int) time.Duration {
	d := p.baseDelay
	for i := 0; i < n && d < p.maxDelay; i++ {
		d *= 2
	}
	if d > p.maxDelay {
		d = p.maxDelay
	}
	half := d / 2
	return half + time.Duration(p.jitter()*float64(d-half))
}

type ctxKey int

// retryPOSTKey marks a context whose POST may be repeated after a 5xx or a
// network error because repeating it is harmless (a commit status).
const retryPOSTKey ctxKey = 0

func withRetryPOST(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryPOSTKey, true)
}

// repeatable tells whether a request whose outcome is unknown (a 5xx, a
// network error) may be sent again. Creating a comment may not: the server
// may have created it, and UpsertComment looks before it tries again.
func repeatable(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	case http.MethodPost:
		return r.Context().Value(retryPOSTKey) != nil
	}
	return false
}

// retryTransport retries inside go-github's HTTP client, so go-github only
// sees the final response: 5xx and network errors for repeatable requests
// with exponential backoff, and rate limits (whose requests GitHub did not
// carry out) for every request, waiting as GitHub asks when that is within
// maxRateWait.
type retryTransport struct {
	base   http.RoundTripper
	policy *retryPolicy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := t.policy
	ctx := req.Context()
	if err := t.waitExhausted(req); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		r, err := rewind(req, attempt)
		if err != nil {
			return nil, err
		}
		actx, cancel := context.WithTimeout(ctx, p.attemptTimeout)
		resp, err := t.base.RoundTrip(r.WithContext(actx))
		if err != nil {
			cancel()
		} else {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}

		wait, why, retry := t.decide(req, resp, err, attempt)
		if !retry {
			if err == nil {
				t.noteRemaining(resp)
			}
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		p.logf("github: %s %s: %s; retry %d of %d in %s", req.Method, req.URL.Path, why, attempt+1, p.maxRetries, wait.Round(time.Millisecond))
		if err := p.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// rewind returns the request for an attempt: the original for the first,
// a copy with a fresh body for the others.
func rewind(req *http.Request, attempt int) (*http.Request, error) {
	if attempt == 0 {
		return req, nil
	}
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, errors.New("cannot resend a request without GetBody")
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// decide says whether and how long to wait before the next attempt.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, string, bool) {
	p := t.policy
	if attempt >= p.maxRetries {
		return 0, "", false
	}
	if err != nil {
		if req.Context().Err() != nil || !repeatable(req) {
			return 0, "", false
		}
		return p.backoff(attempt), "network error: " + err.Error(), true
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !repeatable(req) {
			return 0, "", false
		}
		return p.backoff(attempt), resp.Status, true
	case http.StatusForbidden, http.StatusTooManyRequests:
		primary, reset, after, ok := rateLimited(resp.StatusCode, resp.Header, peekBody(resp), p.now())
		if !ok {
			return 0, "", false
		}
		var wait time.Duration
		switch {
		case primary && !reset.IsZero():
			// One second past the reset: GitHub's clock and ours differ.
			wait = reset.Sub(p.now()) + time.Second
		case after > 0:
			wait = after
		default:
			// GitHub: without a header, wait at least a minute, longer
			// each time.
			wait = time.Minute << min(attempt, 4)
		}
		if wait < 0 {
			wait = 0
		}
		if wait > p.maxRateWait {
			return 0, "", false
		}
		kind := "secondary rate limit"
		if primary {
			kind = "primary rate limit"
		}
		return wait, kind, true
	}
	return 0, "", false
}

// peekBody reads the start of an error body for the rate-limit message and
// puts it back.
func peekBody(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), resp.Body), resp.Body}
	return string(data)
}

// noteRemaining keeps go-github from refusing the next request on its own
// after a successful response that used up the primary limit (go-github
// checks against the wall clock and cannot wait): the transport remembers
// the reset and waits for it before the next request, within maxRateWait.
func (t *retryTransport) noteRemaining(resp *http.Response) {
	if resp.StatusCode >= 300 || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		return
	}
	sec, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil || sec <= 0 {
		return
	}
	t.policy.mu.Lock()
	t.policy.exhausted = time.Unix(sec, 0)
	t.policy.mu.Unlock()
	resp.Header.Del("X-RateLimit-Remaining")
}

// waitExhausted waits for a primary limit that a previous success used up.
func (t *retryTransport) waitExhausted(req *http.Request) error {
	p := t.policy
	p.mu.Lock()
	reset := p.exhausted
	p.exhausted = time.Time{}
	p.mu.Unlock()
	if reset.IsZero() {
		return nil
	}
	wait := reset.Sub(p.now()) + time.Second
	if wait <= 0 {
		return nil
	}
	if wait > p.maxRateWait {
		p.mu.Lock()
		p.exhausted = reset
		p.mu.Unlock()
		return &Error{Kind: ErrRateLimited, Reset: reset, Message: fmt.Sprintf(
			"primary rate limit exhausted; it resets at %s (in %s), later than this client waits (%s)",
			reset.UTC().Format(time.RFC3339), reset.Sub(p.now()).Round(time.Second), p.maxRateWait)}
	}
	p.logf("github: %s %s: primary rate limit used up; waiting %s for the reset", req.Method, req.URL.Path, wait.Round(time.Millisecond))
	return p.sleep(req.Context(), wait)
}

// cancelOnClose ends an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
