package render

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reachgate/reachgate/pipeline/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

// memFS is an in-memory repository holding the files of a txtar archive.
func memFS(t testing.TB, archive string) filesys.FileSystem {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for _, f := range txtar.Parse([]byte(archive)).Files {
		require.NoError(t, fs.WriteFile("/"+f.Name, f.Data))
	}
	return fs
}

// diskFS copies a directory of testdata into memory.
func diskFS(t testing.TB, dir string) filesys.FileSystem {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return fs.WriteFile("/"+filepath.ToSlash(rel), b)
	})
	require.NoError(t, err)
	return fs
}

// errorList flattens what the package returns into messages.
func errorList(t testing.TB, err error) []string {
	t.Helper()
	var one *model.InputError
	var many model.InputErrors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &many):
		out := make([]string, len(many))
		for i, e := range many {
			out[i] = e.Error()
		}
		return out
	case errors.As(err, &one):
		return []string{one.Error()}
	}
	t.Fatalf("not an input error: %T %v", err, err)
	return nil
}

func inputErrors(es model.InputErrors) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

// located lists objects as "Kind ns/name file:line".
func located(objs []model.Object) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s %s", o.ObjectRef, o.Source))
	}
	return out
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -update to create it")
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", p, d)
	}
}

// memTree is an in-memory file system holding files, by path under /.
func memTree(t testing.TB, files map[string]string) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	for name, data := range files {
		require.NoError(t, fsys.WriteFile("/"+name, []byte(data)))
	}
	return fsys
}
