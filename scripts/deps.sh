#!/usr/bin/env bash
# Installs the system tools the tests use that a fresh machine may lack:
# Graphviz (DOT output is checked by rendering it), Chromium (the HTML
# page's script runs headless; the audit report prints to PDF, read back
# with poppler-utils), iproute2 (the kernel lab), git, a C compiler
# (the race detector, which make test runs on the concurrent engine,
# needs cgo), and Node.js with npm and curl (make e2e: Prism runs on
# Node.js; the Gitea script speaks to it with curl). Debian's packages,
# through apt-get: needs root; without root it only reports.
set -euo pipefail
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
	exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
