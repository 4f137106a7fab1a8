package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Kinds of failure, for errors.Is. Every error the Client returns for an
// API call is an *Error whose Kind is one of these.
var (
	// ErrReadOnly: the token may read but not write here (403). In GitHub
	// Actions this is the pull_request job of a fork PR; the caller falls
	// back to the job summary.
	ErrReadOnly = errors.New("token cannot write to this repository")
	// ErrNotFound: the repository, pull request or comment does not exist,
	// or the token cannot see it (404).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the token is missing, wrong or expired (401).
	ErrUnauthorized = errors.New("bad credentials")
	// ErrValidation: GitHub refused the request's content (422).
	ErrValidation = errors.New("validation failed")
	// ErrRateLimited: a primary or secondary rate limit that did not reset
	// within Options.MaxRateLimitWait, or retries ran out.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: 5xx after the retries ran out.
	ErrServer = errors.New("server error")
	// ErrNetwork: no HTTP response after the retries ran out.
	ErrNetwork = errors.New("network error")
	// ErrBodyTooLong: the comment is over MaxCommentLength; trim it.
	ErrBodyTooLong = errors.New("comment body too long")
	// ErrNoPullRequest: the operation needs Options.PR.
	ErrNoPullRequest = errors.New("no pull request")
	// ErrInvalid: an argument is wrong before any request is made.
	ErrInvalid = errors.New("invalid argument")
	// ErrHTTP: any other HTTP status.
	ErrHTTP = errors.New("unexpected HTTP status")
)

// Error is a failed operation. Its text never contains the token.
type Error struct {
	Op     string // what was attempted, e.g. "create comment on o/r#7"
	Kind   error  // one of the Err* values
	Status int    // the HTTP status, 0 when there was no response
	// Message is the server's explanation (for 422 with its field errors),
	// redacted.
	Message string
	// Reset is when a primary rate limit resets; RetryAfter is how long a
	// secondary rate limit asked to wait. Zero when unknown.
	Reset      time.Time
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(" ")
	}
	b.WriteString(e.Kind.Error())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap gives the kind, so errors.Is(err, ErrReadOnly) works.
func (e *Error) Unwrap() error { return e.Kind }

// redactor removes the token (and anything shaped like a GitHub token) from
// text that reaches an error or a log line.
type redactor struct{ token string }

func newRedactor(token string) *redactor { return &redactor{token: token} }

// String keeps the token out of %v of any struct that holds a redactor.
func (r *redactor) String() string { return "redactor{[REDACTED]}" }

// GoString is String, for %#v.
func (r *redactor) GoString() string { return r.String() }

// ghTokenRE matches GitHub's token formats (classic, fine-grained, app,
// OAuth, refresh).
var ghTokenRE = regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`)

// authHeaderRE matches an echoed Authorization header value.
var authHeaderRE = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9_\-.=+/]{8,}|\b(token)\s+[A-Za-z0-9_\-.]{20,}`)

const redacted = "[REDACTED]"

func (r *redactor) redact(s string) string {
	if r.token != "" {
		s = strings.ReplaceAll(s, r.token, redacted)
	}
	s = ghTokenRE.ReplaceAllString(s, redacted)
	return authHeaderRE.ReplaceAllString(s, "$1$2 "+redacted)
}

// apiError turns what go-github returned into an *Error with a redacted
// message. go-github's own errors hold the request, and with it the
// Authorization header: they are never returned as they are.
func (c *Client) apiError(op string, err error) error {
	if err == nil {
		return nil
	}
	var own *Error
	if errors.As(err, &own) {
		cp := *own
		cp.Op = op
		return &cp
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, contextErr(err))
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		return c.rateLimitError(op, statusOf(rl.Response), true, rl.Rate.Reset.Time, 0, rl.Message)
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) {
		var after time.Duration
		if ab.RetryAfter != nil {
			after = *ab.RetryAfter
		}
		return c.rateLimitError(op, statusOf(ab.Response), false, time.Time{}, after, ab.Message)
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		return c.responseError(op, er)
	}
	var ae *gh.AcceptedError
	if errors.As(err, &ae) {
		return &Error{Op: op, Kind: ErrHTTP, Status: http.StatusAccepted, Message: "accepted but not done yet; try again later"}
	}
	return &Error{Op: op, Kind: ErrNetwork, Message: c.redact.redact(err.Error())}
}

func contextErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

func statusOf(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

func (c *Client) responseError(op string, er *gh.ErrorResponse) error {
	status := statusOf(er.Response)
	msg := c.redact.redact(er.Message)
	var h http.Header
	if er.Response != nil {
		h = er.Response.Header
	}
	if status == http.StatusForbidden || status == http.StatusTooManyRequests {
		if primary, reset, after, ok := rateLimited(status, h, er.Message+" "+er.DocumentationURL, c.policy.now()); ok {
			return c.rateLimitError(op, status, primary, reset, after, er.Message)
		}
	}
	e := &Error{Op: op, Status: status, Message: msg}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = ErrUnauthorized
	case status == http.StatusForbidden:
		e.Kind = ErrReadOnly
	case status == http.StatusNotFound:
		e.Kind = ErrNotFound
		e.Message = strings.TrimSpace(msg + " (the repository or pull request does not exist, or the token cannot see it)")
	case status == http.StatusUnprocessableEntity:
		e.Kind = ErrValidation
		var details []string
		for _, d := range er.Errors {
			switch {
			case d.Message != "":
				details = append(details, d.Message)
			case d.Field != "":
				details = append(details, fmt.Sprintf("%s %s on %s", d.Field, d.Code, d.Resource))
			case d.Code != "":
				details = append(details, d.Code)
			}
		}
		if len(details) > 0 {
			e.Message = strings.TrimSpace(msg + ": " + c.redact.redact(strings.Join(details, "; ")))
		}
	case status >= 500:
		e.Kind = ErrServer
	default:
		e.Kind = ErrHTTP
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

func (c *Client) rateLimitError(op string, status int, primary bool, reset time.Time, after time.Duration, serverMsg string) error {
	e := &Error{Op: op, Kind: ErrRateLimited, Status: status, Reset: reset, RetryAfter: after}
	now := c.policy.now()
	switch {
	case primary && !reset.IsZero():
		e.Message = fmt.Sprintf("primary rate limit exhausted; it resets at %s (in %s), later than this client waits (%s)",
			reset.UTC().Format(time.RFC3339), reset.Sub(now).Round(time.Second), c.policy.maxRateWait)
	case primary:
		e.Message = "primary rate limit exhausted"
	case after > 0:
		e.Message = fmt.Sprintf("secondary rate limit; GitHub asks to retry after %s (at %s)", after.Round(time.Second), now.Add(after).UTC().Format(time.RFC3339))
	default:
		e.Message = "secondary rate limit"
	}
	if m := strings.TrimSpace(c.redact.redact(serverMsg)); m != "" {
		e.Message += " (" + m + ")"
	}
	return e
}

// rateLimited tells whether a 403/429 response is a rate limit, and which:
// primary (X-RateLimit-Remaining: 0 with X-RateLimit-Reset) or secondary
// (Retry-After, the "secondary rate limit" message, or a bare 429).
func rateLimited(status int, h http.Header, text string, now time.Time) (primary bool, reset time.Time, after time.Duration, ok bool) {
	if status != http.StatusForbidden && status != http.StatusTooManyRequests {
		return false, time.Time{}, 0, false
	}
	if v := h.Get("Retry-After"); v != "" {
		if d, ok := parseRetryAfter(v, now); ok {
			return false, time.Time{}, d, true
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if sec, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && sec > 0 {
			return true, time.Unix(sec, 0), 0, true
		}
		return true, time.Time{}, 0, true
	}
	lower := strings.ToLower(text)
	if strings.Contains(lower, "secondary rate limit") || strings.Contains(lower, "abuse") ||
		strings.Contains(lower, "secondary-rate-limits") || status == http.StatusTooManyRequests {
		return false, time.Time{}, 0, true
	}
	return false, time.Time{}, 0, false
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if sec, err := strconv.ParseInt(v, 10, 64); err == nil && sec >= 0 {
		return time.Duration(sec) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
