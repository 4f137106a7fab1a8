package gitref

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/bytesize"
)

// Limits bound what the gate reads from one version of a repository (the
// work tree, or a commit). Everything in a pull request's head is hostile:
// these keep a huge file, or very many files, from exhausting memory.
type Limits struct {
	// FileBytes is the most one file may hold.
	FileBytes int64
	// TotalBytes is the most the files read from one version may hold
	// together, each file counted once: the limit per run, for the head
	// and for the base.
	TotalBytes int64
}

// DefaultLimits are the limits of every workspace.
var DefaultLimits = Limits{FileBytes: 16 << 20, TotalBytes: 256 << 20}

// Reasons a file is not read; they come wrapped in an *fs.PathError that
// names the file, relative to the repository root.
var (
	// ErrOutside: the path, or a symlink on the way, leads out of the
	// repository.
	ErrOutside = errors.New("outside the repository")
	// ErrNotRegular: a device, a FIFO, a socket or a directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrReadOnly: the gate never writes into a repository.
	ErrReadOnly = errors.New("the repository is read-only")
)

// LimitError is a file over one of the Limits.
type LimitError struct {
	// Size is the file's size; 0 when the per-run limit is exceeded.
	Size  int64
	Limit int64
	// PerRun: the files read so far plus this one exceed TotalBytes.
	PerRun bool
}

func (e *LimitError) Error() string {
	if e.PerRun {
		return fmt.Sprintf("not read: the files read from this version of the repository would exceed %s, the limit per run", bytesize.Format(e.Limit))
	}
	return fmt.Sprintf("file is %s, more than the %s limit per file", bytesize.Format(e.Size), bytesize.Format(e.Limit))
}

// FS is one version of a repository as the gate reads it, read-only. Every
// file read through ReadFile or Open is a regular file that resolves inside
// the root, within the Limits; anything else is refused with an
// *fs.PathError naming the file relative to the root. Metadata (Exists,
// IsDir, ReadDir, Walk, Glob, CleanedAbs) comes from the file system
// underneath.
type FS struct {
	filesys.FileSystem
	// root is the work tree on disk; nil for a commit in memory.
	root *os.Root
	// dir is the repository root in the file system ("/" in memory), and
	// resolved the same with symlinks resolved.
	dir, resolved string
	// refused are a commit's paths that may not be read (symlinks out of
	// the tree, files over the limits), by root-relative path.
	refused map[string]error
	limits  Limits

	mu    sync.Mutex
	seen  map[string]bool
	total int64
}

// WorkTree opens the directory dir on disk (a repository's work tree) as
// an FS.
func WorkTree(dir string, limits Limits) (*FS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(resolved)
	if err != nil {
		return nil, err
	}
	return &FS{FileSystem: filesys.MakeFsOnDisk(), root: root, dir: abs, resolved: resolved, limits: limits, seen: map[string]bool{}}, nil
}

// inMemory wraps a commit's tree; refused lists the paths that may not be
// read, and why.
func inMemory(fsys filesys.FileSystem, refused map[string]error, limits Limits) *FS {
	return &FS{FileSystem: fsys, dir: "/", resolved: "/", refused: refused, limits: limits, seen: map[string]bool{}}
}

// Root is the repository root inside the file system: an absolute
// directory on disk, "/" in memory.
func (f *FS) Root() string { return f.dir }

// Rel turns a path of the file system (absolute, or relative to the
// working directory on disk) into a slash-separated path relative to the
// root; ok is false when it lies outside.
func (f *FS) Rel(p string) (rel string, ok bool) {
	if f.root == nil {
		p = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(p)), "/")
		if p == "" {
			p = "."
		}
		return p, true
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	for _, r := range []string{f.dir, f.resolved} {
		rel, err := filepath.Rel(r, abs)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel), true
		}
	}
	return "", false
}

// Exists also holds for a path that is refused, so that reading it says
// why.
func (f *FS) Exists(p string) bool {
	if rel, ok := f.Rel(p); ok && f.refused[rel] != nil {
		return true
	}
	return f.FileSystem.Exists(p)
}

