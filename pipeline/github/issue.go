package github

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"
)

// The sticky issue: one issue per marker, written by this client's
// identity, kept up to date by a scheduled job and closed when nothing is
// due. As with comments, only issues the identity wrote are ever edited:
// the marker in anybody else's issue is ignored.

// IssueAction says what UpsertIssue or CloseIssue did.
type IssueAction string

// The actions on the sticky issue.
const (
	IssueCreated   IssueAction = "created"
	IssueUpdated   IssueAction = "updated"
	IssueReopened  IssueAction = "reopened"
	IssueUnchanged IssueAction = "unchanged"
	IssueClosed    IssueAction = "closed"
	// IssueNone: nothing is due and no issue is open.
	IssueNone IssueAction = "none"
)

// IssueResult is what happened to the sticky issue.
type IssueResult struct {
	Action IssueAction
	Number int
	URL    string
	// ClosedDuplicates are other open issues with the marker (left by
	// runs that raced), closed in favour of the oldest.
	ClosedDuplicates []int
}

// issue is the part of an issue this client reads. go-github's Issue
// cannot be used to decode: Gitea names the repository's owner by login
// string where GitHub has an object, and go-github refuses the whole
// response.
type issue struct {
	Number  int    `json:"number"`
	State   string `json:"state"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	User    struct {
		Login string `json:"login"`
	} `json:"user"`
	PullRequest *struct{} `json:"pull_request"`
}

// issueEdit is the body of creating or updating an issue.
type issueEdit struct {
	Title *string `json:"title,omitempty"`
	Body  *string `json:"body,omitempty"`
	State *string `json:"state,omitempty"`
}

func str(s string) *string { return &s }

// MaxIssueBodyLength is the longest issue body GitHub accepts.
const MaxIssueBodyLength = 65536

// UpsertIssue makes the repository carry exactly one open issue with this
// client's marker, written by its identity, with this title and body (the
// marker line on top): it updates the open one, reopens the newest closed
// one, or creates one. Other open issues with the marker by the same
// identity are closed.
func (c *Client) UpsertIssue(ctx context.Context, title, body string) (IssueResult, error) {
	op := fmt.Sprintf("upsert issue in %s/%s", c.owner, c.repo)
	if c.marker == "" {
		return IssueResult{}, &Error{Op: op, Kind: ErrInvalid, Message: "no marker configured"}
	}
	full := c.withMarker(body)
	if n := utf8.RuneCountInString(full); n > MaxIssueBodyLength {
		return IssueResult{}, &Error{Op: op, Kind: ErrBodyTooLong, Message: fmt.Sprintf("%d characters with the marker line, GitHub accepts %d", n, MaxIssueBodyLength)}
	}
	login, err := c.Identity(ctx)
	if err != nil {
		return IssueResult{}, err
	}
	open, closed, err := c.findIssues(ctx, login)
	if err != nil {
		return IssueResult{}, err
	}
	var res IssueResult
	switch {
	case len(open) > 0:
		keep := open[0]
		res = IssueResult{Action: IssueUnchanged, Number: keep.Number, URL: keep.HTMLURL}
		if !sameBody(keep.Body, full) || keep.Title != title {
			if _, err := c.editIssue(ctx, keep.Number, issueEdit{Title: str(title), Body: str(full)}); err != nil {
				return IssueResult{}, err
			}
			res.Action = IssueUpdated
		}
		for _, dup := range open[1:] {
			if _, err := c.editIssue(ctx, dup.Number, issueEdit{State: str("closed")}); err != nil {
				return res, err
			}
			res.ClosedDuplicates = append(res.ClosedDuplicates, dup.Number)
		}
	case len(closed) > 0:
		last := closed[len(closed)-1]
		is, err := c.editIssue(ctx, last.Number, issueEdit{Title: str(title), Body: str(full), State: str("open")})
		if err != nil {
			return IssueResult{}, err
		}
		res = IssueResult{Action: IssueReopened, Number: last.Number, URL: cmp.Or(is.HTMLURL, last.HTMLURL)}
	default:
		is, err := c.issueRequest(ctx, fmt.Sprintf("create issue in %s/%s", c.owner, c.repo), "POST",
			fmt.Sprintf("repos/%s/%s/issues", c.owner, c.repo), issueEdit{Title: str(title), Body: str(full)})
		if err != nil {
			return IssueResult{}, err
		}
		res = IssueResult{Action: IssueCreated, Number: is.Number, URL: is.HTMLURL}
	}
	return res, nil
}

// CloseIssue closes every open issue with this client's marker written by
// its identity, after setting the first one's body to body (with the
// marker) so that it says why. IssueNone when none was open.
func (c *Client) CloseIssue(ctx context.Context, body string) (IssueResult, error) {
	op := fmt.Sprintf("close issue in %s/%s", c.owner, c.repo)
	if c.marker == "" {
		return IssueResult{}, &Error{Op: op, Kind: ErrInvalid, Message: "no marker configured"}
	}
	login, err := c.Identity(ctx)
	if err != nil {
		return IssueResult{}, err
	}
	open, _, err := c.findIssues(ctx, login)
	if err != nil {
		return IssueResult{}, err
	}
	if len(open) == 0 {
		return IssueResult{Action: IssueNone}, nil
	}
	res := IssueResult{Action: IssueClosed, Number: open[0].Number, URL: open[0].HTMLURL}
	for i, is := range open {
		req := issueEdit{State: str("closed")}
		if i == 0 && body != "" {
			req.Body = str(c.withMarker(body))
		}
		if _, err := c.editIssue(ctx, is.Number, req); err != nil {
			return res, err
		}
		if i > 0 {
			res.ClosedDuplicates = append(res.ClosedDuplicates, is.Number)
		}
	}
	return res, nil
}

// findIssues lists the identity's marked issues, asking the server to
// filter by creator; when that finds none, it lists every issue and
// filters here, before anything is created: a server that matches the
// creator differently (a bot's login, a server that ignores the filter)
// must not lead to a second issue.
func (c *Client) findIssues(ctx context.Context, login string) (open, closed []*issue, err error) {
	open, closed, err = c.listMarkedIssues(ctx, login, true)
	if err != nil || len(open)+len(closed) > 0 {
		return open, closed, err
	}
	return c.listMarkedIssues(ctx, login, false)
}

// listMarkedIssues returns the issues (not pull requests) with the marker
// on top that login opened, open and closed, oldest first.
func (c *Client) listMarkedIssues(ctx context.Context, login string, byCreator bool) (open, closed []*issue, err error) {
	op := fmt.Sprintf("list issues of %s/%s", c.owner, c.repo)
	opts := &gh.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "asc", ListOptions: gh.ListOptions{PerPage: 100, Page: 1}}
	if byCreator {
		opts.Creator = login
	}
	seen := map[int]bool{}
	for pages := 0; pages < maxListPages; pages++ {
		u, err := addOptions(fmt.Sprintf("repos/%s/%s/issues", c.owner, c.repo), opts)
		if err != nil {
			return nil, nil, &Error{Op: op, Kind: ErrInvalid, Message: err.Error()}
		}
		req, err := c.gh.NewRequest("GET", u, nil)
		if err != nil {
			return nil, nil, &Error{Op: op, Kind: ErrInvalid, Message: err.Error()}
		}
		var issues []*issue
		resp, err := c.gh.Do(ctx, req, &issues)
		if err != nil {
			return nil, nil, c.apiError(op, err)
		}
		for _, is := range issues {
			// The creator filter is a hint: the author is checked here.
			if seen[is.Number] || is.PullRequest != nil || !c.hasMarker(is.Body) || !strings.EqualFold(is.User.Login, login) {
				continue
			}
			seen[is.Number] = true
			if is.State == "open" {
				open = append(open, is)
			} else {
				closed = append(closed, is)
			}
		}
		if resp.NextPage <= opts.Page {
			break
		}
		opts.Page = resp.NextPage
	}
	byNumber := func(a, b *issue) int { return cmp.Compare(a.Number, b.Number) }
	slices.SortFunc(open, byNumber)
	slices.SortFunc(closed, byNumber)
	return open, closed, nil
}

// addOptions adds the list options to a path as go-github does.
func addOptions(p string, opts *gh.IssueListByRepoOptions) (string, error) {
	q := url.Values{}
	q.Set("state", opts.State)
	q.Set("sort", opts.Sort)
	q.Set("direction", opts.Direction)
	if opts.Creator != "" {
		q.Set("creator", opts.Creator)
	}
	q.Set("per_page", strconv.Itoa(opts.PerPage))
	q.Set("page", strconv.Itoa(opts.Page))
	return p + "?" + q.Encode(), nil
}

func (c *Client) editIssue(ctx context.Context, number int, edit issueEdit) (*issue, error) {
	return c.issueRequest(ctx, fmt.Sprintf("update issue %s/%s#%d", c.owner, c.repo, number), "PATCH",
		fmt.Sprintf("repos/%s/%s/issues/%d", c.owner, c.repo, number), edit)
}

// issueRequest sends a create or an update through go-github (its
// transport, retries and error shapes) and reads the answer tolerantly.
func (c *Client) issueRequest(ctx context.Context, op, method, p string, edit issueEdit) (*issue, error) {
	req, err := c.gh.NewRequest(method, p, edit)
	if err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalid, Message: err.Error()}
	}
	var is issue
	if _, err := c.gh.Do(ctx, req, &is); err != nil {
		return nil, c.apiError(op, err)
	}
	return &is, nil
}
