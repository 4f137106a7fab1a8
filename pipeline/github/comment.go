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

// MaxCommentLength is the longest comment body GitHub accepts, in
// characters, marker line included.
const MaxCommentLength = 65536

// Action says what UpsertComment did.
type Action string

// The actions of UpsertComment.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// Result is what UpsertComment did.
type Result struct {
	Action    Action
	CommentID int64
	URL       string // the comment's page (html_url)
	// Deleted lists duplicate comments carrying the same marker that were
	// removed (left by an older version or by two runs that raced).
	Deleted []int64
}

// maxListPages bounds pagination (100 comments a page).
const maxListPages = 1000

// MaxBodyLength is the longest body UpsertComment accepts, in characters:
// MaxCommentLength less the marker line it adds.
func (c *Client) MaxBodyLength() int {
	if c.marker == "" {
		return MaxCommentLength
	}
	return MaxCommentLength - utf8.RuneCountInString(c.marker) - 1
}

// UpsertComment makes the pull request carry exactly one comment with this
// client's marker, with body as its text: it updates the comment it left
// before, or creates one. The marker line is put on top of body.
//
// Only comments whose author is the client's Identity count: anybody can
// post a comment that starts with the marker, and such a comment is
// neither edited nor deleted. When the comment this call creates names
// another author than the one assumed (a GitHub App token without
// Options.CommentAuthor), that author is the client's from then on.
//
// It lists all comments (every page) to find the marker. When none has it,
// it lists once more right before creating, and updates what appeared
// meanwhile instead. After creating it lists again: if a concurrent run
// created one too, the oldest is kept (and given this body) and the others
// are deleted. Existing duplicates are cleaned up the same way.
//
// On an error after the comment was written (deleting a duplicate), the
// Result describes what was done.
func (c *Client) UpsertComment(ctx context.Context, body string) (Result, error) {
	op := fmt.Sprintf("upsert comment on %s/%s#%d", c.owner, c.repo, c.pr)
	if c.marker == "" {
		return Result{}, &Error{Op: op, Kind: ErrInvalid, Message: "no marker configured"}
	}
	if c.pr <= 0 {
		return Result{}, &Error{Op: op, Kind: ErrNoPullRequest, Message: "no pull request number"}
	}
	full := c.withMarker(body)
	if n := utf8.RuneCountInString(full); n > MaxCommentLength {
		return Result{}, &Error{Op: op, Kind: ErrBodyTooLong, Message: fmt.Sprintf(
			"%d characters with the marker line, GitHub accepts %d; trim the body to %d characters",
			n, MaxCommentLength, c.MaxBodyLength())}
	}

	if _, err := c.Identity(ctx); err != nil {
		return Result{}, err
	}

	for attempt := 0; ; attempt++ {
		found, err := c.listMarked(ctx)
		if err != nil {
			return Result{}, err
		}
		if len(found) == 0 {
			// Another run may have created it while this one was listing:
			// look again right before creating.
			if found, err = c.listMarked(ctx); err != nil {
				return Result{}, err
			}
		}
		if len(found) > 0 {
			return c.settle(ctx, found, full, 0)
		}

		created, err := c.createComment(ctx, full)
		if err != nil {
			// A 5xx or a dropped connection leaves it unknown whether the
			// comment was created: look before trying again.
			if retryableAfterCreate(err) && attempt < c.policy.maxRetries {
				d := c.policy.backoff(attempt)
				c.policy.logf("github: %v; looking for the comment again in %s", err, d)
				if serr := c.policy.sleep(ctx, d); serr != nil {
					return Result{}, fmt.Errorf("%s: %w", op, contextErr(serr))
				}
				continue
			}
			return Result{}, err
		}

		if login := created.GetUser().GetLogin(); login != "" && !strings.EqualFold(login, c.identity) {
			// The server says who this client is: what it just created is
			// its own.
			c.policy.logf("github: the comment was created as %s, not %s: set the comment author to %s", login, c.identity, login)
			c.identity = login
		}

		// Two runs may both have found nothing and created: converge on the
		// oldest comment.
		found, err = c.listMarked(ctx)
		if err != nil || len(found) == 0 || len(found) == 1 && found[0].GetID() == created.GetID() {
			// The comment is there; not being able to check for a racing
			// run is no reason to fail.
			return Result{Action: Created, CommentID: created.GetID(), URL: created.GetHTMLURL()}, nil
		}
		// Others are there too (or a racing run already deleted this one
		// in favour of an older comment).
		res, err := c.settle(ctx, found, full, created.GetID())
		if res.CommentID == created.GetID() && res.Action == Unchanged {
			res.Action = Created
		}
		return res, err
	}
}

