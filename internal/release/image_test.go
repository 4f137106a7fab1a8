package release

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageRunsTheBinary builds reachgate as a release does, puts it in
// the image, writes the OCI layout, and reads it back as a registry or a
// container runtime would: the index names the platform, the config runs
// the binary as 65532 and nothing else, and the binary taken out of the
// layer runs and says its version.
func TestImageRunsTheBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image holds a linux binary; this test runs it")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "reachgate")
	build := exec.Command("go", "build", "-trimpath", "-ldflags",
		"-s -w -X github.com/reachgate/reachgate/internal/buildinfo.version=v9.8.7 -X github.com/reachgate/reachgate/internal/buildinfo.commit=0123456789abcdef0123456789abcdef01234567",
		"-o", bin, "../../cmd/reachgate")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	created := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	idx, err := Build(Image{Version: "v9.8.7", Commit: "0123456789abcdef0123456789abcdef01234567", Created: created,
		Platforms: []Platform{{OS: "linux", Arch: runtime.GOARCH, Binary: bin}}})
	require.NoError(t, err)
	oci := filepath.Join(dir, "oci")
	require.NoError(t, WriteLayout(oci, idx, "v9.8.7"))
	assert.FileExists(t, filepath.Join(oci, "oci-layout"))
	assert.FileExists(t, filepath.Join(oci, "index.json"))
	assert.DirExists(t, filepath.Join(oci, "blobs/sha256"))

	// Read back from disk only.
	p, err := layout.FromPath(oci)
	require.NoError(t, err)
	top, err := p.ImageIndex()
	require.NoError(t, err)
	topManifest, err := top.IndexManifest()
	require.NoError(t, err)
	require.Len(t, topManifest.Manifests, 1)
	assert.Equal(t, "v9.8.7", topManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
	inner, err := top.ImageIndex(topManifest.Manifests[0].Digest)
	require.NoError(t, err)
	im, err := inner.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	require.NotNil(t, im.Manifests[0].Platform)
	assert.Equal(t, "linux", im.Manifests[0].Platform.OS)
	assert.Equal(t, runtime.GOARCH, im.Manifests[0].Platform.Architecture)

	img, err := inner.Image(im.Manifests[0].Digest)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "65532:65532", cf.Config.User, "non-root")
	assert.Equal(t, []string{"/usr/local/bin/reachgate"}, cf.Config.Entrypoint)
	assert.Empty(t, cf.Config.Cmd)
	assert.Equal(t, created, cf.Created.Time.UTC())
	assert.Equal(t, "v9.8.7", cf.Config.Labels["org.opencontainers.image.version"])

	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1, "one layer, no base image")
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	files := map[string]*tar.Header{}
	extracted := filepath.Join(dir, "extracted-reachgate")
	var passwd string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		files[h.Name] = h
		switch h.Name {
		case "usr/local/bin/reachgate":
			f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, 0o755)
			require.NoError(t, err)
			_, err = io.Copy(f, tr)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		case "etc/passwd":
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			passwd = string(b)
		}
	}
	require.Contains(t, files, "usr/local/bin/reachgate")
	assert.Equal(t, int64(0o755), files["usr/local/bin/reachgate"].Mode&0o777)
	assert.Equal(t, 0, files["usr/local/bin/reachgate"].Uid, "the binary is root's: the user cannot replace it")
	assert.Contains(t, passwd, "nonroot:x:65532:65532:")
	assert.Equal(t, 65532, files["home/nonroot/"].Uid)

	version, err := exec.Command(extracted, "--version").CombinedOutput()
	require.NoError(t, err, "%s", version)
	assert.True(t, strings.HasPrefix(string(version), "reachgate v9.8.7 (commit 0123456789abcdef0123456789abcdef01234567"), "%s", version)

	// The same inputs build the same image.
	idx2, err := Build(Image{Version: "v9.8.7", Commit: "0123456789abcdef0123456789abcdef01234567", Created: created,
		Platforms: []Platform{{OS: "linux", Arch: runtime.GOARCH, Binary: bin}}})
	require.NoError(t, err)
	d1, err := idx.Digest()
	require.NoError(t, err)
	d2, err := idx2.Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2, "reproducible")
}
