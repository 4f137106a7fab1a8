package gitref

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Batch reads many commits' trees and files through one long-lived
// `git cat-file --batch`, caching the trees it parsed: walking a history
// costs a pipe round trip per object, not a process per question. It is
// not safe for concurrent use.
type Batch struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	trees map[string][]treeEntry // tree id -> entries
}

type treeEntry struct {
	mode, name, id string
}

// OpenBatch starts the reader; Close stops it.
func (r *Repo) OpenBatch(ctx context.Context) (*Batch, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", r.Dir, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cat-file: %w", err)
	}
	return &Batch{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16), trees: map[string][]treeEntry{}}, nil
}

// Close stops the reader.
func (b *Batch) Close() error {
	b.in.Close()
	return b.cmd.Wait()
}

// object reads one object by id or revision expression.
func (b *Batch) object(spec string) (typ string, data []byte, err error) {
	return b.objectAtMost(spec, -1)
}

// objectAtMost is object, but an object over max bytes (max >= 0) is
// skipped unread: its type comes back with a *LimitError.
func (b *Batch) objectAtMost(spec string, max int64) (typ string, data []byte, err error) {
	if strings.ContainsAny(spec, "\n") {
		return "", nil, fmt.Errorf("cat-file: bad object name %q", spec)
	}
	if _, err := io.WriteString(b.in, spec+"\n"); err != nil {
		return "", nil, fmt.Errorf("cat-file: %w", err)
	}
	header, err := b.out.ReadString('\n')
	if err != nil {
		return "", nil, fmt.Errorf("cat-file: %w", err)
	}
	f := strings.Fields(header)
	if len(f) == 2 && f[1] == "missing" {
		return "", nil, fmt.Errorf("%s: %w", spec, ErrMissingCommit)
	}
	if len(f) != 3 {
		return "", nil, fmt.Errorf("cat-file: %s", strings.TrimSpace(header))
	}
	size, err := strconv.Atoi(f[2])
	if err != nil {
		return "", nil, fmt.Errorf("cat-file: bad size in %q", header)
	}
	if max >= 0 && int64(size) > max {
		if _, err := io.CopyN(io.Discard, b.out, int64(size)+1); err != nil {
			return "", nil, fmt.Errorf("cat-file: %w", err)
		}
		return f[1], nil, &LimitError{Size: int64(size), Limit: max}
	}
	data = make([]byte, size+1)
	if _, err := io.ReadFull(b.out, data); err != nil {
		return "", nil, fmt.Errorf("cat-file: %w", err)
	}
	return f[1], data[:size], nil
}

// tree reads and parses a tree object: "<mode> <name>\0<20-byte id>"...
func (b *Batch) tree(id string) ([]treeEntry, error) {
	if es, ok := b.trees[id]; ok {
		return es, nil
	}
	typ, data, err := b.object(id)
	if err != nil {
		return nil, err
	}
	if typ != "tree" {
		return nil, fmt.Errorf("cat-file: %s is a %s, not a tree", id, typ)
	}
	var es []treeEntry
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		if sp < 0 || nul < sp || len(data) < nul+21 {
			return nil, fmt.Errorf("cat-file: tree %s is malformed", id)
		}
		es = append(es, treeEntry{mode: string(data[:sp]), name: string(data[sp+1 : nul]), id: hex.EncodeToString(data[nul+1 : nul+21])})
		data = data[nul+21:]
	}
	b.trees[id] = es
	return es, nil
}

// file is one blob (or symlink) of a commit's tree.
type file struct{ mode, id, path string }

// files lists the blobs under paths (files or directories, repository
// relative; all of the tree when none) at commit, sorted by path.
// Submodules are left out, as Tree leaves them.
func (b *Batch) files(commit string, paths ...string) ([]file, error) {
	root, err := b.tree(commit + "^{tree}")
	if err != nil {
		return nil, err
	}
	var out []file
	var walk func(es []treeEntry, prefix string) error
	walk = func(es []treeEntry, prefix string) error {
		for _, e := range es {
			p := path.Join(prefix, e.name)
			switch e.mode {
			case "40000":
				sub, err := b.tree(e.id)
				if err != nil {
					return err
				}
				if err := walk(sub, p); err != nil {
					return err
				}
			case "160000": // a submodule
			default:
				out = append(out, file{e.mode, e.id, p})
			}
		}
		return nil
	}
	if len(paths) == 0 {
		err = walk(root, "")
	}
	for _, want := range paths {
		want = strings.Trim(path.Clean("/"+want), "/")
		es, prefix := root, ""
		parts := strings.Split(want, "/")
		for i, part := range parts {
			j := slices.IndexFunc(es, func(e treeEntry) bool { return e.name == part })
			if j < 0 {
				break // not in this commit
			}
			e := es[j]
			p := path.Join(prefix, part)
			if i == len(parts)-1 {
				if e.mode == "40000" {
					sub, err := b.tree(e.id)
					if err != nil {
						return nil, err
					}
					if err := walk(sub, p); err != nil {
						return nil, err
					}
				} else if e.mode != "160000" {
					out = append(out, file{e.mode, e.id, p})
				}
				break
			}
			if e.mode != "40000" {
				break
			}
			if es, err = b.tree(e.id); err != nil {
				return nil, err
			}
			prefix = p
		}
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b file) int { return strings.Compare(a.path, b.path) })
	return slices.CompactFunc(out, func(a, b file) bool { return a.path == b.path }), nil
}

// Digest is "sha256:<hex>" of the paths, modes and blob ids under paths at
// commit: equal digests mean equal content there. It reads trees only.
func (b *Batch) Digest(commit string, paths ...string) (string, error) {
	fs, err := b.files(commit, paths...)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range fs {
		fmt.Fprintf(h, "%s %s %s\x00", f.mode, f.id, f.path)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Tree is Repo.TreeOf through the batch reader: the files under paths at
// commit in an in-memory filesystem rooted at "/", within DefaultLimits,
// symlinks followed within what was read and refused where read when
// they leave it.
func (b *Batch) Tree(commit string, paths ...string) (*FS, error) {
	limits := DefaultLimits
	fs, err := b.files(commit, paths...)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(fs, func(x, y file) int { return cmpBool(likelyRead(y.path), likelyRead(x.path)) })
	content := make(map[string][]byte, len(fs))
	links := map[string]string{}
	refused := map[string]error{}
	var total int64
	for _, f := range fs {
		typ, data, err := b.objectAtMost(f.id, limits.FileBytes)
		var le *LimitError
		if errors.As(err, &le) && typ == "blob" {
			refused[f.path] = le
			continue
		}
		if err != nil {
			return nil, err
		}
		if typ != "blob" {
			return nil, fmt.Errorf("cat-file: %s is a %s, not a blob", f.path, typ)
		}
		n := int64(len(data))
		switch {
		case f.mode == "120000" && n > maxLink:
			refused[f.path] = errors.New("symlink target longer than 4096 bytes")
		case f.mode == "120000":
			links[f.path] = string(data)
		case n > limits.FileBytes:
			refused[f.path] = &LimitError{Size: n, Limit: limits.FileBytes}
		case total+n > limits.TotalBytes:
			refused[f.path] = &LimitError{Limit: limits.TotalBytes, PerRun: true}
		default:
			total += n
			content[f.path] = data
		}
	}
	return assemble(content, links, refused, limits)
}