// withMarker puts the marker line on top of body (once).
func (c *Client) withMarker(body string) string {
	if strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), c.marker) {
		return body
	}
	return c.marker + "\n" + body
}

// hasMarker tells whether a comment body is one of this client's.
func (c *Client) hasMarker(body string) bool {
	return strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), c.marker)
}

func retryableAfterCreate(err error) bool {
	return errors.Is(err, ErrServer) || errors.Is(err, ErrNetwork)
}

// settle keeps the oldest marked comment with body full and deletes the
// others. created is the ID this call just created, 0 if none.
func (c *Client) settle(ctx context.Context, found []*gh.IssueComment, full string, created int64) (Result, error) {
	keep := found[0]
	res := Result{Action: Unchanged, CommentID: keep.GetID(), URL: keep.GetHTMLURL()}
	if sameBody(keep.GetBody(), full) {
		if created != 0 && keep.GetID() != created {
			// Our new comment duplicates an older one with the same text.
			res.Action = Updated
		}
	} else {
		updated, err := c.editComment(ctx, keep.GetID(), full)
		if err != nil {
			return Result{}, err
		}
		res.Action = Updated
		if u := updated.GetHTMLURL(); u != "" {
			res.URL = u
		}
	}
	for _, dup := range found[1:] {
		err := c.deleteComment(ctx, dup.GetID())
		if err != nil && !errors.Is(err, ErrNotFound) { // gone already: a racing run deleted it
			return res, err
		}
		res.Deleted = append(res.Deleted, dup.GetID())
	}
	return res, nil
}

// sameBody compares bodies as servers store them (CRLF may become LF,
// trailing white space may go).
func sameBody(a, b string) bool {
	norm := func(s string) string {
		return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), " \t\r\n")
	}
	return norm(a) == norm(b)
}

// listMarked returns this client's comments on the pull request (the
// marker on top, written by its identity), oldest first, from every page.
func (c *Client) listMarked(ctx context.Context) ([]*gh.IssueComment, error) {
	op := fmt.Sprintf("list comments on %s/%s#%d", c.owner, c.repo, c.pr)
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100, Page: 1}}
	seen := map[int64]bool{}
	var out []*gh.IssueComment
	for pages := 0; pages < maxListPages; pages++ {
		comments, resp, err := c.gh.Issues.ListComments(ctx, c.owner, c.repo, c.pr, opts)
		if err != nil {
			return nil, c.apiError(op, err)
		}
		for _, cm := range comments {
			if seen[cm.GetID()] || !c.hasMarker(cm.GetBody()) || !strings.EqualFold(cm.GetUser().GetLogin(), c.identity) {
				continue
			}
			seen[cm.GetID()] = true
			out = append(out, cm)
		}
		// A next page that does not move forward ends the walk, whatever
		// the Link header says.
		if resp.NextPage <= opts.Page {
			break
		}
		opts.Page = resp.NextPage
	}
	// IDs grow with creation on GitHub and Gitea: the smallest is the oldest.
	slices.SortFunc(out, func(a, b *gh.IssueComment) int { return cmp.Compare(a.GetID(), b.GetID()) })
	return out, nil
}

func (c *Client) createComment(ctx context.Context, body string) (*gh.IssueComment, error) {
	op := fmt.Sprintf("create comment on %s/%s#%d", c.owner, c.repo, c.pr)
	cm, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, c.pr, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return nil, c.apiError(op, err)
	}
	return cm, nil
}

func (c *Client) editComment(ctx context.Context, id int64, body string) (*gh.IssueComment, error) {
	op := fmt.Sprintf("update comment %d on %s/%s#%d", id, c.owner, c.repo, c.pr)
	cm, _, err := c.gh.Issues.EditComment(ctx, c.owner, c.repo, id, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return nil, c.apiError(op, err)
	}
	return cm, nil
}

func (c *Client) deleteComment(ctx context.Context, id int64) error {
	op := fmt.Sprintf("delete duplicate comment %d on %s/%s#%d", id, c.owner, c.repo, c.pr)
	if _, err := c.gh.Issues.DeleteComment(ctx, c.owner, c.repo, id); err != nil {
		return c.apiError(op, err)
	}
	return nil
}
