package github

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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

// MaxIssueBodyLength is the longest issue body GitHub accepts.
const MaxIssueBodyLength = 65536

// actionsLogin is the login a GitHub Actions GITHUB_TOKEN writes as; its
// GET /user is forbidden.
const actionsLogin = "github-actions[bot]"

// issueIdentity is the login whose issues count as this tool's: the
// configured author, else the authenticated user (GET /user), else, for a
// token that may not read /user (GitHub Actions, GitHub App), the Actions
// bot. The same rule decides which comments are this tool's.
func (c *Client) issueIdentity(ctx context.Context) (string, error) {
	if c.author != "" {
		return c.author, nil
	}
	const op = "get the authenticated user"
	u, _, err := c.gh.Users.Get(ctx, "")
	if err == nil {
		if u.GetLogin() == "" {
			return "", &Error{Op: op, Kind: ErrHTTP, Message: "the response names no login"}
		}
		return u.GetLogin(), nil
	}
	if err = c.apiError(op, err); !errors.Is(err, ErrReadOnly) {
		return "", err
	}
	c.policy.logf("github: the token may not read /user (a GitHub Actions or GitHub App token): only issues by %s count as this tool's", actionsLogin)
	return actionsLogin, nil
}

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
	login, err := c.issueIdentity(ctx)
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
		res = IssueResult{Action: IssueUnchanged, Number: keep.GetNumber(), URL: keep.GetHTMLURL()}
		if !sameBody(keep.GetBody(), full) || keep.GetTitle() != title {
			if _, err := c.editIssue(ctx, keep.GetNumber(), &gh.IssueRequest{Title: gh.String(title), Body: gh.String(full)}); err != nil {
				return IssueResult{}, err
			}
			res.Action = IssueUpdated
		}
		for _, dup := range open[1:] {
			if _, err := c.editIssue(ctx, dup.GetNumber(), &gh.IssueRequest{State: gh.String("closed")}); err != nil {
				return res, err
			}
			res.ClosedDuplicates = append(res.ClosedDuplicates, dup.GetNumber())
		}
	case len(closed) > 0:
		last := closed[len(closed)-1]
		is, err := c.editIssue(ctx, last.GetNumber(), &gh.IssueRequest{Title: gh.String(title), Body: gh.String(full), State: gh.String("open")})
		if err != nil {
			return IssueResult{}, err
		}
		res = IssueResult{Action: IssueReopened, Number: last.GetNumber(), URL: cmp.Or(is.GetHTMLURL(), last.GetHTMLURL())}
	default:
		is, _, err := c.gh.Issues.Create(ctx, c.owner, c.repo, &gh.IssueRequest{Title: gh.String(title), Body: gh.String(full)})
		if err != nil {
			return IssueResult{}, c.apiError(fmt.Sprintf("create issue in %s/%s", c.owner, c.repo), err)
		}
		res = IssueResult{Action: IssueCreated, Number: is.GetNumber(), URL: is.GetHTMLURL()}
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
	login, err := c.issueIdentity(ctx)
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
	res := IssueResult{Action: IssueClosed, Number: open[0].GetNumber(), URL: open[0].GetHTMLURL()}
	for i, is := range open {
		req := &gh.IssueRequest{State: gh.String("closed")}
		if i == 0 && body != "" {
			req.Body = gh.String(c.withMarker(body))
		}
		if _, err := c.editIssue(ctx, is.GetNumber(), req); err != nil {
			return res, err
		}
		if i > 0 {
			res.ClosedDuplicates = append(res.ClosedDuplicates, is.GetNumber())
		}
	}
	return res, nil
}

// findIssues lists the identity's marked issues, asking the server to
// filter by creator; when that finds none, it lists every issue and
// filters here, before anything is created: a server that matches the
// creator differently (a bot's login, a server that ignores the filter)
// must not lead to a second issue.
func (c *Client) findIssues(ctx context.Context, login string) (open, closed []*gh.Issue, err error) {
	open, closed, err = c.listMarkedIssues(ctx, login, true)
	if err != nil || len(open)+len(closed) > 0 {
		return open, closed, err
	}
	return c.listMarkedIssues(ctx, login, false)
}

// listMarkedIssues returns the issues (not pull requests) with the marker
// on top that login opened, open and closed, oldest first.
func (c *Client) listMarkedIssues(ctx context.Context, login string, byCreator bool) (open, closed []*gh.Issue, err error) {
	op := fmt.Sprintf("list issues of %s/%s", c.owner, c.repo)
	opts := &gh.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "asc", ListOptions: gh.ListOptions{PerPage: 100, Page: 1}}
	if byCreator {
		opts.Creator = login
	}
	seen := map[int]bool{}
	for pages := 0; pages < maxListPages; pages++ {
		issues, resp, err := c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, nil, c.apiError(op, err)
		}
		for _, is := range issues {
			// The creator filter is a hint: the author is checked here.
			if seen[is.GetNumber()] || is.IsPullRequest() || !c.hasMarker(is.GetBody()) || !strings.EqualFold(is.GetUser().GetLogin(), login) {
				continue
			}
			seen[is.GetNumber()] = true
			if is.GetState() == "open" {
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
	byNumber := func(a, b *gh.Issue) int { return cmp.Compare(a.GetNumber(), b.GetNumber()) }
	slices.SortFunc(open, byNumber)
	slices.SortFunc(closed, byNumber)
	return open, closed, nil
}

func (c *Client) editIssue(ctx context.Context, number int, req *gh.IssueRequest) (*gh.Issue, error) {
	is, _, err := c.gh.Issues.Edit(ctx, c.owner, c.repo, number, req)
	if err != nil {
		return nil, c.apiError(fmt.Sprintf("update issue %s/%s#%d", c.owner, c.repo, number), err)
	}
	return is, nil
}
