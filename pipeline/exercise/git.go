package exercise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Start writes the exercise's starting state on a new branch of the
// repository that holds dir: it refuses a work tree with changes to
// tracked files, checks that the starting patch applies, creates the
// branch exercise-N from HEAD and commits the starting state on it, so
// that the trainee's work is the difference from that commit. The hint
// ladder starts again from its first rung.
func Start(ctx context.Context, dir string, e *Exercise) error {
	out, err := git(ctx, dir, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("exercises work on a clone of the repository: %w", err)
	}
	top := strings.TrimSpace(string(out))
	status, err := git(ctx, top, nil, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(status)) > 0 {
		return errors.New("the work tree has uncommitted changes (git status): commit or stash them first, then start the exercise")
	}
	branch := e.Branch()
	if _, err := git(ctx, top, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err == nil {
		return fmt.Errorf("branch %s exists: go on with it (git switch %s), or delete it (git branch -D %s) to start over", branch, branch, branch)
	}
	if len(e.Start) > 0 {
		if _, err := git(ctx, top, bytes.NewReader(e.Start), "apply", "--check", "-"); err != nil {
			return fmt.Errorf("the starting state of exercise %d does not apply to this work tree (start from the default branch of this repository): %w", e.Number, err)
		}
	}
	if _, err := git(ctx, top, nil, "checkout", "-q", "-b", branch); err != nil {
		return err
	}
	if len(e.Start) > 0 {
		if _, err := git(ctx, top, bytes.NewReader(e.Start), "apply", "--index", "-"); err != nil {
			return err
		}
	}
	if _, err := git(ctx, top, nil, "-c", "user.name=reachgate", "-c", "user.email=reachgate@localhost",
		"commit", "-q", "--no-verify", "--allow-empty", "-m", fmt.Sprintf("exercise %d: starting state", e.Number)); err != nil {
		return err
	}
	return SetHintsShown(ctx, top, e.Number, 0)
}

// HintsShown is how many rungs of exercise n's ladder check has shown in
// this repository (kept in the git directory, not the work tree).
func HintsShown(ctx context.Context, dir string, n int) (int, error) {
	file, err := hintFile(ctx, dir, n)
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	k, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || k < 0 {
		return 0, nil
	}
	return k, nil
}

// SetHintsShown records how many rungs have been shown.
func SetHintsShown(ctx context.Context, dir string, n, k int) error {
	file, err := hintFile(ctx, dir, n)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, []byte(strconv.Itoa(k)+"\n"), 0o644)
}

func hintFile(ctx context.Context, dir string, n int) (string, error) {
	out, err := git(ctx, dir, nil, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return "", fmt.Errorf("hints are kept in the git directory: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "reachgate", "exercise-"+strconv.Itoa(n)+"-hints"), nil
}

func git(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git %s: %s", args[0], msg)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return out, nil
}
