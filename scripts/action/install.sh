#!/usr/bin/env bash
# Installs reachgate for the composite action (action.yml).
#
#   REACHGATE_VERSION  the release tag, e.g. v1.2.3 (install=source also takes a
#                      branch name or a commit)
#   REACHGATE_INSTALL  release: download the release archive for this runner and
#                      check it against the release's checksums.txt;
#                      source: go install that version, with the build hardened
#                      by the step's environment (GOWORK=off, GOENV=off,
#                      GOFLAGS=-mod=readonly, GOTOOLCHAIN=local) and the module
#                      checked against the Go checksum database
#   REACHGATE_REPOSITORY  owner/name of the releases (default reachgate/reachgate)
#
# GitHub sets RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_PATH
# and GITHUB_SERVER_URL. Writes path=<binary> to GITHUB_OUTPUT and puts its
# directory on GITHUB_PATH.
set -euo pipefail

fail() {
	echo "::error title=reachgate install::$*" >&2
	exit 1
}

version=${REACHGATE_VERSION:-}
install=${REACHGATE_INSTALL:-release}
repo=${REACHGATE_REPOSITORY:-reachgate/reachgate}
server=${GITHUB_SERVER_URL:-https://github.com}
: "${RUNNER_TEMP:?}" "${GITHUB_OUTPUT:?}"

[[ $repo =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || fail "repository '$repo' is not owner/name"
release_tag='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'
case $install in
release)
	[[ $version =~ $release_tag ]] || fail "version '$version' is not a release tag like v1.2.3"
	;;
source)
	[[ $version =~ $release_tag || $version =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ ]] ||
		fail "version '$version' is not a tag, branch or commit"
	;;
*)
	fail "install '$install' is not release or source"
	;;
esac

dest="$RUNNER_TEMP/reachgate-install/$version"
mkdir -p "$dest"
bin="$dest/reachgate"

if [[ $install == release ]]; then
	case ${RUNNER_OS:-} in
	Linux) os=linux ;;
	macOS) os=darwin ;;
	*) fail "no reachgate release for runner OS '${RUNNER_OS:-}' (Linux and macOS have one; use install: source)" ;;
	esac
	case ${RUNNER_ARCH:-} in
	X64) arch=amd64 ;;
	ARM64) arch=arm64 ;;
	*) fail "no reachgate release for runner architecture '${RUNNER_ARCH:-}' (X64 and ARM64 have one)" ;;
	esac
	asset="reachgate_${version#v}_${os}_${arch}.tar.gz"
	url="$server/$repo/releases/download/$version"
	tmp=$(mktemp -d "$RUNNER_TEMP/reachgate-download.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	get() {
		# HTTPS only, also after GitHub's redirect to its asset storage.
		curl --fail --silent --show-error --location --proto '=https' --proto-redir '=https' \
			--retry 3 --max-time 300 --output "$tmp/$1" "$url/$1" ||
			fail "download $url/$1 failed"
	}
	get checksums.txt
	get "$asset"
	want=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/checksums.txt")
	[[ $want =~ ^[0-9a-f]{64}$ ]] || fail "checksums.txt of $version lists no SHA-256 for $asset"
	if command -v sha256sum >/dev/null; then
		got=$(sha256sum "$tmp/$asset" | awk '{ print $1 }')
	else
		got=$(shasum -a 256 "$tmp/$asset" | awk '{ print $1 }')
	fi
	[[ $got == "$want" ]] || fail "$asset has SHA-256 $got, but checksums.txt of $version says $want: not installed"
	# Only the binary, by name: nothing else of the archive lands anywhere.
	tar -xzf "$tmp/$asset" -C "$tmp" reachgate || fail "$asset holds no reachgate binary"
	[[ -f $tmp/reachgate && ! -L $tmp/reachgate ]] || fail "$asset: reachgate is not a regular file"
	install -m 0755 "$tmp/reachgate" "$bin"
else
	command -v go >/dev/null || fail "install: source needs Go on the runner (actions/setup-go)"
	# Outside any checkout: no go.mod, go.work or toolchain file of the
	# repository under test steers the build.
	work=$(mktemp -d "$RUNNER_TEMP/reachgate-build.XXXXXX")
	(cd "$work" && CGO_ENABLED=0 GOBIN="$dest" go install -trimpath "github.com/$repo/cmd/reachgate@$version") ||
		fail "go install github.com/$repo/cmd/reachgate@$version failed"
fi

"$bin" --version || fail "the installed reachgate does not run"
echo "path=$bin" >>"$GITHUB_OUTPUT"
if [[ -n ${GITHUB_PATH:-} ]]; then
	echo "$dest" >>"$GITHUB_PATH"
fi
