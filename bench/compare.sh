#!/usr/bin/env bash
# Saturation benchmark of the relay against the alternatives, measured in one run with the targets
# interleaved: direct to etcd, through etcd-health-proxy (proxy: --threads=1, one I/O thread),
# through HAProxy (TCP mode, nbthread 1), through `etcd grpc-proxy` and through nghttpx (Debian
# nghttp2-proxy, h2c to h2c, --workers=1), all in front of the same single etcd member on
# loopback (plaintext: h2load has no client certificates, and TLS would blur what the relay
# itself costs). One I/O thread for the proxy, nghttpx and HAProxy makes their CPU per request
# comparable; grpc-proxy uses Go's scheduler over every core.
#
# Load: h2load (Debian nghttp2-client) sending gRPC-framed etcd requests over h2c. A gRPC error
# still answers HTTP 200, so every run is checked by the DATA bytes it received: an error carries
# none, and each workload's response size is measured first with `nghttp -v`, which must show
# grpc-status: 0.
#
# Figures per run: requests/s, CPU milliseconds per 1,000 requests of etcd and of the front end
# (utime + stime from /proc/PID/stat), and at the end each front end's peak RSS (VmHWM). Medians
# over the repetitions go to bench/RESULTS.md with the ratios the performance targets use, and a
# table of the targets (issue 17), each with its measured ratio and met / not met.
#
# Then, with the project's own client (ehp-bench-client):
#   - latency at a fixed 2,000 requests/s (open loop) of linearizable Ranges and Puts, per target,
#     interleaved and repeated: p50/p90/p99/p99.9;
#   - a prefix Range returning 10 MiB, one at a time, each front end freshly started: throughput,
#     CPU per request and how much the front end's peak RSS grew (in copies of the response);
#   - 10,000 watch streams opened through each front end (freshly started) and held idle: RSS
#     with them open, its growth, CPU while idle, and one write that every stream must receive;
#   - mutual TLS: a fixed number of linearizable Ranges with a client certificate (h2load cannot
#     present one) through every front end that can carry it, each front end to etcd over mutual
#     TLS too (HAProxy passes the client's TLS through to etcd): req/s and CPU per 1,000.
# Certificates: a throwaway CA, server and client (tests/scripts/gen-certs.sh) in the work dir,
# and a client certificate without a Common Name for grpc-proxy towards etcd.
# The instruction counts (noise-free, unlike CPU time on a shared machine) are bench/callgrind.sh:
# --callgrind=FILE takes the section it wrote (`bench/callgrind.sh --out=FILE`, run before, not
# alongside: valgrind would take CPU from the targets), puts the proxy's instructions per
# forwarded Range into the targets table and appends the section to the results.
#
#   bench/compare.sh [--requests=N] [--reps=N] [--out=FILE] [--rate=N] [--watches=N]
#                    [--callgrind=FILE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
proxy_bin=$build/proxy/etcd-health-proxy
bench_client=$build/bench/ehp-bench-client
requests=20000
reps=3
rate=2000       # fixed-rate latency: requests/s
rate_seconds=5  # per latency run
watches=10000   # idle watch streams
out=$here/RESULTS.md
callgrind=
clients=16   # h2load connections
streams=16   # concurrent streams per connection
for arg in "$@"; do
  case "$arg" in
    --requests=*) requests=${arg#*=} ;;
    --reps=*) reps=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    --rate=*) rate=${arg#*=} ;;
    --watches=*) watches=${arg#*=} ;;
    --callgrind=*) callgrind=${arg#*=} ;;
    *) echo "compare.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
for t in etcd etcdctl h2load nghttp haproxy nghttpx openssl python3; do
  command -v "$t" >/dev/null || { echo "compare.sh: $t is missing (tests/scripts/install-deps.sh)" >&2; exit 2; }
done
if [ ! -x "$proxy_bin" ] || [ ! -x "$bench_client" ]; then echo "compare.sh: build first (make build)" >&2; exit 2; fi
if [ -n "$callgrind" ] && [ ! -r "$callgrind" ]; then echo "compare.sh: cannot read $callgrind" >&2; exit 2; fi

# shellcheck source=lib.sh
. "$here/lib.sh"
cpu_ms() {  # pid -> utime+stime in ms
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}
rss_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

certs=$work/certs
"$root/tests/scripts/gen-certs.sh" "$certs" >/dev/null
tls_client=(--cacert="$certs/ca.pem" --cert="$certs/client.pem" --key="$certs/client-key.pem")
# grpc-proxy's certificate towards etcd must have no Common Name (it refuses to start with one).
openssl req -newkey rsa:2048 -nodes -keyout "$certs/nocn-key.pem" -out "$certs/nocn.csr" \
  -subj "/O=etcd grpc-proxy" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' \
  >"$certs/nocn.ext"
