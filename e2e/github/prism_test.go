//go:build e2e

package githube2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/github"
)

// The contract test: every request pipeline/github makes is sent to Prism
// serving GitHub's own OpenAPI description (npm @octokit/openapi) with
// --errors, which answers a request that breaks the contract with 4xx
// instead of an example. So a 2xx here means GitHub's description accepts
// the method, path, query, headers and body.

const prismHow = "start Prism with scripts/e2e/prism.sh up DIR and export the REACHGATE_PRISM_URL from DIR/prism.env"

const marker = "reachgate:e2e/contract"

// exchange is one request as Prism answered it.
type exchange struct {
	Method, Path string
	Status       int
	Problem      string // Prism's problem+json when it refused
}

// prismTransport adapts go-github's requests to what Prism negotiates, and
// records every exchange. It belongs to the test, not to the client:
//   - Accept: go-github asks for application/vnd.github.v3+json (or a
//     preview type), which Prism refuses; GitHub serves application/json.
//   - Prefer: code=N asks Prism for the example of response N.
//   - markComments rewrites list responses so that the comments carry the
//     marker (two of them), making the client update and delete.
type prismTransport struct {
	base         http.RoundTripper
	prefer       map[string]string // "METHOD suffix" -> Prefer value
	markComments bool

	mu        sync.Mutex
	exchanges []exchange
}

func (p *prismTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.github") {
		r.Header.Set("Accept", "application/json")
	}
	for k, v := range p.prefer {
		method, suffix, _ := strings.Cut(k, " ")
		if r.Method == method && strings.HasSuffix(r.URL.Path, suffix) {
			r.Header.Set("Prefer", v)
		}
	}
	resp, err := p.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	ex := exchange{Method: r.Method, Path: r.URL.Path, Status: resp.StatusCode}
	if resp.StatusCode >= 400 {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ex.Problem = string(body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
	} else if p.markComments && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/comments") {
		if err := markListBody(resp); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	p.exchanges = append(p.exchanges, ex)
	p.mu.Unlock()
	return resp, nil
}

func (p *prismTransport) Exchanges() []exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]exchange(nil), p.exchanges...)
}

// markListBody puts the marker on the example comments Prism returns and
// adds a second marked comment with the next ID: a duplicate to delete.
func markListBody(resp *http.Response) error {
	var comments []map[string]any
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &comments); err != nil {
		return fmt.Errorf("prism list body: %w", err)
	}
	if len(comments) == 0 {
		return errors.New("prism list body: no example comment")
	}
	dup := map[string]any{}
	for k, v := range comments[0] {
		dup[k] = v
	}
	id, _ := comments[0]["id"].(float64)
	dup["id"] = id + 1
	comments = append(comments, dup)
	for _, c := range comments {
		c["body"] = "<!-- " + marker + " -->\nan older body"
	}
	out, err := json.Marshal(comments)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}

func prismClient(t *testing.T, tr *prismTransport, pr int) *github.Client {
	t.Helper()
	url := requireEnv(t, "REACHGATE_PRISM_URL", prismHow)
	tr.base = http.DefaultTransport
	c, err := github.New(github.Options{
		BaseURL: url,
		Token:   "e2e-token-not-a-secret",
		Owner:   "octo-org", Repo: "policy-repo", PR: pr,
		Marker:     marker,
		HTTPClient: &http.Client{Transport: tr},
		MaxRetries: -1, // a refused request must show, not be retried
	})
	require.NoError(t, err)
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func assertAccepted(t *testing.T, exs []exchange, want []string) {
	t.Helper()
	var got []string
	for _, ex := range exs {
		got = append(got, fmt.Sprintf("%s %s %d", ex.Method, ex.Path, ex.Status))
		assert.Less(t, ex.Status, 300, "Prism refused %s %s: %s", ex.Method, ex.Path, ex.Problem)
	}
	assert.Equal(t, want, got)
}

func TestContractCreateComment(t *testing.T) {
	tr := &prismTransport{}
	c := prismClient(t, tr, 1347)
	res, err := c.UpsertComment(ctx(t), "## reachgate\n\nno change in reachability")
	require.NoError(t, err)
	assert.Equal(t, github.Created, res.Action)
	assert.NotZero(t, res.CommentID)
	// Prism's example Link header always says next=2: the client walks
	// pages 1 and 2 and stops when "next" no longer moves.
	list := "/repos/octo-org/policy-repo/issues/1347/comments"
	assertAccepted(t, tr.Exchanges(), []string{
		"GET /user 200", // who the client is: only its comments count
		"GET " + list + " 200", "GET " + list + " 200",
		"GET " + list + " 200", "GET " + list + " 200",
		"POST " + list + " 201",
		"GET " + list + " 200", "GET " + list + " 200",
	})
}

func TestContractUpdateAndDeleteDuplicate(t *testing.T) {
	tr := &prismTransport{markComments: true}
	c := prismClient(t, tr, 1347)
	res, err := c.UpsertComment(ctx(t), "## reachgate\n\n1 connection opened in prod")
	require.NoError(t, err)
	assert.Equal(t, github.Updated, res.Action)
	require.Len(t, res.Deleted, 1)
	list := "/repos/octo-org/policy-repo/issues/1347/comments"
	assertAccepted(t, tr.Exchanges(), []string{
		"GET /user 200",
		"GET " + list + " 200", "GET " + list + " 200",
		fmt.Sprintf("PATCH /repos/octo-org/policy-repo/issues/comments/%d 200", res.CommentID),
		fmt.Sprintf("DELETE /repos/octo-org/policy-repo/issues/comments/%d 204", res.Deleted[0]),
	})
}

// TestContractIdentity: GET /user as GitHub describes it, and its 403
// (a GITHUB_TOKEN or an app installation token), after which the
// client takes github-actions[bot] for itself.
func TestContractIdentity(t *testing.T) {
	tr := &prismTransport{}
	login, err := prismClient(t, tr, 1347).Identity(ctx(t))
	require.NoError(t, err)
	assert.NotEmpty(t, login)
	assertAccepted(t, tr.Exchanges(), []string{"GET /user 200"})

	tr = &prismTransport{prefer: map[string]string{"GET /user": "code=403"}}
	login, err = prismClient(t, tr, 1347).Identity(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, github.DefaultActionsLogin, login)
	exs := tr.Exchanges()
	require.Len(t, exs, 1)
	assert.Equal(t, 403, exs[0].Status)
	assert.NotContains(t, exs[0].Problem, "stoplight.io/prism/errors", "GitHub's own 403, not a contract violation")
}

func TestContractSetStatus(t *testing.T) {
	tr := &prismTransport{}
	c := prismClient(t, tr, 1347)
	sha := "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	for _, state := range []string{github.StatePending, github.StateSuccess, github.StateFailure, github.StateError} {
		require.NoError(t, c.SetStatus(ctx(t), sha, "reachgate/policy-gate", state, "checked 3 overlays", "https://ci.example.com/runs/1"))
	}
	require.NoError(t, c.SetStatus(ctx(t), sha, "reachgate/policy-gate", github.StateSuccess, "", ""))
	var want []string
	for range 5 {
		want = append(want, "POST /repos/octo-org/policy-repo/statuses/"+sha+" 201")
	}
	assertAccepted(t, tr.Exchanges(), want)
}

