#!/usr/bin/env bash
# A real Gitea for the e2e tests of pipeline/github: a stateful server whose
# issue-comment API is GitHub-compatible.
#
#   gitea.sh build           build Gitea v1.26.0 from the Go module proxy in a
#                            wrapper module under $REACHGATE_CACHE (skipped when
#                            the binary exists); prints the binary's path
#   gitea.sh up DIR [PORT]   start it on 127.0.0.1:PORT (a free port if omitted)
#                            with sqlite in DIR, create an admin, a token, a
#                            repository with two branches and an open pull
#                            request; write DIR/gitea.env (see below)
#   gitea.sh down DIR        stop it; safe to run at any time
#
# DIR/gitea.env (sourceable, also read by e2e/github via REACHGATE_GITEA_ENV):
#   REACHGATE_GITEA_URL       http://127.0.0.1:PORT/
#   REACHGATE_GITEA_API_URL   http://127.0.0.1:PORT/api/v1/
#   REACHGATE_GITEA_TOKEN     an access token with all scopes
#   REACHGATE_GITEA_READONLY_TOKEN  one with read:repository,read:issue only
#   REACHGATE_GITEA_OTHER_USER, REACHGATE_GITEA_OTHER_TOKEN  a second user,
#                             not a collaborator, who may comment on the pull
#                             request (somebody else spoofing the marker)
#   REACHGATE_GITEA_OWNER, REACHGATE_GITEA_REPO, REACHGATE_GITEA_PR
#   REACHGATE_GITEA_HEAD_SHA, REACHGATE_GITEA_BASE_SHA
set -euo pipefail
. "$(dirname "$0")/lib.sh"

GITEA_VERSION=v1.26.0
GITEA_BUILD_DIR=$REACHGATE_CACHE/gitea-$GITEA_VERSION
GITEA_BIN=$GITEA_BUILD_DIR/gitea
OWNER=reachgate-bot
OTHER=mallory
REPO=gitops
PASSWORD='Reachgate-pass-123!'

