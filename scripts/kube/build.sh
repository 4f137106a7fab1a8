#!/usr/bin/env bash
# Builds kube-apiserver (from k8s.io/kubernetes) and etcd (from go.etcd.io/etcd/server/v3)
# through the Go module proxy, each in a small wrapper module, and caches the binaries in
#   ${REACHGATE_CACHE:-$HOME/.cache/reachgate}/kube-<version>/{kube-apiserver,etcd}
# It also downloads the Argo CD module whose CRDs the e2e tests install.
# A build is skipped when its binary is already cached. Prints the cache directory last.
#
# usage: scripts/kube/build.sh
# env:   KUBE_VERSION (default v1.37.2), ETCD_VERSION (default v3.6.16),
#        ARGOCD_VERSION (default v3.6.1), REACHGATE_CACHE
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CACHE=$KUBE_CACHE
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

gomod_of() { # module@version -> path of its go.mod in the module cache
	go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'
}

build_kube_apiserver() {
	local out=$CACHE/kube-apiserver
	if [ -x "$out" ]; then log "kube-apiserver $KUBE_VERSION cached"; return; fi
	local src=$CACHE/src/kube-apiserver staging=v0.${KUBE_VERSION#v1.}
	local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
	mkdir -p "$src"
	local mod; mod=$(gomod_of "k8s.io/kubernetes@$KUBE_VERSION")
	[ -n "$mod" ] || { log "k8s.io/kubernetes@$KUBE_VERSION: no go.mod"; exit 1; }
	local gov; gov=$(awk '$1=="go"{print $2; exit}' "$mod")
	{
		printf 'module reachgate.local/kube-apiserver\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$gov" "$KUBE_VERSION"
		# k8s.io/kubernetes requires its staging modules as v0.0.0 and replaces them
		# with ./staging/...; a dependent module points each at its published tag.
		awk -v s="$staging" '$1 ~ /^k8s\.io\// && $2=="v0.0.0" {print "\t" $1 " => " $1 " " s}' "$mod" | sort -u
		printf ')\n'
	} >"$src/go.mod"
	cat >"$src/main.go" <<'GO'
// Command kube-apiserver is k8s.io/kubernetes/cmd/kube-apiserver/apiserver.go.
package main

import (
	"os"
	_ "time/tzdata" // for timeZone support in CronJob

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
GO
	log "resolving kube-apiserver $KUBE_VERSION modules"
	(cd "$src" && go mod tidy)
	log "building kube-apiserver $KUBE_VERSION (cold: 6-9 min, ~2.5 GB RAM)"
	local pkg=k8s.io/component-base/version
	local ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	(cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" .)
	mv "$out.tmp" "$out"
}

build_etcd() {
	local out=$CACHE/etcd
	if [ -x "$out" ]; then log "etcd $ETCD_VERSION cached"; return; fi
	local src=$CACHE/src/etcd
	mkdir -p "$src"
	local mod; mod=$(gomod_of "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
	local gov; gov=$(awk '$1=="go"{print $2; exit}' "$mod")
	printf 'module reachgate.local/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$gov" "$ETCD_VERSION" >"$src/go.mod"
	cat >"$src/main.go" <<'GO'
// Command etcd runs the etcd server of go.etcd.io/etcd/server/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
GO
	log "resolving etcd $ETCD_VERSION modules"
	(cd "$src" && go mod tidy)
	log "building etcd $ETCD_VERSION"
	(cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out.tmp" .)
	mv "$out.tmp" "$out"
}

fetch_argocd_crds() {
	local out=$CACHE/argocd-$ARGOCD_VERSION-crds
	if [ -d "$out" ]; then log "argo cd $ARGOCD_VERSION CRDs cached"; return; fi
	# For v3.6 go mod download reports that the module needs a newer Go, yet it still
	# extracts the files: take Dir when given, else the module cache path.
	local dir
	dir=$(go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)".*/\1/p' || true)
	[ -n "$dir" ] || dir=$(go env GOMODCACHE)/github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION
	[ -n "$dir" ] && [ -d "$dir/manifests/crds" ] || { log "argo cd $ARGOCD_VERSION: no manifests/crds in the module"; exit 1; }
	mkdir -p "$out.tmp"
	cp "$dir"/manifests/crds/*-crd.yaml "$out.tmp"/
	chmod -R u+w "$out.tmp"
	mv "$out.tmp" "$out"
}

mkdir -p "$CACHE"
fetch_argocd_crds
build_etcd
build_kube_apiserver
"$CACHE/kube-apiserver" --version >&2
echo "$CACHE"
