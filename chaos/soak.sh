#!/usr/bin/env bash
# Soak: mixed load through the proxy for a long time, with a fault every few minutes, while the
# proxy's resident memory, open file descriptors, threads, open streams and held calls are
# sampled every 10 s. Passes when, after the load stops, streams and held calls are back to 0
# and descriptors back to their idle baseline, threads have settled (gRPC's pools grow with load
# and never shrink, but must stop growing), memory under load shows no upward trend (the last
# third's peak within 20% + 8 MiB of the first third's) and no acknowledged write was lost.
#
# Loopback only, no root: a local 3-member etcd cluster on ports derived from this PID, the
# proxy binary, ehp-loadgen (unary reads and writes, a watch, a lease over 4 connections) and
# short-lived etcdctl watches opened and closed all along. Faults alternate: a member frozen
# (SIGSTOP) for 5 s, a member killed (SIGKILL) and restarted 5 s later.
#
# Usage: soak.sh [--minutes=30] [--fault-every=180] [--build=build/release] [--out=DIR]
set -euo pipefail
minutes=30
fault_every=180
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/release
out=""
for arg in "$@"; do
  case $arg in
    --minutes=*) minutes=${arg#*=} ;;
    --fault-every=*) fault_every=${arg#*=} ;;
    --build=*) build=$(realpath "${arg#*=}") ;;
    --out=*) out=${arg#*=} ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
proxy_bin=$build/proxy/etcd-health-proxy
loadgen_bin=$build/chaos/ehp-loadgen
for b in "$proxy_bin" "$loadgen_bin"; do
  [ -x "$b" ] || { echo "soak.sh: $b is not built" >&2; exit 2; }
done
# EHP_ETCD_VERSION (3.4 by default, or 3.5, 3.5.16, 3.5.30) picks the etcd that runs.
# shellcheck source=../tests/scripts/use-etcd.sh
. "$(cd "$(dirname "$0")" && pwd)/../tests/scripts/use-etcd.sh"
command -v etcd >/dev/null || { echo "soak.sh: etcd is not installed" >&2; exit 2; }

state=${out:-$(mktemp -d "${TMPDIR:-/tmp}/ehp-soak.XXXXXX")}
mkdir -p "$state"
state=$(cd "$state" && pwd)
"$root/tests/scripts/gen-certs.sh" "$state/certs" >/dev/null
c=$state/certs
base=$((20000 + ($$ % 400) * 100))  # ports base+1..base+9 for this run

declare -A member_pid
other_pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${member_pid[@]}" "${other_pids[@]}"; do
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${member_pid[@]}" "${other_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

cluster=""
endpoints=""
for i in 1 2 3; do
  cluster+="${cluster:+,}m$i=https://127.0.0.1:$((base + 3 + i))"
  endpoints+="${endpoints:+,}https://127.0.0.1:$((base + i))"
done
start_member() {  # i [new|existing]
  local i=$1 client="https://127.0.0.1:$((base + $1))" peer="https://127.0.0.1:$((base + 3 + $1))"
  etcd --name "m$i" --data-dir "$state/m$i.etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$cluster" --initial-cluster-token "ehp-soak-$$" \
    --initial-cluster-state "${2:-new}" \
    --cert-file "$c/server.pem" --key-file "$c/server-key.pem" \
    --trusted-ca-file "$c/ca.pem" --client-cert-auth \
    --peer-cert-file "$c/server.pem" --peer-key-file "$c/server-key.pem" \
    --peer-trusted-ca-file "$c/ca.pem" --peer-client-cert-auth \
    --logger zap --log-outputs "$state/m$i.log" 2>>"$state/m$i.stderr" &
  member_pid[$i]=$!
}
for i in 1 2 3; do start_member "$i"; done

listen=127.0.0.1:$((base + 8))
admin=127.0.0.1:$((base + 9))
"$proxy_bin" --endpoints "$endpoints" --cacert "$c/ca.pem" --cert "$c/client.pem" \
  --key "$c/client-key.pem" --listen-addr "$listen" --cert-file "$c/server.pem" \
  --key-file "$c/server-key.pem" --trusted-ca-file "$c/ca.pem" --metrics-addr "$admin" \
  2>"$state/proxy.log" &
proxy_pid=$!
other_pids+=("$proxy_pid")
etcdctl=(etcdctl "--endpoints=https://$listen" "--cacert=$c/ca.pem" "--cert=$c/client.pem"
         "--key=$c/client-key.pem" --command-timeout=5s)
for _ in $(seq 1 150); do
  if curl -sf "http://$admin/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -sf "http://$admin/readyz" >/dev/null || { echo "soak.sh: proxy not ready" >&2; exit 1; }

metric() {  # sum of a metric's samples
  curl -s --max-time 2 "http://$admin/metrics" |
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { print s + 0 }'
}
samples=$state/samples.csv
echo "second,phase,rss_kib,fds,threads,open_streams,held_calls" > "$samples"
t0=$(date +%s)
sample() {  # phase
  local rss fds threads
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$proxy_pid/status")
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$proxy_pid/status")
  fds=$(find "/proc/$proxy_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  echo "$(( $(date +%s) - t0 )),$1,$rss,$fds,$threads,$(metric etcd_health_proxy_open_streams),$(metric etcd_health_proxy_held_calls)" >> "$samples"
}
sleep 2
sample idle

duration=$((minutes * 60))
echo "soak: $minutes min of load, a fault every ${fault_every}s; samples in $samples"
"$loadgen_bin" --endpoints="$listen" --cacert="$c/ca.pem" --cert="$c/client.pem" \
  --key="$c/client-key.pem" --server-name=localhost --connections=4 --duration="$duration" \
  --prefix=/ehp-soak/ --json="$state/load.json" --quiet >"$state/loadgen.log" 2>&1 &
load_pid=$!
other_pids+=("$load_pid")

end=$((t0 + 2 + duration))
next_sample=$(( $(date +%s) + 10 ))
next_fault=$(( $(date +%s) + fault_every / 2 ))
fault=0
while [ "$(date +%s)" -lt "$end" ] && kill -0 "$load_pid" 2>/dev/null; do
  now=$(date +%s)
  # Watches opened and closed: three etcdctl watches that live 3 s each, every 5 s.
  for _ in 1 2 3; do
    timeout 3 "${etcdctl[@]}" watch --prefix /ehp-soak/ >/dev/null 2>&1 &
  done
  if [ "$now" -ge "$next_fault" ]; then
    victim=$(( fault % 3 + 1 ))
    if [ $((fault % 2)) -eq 0 ]; then
      echo "$((now - t0))s: freezing m$victim for 5 s" | tee -a "$state/faults.log"
      kill -STOP "${member_pid[$victim]}"; sleep 5; kill -CONT "${member_pid[$victim]}"
    else
      echo "$((now - t0))s: killing m$victim, restarting it 5 s later" | tee -a "$state/faults.log"
      kill -KILL "${member_pid[$victim]}"; wait "${member_pid[$victim]}" 2>/dev/null || true
      sleep 5; start_member "$victim" existing
    fi
    fault=$((fault + 1))
    next_fault=$((now + fault_every))
  fi
  if [ "$(date +%s)" -ge "$next_sample" ]; then
    sample load
    next_sample=$((next_sample + 10))
  fi
  sleep 5
done
wait "$load_pid" 2>/dev/null || true
sleep 15  # etcdctl watches end, streams close, held calls drain
sample after
sample after

python3 - "$samples" "$state/load.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
idle = [r for r in rows if r["phase"] == "idle"][0]
load = [r for r in rows if r["phase"] == "load"]
after = [r for r in rows if r["phase"] == "after"][-1]
num = lambda r, k: float(r[k])
fails = []
if len(load) >= 3:
    third = max(1, len(load) // 3)
    early = max(num(r, "rss_kib") for r in load[:third])
    late = max(num(r, "rss_kib") for r in load[-third:])
    if late > early * 1.2 + 8192:
        fails.append(f"RSS grew under load: {early/1024:.1f} -> {late/1024:.1f} MiB")
else:
    early = late = num(idle, "rss_kib")
    fails.append("fewer than 3 samples under load")
if num(after, "open_streams") != 0: fails.append(f"{after['open_streams']} streams still open")
if num(after, "held_calls") != 0: fails.append(f"{after['held_calls']} calls still held")
if num(after, "fds") > num(idle, "fds") + 4:
    fails.append(f"file descriptors {idle['fds']} -> {after['fds']}")
# gRPC's thread pools grow with load and do not shrink: threads must settle (no growth in the
# last third beyond what the first two thirds reached). Ending the load closes every stream at
# once, a burst that may add a thread or two to gRPC's pool; more than that is growth.
if load:
    settled = max(num(r, "threads") for r in load[:len(load) - len(load) // 3])
    last = max(num(r, "threads") for r in load[len(load) - len(load) // 3:])
    if last > settled + 2 or num(after, "threads") > max(last, settled) + 2:
        fails.append(f"threads keep growing: {idle['threads']} idle, {settled:.0f} then "
                     f"{last:.0f} under load, {after['threads']} after")
peak_streams = max(num(r, "open_streams") for r in load) if load else 0
summary = json.load(open(sys.argv[2])) if sys.argv[2] else {}
print(f"idle:  RSS {num(idle,'rss_kib')/1024:.1f} MiB, {idle['fds']} fds, {idle['threads']} threads")
print(f"load:  RSS first third peak {early/1024:.1f} MiB, last third peak {late/1024:.1f} MiB, "
      f"up to {peak_streams:.0f} open streams, {len(load)} samples")
print(f"after: RSS {num(after,'rss_kib')/1024:.1f} MiB, {after['fds']} fds, {after['threads']} threads, "
      f"{after['open_streams']} streams, {after['held_calls']} held calls")
if summary:
    r, w = summary["reads"], summary["writes"]
    print(f"load:  reads {r['ok']} ok / {r['failed']} failed, writes {w['ok']} ok / {w['failed']} "
          f"failed, watch events {summary['watch']['events']} (missed {summary['watch']['missed']}), "
          f"lost writes {summary['lost_writes']}")
    if summary["lost_writes"]: fails.append(f"{summary['lost_writes']} acknowledged writes lost")
if fails:
    print("FAIL: " + "; ".join(fails)); sys.exit(1)
print("PASS")
PY
