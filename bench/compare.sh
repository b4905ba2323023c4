#!/usr/bin/env bash
# Saturation benchmark of the relay against the alternatives, measured in one run with the targets
# interleaved: direct to etcd, through etcd-health-proxy, through HAProxy (TCP mode) and through
# `etcd grpc-proxy`, all in front of the same single etcd member on loopback (plaintext: h2load
# has no client certificates, and TLS would blur what the relay itself costs).
#
# Load: h2load (Debian nghttp2-client) sending gRPC-framed etcd requests over h2c. A gRPC error
# still answers HTTP 200, so every run is checked by the DATA bytes it received: an error carries
# none, and each workload's response size is measured first with `nghttp -v`, which must show
# grpc-status: 0.
#
# Figures per run: requests/s, CPU milliseconds per 1,000 requests of etcd and of the front end
# (utime + stime from /proc/PID/stat), and at the end each front end's peak RSS (VmHWM). Medians
# over the repetitions go to bench/RESULTS.md with the ratios the performance targets use.
#
#   bench/compare.sh [--requests=N] [--reps=N] [--out=FILE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
proxy_bin=$build/proxy/etcd-health-proxy
requests=20000
reps=3
out=$here/RESULTS.md
clients=16   # h2load connections
streams=16   # concurrent streams per connection
for arg in "$@"; do
  case "$arg" in
    --requests=*) requests=${arg#*=} ;;
    --reps=*) reps=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "compare.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
for t in etcd etcdctl h2load nghttp haproxy python3; do
  command -v "$t" >/dev/null || { echo "compare.sh: $t is missing (tests/scripts/install-deps.sh)" >&2; exit 2; }
done
[ -x "$proxy_bin" ] || { echo "compare.sh: build first (make build)" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "compare.sh: nothing listens on $1" >&2
  exit 1
}
cpu_ms() {  # pid -> utime+stime in ms
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}
rss_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# One etcd member.
etcd_port=$(free_port)
peer_port=$(free_port)
etcd --name bench --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "bench=http://127.0.0.1:$peer_port" \
  --log-outputs "$work/etcd.log" --logger zap >/dev/null 2>&1 &
etcd_pid=$!
pids+=("$etcd_pid")
wait_port "$etcd_port"
for _ in $(seq 1 50); do
  etcdctl --endpoints="127.0.0.1:$etcd_port" put bench-key \
    "$(head -c 64 /dev/zero | tr '\0' v)" >/dev/null 2>&1 && break
  sleep 0.2
done

declare -A port pid_of
port[direct]=$etcd_port
pid_of[direct]=$etcd_pid

port[proxy]=$(free_port)
"$proxy_bin" --endpoints="http://127.0.0.1:$etcd_port" --listen-addr="127.0.0.1:${port[proxy]}" \
  --metrics-addr="127.0.0.1:$(free_port)" --log-level=warn >"$work/proxy.log" 2>&1 &
pid_of[proxy]=$!
pids+=("${pid_of[proxy]}")

port[haproxy]=$(free_port)
printf 'global\n  maxconn 4096\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 1m\n  timeout server 1m\nlisten etcd\n  bind 127.0.0.1:%s\n  server m1 127.0.0.1:%s\n' \
  "${port[haproxy]}" "$etcd_port" >"$work/haproxy.cfg"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pid_of[haproxy]=$!
pids+=("${pid_of[haproxy]}")

port[grpc-proxy]=$(free_port)
etcd grpc-proxy start --endpoints="127.0.0.1:$etcd_port" \
  --listen-addr="127.0.0.1:${port[grpc-proxy]}" >"$work/grpc-proxy.log" 2>&1 &
pid_of[grpc-proxy]=$!
pids+=("${pid_of[grpc-proxy]}")
for t in proxy haproxy grpc-proxy; do wait_port "${port[$t]}"; done

# gRPC-framed request bodies (5-byte prefix + protobuf).
python3 - "$work" <<'EOF'
import struct, sys
d = sys.argv[1]
def frame(b): return b"\x00" + struct.pack(">I", len(b)) + b
key = b"bench-key"
rng = b"\x0a" + bytes([len(key)]) + key                  # RangeRequest{key}
open(d + "/range-linearizable.bin", "wb").write(frame(rng))
open(d + "/range-serializable.bin", "wb").write(frame(rng + b"\x38\x01"))   # serializable=true
put = b"\x0a" + bytes([len(key)]) + key + b"\x12\x80\x02" + b"p" * 256  # PutRequest{key, 256 B}
open(d + "/put-256b.bin", "wb").write(frame(put))
EOF
declare -A path=([range-linearizable]=/etcdserverpb.KV/Range [range-serializable]=/etcdserverpb.KV/Range
  [put-256b]=/etcdserverpb.KV/Put)
workloads=(range-linearizable range-serializable put-256b)
targets=(direct proxy haproxy grpc-proxy)

