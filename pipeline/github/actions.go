package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// MaxStepSummary is GitHub's limit on one step's job summary.
const MaxStepSummary = 1 << 20

// WriteStepSummary appends markdown to the job summary file (the path in
// $GITHUB_STEP_SUMMARY), ending it with a newline. It refuses to grow the
// file past GitHub's 1 MiB limit, since GitHub would drop the whole summary.
func WriteStepSummary(path, markdown string) error {
	if path == "" {
		return errors.New("write step summary: no file (GITHUB_STEP_SUMMARY is not set)")
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write step summary: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("write step summary: %w", err)
	}
	if fi.Size()+int64(len(markdown)) > MaxStepSummary {
		f.Close()
		return fmt.Errorf("write step summary %s: %d bytes would exceed GitHub's limit of %d; trim the summary",
			path, fi.Size()+int64(len(markdown)), MaxStepSummary)
	}
	if _, err := f.WriteString(markdown); err != nil {
		f.Close()
		return fmt.Errorf("write step summary: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write step summary: %w", err)
	}
	return nil
}

// EventInfo is what reachgate needs from the event that started a GitHub
// Actions run.
type EventInfo struct {
	Owner, Repo string // the base repository, where the comment goes
	// PR is the pull request number; 0 for a workflow_run whose triggering
	// run came from a fork (GitHub leaves pull_requests empty then: take it
	// from an artifact and check it with Client.PullRequestHead).
	PR               int
	BaseSHA, HeadSHA string
	BaseRef, HeadRef string
	// Fork is true when the head branch lives in another repository: the
	// pull_request run then has a read-only token.
	Fork bool
}

// ReadEvent parses the event payload at eventPath ($GITHUB_EVENT_PATH) for
// eventName ($GITHUB_EVENT_NAME): pull_request, pull_request_target or
// workflow_run.
func ReadEvent(eventPath, eventName string) (EventInfo, error) {
	data, err := os.ReadFile(eventPath)
	if err != nil {
		return EventInfo{}, fmt.Errorf("read event: %w", err)
	}
	return ParseEvent(eventPath, data, eventName)
}

// ParseEvent parses an event payload read from eventPath: see ReadEvent.
func ParseEvent(eventPath string, data []byte, eventName string) (EventInfo, error) {
	switch eventName {
	case "pull_request", "pull_request_target":
		var ev gh.PullRequestEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return EventInfo{}, fmt.Errorf("read event %s: %w", eventPath, err)
		}
		pr := ev.GetPullRequest()
		if pr == nil || pr.GetNumber() == 0 {
			return EventInfo{}, fmt.Errorf("read event %s: %s event without pull_request.number", eventPath, eventName)
		}
		owner, repo, err := repoName(pr.GetBase().GetRepo(), ev.GetRepo())
		if err != nil {
			return EventInfo{}, fmt.Errorf("read event %s: %w", eventPath, err)
		}
		head := pr.GetHead()
		return EventInfo{
			Owner: owner, Repo: repo, PR: pr.GetNumber(),
			BaseSHA: pr.GetBase().GetSHA(), HeadSHA: head.GetSHA(),
			BaseRef: pr.GetBase().GetRef(), HeadRef: head.GetRef(),
			// A deleted fork has no head repository.
			Fork: head.GetRepo() == nil || !strings.EqualFold(head.GetRepo().GetFullName(), owner+"/"+repo),
		}, nil
	case "workflow_run":
		var ev gh.WorkflowRunEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return EventInfo{}, fmt.Errorf("read event %s: %w", eventPath, err)
		}
		run := ev.GetWorkflowRun()
		if run == nil {
			return EventInfo{}, fmt.Errorf("read event %s: workflow_run event without workflow_run", eventPath)
		}
		owner, repo, err := repoName(run.GetRepository(), ev.GetRepo())
		if err != nil {
			return EventInfo{}, fmt.Errorf("read event %s: %w", eventPath, err)
		}
		info := EventInfo{
			Owner: owner, Repo: repo,
			HeadSHA: run.GetHeadSHA(), HeadRef: run.GetHeadBranch(),
			Fork: run.GetHeadRepository() == nil || !strings.EqualFold(run.GetHeadRepository().GetFullName(), owner+"/"+repo),
		}
		// pull_requests lists the run's PRs in this repository (empty for
		// forks); take the one whose head is the run's head.
		for _, pr := range run.PullRequests {
			if pr.GetHead().GetSHA() == info.HeadSHA || info.PR == 0 {
				info.PR = pr.GetNumber()
				info.BaseSHA = pr.GetBase().GetSHA()
				info.BaseRef = pr.GetBase().GetRef()
			}
		}
		return info, nil
	case "":
		return EventInfo{}, errors.New("read event: no event name (GITHUB_EVENT_NAME is not set)")
	default:
		return EventInfo{}, fmt.Errorf("read event: %s is not a pull_request, pull_request_target or workflow_run event", eventName)
	}
}

// repoName takes owner and name from the first repository that has them.
func repoName(repos ...*gh.Repository) (string, string, error) {
	for _, r := range repos {
		if r == nil {
			continue
		}
		if full := r.GetFullName(); strings.Count(full, "/") == 1 {
			owner, name, _ := strings.Cut(full, "/")
			return owner, name, nil
		}
		if r.GetOwner().GetLogin() != "" && r.GetName() != "" {
			return r.GetOwner().GetLogin(), r.GetName(), nil
		}
	}
	return "", "", errors.New("no repository in the event")
}
