// Package gitref reads a git ref's tree into an in-memory, read-only
// filesystem using the repository's own objects: no checkout, no network.
package gitref

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Repo is a git repository on disk.
type Repo struct {
	// Dir is the top of the work tree.
	Dir string
}

// Open finds the repository that contains dir.
func Open(dir string) (*Repo, error) {
	out, err := git(context.Background(), dir, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s is not inside a git repository: %w", dir, err)
	}
	return &Repo{Dir: strings.TrimSpace(string(out))}, nil
}

// ErrMissingCommit means the ref is not in the local object store; in CI
// this usually means a shallow clone.
var ErrMissingCommit = errors.New("commit not available locally")

// ErrUnknownRef means no branch, tag or commit of that name is known here.
var ErrUnknownRef = errors.New("no branch, tag or commit of that name here")

// hexRef matches what can only be a commit id, full or abbreviated.
var hexRef = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// Resolve returns the commit a ref names. When it names none, the error
// says what to do: in a shallow clone fetch the history, where a remote
// has a branch of that name use it, else fetch the ref.
func (r *Repo) Resolve(ref string) (string, error) {
	if c, ok := r.commit(ref); ok {
		return c, nil
	}
	switch {
	case r.IsShallow():
		return "", fmt.Errorf("resolve %s: %w: this is a shallow clone: check out with `fetch-depth: 0` (actions/checkout) or `git fetch --unshallow`, or fetch the base ref", ref, ErrMissingCommit)
	case hexRef.MatchString(ref):
		return "", fmt.Errorf("resolve %s: %w: fetch it first (git fetch origin %s)", ref, ErrMissingCommit, ref)
	}
	if out, err := git(context.Background(), r.Dir, nil, "for-each-ref", "--format=%(refname:short)", "refs/remotes/*/"+ref); err == nil {
		if remote := strings.Fields(string(out)); len(remote) > 0 {
			return "", fmt.Errorf("resolve %s: %w, but %s is: use that, or create the branch (git branch %s %s)", ref, ErrUnknownRef, remote[0], ref, remote[0])
		}
	}
	return "", fmt.Errorf("resolve %s: %w (git branch -a lists them); if a remote has it, fetch it first (git fetch origin %s)", ref, ErrUnknownRef, ref)
}