# Response size of each workload, and grpc-status: 0, once per target.
declare -A resp_bytes
for w in "${workloads[@]}"; do
  for t in "${targets[@]}"; do
    v=$(nghttp -v -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/$w.bin" \
      "http://127.0.0.1:${port[$t]}${path[$w]}" 2>&1)
    grep -q 'grpc-status: 0' <<<"$v" || { echo "compare.sh: $w via $t: not grpc-status 0:" >&2; echo "$v" | tail -20 >&2; exit 1; }
    n=$(grep -o 'recv DATA frame <length=[0-9]*' <<<"$v" | grep -o '[0-9]*$' | awk '{s+=$1} END {print s+0}')
    [ -z "${resp_bytes[$w]:-}" ] && resp_bytes[$w]=$n
  done
done

raw=$work/raw.csv
echo "rep,workload,target,req_per_s,etcd_cpu_ms_per_1k,frontend_cpu_ms_per_1k,ok" >"$raw"
for rep in $(seq 1 "$reps"); do
  for w in "${workloads[@]}"; do
    # Rotate the order each repetition so no target always runs first (or last).
    for i in 0 1 2 3; do
      t=${targets[$(((i + rep) % 4))]}
      e0=$(cpu_ms "$etcd_pid")
      f0=0
      [ "$t" != direct ] && f0=$(cpu_ms "${pid_of[$t]}")
      res=$(h2load -n "$requests" -c "$clients" -m "$streams" -t 1 \
        -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/$w.bin" \
        "http://127.0.0.1:${port[$t]}${path[$w]}" 2>&1)
      e1=$(cpu_ms "$etcd_pid")
      f1=0
      [ "$t" != direct ] && f1=$(cpu_ms "${pid_of[$t]}")
      rps=$(grep -o 'finished in [^,]*, [0-9.]* req/s' <<<"$res" | grep -o '[0-9.]* req/s' | cut -d' ' -f1)
      succeeded=$(grep -o '[0-9]* succeeded' <<<"$res" | head -1 | cut -d' ' -f1)
      data=$(grep '^traffic:' <<<"$res" | grep -o '([0-9]*) data' | tr -dc '0-9')
      # Every request answered with a full response (errors carry no DATA).
      ok=$([ "${succeeded:-0}" -eq "$requests" ] && [ "${data:-0}" -ge $((requests * resp_bytes[$w])) ] && echo 1 || echo 0)
      awk -v r="$rep" -v w="$w" -v t="$t" -v rps="$rps" -v n="$requests" -v e0="$e0" -v e1="$e1" \
        -v f0="$f0" -v f1="$f1" -v ok="$ok" \
        'BEGIN { printf "%s,%s,%s,%.0f,%.1f,%.1f,%s\n", r, w, t, rps, (e1 - e0) * 1000 / n, (f1 - f0) * 1000 / n, ok }' >>"$raw"
      echo "rep $rep $w $t: $rps req/s (ok=$ok)" >&2
    done
  done
done

declare -A rss
for t in proxy haproxy grpc-proxy; do rss[$t]=$(rss_mib "${pid_of[$t]}"); done
python3 - "$raw" "$out" "$requests" "$reps" "$clients" "$streams" "${rss[proxy]}" "${rss[haproxy]}" "${rss[grpc-proxy]}" \
  "$(etcd --version | head -1)" "$(haproxy -v | head -1)" "$("$proxy_bin" --version)" "$(h2load --version | head -1)" <<'EOF'
import csv, statistics, sys, platform, os, datetime
raw, out, n, reps, clients, streams, rss_p, rss_h, rss_g, etcd_v, hap_v, proxy_v, h2_v = sys.argv[1:]
rows = list(csv.DictReader(open(raw)))
bad = [r for r in rows if r["ok"] != "1"]
def med(w, t, k):
    v = [float(r[k]) for r in rows if r["workload"] == w and r["target"] == t]
    return statistics.median(v) if v else 0.0
workloads = ["range-linearizable", "range-serializable", "put-256b"]
targets = ["direct", "proxy", "haproxy", "grpc-proxy"]
L = ["# Relay benchmark", "",
     "Generated by `bench/compare.sh` on %s (%s, %d CPUs; %s)." % (
         datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), platform.platform(),
         os.cpu_count(), open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" \t:")),
     "Versions: %s; %s; %s; %s." % (proxy_v, etcd_v, hap_v, h2_v), "",
     "One etcd member on loopback (plaintext); every target in front of it. Load: `h2load -n %s -c %s -m %s -t 1` "
     "with gRPC-framed requests; %s interleaved repetitions (order rotated), medians shown. "
     "Every run was checked for a full response to every request (an error carries no DATA): %s." % (
         n, clients, streams, reps, "all passed" if not bad else "%d runs FAILED the check" % len(bad)), "",
     "| workload | target | req/s | etcd CPU ms / 1k req | front end CPU ms / 1k req | front end / etcd CPU | req/s vs direct |",
     "| --- | --- | --- | --- | --- | --- | --- |"]
for w in workloads:
    d = med(w, "direct", "req_per_s")
    for t in targets:
        rps = med(w, t, "req_per_s"); e = med(w, t, "etcd_cpu_ms_per_1k"); f = med(w, t, "frontend_cpu_ms_per_1k")
        L.append("| %s | %s | %.0f | %.1f | %s | %s | %.2f |" % (
            w, t, rps, e, "-" if t == "direct" else "%.1f" % f,
            "-" if t == "direct" or e == 0 else "%.2f" % (f / e), rps / d if d else 0))
L += ["", "Peak RSS of the front ends after all runs: proxy %s MiB, HAProxy %s MiB, grpc-proxy %s MiB." % (rss_p, rss_h, rss_g), "",
      "Targets (issue: performance): proxy CPU per 1k requests at most 0.25 x etcd's; proxy req/s at least 0.85 x direct "
      "and at least HAProxy's. grpc-proxy answers serializable Ranges from its cache, so its serializable row measures "
      "the cache, not a relay; compare it on the linearizable Range and the Put.", "",
      "Raw runs:", "", "```", open(raw).read().rstrip(), "```"]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L[:8 + 4 * len(workloads) + 3]))
EOF