func TestContractPullRequestHead(t *testing.T) {
	// The description's own example of a pull request breaks its schema
	// (requested_teams[0] lacks "type"), and --errors checks responses too:
	// ask Prism for a response generated from the schema instead.
	tr := &prismTransport{prefer: map[string]string{"GET /pulls/1347": "dynamic=true"}}
	c := prismClient(t, tr, 1347)
	sha, err := c.PullRequestHead(ctx(t))
	require.NoError(t, err)
	assert.NotEmpty(t, sha)
	assertAccepted(t, tr.Exchanges(), []string{"GET /repos/octo-org/policy-repo/pulls/1347 200"})
}

// TestContractErrorShapes asks Prism for the error responses GitHub's
// description lists and checks how the client reports them.
func TestContractErrorShapes(t *testing.T) {
	cases := []struct {
		prefer map[string]string
		want   error
		status int
	}{
		{map[string]string{"GET /comments": "code=404"}, github.ErrNotFound, 404},
		{map[string]string{"GET /comments": "code=410"}, github.ErrHTTP, 410},
		{map[string]string{"POST /comments": "code=403"}, github.ErrReadOnly, 403},
		{map[string]string{"POST /comments": "code=422"}, github.ErrValidation, 422},
	}
	for _, tc := range cases {
		tr := &prismTransport{prefer: tc.prefer}
		c := prismClient(t, tr, 1347)
		_, err := c.UpsertComment(ctx(t), "x")
		require.ErrorIs(t, err, tc.want, "%v", tc.prefer)
		var e *github.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, tc.status, e.Status)
		exs := tr.Exchanges()
		last := exs[len(exs)-1]
		assert.Equal(t, tc.status, last.Status)
		assert.NotContains(t, last.Problem, "stoplight.io/prism/errors", "an example of the description, not a contract violation")
	}
}

// TestContractViolationIsRefused shows the contract test can fail: a request
// that breaks GitHub's description (a state GitHub does not know, sent with
// go-github directly, past SetStatus's own check) is refused by Prism.
func TestContractViolationIsRefused(t *testing.T) {
	url := requireEnv(t, "REACHGATE_PRISM_URL", prismHow)
	tr := &prismTransport{base: http.DefaultTransport}
	client := gh.NewClient(&http.Client{Transport: tr})
	var err error
	client.BaseURL, err = client.BaseURL.Parse(url)
	require.NoError(t, err)
	_, _, err = client.Repositories.CreateStatus(ctx(t), "octo-org", "policy-repo", "6dcb09b5b57875f334f61aebed695e2e4193db5e",
		&gh.RepoStatus{State: gh.String("green"), Context: gh.String("reachgate")})
	require.Error(t, err)
	exs := tr.Exchanges()
	require.Len(t, exs, 1)
	assert.Equal(t, http.StatusUnprocessableEntity, exs[0].Status)
	assert.Contains(t, exs[0].Problem, "stoplight.io/prism/errors#UNPROCESSABLE_ENTITY")
	assert.Contains(t, exs[0].Problem, "state")
}
