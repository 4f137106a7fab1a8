#!/usr/bin/env bash
# Stops the kube-apiserver and etcd that scripts/kube/up.sh started in DIR and
# removes etcd's data. Logs stay for reading. Safe to run at any time: on a
# DIR with nothing running, or one that does not exist, it does nothing.
#
# usage: scripts/kube/down.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -eq 1 ] || die "usage: down.sh DIR"
W=$1
[ -d "$W" ] || exit 0
stop_pidfile "$W/kube-apiserver.pid"
stop_pidfile "$W/etcd.pid"
# Only what up.sh made: DIR may be any directory.
if [ -f "$W/etcd.log" ]; then rm -rf "$W/etcd"; fi
if [ -f "$W/pki/tokens.csv" ]; then rm -f "$W/kubeconfig" "$W/kubeconfig.tmp"; fi
