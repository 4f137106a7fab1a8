# shellcheck shell=bash
# Shared helpers for the e2e scripts. Source it; do not run it.

# Where builds and downloads that outlive one run are kept.
REACHGATE_CACHE=${REACHGATE_CACHE:-$HOME/.cache/reachgate}

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "$*"; exit 1; }

# free_port prints a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	python3 - <<'PY' 2>/dev/null && return 0
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

# wait_http URL SECONDS [PID] waits until URL answers (any HTTP status) or
# the process PID has exited. Returns non-zero on timeout or exit.
wait_http() {
	local url=$1 secs=$2 pid=${3:-} i
	for i in $(seq 1 $((secs * 5))); do
		if curl -s -o /dev/null --max-time 2 "$url"; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.2
	done
	return 1
}

# stop_pidfile FILE stops the process group (or process) whose id FILE holds
# and removes FILE. Safe when FILE is missing or the process is gone.
stop_pidfile() {
	local f=$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f" 2>/dev/null || true)
	rm -f "$f"
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	kill -0 "$pid" 2>/dev/null || return 0
	# The services are started as their own process group (setsid), so the
	# group id is the leader's pid: this also stops children (npx -> node).
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}
