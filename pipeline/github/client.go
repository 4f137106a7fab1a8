// Package github publishes reachgate's results on GitHub (and on servers that
// speak GitHub's REST API for issue comments and commit statuses, such as
// GitHub Enterprise Server and Gitea): one sticky pull-request comment per
// key, commit statuses, the Actions job summary, and the Actions event that
// started the run.
//
// It knows go-github, not the rest of reachgate: it takes and returns plain
// strings. The token never appears in an error or a log line.
package github

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxRetries     = 4
	DefaultRetryBaseDelay = time.Second
	DefaultRetryMaxDelay  = 30 * time.Second
	DefaultMaxRateWait    = 2 * time.Minute
	DefaultAttemptTimeout = 30 * time.Second
)

// Options configure a Client.
type Options struct {
	// BaseURL is the REST API root, used as given; "" means
	// https://api.github.com/. In GitHub Actions it is $GITHUB_API_URL
	// (GitHub Enterprise Server: https://ghe.example.com/api/v3); Gitea's is
	// http://host:3000/api/v1/.
	BaseURL string
	// Token authenticates every request. It is never printed.
	Token string
	Owner string
	Repo  string
	// PR is the pull request number (an issue number on the issues API).
	PR int
	// Marker is the key of the sticky comment, e.g.
	// "reachgate:policy-gate/check": the comment starts with
	// "<!-- reachgate:policy-gate/check -->", and there is one such comment
	// per pull request and key. It must not contain "--", ">" or a newline.
	Marker string
	// CommentAuthor is the login whose comments count as this tool's:
	// only comments it wrote are ever edited or deleted; a marker in
	// anybody else's comment is ignored. "" means the authenticated
	// identity (GET /user), or DefaultActionsLogin when the token may not
	// read it (GITHUB_TOKEN and GitHub App installation tokens). A GitHub
	// App sets its bot login here, "APP-SLUG[bot]".
	CommentAuthor string
	// HTTPClient sends the requests; nil means a client with no overall
	// timeout (each attempt has AttemptTimeout; the context bounds the rest).
	HTTPClient *http.Client
	// UserAgent sent with each request; "" means "reachgate".
	UserAgent string

	// MaxRetries bounds the retries after the first attempt of a request
	// (5xx, network errors, rate limits). 0 means DefaultMaxRetries; a
	// negative value disables retries.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff
	// (base*2^n, capped, with jitter). 0 means the defaults.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// MaxRateLimitWait is the longest the client waits for a rate limit to
	// reset before it gives up with an error saying when the limit resets.
	// 0 means DefaultMaxRateWait; a negative value never waits.
	MaxRateLimitWait time.Duration
	// AttemptTimeout bounds one HTTP attempt. 0 means DefaultAttemptTimeout.
	AttemptTimeout time.Duration

	// Sleep waits for d or until ctx is done; nil means a real timer. Tests
	// inject one that records the waits and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for rate-limit resets; nil means time.Now.
	Now func() time.Time
	// Jitter returns a number in [0, 1) that spreads backoff delays; nil
	// means math/rand.
	Jitter func() float64
	// Logf, when set, receives one line per retry or wait. Lines are
	// redacted like errors.
	Logf func(format string, args ...any)
}

// Client publishes to one repository and pull request.
type Client struct {
	gh        *gh.Client
	owner     string
	repo      string
	pr        int
	marker    string // the full marker line, "<!-- reachgate:KEY -->"
	author    string // Options.CommentAuthor
	identity  string // the login comments are matched against, once known
	redact    *redactor
	policy    *retryPolicy
	apiOrigin string // scheme://host of the API, for messages
}

