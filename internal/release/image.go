// Package release builds reachgate's container image without a Docker
// daemon: one layer holding the static binary, an /etc/passwd and
// /etc/group naming the non-root user 65532 (nonroot, as in Google's
// distroless images) and an empty /tmp, on no base image at all (the
// binary is static and carries its CA roots, see cmd/reachgate), written
// as an OCI image layout with one manifest per platform under an index.
package release

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the numeric user and group the image runs as.
const User = "65532:65532"

// BinaryPath is where the image holds reachgate; it is the entrypoint.
const BinaryPath = "/usr/local/bin/reachgate"

// Platform is one binary of the image.
type Platform struct {
	OS, Arch string
	// Binary is the path of the static reachgate for this platform.
	Binary string
}

// Image describes the image to build.
type Image struct {
	Version, Commit string
	// Created is the image's creation time: the commit's, so that the
	// same commit builds the same image.
	Created   time.Time
	Platforms []Platform
}

// Build builds the multi-platform image index.
func Build(img Image) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range img.Platforms {
		im, err := platformImage(img, p)
		if err != nil {
			return nil, fmt.Errorf("image %s/%s: %w", p.OS, p.Arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        im,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}},
		})
	}
	return idx, nil
}

func platformImage(img Image, p Platform) (v1.Image, error) {
	bin, err := os.ReadFile(p.Binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(bin, img.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (readCloser, error) { return nopCloser{bytes.NewReader(layerTar)}, nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	im := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	im = mutate.ConfigMediaType(im, types.OCIConfigJSON)
	if im, err = mutate.AppendLayers(im, layer); err != nil {
		return nil, err
	}
	cf, err := im.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Arch
	cf.Created = v1.Time{Time: img.Created}
	cf.Config.User = User
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.WorkingDir = "/work"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/nonroot"}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "reachgate",
		"org.opencontainers.image.source":   "https://github.com/reachgate/reachgate",
		"org.opencontainers.image.version":  img.Version,
		"org.opencontainers.image.revision": img.Commit,
	}
	if im, err = mutate.ConfigFile(im, cf); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(im, v1.Time{Time: img.Created})
}

// rootfs is the one layer: the binary and the files a non-root user
// needs, every entry owned by root except the user's home and /tmp,
// stamped with the commit's time.
func rootfs(bin []byte, mtime time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return dir("etc/", 0o755, 0) },
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
		},
		func() error { return file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")) },
		func() error { return dir("home/", 0o755, 0) },
		func() error { return dir("home/nonroot/", 0o700, 65532) },
		func() error { return dir("tmp/", 0o1777, 0) },
		func() error { return dir("usr/", 0o755, 0) },
		func() error { return dir("usr/local/", 0o755, 0) },
		func() error { return dir("usr/local/bin/", 0o755, 0) },
		func() error { return file(BinaryPath[1:], 0o755, bin) },
		func() error { return dir("work/", 0o777, 65532) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteLayout writes the index as an OCI image layout in dir, tagged
// with the version (org.opencontainers.image.ref.name).
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version}))
}
