package rego

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackEmbedsEveryFile keeps the go:embed patterns in step with the
// directory: a .rego file added in a new subdirectory would otherwise be
// left out of the binary without a word.
func TestPackEmbedsEveryFile(t *testing.T) {
	var onDisk []string
	require.NoError(t, filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".rego") {
			onDisk = append(onDisk, filepath.ToSlash(p))
		}
		return err
	}))
	require.NotEmpty(t, onDisk)
	var embedded []string
	require.NoError(t, fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			embedded = append(embedded, p)
		}
		return err
	}))
	assert.ElementsMatch(t, onDisk, embedded, "every .rego file under rego/ is embedded (extend the go:embed patterns of pack.go for deeper directories)")
	for _, f := range embedded {
		want, err := os.ReadFile(f)
		require.NoError(t, err)
		got, err := fs.ReadFile(FS, f)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), f)
	}
}
