#!/usr/bin/env bash
# Builds a reachgate release into $DIST (default dist/): `make release`.
#
#   reachgate_<version>_<os>_<arch>.tar.gz   linux/darwin x amd64/arm64, static,
#                                            -trimpath -ldflags "-s -w", stamped with
#                                            the version, commit and commit date
#   reachgate_<version>.cdx.json             CycloneDX SBOM (cyclonedx-gomod)
#   oci/, reachgate_<version>_oci.tar        the container image, an OCI image layout
#   checksums.txt                            SHA-256 of every file above
#
# The version is the tag on HEAD (git tag v1.2.3), or $VERSION. Everything is
# stamped with the commit's time, so the same commit builds the same files.
# NO_SBOM=1, NO_IMAGE=1 and PLATFORMS="linux/amd64" make smaller builds (tests).
# docs/releasing.md says which tools and why.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${VERSION:-$(git describe --tags --exact-match 2>/dev/null || true)}
if [[ -z $VERSION ]]; then
	echo "release: HEAD has no tag: tag it (git tag v1.2.3) or set VERSION=v1.2.3" >&2
	exit 2
fi
if [[ ! $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "release: version $VERSION is not vMAJOR.MINOR.PATCH" >&2
	exit 2
fi
if [[ -n $(git status --porcelain --untracked-files=no) && -z ${ALLOW_DIRTY:-} ]]; then
	echo "release: the work tree has uncommitted changes (ALLOW_DIRTY=1 to build anyway)" >&2
	exit 2
fi
COMMIT=$(git rev-parse HEAD)
DATE=$(git log -1 --format=%cI HEAD)
EPOCH=$(git log -1 --format=%ct HEAD)
DIST=${DIST:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
# Pinned: bump deliberately, in a commit of its own.
CYCLONEDX=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
GO=${GO:-go}
v=${VERSION#v}

rm -rf "$DIST"
mkdir -p "$DIST"
pkg=github.com/reachgate/reachgate/internal/buildinfo
ldflags="-s -w -X $pkg.version=$VERSION -X $pkg.commit=$COMMIT -X $pkg.date=$DATE"
export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0
images=()
for p in $PLATFORMS; do
	os=${p%/*} arch=${p#*/}
	name=reachgate_${v}_${os}_${arch}
	mkdir -p "$DIST/$name"
	echo "release: $name"
	GOOS=$os GOARCH=$arch "$GO" build -trimpath -ldflags "$ldflags" -o "$DIST/$name/reachgate" ./cmd/reachgate
	cp README.md "$DIST/$name/"
	touch -d "@$EPOCH" "$DIST/$name/reachgate" "$DIST/$name/README.md"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
		-C "$DIST/$name" -cf - reachgate README.md | gzip -n -9 >"$DIST/$name.tar.gz"
	if [[ $os == linux ]]; then
		images+=("$os/$arch=$DIST/$name/reachgate")
	fi
done

if [[ -z ${NO_SBOM:-} ]]; then
	echo "release: SBOM"
	"$GO" run "$CYCLONEDX" app -json -licenses -noserial -notimestamp -main cmd/reachgate \
		-output "$DIST/reachgate_${v}.cdx.json" .
fi

if [[ -z ${NO_IMAGE:-} ]] && ((${#images[@]})); then
	echo "release: OCI image"
	"$GO" run ./internal/release/ociimage -out "$DIST/oci" -version "$VERSION" \
		-commit "$COMMIT" -created "$DATE" "${images[@]}"
	find "$DIST/oci" -exec touch -h -d "@$EPOCH" {} +
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
		-C "$DIST/oci" -cf "$DIST/reachgate_${v}_oci.tar" .
fi

(
	cd "$DIST"
	files=(*.tar.gz)
	[[ -e reachgate_${v}.cdx.json ]] && files+=("reachgate_${v}.cdx.json")
	[[ -e reachgate_${v}_oci.tar ]] && files+=("reachgate_${v}_oci.tar")
	sha256sum "${files[@]}" >checksums.txt
)
echo "release: $DIST/checksums.txt"
cat "$DIST/checksums.txt"