# module_dir prints Gitea's module source directory (its static files live
# there), downloading the module when needed.
module_dir() {
	go mod download -json "code.gitea.io/gitea@$GITEA_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

build() {
	if [ -x "$GITEA_BIN" ]; then
		echo "$GITEA_BIN"
		return 0
	fi
	mkdir -p "$GITEA_BUILD_DIR"
	local json mod dir sum modsum gov
	json=$(go mod download -json "code.gitea.io/gitea@$GITEA_VERSION")
	field() { printf '%s\n' "$json" | sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p"; }
	mod=$(field GoMod) dir=$(field Dir) sum=$(field Sum) modsum=$(field GoModSum)
	[ -f "$mod" ] && [ -d "$dir" ] || die "cannot download code.gitea.io/gitea@$GITEA_VERSION"
	gov=$(awk '$1 == "go" { print $2; exit }' "$mod")
	{
		printf 'module reachgate.local/gitea-build\n\ngo %s\n\n' "$gov"
		# Only the main module's godebug settings apply: keep Gitea's.
		grep '^godebug ' "$mod" || true
		printf '\nrequire code.gitea.io/gitea %s\n\n' "$GITEA_VERSION"
		# Gitea's own replace lines, as its release build uses them.
		grep '^replace ' "$mod"
		printf '\ntool code.gitea.io/gitea\n'
	} >"$GITEA_BUILD_DIR/go.mod"
	cp "$dir/go.sum" "$GITEA_BUILD_DIR/go.sum"
	chmod u+w "$GITEA_BUILD_DIR/go.sum"
	printf 'code.gitea.io/gitea %s %s\ncode.gitea.io/gitea %s/go.mod %s\n' \
		"$GITEA_VERSION" "$sum" "$GITEA_VERSION" "$modsum" >>"$GITEA_BUILD_DIR/go.sum"
	log "building Gitea $GITEA_VERSION in $GITEA_BUILD_DIR (cold: about 9 minutes on 2 cores)"
	(
		cd "$GITEA_BUILD_DIR"
		# -mod=mod lets go add the requirements it reads from Gitea's go.mod;
		# every checksum it needs is in the copied go.sum.
		GOFLAGS=-mod=mod go build -trimpath -tags 'sqlite sqlite_unlock_notify' \
			-ldflags "-X main.Version=${GITEA_VERSION#v}" \
			-o "$GITEA_BIN.tmp" code.gitea.io/gitea
	)
	mv "$GITEA_BIN.tmp" "$GITEA_BIN"
	echo "$GITEA_BIN"
}

up() {
	local dir=${1:?usage: gitea.sh up DIR [PORT]} port=${2:-}
	[ -x "$GITEA_BIN" ] || die "no Gitea binary at $GITEA_BIN: run 'gitea.sh build' first"
	down "$dir"
	[ -n "$port" ] || port=$(free_port)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	local w=$dir/gitea static
	static=$(module_dir)
	[ -d "$static" ] || die "cannot find Gitea's module source for STATIC_ROOT_PATH"
	rm -rf "$w"
	mkdir -p "$w/custom/conf"
	cat >"$w/custom/conf/app.ini" <<INI
RUN_MODE = prod
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
WORK_PATH = $w
[server]
HTTP_ADDR = 127.0.0.1
HTTP_PORT = $port
ROOT_URL = http://127.0.0.1:$port/
DISABLE_SSH = true
OFFLINE_MODE = true
STATIC_ROOT_PATH = $static
LFS_START_SERVER = false
[database]
DB_TYPE = sqlite3
PATH = $w/data/gitea.db
[security]
INSTALL_LOCK = true
[log]
MODE = file
LEVEL = warn
ROOT_PATH = $w/log
[indexer]
REPO_INDEXER_ENABLED = false
[cron]
ENABLED = false
[mailer]
ENABLED = false
INI
	export GITEA_WORK_DIR=$w
	G() { "$GITEA_BIN" --config "$w/custom/conf/app.ini" "$@"; }
	G migrate >"$w/setup.log" 2>&1 || die "gitea migrate failed: see $w/setup.log"
	G admin user create --username "$OWNER" --password "$PASSWORD" --email "$OWNER@example.com" \
		--admin --must-change-password=false >>"$w/setup.log" 2>&1 || die "gitea admin user create failed: see $w/setup.log"
	local token
	token=$(G admin user generate-access-token --username "$OWNER" --token-name e2e --scopes all --raw 2>>"$w/setup.log" | tail -1)
	[ -n "$token" ] || die "gitea generate-access-token gave no token: see $w/setup.log"
	# What a fork PR's GITHUB_TOKEN is: it may read, not write.
	local ro_token
	ro_token=$(G admin user generate-access-token --username "$OWNER" --token-name e2e-read-only \
		--scopes read:repository,read:issue --raw 2>>"$w/setup.log" | tail -1)
	[ -n "$ro_token" ] || die "gitea generate-access-token (read-only) gave no token: see $w/setup.log"
	# Somebody else, who may comment on a public repository's pull request.
	G admin user create --username "$OTHER" --password "$PASSWORD" --email "$OTHER@example.com" \
		--must-change-password=false >>"$w/setup.log" 2>&1 || die "gitea user create ($OTHER) failed: see $w/setup.log"
	local other_token
	other_token=$(G admin user generate-access-token --username "$OTHER" --token-name e2e-other \
		--scopes write:issue,read:repository,read:user --raw 2>>"$w/setup.log" | tail -1)
	[ -n "$other_token" ] || die "gitea generate-access-token ($OTHER) gave no token: see $w/setup.log"

	setsid "$GITEA_BIN" --config "$w/custom/conf/app.ini" web >"$w/web.log" 2>&1 </dev/null &
	echo $! >"$dir/gitea.pid"
	local base=http://127.0.0.1:$port
	wait_http "$base/api/v1/version" 180 "$(cat "$dir/gitea.pid")" || die "gitea did not start: see $w/web.log"

	local -a api=(-sS --fail-with-body -H "Authorization: token $token" -H 'Content-Type: application/json' -H 'Accept: application/json')
	curl "${api[@]}" -X POST "$base/api/v1/user/repos" \
		-d "{\"name\":\"$REPO\",\"default_branch\":\"main\",\"private\":false}" >/dev/null

	local src=$w/src
	git init -q -b main "$src"
	git -C "$src" config user.name reachgate-e2e
	git -C "$src" config user.email e2e@example.com
	mkdir -p "$src/overlays/prod"
	echo "# reachgate e2e" >"$src/README.md"
	git -C "$src" add README.md
	git -C "$src" commit -q -m init
	local base_sha head_sha
	base_sha=$(git -C "$src" rev-parse HEAD)
	# Basic auth with the token as password; the header keeps the token out of
	# the remote URL and so out of git's error messages.
	local auth
	auth=$(printf '%s:%s' "$OWNER" "$token" | base64 -w0)
	local -a push=(git -C "$src" -c "http.extraHeader=Authorization: Basic $auth" push -q "$base/$OWNER/$REPO.git")
	"${push[@]}" main 2>>"$w/setup.log"
	git -C "$src" checkout -q -b feature
	echo "change" >"$src/overlays/prod/change.txt"
	git -C "$src" add overlays
	git -C "$src" commit -q -m "open a flow"
	head_sha=$(git -C "$src" rev-parse HEAD)
	"${push[@]}" feature 2>>"$w/setup.log"

	local i
	for i in $(seq 1 50); do
		curl "${api[@]}" "$base/api/v1/repos/$OWNER/$REPO/branches/feature" >/dev/null 2>&1 && break
		sleep 0.2
	done
	local pr
	pr=$(curl "${api[@]}" -X POST "$base/api/v1/repos/$OWNER/$REPO/pulls" \
		-d '{"title":"Open a flow","head":"feature","base":"main"}' |
		grep -o '"number":[0-9]*' | head -1 | cut -d: -f2)
	[ -n "$pr" ] || die "could not open a pull request"

	cat >"$dir/gitea.env" <<ENV
REACHGATE_GITEA_URL=$base/
REACHGATE_GITEA_API_URL=$base/api/v1/
REACHGATE_GITEA_TOKEN=$token
REACHGATE_GITEA_READONLY_TOKEN=$ro_token
REACHGATE_GITEA_OTHER_USER=$OTHER
REACHGATE_GITEA_OTHER_TOKEN=$other_token
REACHGATE_GITEA_OWNER=$OWNER
REACHGATE_GITEA_REPO=$REPO
REACHGATE_GITEA_PR=$pr
REACHGATE_GITEA_BASE_SHA=$base_sha
REACHGATE_GITEA_HEAD_SHA=$head_sha
ENV
	log "gitea up at $base/ (PR #$pr); env in $dir/gitea.env"
	echo "$dir/gitea.env"
}

down() {
	local dir=${1:?usage: gitea.sh down DIR}
	stop_pidfile "$dir/gitea.pid"
	rm -f "$dir/gitea.env"
}

case ${1:-} in
build) build ;;
up) shift; up "$@" ;;
down) shift; down "$@" ;;
*) die "usage: gitea.sh build | up DIR [PORT] | down DIR" ;;
esac