openssl x509 -req -in "$certs/nocn.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca-key.pem" -CAcreateserial \
  -out "$certs/nocn.pem" -days 2 -extfile "$certs/nocn.ext" 2>/dev/null

# One etcd member: h2c for the plaintext runs, mutual TLS on a second listener.
etcd_port=$(free_port)
etcd_tls_port=$(free_port)
peer_port=$(free_port)
etcd --name bench --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port,https://127.0.0.1:$etcd_tls_port" \
  --cert-file="$certs/server.pem" --key-file="$certs/server-key.pem" \
  --trusted-ca-file="$certs/ca.pem" --client-cert-auth \
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
port[direct-tls]=$etcd_tls_port
pid_of[direct-tls]=$etcd_pid

# Starts front end $1 (a target; NAME-tls: mutual TLS on both sides) on port $2, logging to $3;
# sets launched.
launch() {
  local t=$1 p=$2 log=$3 tls=0 base=$1
  case "$t" in *-tls) tls=1 base=${t%-tls} ;; esac
  local up="http://127.0.0.1:$etcd_port" up_port=$etcd_port
  [ "$tls" = 1 ] && up="https://127.0.0.1:$etcd_tls_port" up_port=$etcd_tls_port
  case "$base" in
    proxy)
      local args=(--endpoints="$up" --listen-addr="127.0.0.1:$p" --metrics-addr="127.0.0.1:$(free_port)"
        --log-level=warn --threads=1)
      [ "$tls" = 1 ] && args+=(--cacert="$certs/ca.pem" --cert="$certs/client.pem" --key="$certs/client-key.pem"
        --cert-file="$certs/server.pem" --key-file="$certs/server-key.pem" --trusted-ca-file="$certs/ca.pem")
      "$proxy_bin" "${args[@]}" >>"$log" 2>&1 &
      ;;
    haproxy)
      printf 'global\n  maxconn 4096\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 1m\n  timeout server 1m\nlisten etcd\n  bind 127.0.0.1:%s\n  server m1 127.0.0.1:%s\n' \
        "$p" "$up_port" >"$work/haproxy-$p.cfg"
      haproxy -db -f "$work/haproxy-$p.cfg" >>"$log" 2>&1 &
      ;;
    grpc-proxy)
      local gp=(--endpoints="127.0.0.1:$up_port" --listen-addr="127.0.0.1:$p")
      # With --trusted-ca-file its listener requires a client certificate signed by that CA.
      [ "$tls" = 1 ] && gp+=(--cacert="$certs/ca.pem" --cert="$certs/nocn.pem" --key="$certs/nocn-key.pem"
        --cert-file="$certs/server.pem" --key-file="$certs/server-key.pem" --trusted-ca-file="$certs/ca.pem")
      etcd grpc-proxy start "${gp[@]}" >>"$log" 2>&1 &
      ;;
    nghttpx)
      # One process (the PID measured), one worker thread; no configuration file of the system's.
      # As many streams per client connection as the proxy allows by default (nghttpx: 100), and
      # idle watch streams kept (its member connection would time out after 1 min without a read).
      local fe=("-f127.0.0.1,$p;no-tls") be=("-b127.0.0.1,$up_port;;proto=h2") extra=()
      if [ "$tls" = 1 ]; then
        fe=("-f127.0.0.1,$p" "$certs/server-key.pem" "$certs/server.pem")
        be=("-b127.0.0.1,$up_port;;proto=h2;tls;sni=localhost")  # the certificate names localhost
        extra=(--no-ocsp --verify-client --verify-client-cacert="$certs/ca.pem" --cacert="$certs/ca.pem"
          --client-private-key-file="$certs/client-key.pem" --client-cert-file="$certs/client.pem")
      fi
      nghttpx --conf=/dev/null --single-process --workers=1 "${fe[@]}" "${be[@]}" "${extra[@]}" \
        --frontend-http2-max-concurrent-streams=10000 --backend-read-timeout=10m --log-level=WARN --errorlog-file="$log" >>"$log" 2>&1 &
      ;;
  esac
  launched=$!
  pids+=("$launched")
}

for t in proxy haproxy grpc-proxy nghttpx; do
  port[$t]=$(free_port)
  launch "$t" "${port[$t]}" "$work/$t.log"
  pid_of[$t]=$launched
done
tls_targets=(direct-tls proxy-tls haproxy-tls grpc-proxy-tls nghttpx-tls)
for t in "${tls_targets[@]:1}"; do
  port[$t]=$(free_port)
  launch "$t" "${port[$t]}" "$work/$t.log"
  pid_of[$t]=$launched
