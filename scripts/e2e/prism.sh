#!/usr/bin/env bash
# GitHub's published OpenAPI description (npm @octokit/openapi) served by
# Prism (npm @stoplight/prism-cli) on loopback. With --errors Prism rejects
# every request that breaks the contract, so the e2e tests of pipeline/github
# check each request the client makes against GitHub's own description.
#
#   prism.sh install          npm ci into e2e/node_modules (skipped when the
#                             installed tree matches e2e/package-lock.json)
#   prism.sh up DIR [PORT]    install, start Prism on 127.0.0.1:PORT (a free
#                             port if omitted), wait for it; write DIR/prism.env
#                             with REACHGATE_PRISM_URL=http://127.0.0.1:PORT/
#   prism.sh down DIR         stop it; safe to run at any time
set -euo pipefail
. "$(dirname "$0")/lib.sh"

E2E_DIR=$(cd "$(dirname "$0")/../../e2e" && pwd)
SPEC=node_modules/@octokit/openapi/generated/api.github.com.json

install() {
	command -v npm >/dev/null || die "npm not found: install Node.js (Debian: apt-get install nodejs npm)"
	local stamp=$E2E_DIR/node_modules/.reachgate-lock.sha256 want
	if [ -f "$E2E_DIR/package-lock.json" ]; then
		want=$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)
		if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$E2E_DIR/$SPEC" ]; then
			return 0
		fi
		log "npm ci in $E2E_DIR"
		(cd "$E2E_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2
		echo "$want" >"$stamp"
	else
		log "npm install in $E2E_DIR (no package-lock.json yet)"
		(cd "$E2E_DIR" && npm install --no-audit --no-fund --loglevel=error) >&2
	fi
}

up() {
	local dir=${1:?usage: prism.sh up DIR [PORT]} port=${2:-}
	install
	down "$dir"
	[ -n "$port" ] || port=$(free_port)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	(
		cd "$E2E_DIR"
		exec setsid ./node_modules/.bin/prism mock --errors -h 127.0.0.1 -p "$port" "$SPEC"
	) >"$dir/prism.log" 2>&1 </dev/null &
	echo $! >"$dir/prism.pid"
	# Loading and dereferencing the description takes 10-20 s.
	wait_http "http://127.0.0.1:$port/" 180 "$(cat "$dir/prism.pid")" ||
		die "prism did not start: see $dir/prism.log"
	echo "REACHGATE_PRISM_URL=http://127.0.0.1:$port/" >"$dir/prism.env"
	log "prism up at http://127.0.0.1:$port/; env in $dir/prism.env"
	echo "$dir/prism.env"
}

down() {
	local dir=${1:?usage: prism.sh down DIR}
	stop_pidfile "$dir/prism.pid"
	rm -f "$dir/prism.env"
}

case ${1:-} in
install) install ;;
up) shift; up "$@" ;;
down) shift; down "$@" ;;
*) die "usage: prism.sh install | up DIR [PORT] | down DIR" ;;
esac
