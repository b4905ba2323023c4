#!/usr/bin/env bash
# Instructions per forwarded request of each front end, counted by valgrind's callgrind: unlike
# CPU time on a shared machine this does not move with other load. One etcd member on loopback
# (h2c); each front end in turn runs under `valgrind --tool=callgrind`, takes --warmup
# linearizable Ranges from h2load (connections, caches, the allocator's arenas), has its counters
# zeroed (callgrind_control -z), takes --requests more, and is dumped (callgrind_control -d). The
# figure is the dump's total Ir over all the front end's threads divided by --requests; it
# includes what the front end does meanwhile besides forwarding (the proxy's health probes).
#
# Front ends: proxy (--data-path=grpc), proxy-h2 (--data-path=h2 --threads=1), nghttpx
# (--single-process --workers=1, h2c to h2c) and HAProxy (TCP mode, nbthread 1, for scale).
#
#   bench/callgrind.sh [--requests=2000] [--warmup=200] [--out=FILE]
# --out appends the figures to FILE as a Markdown section (bench/RESULTS.md after compare.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
proxy_bin=$build/proxy/etcd-health-proxy
requests=2000
warmup=200
out=
clients=4   # h2load connections
streams=8   # concurrent streams per connection
for arg in "$@"; do
  case "$arg" in
    --requests=*) requests=${arg#*=} ;;
    --warmup=*) warmup=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "callgrind.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
for t in etcd etcdctl h2load nghttpx haproxy valgrind callgrind_control python3; do
  command -v "$t" >/dev/null || { echo "callgrind.sh: $t is missing (tests/scripts/install-deps.sh)" >&2; exit 2; }
done
if [ ! -x "$proxy_bin" ]; then echo "callgrind.sh: build first (make build)" >&2; exit 2; fi

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
wait_port() {  # port seconds
  for _ in $(seq 1 $(($2 * 10))); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "callgrind.sh: nothing listens on $1" >&2
  exit 1
}

etcd_port=$(free_port)
peer_port=$(free_port)
etcd --name bench --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "bench=http://127.0.0.1:$peer_port" \
  --log-outputs "$work/etcd.log" --logger zap >/dev/null 2>&1 &
pids+=("$!")
wait_port "$etcd_port" 10
for _ in $(seq 1 50); do
  etcdctl --endpoints="127.0.0.1:$etcd_port" put bench-key \
    "$(head -c 64 /dev/zero | tr '\0' v)" >/dev/null 2>&1 && break
  sleep 0.2
done
python3 - "$work" <<'EOF'
import struct, sys
key = b"bench-key"
b = b"\x0a" + bytes([len(key)]) + key   # RangeRequest{key}: linearizable
open(sys.argv[1] + "/range.bin", "wb").write(b"\x00" + struct.pack(">I", len(b)) + b)
EOF

