#!/usr/bin/env bash
# Runs the end-to-end tests against real servers on loopback: kube-apiserver
# + etcd (server-side dry runs), Prism serving GitHub's OpenAPI description
# (request contracts) and Gitea (the sticky comment against a stateful
# server). Builds and installs what is missing (cached under
# ${REACHGATE_CACHE:-$HOME/.cache/reachgate}), and stops every server on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(mktemp -d "${TMPDIR:-/tmp}/reachgate-e2e.XXXXXX")
cleanup() {
	scripts/kube/down.sh "$W/kube" || true
	scripts/e2e/prism.sh down "$W" || true
	scripts/e2e/gitea.sh down "$W" || true
	# The servers are stopped: their state and logs go too. KEEP=1 keeps
	# them for a look after a failure.
	if [ "${KEEP:-}" = 1 ]; then echo "e2e: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

echo "e2e: building servers (first run takes minutes)"
scripts/kube/build.sh
scripts/e2e/gitea.sh build
echo "e2e: starting servers"
scripts/kube/up.sh "$W/kube"
scripts/e2e/prism.sh up "$W"
scripts/e2e/gitea.sh up "$W"
set -a
. "$W/prism.env"
set +a
export REACHGATE_KUBECONFIG=$W/kube/kubeconfig REACHGATE_GITEA_ENV=$W/gitea.env
go test -count=1 -tags e2e ./e2e/...
