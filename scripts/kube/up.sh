#!/usr/bin/env bash
# Starts a throwaway etcd + kube-apiserver on random 127.0.0.1 ports, with a
# self-signed serving certificate and a bearer token, and writes
# DIR/kubeconfig once /readyz answers ok. Builds the binaries first when they
# are not cached (scripts/kube/build.sh). Stop it with scripts/kube/down.sh DIR.
#
# usage: scripts/kube/up.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -eq 1 ] || die "usage: up.sh DIR"
mkdir -p "$1"
W=$(cd "$1" && pwd)

"$here/build.sh" >/dev/null
KAS=$KUBE_CACHE/kube-apiserver ETCD=$KUBE_CACHE/etcd

# A previous server in DIR is stopped first; a failed start leaves nothing running.
"$here/down.sh" "$W"
ready=
trap '[ -n "$ready" ] || "$here/down.sh" "$W"' EXIT
rm -rf "$W/etcd" "$W/pki" "$W/kubeconfig"
mkdir -p "$W/pki"
start=$(date +%s.%N)

etcd_client=$(free_port) etcd_peer=$(free_port)
"$ETCD" --name reachgate --data-dir "$W/etcd" \
	--listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \
	--listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
	--initial-cluster "reachgate=http://127.0.0.1:$etcd_peer" \
	--unsafe-no-fsync --log-level warn >"$W/etcd.log" 2>&1 &
echo $! >"$W/etcd.pid"

pki=$W/pki
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$pki/serving.key" -out "$pki/serving.crt" 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
token=$(openssl rand -hex 16)
echo "$token,reachgate-admin,reachgate-admin,system:masters" >"$pki/tokens.csv"
chmod 600 "$pki"/*

for _ in $(seq 1 200); do
	curl -sf "http://127.0.0.1:$etcd_client/health" >/dev/null && break
	kill -0 "$(cat "$W/etcd.pid")" 2>/dev/null || { tail -20 "$W/etcd.log" >&2; die "etcd exited"; }
	sleep 0.05
done

port=$(free_port)
"$KAS" --etcd-servers="http://127.0.0.1:$etcd_client" \
	--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" --cert-dir="$pki" \
	--tls-cert-file="$pki/serving.crt" --tls-private-key-file="$pki/serving.key" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
	--token-auth-file="$pki/tokens.csv" --authorization-mode=RBAC \
	--service-cluster-ip-range=10.0.0.0/24 --service-node-port-range=30000-32767 \
	--allow-privileged=true --disable-admission-plugins=ServiceAccount \
	--endpoint-reconciler-type=none --enable-priority-and-fairness=false \
	>"$W/kube-apiserver.log" 2>&1 &
echo $! >"$W/kube-apiserver.pid"

cat >"$W/kubeconfig.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: reachgate
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 "$pki/serving.crt")
users:
- name: reachgate-admin
  user:
    token: $token
contexts:
- name: reachgate
  context: {cluster: reachgate, user: reachgate-admin}
current-context: reachgate
KC
chmod 600 "$W/kubeconfig.tmp"

for _ in $(seq 1 1200); do
	if [ "$(curl -s --max-time 2 --cacert "$pki/serving.crt" -H "Authorization: Bearer $token" "https://127.0.0.1:$port/readyz" 2>/dev/null)" = ok ]; then
		mv "$W/kubeconfig.tmp" "$W/kubeconfig"
		ready=1
		end=$(date +%s.%N)
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}')
		echo "$secs" >"$W/startup-seconds"
		log "kube-apiserver $KUBE_VERSION ready on https://127.0.0.1:$port in ${secs}s; kubeconfig $W/kubeconfig"
		exit 0
	fi
	kill -0 "$(cat "$W/kube-apiserver.pid")" 2>/dev/null || { tail -20 "$W/kube-apiserver.log" >&2; false; }
	sleep 0.1
done
tail -20 "$W/kube-apiserver.log" >&2
die "kube-apiserver not ready after 120 s"