// New checks opts and returns a Client. It makes no request.
func New(opts Options) (*Client, error) {
	if opts.Owner == "" || opts.Repo == "" {
		return nil, errors.New("github client: owner and repository are required")
	}
	if strings.ContainsAny(opts.Owner+opts.Repo, "/ \t\n") {
		return nil, fmt.Errorf("github client: invalid repository %q/%q", opts.Owner, opts.Repo)
	}
	if opts.PR < 0 {
		return nil, fmt.Errorf("github client: invalid pull request number %d", opts.PR)
	}
	if opts.Token == "" {
		return nil, errors.New("github client: no token")
	}
	marker := ""
	if opts.Marker != "" {
		if strings.Contains(opts.Marker, "--") || strings.ContainsAny(opts.Marker, ">\r\n") {
			return nil, fmt.Errorf("github client: marker %q must not contain \"--\", \">\" or a newline", opts.Marker)
		}
		marker = "<!-- " + strings.TrimSpace(opts.Marker) + " -->"
	}

	red := newRedactor(opts.Token)
	pol := newRetryPolicy(opts, red)

	api, err := url.Parse("https://api.github.com/")
	if opts.BaseURL != "" {
		api, err = apiRoot(opts.BaseURL)
	}
	if err != nil {
		return nil, err
	}

	hc := &http.Client{}
	if opts.HTTPClient != nil {
		cp := *opts.HTTPClient
		hc = &cp
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// The token goes only to the API's own origin: a redirect elsewhere
	// (another host, port or scheme) is followed without it.
	hc.Transport = &authTransport{origin: originOf(api), token: opts.Token, next: &retryTransport{base: base, policy: pol}}

	client := gh.NewClient(hc)
	client.UserAgent = "reachgate"
	if opts.UserAgent != "" {
		client.UserAgent = opts.UserAgent
	}
	if opts.BaseURL != "" {
		u := api
		if strings.HasSuffix(u.Path, "/api/v3/") {
			// GitHub Enterprise Server: its uploads live at /api/uploads/.
			up := *u
			up.Path = strings.TrimSuffix(u.Path, "v3/") + "uploads/"
			client, err = client.WithEnterpriseURLs(u.String(), up.String())
			if err != nil {
				return nil, fmt.Errorf("github client: base URL: %w", err)
			}
		} else {
			// Any other root is used as given: WithEnterpriseURLs would
			// append api/v3/ to Gitea's /api/v1/ and to a mock's /.
			client.BaseURL = u
			client.UploadURL = u
		}
	}
	return &Client{
		gh:        client,
		owner:     opts.Owner,
		repo:      opts.Repo,
		pr:        opts.PR,
		marker:    marker,
		author:    opts.CommentAuthor,
		redact:    red,
		policy:    pol,
		apiOrigin: client.BaseURL.Scheme + "://" + client.BaseURL.Host,
	}, nil
}

// authTransport puts the token on requests to the API's origin only.
// go-github's WithAuthToken puts it on every request the client sends,
// redirects to other hosts included.
type authTransport struct {
	origin string
	token  string
	next   http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if originOf(req.URL) != t.origin {
		if req.Header.Get("Authorization") != "" {
			req = req.Clone(req.Context())
			req.Header.Del("Authorization")
		}
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(req)
}

// originOf is scheme://host:port of u, lower case, with the scheme's
// default port filled in.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// apiRoot parses a base URL and gives it the trailing slash go-github needs.
func apiRoot(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("github client: base URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("github client: base URL %q: want http(s)://host[/path/]", raw)
	}
	if u.User != nil {
		return nil, errors.New("github client: base URL must not carry credentials; use Options.Token")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// DefaultActionsLogin is the login of comments made with a GitHub Actions
// GITHUB_TOKEN, whose GET /user is forbidden.
const DefaultActionsLogin = "github-actions[bot]"

// Identity returns the login whose comments this client edits and
// deletes: Options.CommentAuthor when set; else the authenticated user
// (GET /user); else, when the token may not read /user (403: a GitHub
// Actions or GitHub App installation token), DefaultActionsLogin. The
// answer is kept for the client's lifetime.
func (c *Client) Identity(ctx context.Context) (string, error) {
	if c.identity != "" {
		return c.identity, nil
	}
	if c.author != "" {
		c.identity = c.author
		return c.identity, nil
	}
	const op = "get the authenticated user"
	u, _, err := c.gh.Users.Get(ctx, "")
	switch {
	case err == nil && u.GetLogin() != "":
		c.identity = u.GetLogin()
	case err == nil:
		return "", &Error{Op: op, Kind: ErrHTTP, Message: "the response names no login"}
	default:
		err = c.apiError(op, err)
		if !errors.Is(err, ErrReadOnly) {
			return "", err
		}
		c.identity = DefaultActionsLogin
		c.policy.logf("github: the token may not read /user (a GitHub Actions or GitHub App token): "+
			"only comments by %s count as this tool's; a GitHub App sets its own login, APP-SLUG[bot]", c.identity)
	}
	return c.identity, nil
}

// BaseURL is the API root requests go to.
func (c *Client) BaseURL() string { return c.gh.BaseURL.String() }

// String names the client without its token.
func (c *Client) String() string {
	return fmt.Sprintf("github.Client{%s %s/%s#%d}", c.apiOrigin, c.owner, c.repo, c.pr)
}

// GoString is String, so %#v does not print the token either.
func (c *Client) GoString() string { return c.String() }

// PullRequestHead returns the head commit SHA of the pull request. A
// workflow_run job that takes the PR number from an artifact of the untrusted
// pull_request job compares it with the workflow run's head SHA.
func (c *Client) PullRequestHead(ctx context.Context) (string, error) {
	op := fmt.Sprintf("get pull request %s/%s#%d", c.owner, c.repo, c.pr)
	if c.pr == 0 {
		return "", &Error{Op: op, Kind: ErrNoPullRequest, Message: "no pull request number"}
	}
	pr, _, err := c.gh.PullRequests.Get(ctx, c.owner, c.repo, c.pr)
	if err != nil {
		return "", c.apiError(op, err)
	}
	return pr.GetHead().GetSHA(), nil
}
