package github

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// issueJSON is an issue as GitHub's REST API returns it.
func issueJSON(number int, user, state, body string, pr bool) map[string]any {
	is := map[string]any{
		"id": 1000 + number, "number": number, "state": state, "title": "Policy review", "body": body,
		"user":     map[string]any{"login": user, "id": 1, "type": "User"},
		"html_url": fmt.Sprintf("https://github.com/o/r/issues/%d", number),
	}
	if pr {
		is["pull_request"] = map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/o/r/pulls/%d", number)}
	}
	return is
}

// TestIssueIgnoresOthersMarkers: an issue carrying the marker but opened
// by someone else, and a pull request by the identity with the marker, are
// left alone; the identity's own closed issue is reopened with the body.
func TestIssueIgnoresOthersMarkers(t *testing.T) {
	c, mux, h, _ := setup(t)
	h.user = func(w http.ResponseWriter, r *http.Request) {
		testHeaders(t, r)
		writeJSON(w, 200, map[string]any{"login": "review-bot", "id": 9})
	}
	mux.HandleFunc("/repos/o/r/issues", func(w http.ResponseWriter, r *http.Request) {
		testHeaders(t, r)
		switch r.Method {
		case http.MethodGet:
			assert.Contains(t, []string{"review-bot", ""}, r.URL.Query().Get("creator"))
			assert.Equal(t, "all", r.URL.Query().Get("state"))
			writeJSON(w, 200, []any{
				issueJSON(3, "mallory", "open", markerLine+"\nfake", false),
				issueJSON(4, "review-bot", "open", markerLine+"\na pull request", true),
				issueJSON(5, "review-bot", "closed", markerLine+"\nold", false),
			})
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	})
	mux.HandleFunc("/repos/o/r/issues/5", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPatch)
		testBody(t, r, `{"title":"Policy review","body":"`+markerLine+`\n2 items due","state":"open"}`)
		writeJSON(w, 200, issueJSON(5, "review-bot", "open", markerLine+"\n2 items due", false))
	})
	for _, n := range []int{3, 4} {
		mux.HandleFunc(fmt.Sprintf("/repos/o/r/issues/%d", n), func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("touched issue %d, not the identity's", n)
		})
	}
	res, err := c.UpsertIssue(context.Background(), "Policy review", "2 items due")
	require.NoError(t, err)
	assert.Equal(t, IssueResult{Action: IssueReopened, Number: 5, URL: "https://github.com/o/r/issues/5"}, res)
}

// TestIssueActionsToken: GITHUB_TOKEN may not read /user; the identity is
// then the Actions bot, and closing closes its open issues only.
func TestIssueActionsToken(t *testing.T) {
	c, mux, h, _ := setup(t) // its GET /user answers 403, as for a GITHUB_TOKEN
	mux.HandleFunc("/repos/o/r/issues", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "github-actions[bot]", r.URL.Query().Get("creator"), "found with the filter: no second listing")
		writeJSON(w, 200, []any{
			issueJSON(8, "github-actions[bot]", "open", markerLine+"\nold", false),
			issueJSON(9, "github-actions[bot]", "open", markerLine+"\nduplicate", false),
			issueJSON(10, "alice", "open", markerLine+"\nquoted by a person", false),
		})
	})
	var closed []string
	for _, n := range []int{8, 9} {
		mux.HandleFunc(fmt.Sprintf("/repos/o/r/issues/%d", n), func(w http.ResponseWriter, r *http.Request) {
			testMethod(t, r, http.MethodPatch)
			want := `{"state":"closed"}`
			if n == 8 {
				want = `{"body":"` + markerLine + `\nNothing is due.","state":"closed"}`
			}
			testBody(t, r, want)
			closed = append(closed, fmt.Sprint(n))
			writeJSON(w, 200, issueJSON(n, "github-actions[bot]", "closed", "", false))
		})
	}
	res, err := c.CloseIssue(context.Background(), "Nothing is due.")
	require.NoError(t, err)
	assert.Equal(t, IssueClosed, res.Action)
	assert.Equal(t, 8, res.Number)
	assert.Equal(t, []int{9}, res.ClosedDuplicates)
	assert.Equal(t, []string{"8", "9"}, closed)
	assert.NotEmpty(t, h.logs, "the fallback identity is logged")
}

func TestIssueErrors(t *testing.T) {
	c, mux, _, _ := setup(t, func(o *Options) { o.CommentAuthor = "review-bot"; o.MaxRetries = -1 })
	mux.HandleFunc("/repos/o/r/issues", func(w http.ResponseWriter, r *http.Request) {
		ghError(w, 404, "Not Found", "https://docs.github.com/rest/issues/issues#list-repository-issues")
	})
	_, err := c.UpsertIssue(context.Background(), "Policy review", "x")
	require.ErrorIs(t, err, ErrNotFound)
	assert.NotContains(t, err.Error(), testToken)

	noMarker, _, _, _ := setup(t, func(o *Options) { o.Marker = "" })
	_, err = noMarker.UpsertIssue(context.Background(), "t", "b")
	assert.ErrorIs(t, err, ErrInvalid)
}

// TestIssueCreatorFilterIsAHint: a server whose creator filter misses the
// identity's issue (it answers nothing) does not make the client create a
// second issue: it lists everything before creating.
func TestIssueCreatorFilterIsAHint(t *testing.T) {
	c, mux, _, _ := setup(t, func(o *Options) { o.CommentAuthor = "github-actions[bot]" })
	var queries []string
	mux.HandleFunc("/repos/o/r/issues", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		queries = append(queries, r.URL.Query().Get("creator"))
		if r.URL.Query().Get("creator") != "" {
			writeJSON(w, 200, []any{})
			return
		}
		writeJSON(w, 200, []any{issueJSON(12, "github-actions[bot]", "open", markerLine+"\nold", false)})
	})
	mux.HandleFunc("/repos/o/r/issues/12", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPatch)
		writeJSON(w, 200, issueJSON(12, "github-actions[bot]", "open", "", false))
	})
	res, err := c.UpsertIssue(context.Background(), "Policy review", "due")
	require.NoError(t, err)
	assert.Equal(t, IssueUpdated, res.Action)
	assert.Equal(t, 12, res.Number)
	assert.Equal(t, []string{"github-actions[bot]", ""}, queries)
}
