# shellcheck shell=bash
# Shared settings of scripts/kube/*.sh. Source it; do not run it.

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
# The Argo CD release whose CRDs the argocd/ manifests target.
ARGOCD_VERSION=${ARGOCD_VERSION:-v3.6.1}
KUBE_CACHE=${REACHGATE_CACHE:-$HOME/.cache/reachgate}/kube-$KUBE_VERSION

log() { printf 'kube/%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "$*"; exit 1; }

# free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return 0
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		(echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	die "no free port on 127.0.0.1"
}

# stop_pidfile FILE sends TERM to the process in FILE, waits up to 20 s for
# it to exit, then KILLs it; a missing file or a dead process is fine.
stop_pidfile() {
	local f=$1 pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}
