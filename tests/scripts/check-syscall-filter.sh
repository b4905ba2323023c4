#!/usr/bin/env bash
# The unit's SystemCallFilter= (@system-service minus @privileged and @resources) against what
# the proxy really calls: the binary runs under strace in front of a real etcd member while it
# starts, relays a put, a get and a watch, serves the admin plane, notifies a stand-in for
# systemd, reloads on SIGHUP and stops on SIGTERM. Every system call it made must be allowed.
# Usage: check-syscall-filter.sh BINARY
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
command -v strace >/dev/null || { echo "skipped: strace is not installed"; exit 77; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fp() { "$here/free-port.py"; }
client=$(fp) peer=$(fp) listen=$(fp) admin=$(fp)
etcd --name s --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$client" \
  --advertise-client-urls "http://127.0.0.1:$client" --listen-peer-urls "http://127.0.0.1:$peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "s=http://127.0.0.1:$peer" --log-outputs "$work/etcd.log" --logger zap \
  >/dev/null 2>&1 &
pids+=($!)
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); time.sleep(60)' \
  "$work/notify.sock" &
pids+=($!)
for _ in $(seq 1 50); do etcdctl --endpoints="127.0.0.1:$client" endpoint health >/dev/null 2>&1 && break; sleep 0.2; done
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=1000000 strace -f -qq -o "$work/trace.txt" \
  "$binary" --endpoints="http://127.0.0.1:$client" --listen-addr="127.0.0.1:$listen" \
  --metrics-addr="127.0.0.1:$admin" >"$work/proxy.log" 2>&1 &
tracer=$!
pids+=("$tracer")
proxy=""
for _ in $(seq 1 100); do
  proxy=$(pgrep -P "$tracer" | head -1 || true)
  [ -n "$proxy" ] && grep -q "listening on" "$work/proxy.log" && break
  sleep 0.1
done
[ -n "$proxy" ] || { echo "FAIL: the proxy did not start"; cat "$work/proxy.log"; exit 1; }
etcdctl --endpoints="127.0.0.1:$listen" put k v >/dev/null
[ "$(etcdctl --endpoints="127.0.0.1:$listen" get k --print-value-only)" = v ] || { echo "FAIL: get"; exit 1; }
timeout 2 etcdctl --endpoints="127.0.0.1:$listen" watch k >/dev/null || true
curl -sf "http://127.0.0.1:$admin/metrics" >/dev/null
curl -sf "http://127.0.0.1:$admin/status" >/dev/null
kill -HUP "$proxy"
sleep 1
kill -TERM "$proxy"
wait "$tracer" || true

awk '{ sub(/^[0-9]+ +/, ""); if (match($0, /^[a-z_0-9]+\(/)) print substr($0, 1, RLENGTH - 1) }' \
  "$work/trace.txt" | sort -u >"$work/used.txt"
expand() {
  systemd-analyze syscall-filter "$1" | awk '/^ +/ { print $1 }' | while read -r x; do
    case "$x" in @*) expand "$x" ;; *) echo "$x" ;; esac
  done
}
expand @system-service | sort -u >"$work/allowed.txt"
{ expand @privileged; expand @resources; } | sort -u >"$work/denied.txt"
used=$(wc -l <"$work/used.txt")
outside=$(comm -23 "$work/used.txt" "$work/allowed.txt" | tr '\n' ' ')
removed=$(comm -12 "$work/used.txt" "$work/denied.txt" | tr '\n' ' ')
[ "$used" -ge 30 ] || { echo "FAIL: only $used system calls traced"; exit 1; }
[ -z "$outside" ] || { echo "FAIL: not in @system-service: $outside"; exit 1; }
[ -z "$removed" ] || { echo "FAIL: removed by ~@privileged @resources: $removed"; exit 1; }
grep -q "sendmsg" "$work/used.txt" || { echo "FAIL: sd_notify was not traced"; exit 1; }
echo "ok: $used distinct system calls, all allowed by the unit's SystemCallFilter="
