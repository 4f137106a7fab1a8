#!/usr/bin/env bash
# Runs reachgate check for the composite action (action.yml) and writes
# report.json, reachgate.sarif and reachgate-junit.xml to REACHGATE_OUT.
# Inputs come as environment variables, never into the script's text:
#
#   REACHGATE            the binary (the install step's output)
#   REACHGATE_DIR        the repository (default .)
#   REACHGATE_OUT        the output directory (default RUNNER_TEMP/reachgate-report)
#   REACHGATE_OVERLAYS   overlay names, space-separated (default: every overlay)
#   REACHGATE_FAIL_ON    error | warning | info
#   REACHGATE_FAIL_ON_NEW  true | false
#   REACHGATE_RULES_FROM base | head
#   REACHGATE_BASE       the base ref (default: the pull request's base)
#
# Exits with check's exit code and writes exit-code=N and
# output-directory=DIR to GITHUB_OUTPUT.
set -euo pipefail

fail() {
	echo "::error title=reachgate check::$*" >&2
	exit 2
}

: "${REACHGATE:?}" "${GITHUB_OUTPUT:?}"
REACHGATE_OUT=${REACHGATE_OUT:-${RUNNER_TEMP:?}/reachgate-report}
mkdir -p "$REACHGATE_OUT"
echo "output-directory=$REACHGATE_OUT" >>"$GITHUB_OUTPUT"
args=(-C "${REACHGATE_DIR:-.}" check --format github
	--output "json=$REACHGATE_OUT/report.json"
	--output "sarif=$REACHGATE_OUT/reachgate.sarif"
	--output "junit=$REACHGATE_OUT/reachgate-junit.xml")

case ${REACHGATE_FAIL_ON:-error} in
error | warning | info) args+=(--fail-on "${REACHGATE_FAIL_ON:-error}") ;;
*) fail "fail-on '${REACHGATE_FAIL_ON}' is not error, warning or info" ;;
esac
case ${REACHGATE_FAIL_ON_NEW:-false} in
true) args+=(--fail-on-new) ;;
false | "") ;;
*) fail "fail-on-new '${REACHGATE_FAIL_ON_NEW}' is not true or false" ;;
esac
case ${REACHGATE_RULES_FROM:-base} in
base | head) args+=(--rules-from "${REACHGATE_RULES_FROM:-base}") ;;
*) fail "rules-from '${REACHGATE_RULES_FROM}' is not base or head" ;;
esac
if [[ -n ${REACHGATE_BASE:-} ]]; then
	[[ $REACHGATE_BASE =~ ^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$ ]] || fail "base '$REACHGATE_BASE' is not a ref"
	args+=(--base "$REACHGATE_BASE")
fi
read -ra overlays <<<"${REACHGATE_OVERLAYS:-}"
for o in "${overlays[@]}"; do
	[[ $o =~ ^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$ ]] || fail "overlay '$o' is not an overlay name or path"
done
args+=(-- "${overlays[@]}")

code=0
"$REACHGATE" "${args[@]}" || code=$?
echo "exit-code=$code" >>"$GITHUB_OUTPUT"
exit "$code"
