package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

const (
	liveHead  = "2222222222222222222222222222222222222222"
	otherHead = "3333333333333333333333333333333333333333"
)

// prServer is a GitHub for the pull request o/r#7 whose head is liveHead,
// speaking the REST wire format: the pull request, GET /user (forbidden,
// as for a GITHUB_TOKEN), issue comments (list, create, edit) and commit
// statuses. It records the requests.
type prServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	comments []map[string]any
	statuses []string // "SHA context state"
}

func newPRServer(t *testing.T) *prServer {
	s := &prServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *prServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch p := r.URL.Path; {
	case p == "/user":
		reply(http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration"})
	case p == "/repos/o/r/pulls/7" && r.Method == http.MethodGet:
		reply(http.StatusOK, map[string]any{"number": 7, "state": "open", "head": map[string]any{"ref": "feature", "sha": liveHead}})
	case p == "/repos/o/r/issues/7/comments" && r.Method == http.MethodGet:
		reply(http.StatusOK, s.comments)
	case p == "/repos/o/r/issues/7/comments" && r.Method == http.MethodPost:
		var in struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		c := map[string]any{"id": 100 + len(s.comments), "body": in.Body, "user": map[string]any{"login": "github-actions[bot]"},
			"html_url": fmt.Sprintf("https://github.com/o/r/pull/7#issuecomment-%d", 100+len(s.comments))}
		s.comments = append(s.comments, c)
		reply(http.StatusCreated, c)
	case strings.HasPrefix(p, "/repos/o/r/issues/comments/") && r.Method == http.MethodPatch:
		var in struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		for _, c := range s.comments {
			if fmt.Sprint(c["id"]) == strings.TrimPrefix(p, "/repos/o/r/issues/comments/") {
				c["body"] = in.Body
				reply(http.StatusOK, c)
				return
			}
		}
		reply(http.StatusNotFound, map[string]string{"message": "Not Found"})
	case strings.HasPrefix(p, "/repos/o/r/statuses/") && r.Method == http.MethodPost:
		var in struct{ State, Context string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		s.statuses = append(s.statuses, strings.TrimPrefix(p, "/repos/o/r/statuses/")+" "+in.Context+" "+in.State)
		reply(http.StatusCreated, map[string]any{"id": 1, "state": in.State, "context": in.Context})
	default:
		reply(http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
}

// writes are the requests that change something.
func (s *prServer) writes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

func (s *prServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *prServer) Statuses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.statuses...)
}

func (s *prServer) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.comments {
		out = append(out, c["body"].(string))
	}
	return out
}

// savedReport writes a report for head as check would.
func savedReport(t *testing.T, head string, mod ...func(*model.Report)) string {
	t.Helper()
	r := &model.Report{
		Base: model.RefInfo{Ref: "main", Commit: "1111111111111111111111111111111111111111"},
		Head: model.RefInfo{Ref: "feature", Commit: head}, FailOn: model.SeverityError, RulesFrom: "base",
		Repository: "o/r",
		Overlays: []model.OverlayReport{
			{Name: "dev", Environment: "dev", Path: "overlays/dev"},
			{Name: "prod", Environment: "prod", Path: "overlays/prod", Findings: []model.Finding{{
				RuleID: "NP001", Severity: model.SeverityError, Message: "no default deny",
				Location: model.Location{File: "overlays/prod/np.yaml", Line: 3},
			}}},
		},
	}
	for _, m := range mod {
		m(r)
	}
	var b bytes.Buffer
	require.NoError(t, report.Write(&b, "json", r, report.Options{}))
	p := filepath.Join(t.TempDir(), "report.json")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func commentParams(s *prServer, reportPath string) run.CommentParams {
	return run.CommentParams{Report: reportPath, Repo: "o/r", PR: 7, Marker: "reachgate:check", APIURL: s.URL, Token: "t0ken"}
}

// TestCommentStatusesGoToTheVerifiedHead: the statuses go to the commit
// --expect-head named and the API confirmed, one per overlay.
func TestCommentStatusesGoToTheVerifiedHead(t *testing.T) {
	t.Parallel()
	s := newPRServer(t)
	p := commentParams(s, savedReport(t, liveHead))
	p.Status, p.ExpectHead = true, liveHead
	var out, errOut bytes.Buffer
	require.NoError(t, run.Comment(context.Background(), p, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "comment created")
	assert.Equal(t, []string{
		liveHead + " reachgate/dev success",
		liveHead + " reachgate/prod failure",
	}, s.Statuses())
}

// TestCommentRefusesAReportForAnotherCommit is the attack: a forged
// report.json from a fork's run names another commit (say, one on main)
// and says everything passes. Nothing is published, and the exit code
// is 2.
func TestCommentRefusesAReportForAnotherCommit(t *testing.T) {
	t.Parallel()
	for _, reportHead := range []string{otherHead, "", "2222222"} {
		t.Run(reportHead, func(t *testing.T) {
			t.Parallel()
			s := newPRServer(t)
			p := commentParams(s, savedReport(t, reportHead, func(r *model.Report) { r.Overlays[1].Findings = nil }))
			p.Status, p.ExpectHead = true, liveHead
			var out, errOut bytes.Buffer
			err := run.Comment(context.Background(), p, &out, &errOut)
			require.Error(t, err)
			assert.Equal(t, run.ExitInput, exitCode(err))
			assert.Contains(t, err.Error(), fmt.Sprintf("the report is for commit %q, not for %s, the head of pull request #7: refused", reportHead, liveHead))
			assert.Empty(t, s.writes(), "no comment, no status")
			assert.Empty(t, out.String())
		})
	}
	// Without --status the comment is refused all the same.
	s := newPRServer(t)
	err := run.Comment(context.Background(), commentParams(s, savedReport(t, otherHead)), &bytes.Buffer{}, &bytes.Buffer{})
	assert.Equal(t, run.ExitInput, exitCode(err))
	assert.Empty(t, s.writes())
}

// TestCommentStatusNeedsExpectHead: --status without --expect-head is
// refused before any request.
func TestCommentStatusNeedsExpectHead(t *testing.T) {
	t.Parallel()
	s := newPRServer(t)
	p := commentParams(s, savedReport(t, liveHead))
	p.Status = true
	err := run.Comment(context.Background(), p, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Equal(t, run.ExitInput, exitCode(err))
	assert.Contains(t, err.Error(), "--status needs --expect-head")
	assert.Empty(t, s.Requests())
}

// TestCommentRefusesAMovedHead: the pull request moved on since the run.
func TestCommentRefusesAMovedHead(t *testing.T) {
	t.Parallel()
	s := newPRServer(t)
	p := commentParams(s, savedReport(t, otherHead))
	p.Status, p.ExpectHead = true, otherHead
	err := run.Comment(context.Background(), p, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Equal(t, run.ExitInput, exitCode(err))
	assert.Contains(t, err.Error(), "pull request #7 is at "+liveHead+", not at "+otherHead)
	assert.Empty(t, s.writes())
}

// TestCommentLinksStayInTheRepository: the report's repository and server
// are the untrusted job's word; the links use --repo and --server-url.
func TestCommentLinksStayInTheRepository(t *testing.T) {
	t.Parallel()
	s := newPRServer(t)
	p := commentParams(s, savedReport(t, liveHead, func(r *model.Report) {
		r.Repository, r.ServerURL = "evil/phish", "https://evil.example"
	}))
	p.ExpectHead = liveHead
	require.NoError(t, run.Comment(context.Background(), p, &bytes.Buffer{}, &bytes.Buffer{}))
	bodies := s.Bodies()
	require.Len(t, bodies, 1)
	assert.NotContains(t, bodies[0], "evil")
	assert.Contains(t, bodies[0], "(https://github.com/o/r/blob/"+liveHead+"/overlays/prod/np.yaml#L3)")

	p.ServerURL = "https://ghe.example.com"
	require.NoError(t, run.Comment(context.Background(), p, &bytes.Buffer{}, &bytes.Buffer{}))
	assert.Contains(t, s.Bodies()[0], "(https://ghe.example.com/o/r/blob/"+liveHead+"/overlays/prod/np.yaml#L3)")
}

// TestCommentAuthorFlag: a configured author is used as it is: GET /user
// is not asked.
func TestCommentAuthorFlag(t *testing.T) {
	t.Parallel()
	s := newPRServer(t)
	p := commentParams(s, savedReport(t, liveHead))
	p.ExpectHead, p.CommentAuthor = liveHead, "github-actions[bot]"
	var errOut bytes.Buffer
	require.NoError(t, run.Comment(context.Background(), p, &bytes.Buffer{}, &errOut))
	assert.NotContains(t, s.Requests(), "GET /user")
	assert.Empty(t, errOut.String())

	p.CommentAuthor = ""
	require.NoError(t, run.Comment(context.Background(), p, &bytes.Buffer{}, &errOut))
	assert.Contains(t, s.Requests(), "GET /user")
	assert.Contains(t, errOut.String(), "only comments by github-actions[bot] count")
	assert.Len(t, s.Bodies(), 1, "the second run updated the first run's comment")
}