// commit resolves ref to a commit id.
func (r *Repo) commit(ref string) (string, bool) {
	out, err := git(context.Background(), r.Dir, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

// IsShallow reports whether the clone is shallow.
func (r *Repo) IsShallow() bool {
	out, err := git(context.Background(), r.Dir, nil, "rev-parse", "--is-shallow-repository")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// DefaultBranch guesses the default branch: origin's HEAD, else main or
// master, local or remote.
func (r *Repo) DefaultBranch() (string, error) {
	if out, err := git(context.Background(), r.Dir, nil, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"); err == nil {
		return strings.TrimPrefix(strings.TrimSpace(string(out)), "refs/remotes/"), nil
	}
	for _, b := range []string{"origin/main", "main", "origin/master", "master"} {
		if _, err := git(context.Background(), r.Dir, nil, "rev-parse", "--verify", "--quiet", b+"^{commit}"); err == nil {
			return b, nil
		}
	}
	return "", errors.New("cannot tell the default branch: pass --base")
}

// MergeBase returns the best common ancestor of a and b.
func (r *Repo) MergeBase(a, b string) (string, error) {
	out, err := git(context.Background(), r.Dir, nil, "merge-base", a, b)
	if err != nil {
		hint := ""
		if r.IsShallow() {
			hint = " (shallow clone: use `fetch-depth: 0` or fetch the base branch)"
		}
		return "", fmt.Errorf("merge-base of %s and %s: %w%s", a, b, err, hint)
	}
	return strings.TrimSpace(string(out)), nil
}

// Tree reads the commit's tree into an in-memory filesystem rooted at "/",
// within DefaultLimits. See TreeWithin.
func (r *Repo) Tree(commit string) (*FS, error) {
	return r.TreeWithin(commit, DefaultLimits)
}

// TreeOf is Tree restricted to the files under paths (all of them when
// none is given). A symlink pointing outside paths is refused as one
// pointing outside the tree is.
func (r *Repo) TreeOf(commit string, paths ...string) (*FS, error) {
	return r.TreeWithin(commit, DefaultLimits, paths...)
}

// maxLink bounds a symlink's target (PATH_MAX).
const maxLink = 4096

// TreeWithin reads the commit's tree (the files under paths, or all of
// them) into an in-memory filesystem rooted at "/". A blob over
// limits.FileBytes is never read; blobs are read until limits.TotalBytes
// is reached, manifests and rules first (YAML, JSON, Rego and
// kustomization files, then the rest in path order). Symlinks are
// followed when they lead to a file of the tree. Reading a file that was
// not read, or a symlink that leads out of the tree, to a directory or to
// nothing, fails with an *fs.PathError that says why; the rest of the tree
// is still there.
func (r *Repo) TreeWithin(commit string, limits Limits, paths ...string) (*FS, error) {
	ctx := context.Background()
	out, err := git(ctx, r.Dir, nil, append([]string{"ls-tree", "-r", "-l", "-z", "--full-tree", commit, "--"}, paths...)...)
	if err != nil {
		return nil, fmt.Errorf("list tree of %s: %w", commit, err)
	}
	type entry struct {
		mode, sha, path string
		size            int64
	}
	var files []entry
	links := map[string]entry{}
	refused := map[string]error{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		f := strings.Fields(string(meta))
		if !ok || len(f) != 4 || f[1] != "blob" {
			continue // submodules (commit entries) have no content here
		}
		size, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("list tree of %s: bad size in %q", commit, meta)
		}
		e := entry{mode: f[0], sha: f[2], path: string(p), size: size}
		switch {
		case e.mode == "120000" && size <= maxLink:
			links[e.path] = e
		case e.mode == "120000":
			refused[e.path] = errors.New("symlink target longer than 4096 bytes")
		case size > limits.FileBytes:
			refused[e.path] = &LimitError{Size: size, Limit: limits.FileBytes}
		default:
			files = append(files, e)
		}
	}
	slices.SortStableFunc(files, func(a, b entry) int { return cmpBool(likelyRead(b.path), likelyRead(a.path)) })
	var load []entry
	var total int64
	for _, e := range files {
		if total+e.size > limits.TotalBytes {
			refused[e.path] = &LimitError{Limit: limits.TotalBytes, PerRun: true}
			continue
		}
		total += e.size
		load = append(load, e)
	}
	for _, e := range links {
		load = append(load, e)
	}
	var req bytes.Buffer
	for _, e := range load {
		req.WriteString(e.sha)
		req.WriteByte('\n')
	}
	blobs, err := catBlobs(ctx, r.Dir, &req, len(load))
	if err != nil {
		return nil, fmt.Errorf("read objects of %s: %w", commit, err)
	}
	content := make(map[string][]byte, len(load))
	targets := map[string]string{}
	for i, e := range load {
		if _, ok := links[e.path]; ok {
			targets[e.path] = string(blobs[i])
		} else {
			content[e.path] = blobs[i]
		}
	}
	return assemble(content, targets, refused, limits)
}

// assemble makes the file system of a tree from its files' content, its
// symlinks' targets and the paths refused so far: symlinks that lead to
// a file are followed, the others refused where they are read.
func assemble(content map[string][]byte, targets map[string]string, refused map[string]error, limits Limits) (*FS, error) {
	dirs := map[string]bool{}
	for p := range content {
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for p, target := range targets {
		resolved, err := resolveLink(p, target, content, targets, dirs, refused)
		if err != nil {
			refused[p] = err
			continue
		}
		content[p] = content[resolved]
	}
	fs := filesys.MakeFsInMemory()
	for p, b := range content {
		if err := fs.WriteFile("/"+p, b); err != nil {
			return nil, fmt.Errorf("load %s: %w", p, err)
		}
	}
	return inMemory(fs, refused, limits), nil
}

// likelyRead: files the gate reads (manifests, kustomizations, rules,
// configuration) are loaded before the rest.
func likelyRead(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json", ".rego":
		return true
	}
	return path.Base(p) == "Kustomization"
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func resolveLink(p, target string, content map[string][]byte, links map[string]string, dirs map[string]bool, refused map[string]error) (string, error) {
	first := target
	for hops := 0; hops < 40; hops++ {
		if path.IsAbs(target) {
			return "", fmt.Errorf("symlink to %s, %w", first, ErrOutside)
		}
		next := path.Clean(path.Join(path.Dir(p), target))
		switch {
		case next == ".." || strings.HasPrefix(next, "../"):
			return "", fmt.Errorf("symlink to %s, %w", first, ErrOutside)
		case content[next] != nil:
			return next, nil
		case refused[next] != nil:
			return "", fmt.Errorf("symlink to %s: %w", first, refused[next])
		case dirs[next] || next == ".":
			return "", fmt.Errorf("symlink to the directory %s: directory symlinks are not followed in a commit", first)
		}
		t, ok := links[next]
		if !ok {
			return "", fmt.Errorf("symlink to %s leads to nothing in the tree", first)
		}
		p, target = next, t
	}
	return "", fmt.Errorf("symlink to %s: too many levels of symlinks", first)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// catBlobs reads n objects named on req, in order, through one
// `git cat-file --batch`.
func catBlobs(ctx context.Context, dir string, req io.Reader, n int) ([][]byte, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "cat-file", "--batch")
	cmd.Stdin = req
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	br := bufio.NewReader(stdout)
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		header, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("cat-file: %w", err)
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			return nil, fmt.Errorf("cat-file: %s", strings.TrimSpace(header))
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("cat-file: bad size in %q", header)
		}
		b := make([]byte, size+1) // content and the trailing newline
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("cat-file: %w", err)
		}
		out = append(out, b[:size])
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("cat-file: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Change is a file that differs between two commits.
type Change struct {
	Status string // added, removed, modified, renamed
	Path   string
}

// Changes lists files under the given paths that differ between base and
// head (head "" means the work tree).
func (r *Repo) Changes(base, head string, paths ...string) ([]Change, error) {
	args := []string{"diff", "--name-status", "-z", "--no-renames", base}
	if head != "" {
		args = append(args, head)
	}
	args = append(args, "--")
	args = append(args, paths...)
	out, err := git(context.Background(), r.Dir, nil, args...)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", base, err)
	}
	f := bytes.Split(out, []byte{0})
	var cs []Change
	for i := 0; i+1 < len(f); i += 2 {
		st := "modified"
		switch string(f[i]) {
		case "A":
			st = "added"
		case "D":
			st = "removed"
		}
		cs = append(cs, Change{Status: st, Path: string(f[i+1])})
	}
	return cs, nil
}

// Untracked lists files of the work tree that git does not track and does
// not ignore.
func (r *Repo) Untracked() ([]string, error) {
	out, err := git(context.Background(), r.Dir, nil, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	return files, nil
}

func git(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, err
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}