// ReadFile reads a regular file inside the root, within the limits.
func (f *FS) ReadFile(p string) ([]byte, error) {
	rel, ok := f.Rel(p)
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: p, Err: ErrOutside}
	}
	if rel == "." {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: ErrNotRegular}
	}
	var data []byte
	var err error
	if f.root == nil {
		data, err = f.readMemory(p, rel)
	} else {
		data, err = f.readDisk(p, rel)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: err}
	}
	if err := f.count(rel, int64(len(data))); err != nil {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: err}
	}
	return data, nil
}

func (f *FS) readMemory(p, rel string) ([]byte, error) {
	if err := f.refused[rel]; err != nil {
		return nil, err
	}
	if f.FileSystem.IsDir(p) {
		return nil, ErrNotRegular
	}
	data, err := f.FileSystem.ReadFile(p)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if int64(len(data)) > f.limits.FileBytes {
		return nil, &LimitError{Size: int64(len(data)), Limit: f.limits.FileBytes}
	}
	return data, nil
}

// readDisk opens the file through os.Root, which follows symlinks only
// while they stay inside the root; O_NONBLOCK keeps a FIFO from blocking
// the open, and the size is checked on the open file before reading.
func (f *FS) readDisk(p, rel string) ([]byte, error) {
	file, err := f.root.OpenFile(filepath.FromSlash(rel), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, f.openError(p, err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	if fi.Size() > f.limits.FileBytes {
		return nil, &LimitError{Size: fi.Size(), Limit: f.limits.FileBytes}
	}
	// The file may grow while it is read: never read past the limit.
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(file, f.limits.FileBytes+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if n > f.limits.FileBytes {
		return nil, &LimitError{Size: n, Limit: f.limits.FileBytes}
	}
	return b.Bytes(), nil
}

// openError says where a path that os.Root refused leads.
func (f *FS) openError(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fs.ErrNotExist
	}
	if target, e := filepath.EvalSymlinks(p); e == nil {
		if _, inside := within(f.resolved, target); !inside {
			return fmt.Errorf("symlink resolves to %s, %w", target, ErrOutside)
		}
	}
	if link, e := os.Readlink(p); e == nil && filepath.IsAbs(link) {
		return fmt.Errorf("symlink to the absolute path %s: only relative symlinks inside the repository are followed", link)
	}
	return unwrapPath(err)
}

func within(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// unwrapPath drops the *fs.PathError of the layer below: ReadFile names
// the file once, relative to the root.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// count adds a file read for the first time to the total read.
func (f *FS) count(rel string, n int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[rel] {
		return nil
	}
	if f.total+n > f.limits.TotalBytes {
		return &LimitError{Limit: f.limits.TotalBytes, PerRun: true}
	}
	f.seen[rel] = true
	f.total += n
	return nil
}

// Open reads the file as ReadFile does and returns it read-only.
func (f *FS) Open(p string) (filesys.File, error) {
	data, err := f.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &roFile{Reader: bytes.NewReader(data), name: path.Base(filepath.ToSlash(p)), size: int64(len(data))}, nil
}

func (f *FS) Create(p string) (filesys.File, error) {
	return nil, &fs.PathError{Op: "create", Path: p, Err: ErrReadOnly}
}
func (f *FS) Mkdir(p string) error     { return &fs.PathError{Op: "mkdir", Path: p, Err: ErrReadOnly} }
func (f *FS) MkdirAll(p string) error  { return &fs.PathError{Op: "mkdir", Path: p, Err: ErrReadOnly} }
func (f *FS) RemoveAll(p string) error { return &fs.PathError{Op: "remove", Path: p, Err: ErrReadOnly} }
func (f *FS) WriteFile(p string, _ []byte) error {
	return &fs.PathError{Op: "write", Path: p, Err: ErrReadOnly}
}

// roFile is a file's content, read-only.
type roFile struct {
	*bytes.Reader
	name string
	size int64
}

func (r *roFile) Write([]byte) (int, error) { return 0, ErrReadOnly }
func (r *roFile) Close() error              { return nil }
func (r *roFile) Stat() (os.FileInfo, error) {
	return roInfo{name: r.name, size: r.size}, nil
}

type roInfo struct {
	name string
	size int64
}

func (i roInfo) Name() string       { return i.name }
func (i roInfo) Size() int64        { return i.size }
func (i roInfo) Mode() fs.FileMode  { return 0o444 }
func (i roInfo) ModTime() time.Time { return time.Time{} }
func (i roInfo) IsDir() bool        { return false }
func (i roInfo) Sys() any           { return nil }
