package run_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/config"
)

// repoOverlays are the overlays this repository's reachgate.yaml lists, in
// file order: the tests that run check on a copy of the repository expect
// one result per overlay, whatever the number.
func repoOverlays(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "reachgate.yaml"))
	require.NoError(t, err)
	cfg, err := config.Parse("reachgate.yaml", b)
	require.NoError(t, err)
	names := cfg.OverlayNames()
	require.Contains(t, names, "prod", "the tests change prod")
	return names
}

// eachOverlay is a slice with one v per overlay of the repository, and
// at for the overlays named in at.
func eachOverlay[T any](t testing.TB, v T, at map[string]T) []T {
	t.Helper()
	names := repoOverlays(t)
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = v
		if w, ok := at[n]; ok {
			out[i] = w
		}
	}
	return out
}

// withoutProd are the overlays but prod, in order, then prod: the order
// check takes them in when the head's reachgate.yaml drops prod and the
// base's still lists it.
func withoutProd(t testing.TB) []string {
	t.Helper()
	names := slices.DeleteFunc(repoOverlays(t), func(n string) bool { return n == "prod" })
	return append(names, "prod")
}
