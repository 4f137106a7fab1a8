package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/internal/bytesize"
)

// tree is the repository as seen through a file system: every path it
// hands out is relative to the root, slash-separated and clean.
type tree struct {
	fsys filesys.FileSystem
	// lexical is the root as an absolute path in fsys; resolved is the
	// same with symlinks resolved (they differ only on disk).
	lexical  string
	resolved filesys.ConfirmedDir
	// fileBytes bounds what one file may hold.
	fileBytes int64
}

func newTree(fsys filesys.FileSystem, root string, fileBytes int64) (*tree, error) {
	cwd, _, err := fsys.CleanedAbs(".")
	if err != nil {
		return nil, fmt.Errorf("resolve working directory: %w", err)
	}
	if root == "" {
		root = "."
	}
	lex := filepath.Clean(root)
	if !filepath.IsAbs(lex) {
		lex = filepath.Join(string(cwd), lex)
	}
	res, f, err := fsys.CleanedAbs(lex)
	if err != nil {
		return nil, fmt.Errorf("repository root %s: %w", root, err)
	}
	if f != "" {
		return nil, fmt.Errorf("repository root %s is not a directory", root)
	}
	return &tree{fsys: fsys, lexical: lex, resolved: res, fileBytes: fileBytes}, nil
}

// relative turns a path given by a caller (relative to the working
// directory, or absolute) into a path relative to the root.
func (t *tree) relative(p string) (string, error) {
	cwd, _, err := t.fsys.CleanedAbs(".")
	if err != nil {
		return "", err
	}
	abs := filepath.Clean(p)
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(string(cwd), abs)
	}
	if rel, ok := within(t.lexical, abs); ok {
		return rel, nil
	}
	// The caller may have spelt the path through a symlink.
	if d, f, err := t.fsys.CleanedAbs(abs); err == nil {
		if rel, ok := within(string(t.resolved), d.Join(f)); ok {
			return rel, nil
		}
	}
	return "", fmt.Errorf("%s is outside the repository root %s", p, t.lexical)
}

// within returns p relative to root when p is inside it.
func within(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// abs is the file system path of a root-relative path.
func (t *tree) abs(rel string) string {
	return filepath.Join(t.lexical, filepath.FromSlash(rel))
}

// join resolves ref, written in a file inside dir, to a root-relative
// path; ok is false when it climbs above the root.
func join(dir, ref string) (string, bool) {
	p := path.Join(dir, filepath.ToSlash(ref))
	if path.IsAbs(filepath.ToSlash(ref)) || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// escapes reports whether rel, once symlinks are resolved, lies outside
// the root. A path that does not exist does not escape.
func (t *tree) escapes(rel string) (string, bool) {
	d, f, err := t.fsys.CleanedAbs(t.abs(rel))
	if err != nil {
		return "", false
	}
	target := d.Join(f)
	if f == "" {
		target = string(d)
	}
	if filesys.ConfirmedDir(target).HasPrefix(t.resolved) {
		return "", false
	}
	return target, true
}

func (t *tree) exists(rel string) bool { return t.fsys.Exists(t.abs(rel)) }
func (t *tree) isDir(rel string) bool  { return t.fsys.IsDir(t.abs(rel)) }

// read reads a regular file of at most fileBytes bytes that resolves
// inside the root. On disk the file is checked before it is read (a
// symlink to /dev/zero never is); the workspace's file system (see
// gitref.FS) checks the same again, and applies its limit per run. (The
// in-memory file system's Open is not safe for concurrent use, ReadFile
// is.)
func (t *tree) read(rel string) ([]byte, error) {
	if target, bad := t.escapes(rel); bad {
		return nil, fmt.Errorf("symlink resolves to %s, outside the repository", target)
	}
	p := t.abs(rel)
	if reflect.TypeOf(t.fsys) == diskType {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			return nil, unwrapPath(err)
		case !fi.Mode().IsRegular():
			return nil, errors.New("not a regular file")
		case fi.Size() > t.fileBytes:
			return nil, t.tooLarge(fi.Size())
		}
	}
	b, err := t.fsys.ReadFile(p)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if int64(len(b)) > t.fileBytes {
		return nil, t.tooLarge(int64(len(b)))
	}
	return b, nil
}

func (t *tree) tooLarge(n int64) error {
	return fmt.Errorf("file is %s, more than the %s limit per file", bytesize.Format(n), bytesize.Format(t.fileBytes))
}

// unwrapPath drops the *fs.PathError around a reason: the problem's
// location already names the file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var diskType = reflect.TypeOf(filesys.MakeFsOnDisk())
