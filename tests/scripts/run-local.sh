#!/usr/bin/env bash
# Starts a local 3-member etcd cluster with TLS on loopback and etcd-health-proxy in front of it
# (mutual TLS on both sides), prints the etcdctl command that talks through the proxy, and stops
# everything on Ctrl-C.
# Usage: run-local.sh [--etcd=VERSION] PROXY_BINARY [STATE_DIR]
#   --etcd: 3.5 (the newest 3.5 that `make build` fetched, the default), 3.5.16, 3.5.30, or 3.4
#           (Debian 12's); see use-etcd.sh
set -euo pipefail
export EHP_ETCD_VERSION=3.5
if [[ "${1:-}" == --etcd=* ]]; then
  EHP_ETCD_VERSION=${1#*=}
  shift
fi
proxy=${1:?usage: run-local.sh [--etcd=VERSION] PROXY_BINARY [STATE_DIR]}
state=${2:-.run}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=use-etcd.sh
. "$here/use-etcd.sh"
command -v etcd >/dev/null || { echo "etcd is not installed (apt-get install etcd-server)"; exit 1; }

rm -rf "$state"
mkdir -p "$state"
state=$(cd "$state" && pwd)
"$here/gen-certs.sh" "$state/certs"
c=$state/certs

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped; logs and data are in $state"
  exit 0
}
trap cleanup INT TERM EXIT

cluster="m1=https://127.0.0.1:12380,m2=https://127.0.0.1:22380,m3=https://127.0.0.1:32380"
endpoints=""
for i in 1 2 3; do
  client="https://127.0.0.1:${i}2379"
  peer="https://127.0.0.1:${i}2380"
  endpoints+="${endpoints:+,}$client"
  etcd --name "m$i" --data-dir "$state/m$i.etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$cluster" --initial-cluster-token ehp-local --initial-cluster-state new \
    --cert-file "$c/server.pem" --key-file "$c/server-key.pem" \
    --trusted-ca-file "$c/ca.pem" --client-cert-auth \
    --peer-cert-file "$c/server.pem" --peer-key-file "$c/server-key.pem" \
    --peer-trusted-ca-file "$c/ca.pem" --peer-client-cert-auth \
    --logger zap --log-outputs "$state/m$i.log" 2>"$state/m$i.stderr" &
  pids+=($!)
done

"$proxy" --endpoints "$endpoints" --cacert "$c/ca.pem" --cert "$c/client.pem" --key "$c/client-key.pem" \
  --listen-addr 127.0.0.1:23790 --cert-file "$c/server.pem" --key-file "$c/server-key.pem" \
  --trusted-ca-file "$c/ca.pem" 2> >(tee "$state/proxy.log" >&2) &
pids+=($!)

etcdctl="$(command -v etcdctl) --endpoints=https://127.0.0.1:23790 --cacert=$c/ca.pem --cert=$c/client.pem --key=$c/client-key.pem"
for _ in $(seq 1 100); do
  if $etcdctl endpoint health >/dev/null 2>&1; then break; fi
  sleep 0.1
done
$etcdctl endpoint health
cat <<MSG

etcd members: $endpoints ($(etcd --version | awk '/^etcd Version:/ { print $3 }'))
Admin plane:  http://127.0.0.1:23791/status  /metrics  /readyz  /events
Talk to etcd through the proxy with:

  $etcdctl put hello world
  $etcdctl get hello

Press Ctrl-C to stop the cluster and the proxy.
MSG
wait -n "${pids[@]}" || true
echo "a process exited; stopping the rest"