load() {  # port n -> prints "succeeded data_bytes"
  local res
  res=$(timeout 600 h2load -n "$2" -c "$clients" -m "$streams" -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/range.bin" \
    "http://127.0.0.1:$1/etcdserverpb.KV/Range" 2>&1) || true
  echo "$(grep -o '[0-9]* succeeded' <<<"$res" | head -1 | cut -d' ' -f1) $(grep '^traffic:' <<<"$res" | grep -o '([0-9]*) data' | tr -dc '0-9')"
}

# Response DATA bytes of one Range straight from etcd: a forwarded error carries none.
read -r _ one_bytes <<<"$(load "$etcd_port" 1)"

csv=$work/callgrind.csv
echo "frontend,requests,ir_total,ir_per_request,ok" >"$csv"
for t in proxy proxy-h2 nghttpx haproxy; do
  p=$(free_port)
  # --probe-timeout: the probes run ~50x slower under valgrind too; a member they evict would
  # fail the Ranges.
  case "$t" in
    proxy | proxy-h2)
      args=(--endpoints="http://127.0.0.1:$etcd_port" --listen-addr="127.0.0.1:$p"
        --metrics-addr="127.0.0.1:$(free_port)" --log-level=warn --probe-timeout=20s
        --probe-read-timeout=20s --dial-timeout=20s)
      [ "$t" = proxy-h2 ] && args+=(--data-path=h2 --threads=1)
      cmd=("$proxy_bin" "${args[@]}")
      ;;
    nghttpx)
      cmd=(nghttpx --conf=/dev/null --single-process --workers=1 "-f127.0.0.1,$p;no-tls"
        "-b127.0.0.1,$etcd_port;;proto=h2" --log-level=WARN --errorlog-file="$work/$t.log")
      ;;
    haproxy)
      printf 'global\n  maxconn 4096\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 20s\n  timeout client 1m\n  timeout server 1m\nlisten etcd\n  bind 127.0.0.1:%s\n  server m1 127.0.0.1:%s\n' \
        "$p" "$etcd_port" >"$work/haproxy.cfg"
      cmd=(haproxy -db -f "$work/haproxy.cfg")
      ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$work/$t.%p.out" "${cmd[@]}" >>"$work/$t.log" 2>&1 &
  vpid=$!
  pids+=("$vpid")
  wait_port "$p" 120
  read -r ok_warm _ <<<"$(load "$p" "$warmup")"
  callgrind_control -z "$vpid" >>"$work/$t.log" 2>&1
  read -r ok_n data <<<"$(load "$p" "$requests")"
  callgrind_control -d "$vpid" >>"$work/$t.log" 2>&1
  dump=$(find "$work" -name "$t.$vpid.out.*" | sort | tail -1)
  # "totals:" (or "summary:") is the Ir of everything since the counters were zeroed.
  ir=$(awk '/^(totals|summary):/ { print $2; exit }' "$dump" 2>/dev/null || true)
  kill "$vpid" 2>/dev/null || true
  wait "$vpid" 2>/dev/null || true
  ok=0
  [ "${ok_warm:-0}" -eq "$warmup" ] && [ "${ok_n:-0}" -eq "$requests" ] &&
    [ "${data:-0}" -ge $((requests * one_bytes)) ] && [ -n "$ir" ] && ok=1
  [ "$ok" = 1 ] || { echo "callgrind.sh: $t: warm-up $ok_warm/$warmup, $ok_n/$requests answered, $data data bytes, Ir '${ir:-}'" >&2; tail -20 "$work/$t.log" >&2; }
  awk -v t="$t" -v n="$requests" -v ir="${ir:-0}" -v ok="$ok" \
    'BEGIN { printf "%s,%d,%s,%.0f,%s\n", t, n, ir, ir / n, ok }' >>"$csv"
  echo "callgrind $t: $(tail -1 "$csv")" >&2
done

# What the proxies logged (valgrind's own lines start with ==PID==; callgrind_control's with
# PID or "Dumping"/"Zeroing").
for t in proxy proxy-h2; do
  echo "callgrind.sh: $t logged $(grep -cvE '^==|^PID|^  |^$|Dumping|Zeroing|^OK' "$work/$t.log" || true) lines:" >&2
  grep -vE '^==|^PID|^  |^$|Dumping|Zeroing|^OK' "$work/$t.log" | head -5 >&2 || true
done

python3 - "$csv" "$requests" "$warmup" "$clients" "$streams" "bench/callgrind.sh $*" \
  "$(valgrind --version)" "$(nghttpx --version | head -1)" "$("$proxy_bin" --version)" <<'EOF' | tee -a "${out:-/dev/null}"
import csv, datetime, sys
f, n, warm, clients, streams, cmdline, vg, ngx, proxy_v = sys.argv[1:]
rows = {r["frontend"]: r for r in csv.DictReader(open(f))}
ir = lambda t: float(rows[t]["ir_per_request"]) if t in rows and rows[t]["ok"] == "1" else 0.0
L = ["", "## Instructions per forwarded Range (callgrind)", "",
     "`%s` on %s; %s, %s, %s. Each front end under `valgrind --tool=callgrind`: %s linearizable "
     "Ranges to warm up, counters zeroed, %s more (`h2load -c %s -m %s -t 1`, h2c), dumped; total Ir "
     "of the front end process (all threads) / requests. Not affected by other load on the machine; "
     "the proxy's figures include its health probes meanwhile." % (
         cmdline.strip(), datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), proxy_v, ngx, vg,
         warm, n, clients, streams), "",
     "| front end | Ir total | Ir per Range | vs nghttpx | all answered |", "| --- | --- | --- | --- | --- |"]
for t in ("proxy", "proxy-h2", "nghttpx", "haproxy"):
    r = rows.get(t)
    if not r:
        continue
    L.append("| %s | %s | %s | %s | %s |" % (
        t, r["ir_total"], r["ir_per_request"] if r["ok"] == "1" else "-",
        "%.2f" % (ir(t) / ir("nghttpx")) if ir(t) and ir("nghttpx") else "-", "yes" if r["ok"] == "1" else "NO"))
L += ["", "proxy-h2 / nghttpx instructions per Range: %s; proxy (grpc) / proxy-h2: %s." % (
    "%.2f" % (ir("proxy-h2") / ir("nghttpx")) if ir("proxy-h2") and ir("nghttpx") else "-",
    "%.2f" % (ir("proxy") / ir("proxy-h2")) if ir("proxy") and ir("proxy-h2") else "-"), ""]
print("\n".join(L))
EOF
