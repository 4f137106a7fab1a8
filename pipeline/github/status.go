package github

import (
	"context"
	"fmt"
	"regexp"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"
)

// Commit status states GitHub accepts.
const (
	StatePending = "pending"
	StateSuccess = "success"
	StateFailure = "failure"
	StateError   = "error"
)

// maxStatusDescription is GitHub's limit on a status description; longer
// ones are cut with an ellipsis rather than refused.
const maxStatusDescription = 140

var shaRE = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// SetStatus sets the commit status named statusContext on sha (POST
// /repos/{owner}/{repo}/statuses/{sha}). The latest status per context wins,
// so repeating it is harmless and it is retried like a read.
//
// Gitea accepts the same request; its response names the state field
// "status" instead of "state", and nothing here reads the response.
func (c *Client) SetStatus(ctx context.Context, sha, statusContext, state, description, targetURL string) error {
	op := fmt.Sprintf("set status %q on %s/%s@%.12s", statusContext, c.owner, c.repo, sha)
	switch {
	case !shaRE.MatchString(sha):
		return &Error{Op: op, Kind: ErrInvalid, Message: fmt.Sprintf("%q is not a commit SHA", sha)}
	case statusContext == "":
		return &Error{Op: op, Kind: ErrInvalid, Message: "empty status context"}
	}
	switch state {
	case StatePending, StateSuccess, StateFailure, StateError:
	default:
		return &Error{Op: op, Kind: ErrInvalid, Message: fmt.Sprintf("state %q is not one of pending, success, failure, error", state)}
	}
	st := &gh.RepoStatus{State: gh.String(state), Context: gh.String(statusContext)}
	if description != "" {
		st.Description = gh.String(truncate(description, maxStatusDescription))
	}
	if targetURL != "" {
		st.TargetURL = gh.String(targetURL)
	}
	if _, _, err := c.gh.Repositories.CreateStatus(withRetryPOST(ctx), c.owner, c.repo, sha, st); err != nil {
		return c.apiError(op, err)
	}
	return nil
}

// truncate cuts s to at most n characters, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
