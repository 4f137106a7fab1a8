// Command ociimage writes reachgate's container image as an OCI image
// layout, without a Docker daemon: scripts/release.sh runs it with the
// linux binaries it built.
//
//	go run ./internal/release/ociimage -out dist/oci -version v1.2.3 -commit SHA -created RFC3339 \
//	    linux/amd64=dist/reachgate_1.2.3_linux_amd64/reachgate linux/arm64=...
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/reachgate/reachgate/internal/release"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	out := fs.String("out", "", "directory of the OCI image layout to write (must not exist)")
	img := release.Image{}
	fs.StringVar(&img.Version, "version", "", "image version (the release tag)")
	fs.StringVar(&img.Commit, "commit", "", "commit the binaries were built from")
	created := fs.String("created", "", "creation time, RFC 3339 (the commit's time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || img.Version == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: ociimage -out DIR -version V [-commit SHA] [-created TIME] OS/ARCH=BINARY...")
	}
	if *created != "" {
		t, err := time.Parse(time.RFC3339, *created)
		if err != nil {
			return fmt.Errorf("-created: %w", err)
		}
		img.Created = t.UTC()
	}
	for _, a := range fs.Args() {
		plat, bin, ok := strings.Cut(a, "=")
		osName, arch, ok2 := strings.Cut(plat, "/")
		if !ok || !ok2 || bin == "" {
			return fmt.Errorf("%q: want OS/ARCH=BINARY", a)
		}
		img.Platforms = append(img.Platforms, release.Platform{OS: osName, Arch: arch, Binary: bin})
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s exists", *out)
	}
	idx, err := release.Build(img)
	if err != nil {
		return err
	}
	return release.WriteLayout(*out, idx, img.Version)
}
