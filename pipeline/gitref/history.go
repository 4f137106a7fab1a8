package gitref

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// Commit is one commit of a first-parent history, with the files it
// changed against its first parent.
type Commit struct {
	SHA     string
	Parents []string
	Author  string
	// Date is when the commit entered the branch: the committer date (a
	// merge commit's is when the pull request was merged).
	Date    time.Time
	Subject string
	Files   []string
}

// FirstParentLog lists the first-parent history of ref, oldest first,
// with the files each commit changed (a merge: against its first parent,
// so a merged pull request shows as one change).
func (r *Repo) FirstParentLog(ctx context.Context, ref string) ([]Commit, error) {
	out, err := git(ctx, r.Dir, nil, "log", "--first-parent", "--diff-merges=first-parent", "--no-renames", "--name-only", "-z",
		"--format=%x1e%H%x1f%P%x1f%an%x1f%cI%x1f%s%x1f", ref, "--")
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", ref, err)
	}
	var cs []Commit
	for _, rec := range bytes.Split(out, []byte{0x1e}) {
		if len(rec) == 0 {
			continue
		}
		f := bytes.SplitN(rec, []byte{0x1f}, 6)
		if len(f) != 6 {
			return nil, fmt.Errorf("log %s: unexpected record %q", ref, rec)
		}
		date, err := time.Parse(time.RFC3339, string(f[3]))
		if err != nil {
			return nil, fmt.Errorf("log %s: commit %s: %w", ref, f[0], err)
		}
		c := Commit{SHA: string(f[0]), Parents: strings.Fields(string(f[1])), Author: string(f[2]), Date: date, Subject: string(f[4])}
		for _, p := range bytes.Split(bytes.TrimLeft(f[5], "\x00\n"), []byte{0}) {
			if p := strings.TrimSpace(string(p)); p != "" {
				c.Files = append(c.Files, p)
			}
		}
		cs = append(cs, c)
	}
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	return cs, nil
}

// LastChange is the newest commit reachable from ref that changed path;
// ok is false when none did (an untracked file).
func (r *Repo) LastChange(ctx context.Context, ref, path string) (c Commit, ok bool, err error) {
	out, err := git(ctx, r.Dir, nil, "log", "-1", "--format=%H%x1f%an%x1f%cI%x1f%s", ref, "--", path)
	if err != nil {
		return Commit{}, false, fmt.Errorf("log %s -- %s: %w", ref, path, err)
	}
	f := strings.SplitN(strings.TrimRight(string(out), "\n"), "\x1f", 4)
	if len(f) != 4 {
		return Commit{}, false, nil
	}
	date, err := time.Parse(time.RFC3339, f[2])
	if err != nil {
		return Commit{}, false, fmt.Errorf("log %s -- %s: %w", ref, path, err)
	}
	return Commit{SHA: f[0], Author: f[1], Date: date, Subject: f[3]}, true, nil
}