done
for t in proxy haproxy grpc-proxy nghttpx "${tls_targets[@]:1}"; do wait_port "${port[$t]}"; done

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
targets=(direct proxy haproxy grpc-proxy nghttpx)
nt=${#targets[@]}

# Response size of each workload, and grpc-status: 0, once per target.
declare -A resp_bytes
for w in "${workloads[@]}"; do
  for t in "${targets[@]}"; do
    v=$(nghttp -nv -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/$w.bin" \
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
    for i in $(seq 0 $((nt - 1))); do
      t=${targets[$(((i + rep) % nt))]}
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

# Mutual TLS: the same linearizable Range, a client certificate on every connection, through
# every front end that can carry TLS (HAProxy passes it through to etcd; the others terminate it
# and reach etcd over mutual TLS), interleaved likewise.
tls=$work/tls.csv
echo "rep,target,req_per_s,etcd_cpu_ms_per_1k,frontend_cpu_ms_per_1k,ok" >"$tls"
ntls=${#tls_targets[@]}
for rep in $(seq 1 "$reps"); do
  for i in $(seq 0 $((ntls - 1))); do
    t=${tls_targets[$(((i + rep) % ntls))]}
    e0=$(cpu_ms "$etcd_pid")
    f0=0
    [ "$t" != direct-tls ] && f0=$(cpu_ms "${pid_of[$t]}")
    ok=1
    res=$(timeout 120 "$bench_client" count --target="127.0.0.1:${port[$t]}" --workload=range \
      --requests="$requests" --connections=4 --in-flight=16 --seconds=100 "${tls_client[@]}" 2>&1) || ok=0
    e1=$(cpu_ms "$etcd_pid")
    f1=0
    [ "$t" != direct-tls ] && f1=$(cpu_ms "${pid_of[$t]}")
    rps=$(grep -o 'req_per_s=[0-9]*' <<<"$res" | cut -d= -f2)
    awk -v r="$rep" -v t="$t" -v rps="${rps:-0}" -v n="$requests" -v e0="$e0" -v e1="$e1" \
      -v f0="$f0" -v f1="$f1" -v ok="$ok" \
      'BEGIN { printf "%s,%s,%.0f,%.1f,%.1f,%s\n", r, t, rps, (e1 - e0) * 1000 / n, (f1 - f0) * 1000 / n, ok }' >>"$tls"
    echo "rep $rep mTLS range $t: $(tr '\n' ' ' <<<"$res")" >&2
  done
done

# Fresh front ends for the memory figures (peak RSS must not carry earlier workloads).
start_frontend() {  # target -> sets fe_pid, fe_port (direct: etcd itself)
  if [ "$1" = direct ]; then fe_pid=$etcd_pid fe_port=$etcd_port; return; fi
  fe_port=$(free_port)
  launch "$1" "$fe_port" "$work/$1-fresh.log"
  fe_pid=$launched
  wait_port "$fe_port"
}
stop_frontend() {  # target
  [ "$1" = direct ] && return
  kill "$fe_pid" 2>/dev/null || true
  wait "$fe_pid" 2>/dev/null || true
}
rss_now_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# Fixed-rate latency, open loop (ehp-bench-client), targets interleaved as above.
lat=$work/latency.csv
echo "rep,workload,target,p50_us,p90_us,p99_us,p999_us,failed,sent_per_s" >"$lat"
for rep in $(seq 1 "$reps"); do
  for w in range put; do
    for i in $(seq 0 $((nt - 1))); do
      t=${targets[$(((i + rep) % nt))]}
      # A failed run is a result (counted in "failed"), not a reason to stop.
      res=$("$bench_client" latency --target="127.0.0.1:${port[$t]}" --workload="$w" \
        --rate="$rate" --seconds="$rate_seconds") || echo "compare.sh: latency $w via $t failed: $res" >&2
      kv() { grep -o "$1=[0-9]*" <<<"$res" | cut -d= -f2; }
      echo "$rep,$w,$t,$(kv p50_us),$(kv p90_us),$(kv p99_us),$(kv p999_us),$(kv failed),$(kv rate)" >>"$lat"
      echo "rep $rep latency $w $t: $res" >&2
    done
  done
done

# A prefix Range returning 10 MiB (40 values of 256 KiB), one request at a time.
head -c 262144 /dev/zero | tr '\0' L >"$work/large-value"
for k in $(seq -w 1 40); do
  etcdctl --endpoints="127.0.0.1:$etcd_port" put "bench-large/$k" <"$work/large-value" >/dev/null
done
python3 - "$work" <<'EOF2'
import struct, sys
b = b"\x0a\x0cbench-large/" + b"\x12\x0cbench-large0"   # RangeRequest{key, range_end}
open(sys.argv[1] + "/range-10mib.bin", "wb").write(b"\x00" + struct.pack(">I", len(b)) + b)
EOF2
v=$(nghttp -nv -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/range-10mib.bin" \
  "http://127.0.0.1:$etcd_port/etcdserverpb.KV/Range" 2>&1)
grep -q 'grpc-status: 0' <<<"$v" || { echo "compare.sh: 10 MiB range: not grpc-status 0" >&2; exit 1; }
large_bytes=$(grep -o 'recv DATA frame <length=[0-9]*' <<<"$v" | grep -o '[0-9]*$' | awk '{s+=$1} END {print s+0}')
large_n=20
big=$work/large.csv
echo "target,req_per_s,etcd_cpu_ms_per_req,frontend_cpu_ms_per_req,rss_before_mib,rss_peak_one_mib,rss_peak_mib,ok" >"$big"
for t in "${targets[@]}"; do
  start_frontend "$t"
  # Warm up with one small call, so the baseline includes the connections and their buffers.
  h2load -n 1 -c 1 -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/range-linearizable.bin" \
    "http://127.0.0.1:$fe_port/etcdserverpb.KV/Range" >/dev/null 2>&1
  sleep 0.5
  r0=$(rss_now_mib "$fe_pid")
  # One response alone first: the peak then is what relaying one response costs at a time.
  h2load -n 1 -c 1 -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/range-10mib.bin" \
    "http://127.0.0.1:$fe_port/etcdserverpb.KV/Range" >/dev/null 2>&1
  peak1=$(rss_mib "$fe_pid")
  e0=$(cpu_ms "$etcd_pid"); f0=$(cpu_ms "$fe_pid")
  res=$(h2load -n "$large_n" -c 1 -m 1 -t 1 -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$work/range-10mib.bin" "http://127.0.0.1:$fe_port/etcdserverpb.KV/Range" 2>&1)
  e1=$(cpu_ms "$etcd_pid"); f1=$(cpu_ms "$fe_pid")
  peak=$(rss_mib "$fe_pid")
  rps=$(grep -o 'finished in [^,]*, [0-9.]* req/s' <<<"$res" | grep -o '[0-9.]* req/s' | cut -d' ' -f1)
  data=$(grep '^traffic:' <<<"$res" | grep -o '([0-9]*) data' | tr -dc '0-9')
  ok=$([ "${data:-0}" -ge $((large_n * large_bytes)) ] && echo 1 || echo 0)
  [ "$t" = direct ] && { f0=0; f1=0; r0=0; peak1=0; peak=0; }
  awk -v t="$t" -v rps="$rps" -v n="$large_n" -v e0="$e0" -v e1="$e1" -v f0="$f0" -v f1="$f1" \
    -v r0="$r0" -v pk1="$peak1" -v pk="$peak" -v ok="$ok" \
    'BEGIN { printf "%s,%.2f,%.1f,%.1f,%s,%s,%s,%s\n", t, rps, (e1 - e0) / n, (f1 - f0) / n, r0, pk1, pk, ok }' >>"$big"
  echo "10 MiB range via $t: $rps req/s, RSS $r0 -> peak $peak1 after one, $peak MiB after all (ok=$ok)" >&2
  stop_frontend "$t"
done

# Idle watch streams through each front end (freshly started), held while CPU is sampled.
wat=$work/watches.csv
echo "target,streams,open_s,rss_before_mib,rss_after_mib,idle_cpu_pct,etcd_rss_before_mib,etcd_rss_after_mib,etcd_idle_cpu_pct,ok" >"$wat"
for t in proxy nghttpx grpc-proxy haproxy direct; do
  start_frontend "$t"
  sleep 1
  r0=$(rss_now_mib "$fe_pid"); er0=$(rss_now_mib "$etcd_pid")
  rm -f "$work/watch-ready"
  "$bench_client" watches --target="127.0.0.1:$fe_port" --streams="$watches" --hold=14 \
    --ready-file="$work/watch-ready" >"$work/watch.out" 2>&1 &
  wpid=$!
  for _ in $(seq 1 600); do [ -f "$work/watch-ready" ] || ! kill -0 "$wpid" 2>/dev/null && break; sleep 0.1; done
  sleep 2
  c0=$(cpu_ms "$fe_pid"); ec0=$(cpu_ms "$etcd_pid")
  sleep 10
  c1=$(cpu_ms "$fe_pid"); ec1=$(cpu_ms "$etcd_pid")
  r1=$(rss_now_mib "$fe_pid"); er1=$(rss_now_mib "$etcd_pid")
  ok=1
  wait "$wpid" || ok=0
  open_s=$(grep -o 'open_s=[0-9.]*' "$work/watch.out" | cut -d= -f2)
  echo "watches via $t: $(tr '\n' ' ' <"$work/watch.out")" >&2
  [ "$t" = direct ] && { r0=0; r1=0; c0=0; c1=0; }
  awk -v t="$t" -v n="$watches" -v o="${open_s:-0}" -v r0="$r0" -v r1="$r1" -v c0="$c0" -v c1="$c1" \
    -v er0="$er0" -v er1="$er1" -v ec0="$ec0" -v ec1="$ec1" -v ok="$ok" \
    'BEGIN { printf "%s,%d,%s,%s,%s,%.2f,%s,%s,%.2f,%s\n", t, n, o, r0, r1, (c1 - c0) / 100, er0, er1, (ec1 - ec0) / 100, ok }' >>"$wat"
  stop_frontend "$t"
done

rss=""
for t in proxy haproxy grpc-proxy nghttpx; do rss+="$t $(rss_mib "${pid_of[$t]}") MiB, "; done
python3 - "$raw" "$out" "$requests" "$reps" "$clients" "$streams" "${rss%, }" \
  "$(etcd --version | head -1)" "$(haproxy -v | head -1)" "$("$proxy_bin" --version)" "$(h2load --version | head -1)" \
  "$lat" "$big" "$wat" "$rate" "$rate_seconds" "$large_bytes" "$large_n" "$tls" "$(nghttpx --version | head -1)" \
  "bench/compare.sh $*" "$(getconf _NPROCESSORS_ONLN)" "$(cut -d" " -f1-3 /proc/loadavg)" "$work" "$callgrind" <<'EOF'
import csv, glob, statistics, sys, platform, os, datetime
(raw, out, n, reps, clients, streams, rss_all, etcd_v, hap_v, proxy_v, h2_v,
 lat_csv, big_csv, wat_csv, rate, rate_seconds, large_bytes, large_n, tls_csv, nghttpx_v,
 cmdline, ncpu, load, work, callgrind) = sys.argv[1:]
rows = list(csv.DictReader(open(raw)))
bad = [r for r in rows if r["ok"] != "1"]
def med(w, t, k):
    v = [float(r[k]) for r in rows if r["workload"] == w and r["target"] == t]
    return statistics.median(v) if v else 0.0
def ratio(a, b):
    return "%.2f" % (a / b) if b else "-"
def row(*cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"
def growth(r, after, before):
    return float(r[after]) - float(r[before])
workloads = ["range-linearizable", "range-serializable", "put-256b"]
targets = ["direct", "proxy", "haproxy", "grpc-proxy", "nghttpx"]
lat = list(csv.DictReader(open(lat_csv)))
# A latency run counts when every call was answered and the client kept to the rate (a starved
# client sends late and measures its own delay).
def lvalid(r):
    return r["failed"] == "0" and float(r["sent_per_s"] or 0) >= 0.95 * float(rate)
def lvals(w, t, k):
    return [float(r[k]) for r in lat if r["workload"] == w and r["target"] == t and lvalid(r)]
def lmed(w, t, k):
    v = lvals(w, t, k)
    return statistics.median(v) if v else 0.0
tls = list(csv.DictReader(open(tls_csv)))
tbad = [r for r in tls if r["ok"] != "1"]
def tmed(t, k):
    v = [float(r[k]) for r in tls if r["target"] == t and r["ok"] == "1"]
    return statistics.median(v) if v else 0.0
big = list(csv.DictReader(open(big_csv)))
wat = list(csv.DictReader(open(wat_csv)))

# The targets of issue 17, each with what this run measured. Ratios are taken within each
# repetition (the targets of one repetition ran back to back, under the same load) and their
# median judged; the range over the repetitions says how much the machine's load moved them.
T = []
def target(name, measured, met):
    T.append(row(name, measured, met if isinstance(met, str) else ("met" if met else "**not met**")))
def paired(w, a, ka, b, kb):  # per-repetition a/b
    out = []
    for r in sorted({x["rep"] for x in rows}):
        va = [float(x[ka]) for x in rows if x["rep"] == r and x["workload"] == w and x["target"] == a]
        vb = [float(x[kb]) for x in rows if x["rep"] == r and x["workload"] == w and x["target"] == b]
        if va and vb and vb[0] > 0:
            out.append(va[0] / vb[0])
    return out
def ratio_target(name, w, a, ka, b, kb, bound, at_most, unit):
    v = paired(w, a, ka, b, kb)
    if not v:
        return target(name, "no runs", "-")
    m = statistics.median(v)
    fmt = "%.0f" if unit == "req/s" else "%.1f"
    target(name, ("%.2f x (per repetition %s; medians " + fmt + " vs " + fmt + " %s)") % (
        m, ", ".join("%.2f" % x for x in v), med(w, a, ka), med(w, b, kb), unit),
        m <= bound if at_most else m >= bound)
cpu, rps = "frontend_cpu_ms_per_1k", "req_per_s"
w = "range-linearizable"
ratio_target("proxy CPU per 1k linearizable Ranges <= 0.25 x etcd's", w, "proxy", cpu, "proxy",
             "etcd_cpu_ms_per_1k", 0.25, True, "ms")
ratio_target("proxy CPU per 1k linearizable Ranges <= 1.5 x nghttpx's", w, "proxy", cpu, "nghttpx", cpu, 1.5, True, "ms")
ratio_target("saturated throughput >= 0.9 x direct (linearizable Range)", w, "proxy", rps, "direct", rps, 0.9, False, "req/s")
ratio_target("saturated throughput >= HAProxy's (linearizable Range)", w, "proxy", rps, "haproxy", rps, 1.0, False, "req/s")
ratio_target("saturated throughput >= nghttpx's (linearizable Range)", w, "proxy", rps, "nghttpx", rps, 1.0, False, "req/s")
for k, name in (("range-serializable", "serializable Range"), ("put-256b", "256-byte Put")):
    ratio_target("(the same, %s) >= 0.9 x direct" % name, k, "proxy", rps, "direct", rps, 0.9, False, "req/s")
# Latency: judged only where direct's own percentile held still between repetitions to within
# the bound; else the machine's load, not the front end, decides the difference.
for lw, name in (("range", "linearizable Range"), ("put", "256-byte Put")):
    for pk, bound in (("p50_us", 60), ("p99_us", 300)):
        label = "at %s requests/s, added %s <= %d us (%s)" % (rate, pk[:3], bound, name)
        dv, pv = lvals(lw, "direct", pk), lvals(lw, "proxy", pk)
        bad = sum(1 for r in lat if r["workload"] == lw and r["target"] in ("direct", "proxy") and not lvalid(r))
        if not dv or not pv:
            target(label, "no valid runs", "inconclusive")
            continue
        added = statistics.median(pv) - statistics.median(dv)
        spread = max(dv) - min(dv)
        text = "%+.0f us (%.0f vs %.0f us direct; direct's own %s ranged %.0f-%.0f us over %d runs%s)" % (
            added, statistics.median(pv), statistics.median(dv), pk[:3], min(dv), max(dv), len(dv),
            "; %d runs of proxy or direct left out: calls failed or the client fell behind the rate" % bad if bad else "")
        target(label, text, "inconclusive (noise)" if spread > bound or len(dv) < 2 else added <= bound)
ratio_target("256-byte Put CPU <= 1.5 x nghttpx's", "put-256b", "proxy", cpu, "nghttpx", cpu, 1.5, True, "ms per 1k")
pw = [r for r in wat if r["target"] == "proxy"]
if pw:
    r = pw[0]
    target("%s idle watch streams <= 64 MiB RSS in all" % r["streams"],
           "%s MiB (%.1f MiB before the streams, +%.1f MiB: %.1f KiB a stream)%s" % (
               r["rss_after_mib"], float(r["rss_before_mib"]), growth(r, "rss_after_mib", "rss_before_mib"),
               growth(r, "rss_after_mib", "rss_before_mib") * 1024 / max(1, int(r["streams"])),
               "" if r["ok"] == "1" else "; the streams did NOT all work"),
           r["ok"] == "1" and float(r["rss_after_mib"]) <= 64)
cg_section, cg_ir = "", None
if callgrind:
    cg_section = open(callgrind).read()
    for line in cg_section.splitlines():
        c = [x.strip() for x in line.split("|")]
        if len(c) > 3 and c[1] == "proxy" and c[3].isdigit():
            cg_ir = int(c[3])
if cg_ir is not None:
    target("callgrind instructions per forwarded unary Range <= 30k", "%d" % cg_ir, cg_ir <= 30000)
else:
    T.append(row("callgrind instructions per forwarded unary Range <= 30k",
                  "not in this run (`bench/callgrind.sh`; `--callgrind=FILE`)", "-"))

L = ["# Relay benchmark", "",
     "Generated by `%s` on %s (%s, %d CPUs; %s)." % (
         cmdline.strip(), datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), platform.platform(),
         os.cpu_count(), open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" \t:")),
     "Versions: %s; %s; %s; %s; %s." % (proxy_v, etcd_v, hap_v, nghttpx_v, h2_v), "",
     "The machine is shared (%s cores, load average %s at the end; other builds may run meanwhile): CPU time "
     "and req/s here are noisy, the load generator shares the cores with the targets. The "
     "noise-free figure is the instruction count per request of bench/callgrind.sh." % (ncpu, load), "",
     "Front ends: proxy = `--threads=1` (one I/O thread); nghttpx = `--single-process --workers=1`, h2c to "
     "h2c; HAProxy TCP mode, `nbthread 1`. One I/O thread for the proxy, nghttpx and HAProxy is what makes "
     "their CPU per request comparable; grpc-proxy runs on Go's scheduler over every core.", "",
     "## Targets", "",
     "The targets of issue 17 against this run. A ratio is taken within each repetition (the targets of "
     "one repetition ran back to back) and the median of those judged; the ratios of every repetition "
     "show how far the machine's load moved them. A latency target is judged only when direct's own "
     "percentile held still between repetitions to within the target's bound, and only on runs where "
     "every call was answered and the client kept to the rate; otherwise it is inconclusive here. "
     "The sections below give every figure.", "",
     "| target | measured | |", "| --- | --- | --- |"] + T + [""]
L += ["## Saturation", "",
      "One etcd member on loopback (plaintext); every target in front of it. Load: `h2load -n %s -c %s -m %s -t 1` "
      "with gRPC-framed requests; %s interleaved repetitions (order rotated), medians shown. "
      "Every run was checked for a full response to every request (an error carries no DATA): %s." % (
          n, clients, streams, reps, "all passed" if not bad else "%d runs FAILED the check" % len(bad)), "",
      "| workload | target | req/s | etcd CPU ms / 1k req | front end CPU ms / 1k req | front end / etcd CPU | front end / nghttpx CPU | req/s vs direct |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |"]
for w in workloads:
    d = med(w, "direct", "req_per_s")
    for t in targets:
        rps = med(w, t, "req_per_s"); e = med(w, t, "etcd_cpu_ms_per_1k"); f = med(w, t, "frontend_cpu_ms_per_1k")
        L.append("| %s | %s | %.0f | %.1f | %s | %s | %s | %.2f |" % (
            w, t, rps, e, "-" if t == "direct" else "%.1f" % f,
            "-" if t == "direct" or e == 0 else "%.2f" % (f / e),
            "-" if t == "direct" else ratio(f, med(w, "nghttpx", "frontend_cpu_ms_per_1k")), rps / d if d else 0))
L += ["", "Peak RSS of the front ends after all runs: %s." % rss_all, "",
      "grpc-proxy answers serializable Ranges from its cache, so its serializable row measures the cache, "
      "not a relay; compare it on the linearizable Range and the Put.", ""]
L += ["## Mutual TLS", "",
      "`ehp-bench-client count --requests=%s --connections=4 --in-flight=16` with a client certificate "
      "(h2load cannot present one): linearizable Ranges, closed loop. Each front end reaches etcd over "
      "mutual TLS as well; HAProxy (TCP) passes the client's TLS through to etcd, so etcd terminates it. "
      "%s interleaved repetitions, medians of the runs that completed (%s)." % (
          n, reps, "all did" if not tbad else "%d runs FAILED" % len(tbad)), "",
      "| target | req/s | etcd CPU ms / 1k req | front end CPU ms / 1k req | front end / etcd CPU | front end / nghttpx CPU | req/s vs direct |",
      "| --- | --- | --- | --- | --- | --- | --- |"]
for t in ["direct-tls", "proxy-tls", "haproxy-tls", "grpc-proxy-tls", "nghttpx-tls"]:
    rps, e, f = tmed(t, "req_per_s"), tmed(t, "etcd_cpu_ms_per_1k"), tmed(t, "frontend_cpu_ms_per_1k")
    d = t == "direct-tls"
    L.append("| %s | %.0f | %.1f | %s | %s | %s | %s |" % (
        t, rps, e, "-" if d else "%.1f" % f, "-" if d else ratio(f, e),
        "-" if d else ratio(f, tmed("nghttpx-tls", "frontend_cpu_ms_per_1k")), ratio(rps, tmed("direct-tls", "req_per_s"))))
L += ["", "```", open(tls_csv).read().rstrip(), "```", ""]
L += ["Raw runs (plaintext, h2load):", "", "```", open(raw).read().rstrip(), "```", ""]

# Fixed-rate latency.
L += ["## Latency at a fixed rate", "",
      "`ehp-bench-client latency --rate=%s --seconds=%s` (open loop: each call leaves at its scheduled time; "
      "latency counted from that time), 4 connections, %s interleaved repetitions, medians in microseconds "
      "over the runs in which every call was answered and the client kept to the rate (%d of %d runs; "
      "failed calls in all: %d)." % (rate, rate_seconds, reps, sum(1 for r in lat if lvalid(r)), len(lat),
                                     sum(int(r["failed"] or 0) for r in lat)), "",
      "| workload | target | p50 | p90 | p99 | p99.9 | p50 added | p99 added |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
for w, name in (("range", "range-linearizable"), ("put", "put-256b")):
    for t in targets:
        p50, p99 = lmed(w, t, "p50_us"), lmed(w, t, "p99_us")
        L.append("| %s | %s | %.0f | %.0f | %.0f | %.0f | %s | %s |" % (
            name, t, p50, lmed(w, t, "p90_us"), p99, lmed(w, t, "p999_us"),
            "-" if t == "direct" else "%+.0f" % (p50 - lmed(w, "direct", "p50_us")),
            "-" if t == "direct" else "%+.0f" % (p99 - lmed(w, "direct", "p99_us"))))
L += ["", "```", open(lat_csv).read().rstrip(), "```", ""]

# 10 MiB range.
mib = int(large_bytes) / 2**20
L += ["## A 10 MiB response", "",
      "Prefix Range returning %.1f MiB (40 values of 256 KiB), each front end freshly started and warmed "
      "with one small call; then one 10 MiB Range alone (growth of the peak RSS, VmHWM, over the RSS "
      "before: what one response costs at a time, in MiB and in copies of the response), then %s more "
      "one at a time (throughput, CPU, and the peak after all of them)." % (mib, large_n), "",
      "| target | req/s | etcd CPU ms / req | front end CPU ms / req | RSS before | growth, one response | copies at a time | growth after all |  all complete |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
for r in big:
    one = growth(r, "rss_peak_one_mib", "rss_before_mib")
    cells = [r["frontend_cpu_ms_per_req"], r["rss_before_mib"], "%.1f" % one, "%.2f" % (one / mib),
             "%.1f" % growth(r, "rss_peak_mib", "rss_before_mib")]
    if r["target"] == "direct": cells = ["-"] * len(cells)
    L.append(row(r["target"], r["req_per_s"], r["etcd_cpu_ms_per_req"], *cells, "yes" if r["ok"] == "1" else "NO"))
L += ["", "Target: no more than one extra copy of the response in the proxy at a time (copies at a time <= 2: the "
      "response itself and at most one copy). Growth after many responses also counts memory the allocator "
      "keeps for reuse, not responses held.", ""]

# Idle watch streams.
L += ["## Idle watch streams", "",
      "`ehp-bench-client watches`: streams opened over 10 connections through each front end (freshly "
      "started), held idle; CPU sampled over 10 s of the idle hold; then one Put that every stream must "
      "receive (checked: all did, none ended early, where \"ok\" says yes).", "",
      "| target | streams | open s | RSS before | RSS with streams | growth | idle CPU % | etcd RSS growth | etcd idle CPU % | ok |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
for r in wat:
    cells = [r["rss_before_mib"], r["rss_after_mib"], "%.1f" % growth(r, "rss_after_mib", "rss_before_mib"),
             r["idle_cpu_pct"]]
    if r["target"] == "direct": cells = ["-"] * len(cells)
    L.append(row(r["target"], r["streams"], r["open_s"], *cells,
                 "%.1f" % growth(r, "etcd_rss_after_mib", "etcd_rss_before_mib"), r["etcd_idle_cpu_pct"],
                 "yes" if r["ok"] == "1" else "NO"))
L += ["", "Targets: proxy RSS at most 64 MiB in all with 10,000 idle watch streams open, idle CPU below 2% "
      "of a core. etcd's RSS moves with Go's garbage collector (it can shrink while streams are added): it "
      "only says that etcd itself holds the streams in every case.", ""]
# What the proxies logged (--log-level=warn).
L += ["## Proxy logs", "", "Lines each proxy instance logged at warn level and above over the whole run "
      "(the first 5 of each shown).", ""]
for f in sorted(glob.glob(work + "/proxy*.log")):
    lines = open(f, errors="replace").read().splitlines()
    L.append("- `%s`: %d lines" % (os.path.basename(f), len(lines)))
    if lines:
        L += ["", "```"] + [l[:300] for l in lines[:5]] + ["```", ""]
L.append("")
if cg_section:
    L += [cg_section.strip("\n"), ""]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
EOF
