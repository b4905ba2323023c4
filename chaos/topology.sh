#!/usr/bin/env bash
# A real etcd cluster in network namespaces, one namespace per member, each with two links:
#   peer link   (Raft, port 2380)   198.19.K.(10+i)/24 on bridge <tag>bp
#   client link (port 2379)         198.18.K.(10+i)/24 on bridge <tag>bc, which the root
#                                   namespace reaches at 198.18.K.1
# K (1-250) is derived from TAG, so runs with different tags use different subnets.
# Cutting a member from its peers while clients still reach it is one `cut`.
#
#   topology.sh up TAG N CERTDIR STATEDIR   create, start etcd (TLS), wait for a leader
#   topology.sh cut TAG I                   peer link of member I down (1-based)
#   topology.sh heal TAG I                  peer link of member I up
#   topology.sh signal TAG I SIG STATEDIR   send SIG (STOP, CONT, KILL) to member I's etcd
#   topology.sh restart TAG I STATEDIR      start member I's etcd again (after a KILL)
#   topology.sh oneway TAG I in|out         drop only inbound or only outbound peer traffic
#   topology.sh loss TAG I peer|client PCT  drop PCT% of the link's packets, both ways
#   topology.sh netem TAG I peer|client ARGS... tc netem on a link (delay 200ms 50ms)
#   topology.sh slow TAG I peer|client RATE what member I sends on the link is rate-limited
#   topology.sh slow-in TAG I RATE          what member I receives on its peer link is
#                                           rate-limited (it falls behind under write load)
#   topology.sh blackhole TAG I             client link drops everything, both ways, no RST
#   topology.sh clear TAG I                 undo cut, oneway, loss, netem, slow and blackhole
#   topology.sh down TAG STATEDIR           stop etcd (by PID) and remove everything
#   topology.sh endpoints TAG N             the client URLs
#   topology.sh sans TAG N                  the addresses certificates must name
#
# ETCD_EXTRA_FLAGS (e.g. "--pre-vote=true") is added to every member's command line.
# EHP_ETCD_VERSION (3.4, the default, or 3.5, 3.5.16, 3.5.30: tests/scripts/use-etcd.sh) picks
# the etcd and etcdctl that run.
# TAG (1-5 characters) keeps interface and namespace names unique per run. Only addresses in
# 198.18.0.0/15 are used. Needs root.
set -euo pipefail
cmd=${1:?usage: see the header of this file}
shift

# shellcheck source=../tests/scripts/use-etcd.sh
. "$(cd "$(dirname "$0")" && pwd)/../tests/scripts/use-etcd.sh"

ns() { echo "ehp-$1-m$2"; }
subnet() { echo $(( $(printf '%s' "$1" | cksum | cut -d' ' -f1) % 250 + 1 )); }
peer_ip() { echo "198.19.$(subnet "$tag").$((10 + $1))"; }
client_ip() { echo "198.18.$(subnet "$tag").$((10 + $1))"; }

endpoints() {
  local n=$1 out="" i
  for i in $(seq 1 "$n"); do out+="${out:+,}https://$(client_ip "$i"):2379"; done
  echo "$out"
}

# Starts member $1's etcd in its namespace; its PID goes to line $1 of $state/pids.
start_member() {
  local i=$1 name
  name=$(ns "$tag" "$i")
  ip netns exec "$name" etcd --name "m$i" --data-dir "$state/m$i.etcd" \
    --listen-client-urls "https://$(client_ip "$i"):2379" \
    --advertise-client-urls "https://$(client_ip "$i"):2379" \
    --listen-peer-urls "https://$(peer_ip "$i"):2380" \
    --initial-advertise-peer-urls "https://$(peer_ip "$i"):2380" \
    --initial-cluster "$cluster" --initial-cluster-state new \
    --initial-cluster-token "ehp-$tag" \
    --cert-file "$certs/server.pem" --key-file "$certs/server-key.pem" \
    --trusted-ca-file "$certs/ca.pem" --client-cert-auth \
    --peer-cert-file "$certs/server.pem" --peer-key-file "$certs/server-key.pem" \
    --peer-trusted-ca-file "$certs/ca.pem" --peer-client-cert-auth \
    --logger zap --log-outputs "$state/m$i.log" ${ETCD_EXTRA_FLAGS:-} </dev/null >/dev/null 2>&1 &
  local pid=$!
  touch "$state/pids"
  # Line i holds member i's PID (replaced on restart).
  awk -v i="$i" -v pid="$pid" 'NR == i { print pid; next } { print } END { for (k = NR + 1; k <= i; k++) print (k == i ? pid : "") }' \
    "$state/pids" > "$state/pids.new"
  mv "$state/pids.new" "$state/pids"
}

member_pid() { sed -n "$1p" "$state/pids"; }

# Drops packets matching an nftables expression in member $1's namespace (silently: no RST, no
# ICMP). `clear` removes every such rule.
drop() {
  local name
  name=$(ns "$tag" "$1")
  if ! ip netns exec "$name" nft list table inet ehp >/dev/null 2>&1; then
    ip netns exec "$name" nft add table inet ehp
    ip netns exec "$name" nft add chain inet ehp in '{ type filter hook input priority 0; }'
    ip netns exec "$name" nft add chain inet ehp out '{ type filter hook output priority 0; }'
  fi
  case "$2" in
    iifname*) ip netns exec "$name" nft add rule inet ehp in $2 drop ;;
    *) ip netns exec "$name" nft add rule inet ehp out $2 drop ;;
  esac
}

tag=${1:?TAG}
case "$cmd" in
  endpoints) endpoints "$2" ;;
  sans)
    out=""
    for i in $(seq 1 "$2"); do out+="${out:+,}IP:$(peer_ip "$i"),IP:$(client_ip "$i")"; done
    echo "$out"
    ;;
  up)
    n=$2 certs=$3 state=$4
    if grep -q " 198\.18\.$(subnet "$tag")\.1/" <<<"$(ip -br addr)"; then
      echo "198.18.$(subnet "$tag").0/24 is in use (a leftover topology?): topology.sh down it" >&2
      exit 1
    fi
    mkdir -p "$state"
    printf 'n=%s\ncerts=%s\nETCD_EXTRA_FLAGS="%s"\n' "$n" "$certs" "${ETCD_EXTRA_FLAGS:-}" > "$state/env"
    ip link add "${tag}bp" type bridge
    ip link add "${tag}bc" type bridge
    ip link set "${tag}bp" up
    ip link set "${tag}bc" up
    ip addr add "198.18.$(subnet "$tag").1/24" dev "${tag}bc"
    cluster=""
    for i in $(seq 1 "$n"); do cluster+="${cluster:+,}m$i=https://$(peer_ip "$i"):2380"; done
    for i in $(seq 1 "$n"); do
      name=$(ns "$tag" "$i")
      ip netns add "$name"
      ip -n "$name" link set lo up
      ip link add "${tag}p$i" type veth peer name peer0 netns "$name"
      ip link add "${tag}c$i" type veth peer name client0 netns "$name"
      ip link set "${tag}p$i" master "${tag}bp" up
      ip link set "${tag}c$i" master "${tag}bc" up
      ip -n "$name" addr add "$(peer_ip "$i")/24" dev peer0
      ip -n "$name" addr add "$(client_ip "$i")/24" dev client0
      ip -n "$name" link set peer0 up
      ip -n "$name" link set client0 up
      start_member "$i"
    done
    deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
      if etcdctl --endpoints="$(endpoints "$n")" --cacert="$certs/ca.pem" \
        --cert="$certs/client.pem" --key="$certs/client-key.pem" --dial-timeout=1s \
        --command-timeout=2s endpoint health >/dev/null 2>&1; then
        exit 0
      fi
      sleep 0.2
    done
    echo "etcd did not become healthy; logs in $state" >&2
    exit 1
    ;;
  signal)
    state=$4
    kill -"$3" "$(member_pid "$2")"
    ;;
  restart)
    state=$3
    # shellcheck disable=SC1091
    . "$state/env"
    cluster=""
    for i in $(seq 1 "$n"); do cluster+="${cluster:+,}m$i=https://$(peer_ip "$i"):2380"; done
    start_member "$2"
    ;;
  cut) ip -n "$(ns "$tag" "$2")" link set peer0 down ;;
  oneway)
    case "$3" in
      in) drop "$2" "iifname peer0" ;;
      out) drop "$2" "oifname peer0" ;;
      *) echo "oneway: in or out" >&2; exit 2 ;;
    esac
    ;;
  loss)
    drop "$2" "iifname ${3}0 numgen random mod 100 < $4"
    drop "$2" "oifname ${3}0 numgen random mod 100 < $4"
    ;;
  netem)
    name=$(ns "$tag" "$2") link=$3
    shift 3
    ip netns exec "$name" tc qdisc replace dev "${link}0" root netem "$@"
    ;;
  slow)
    # A slow link (rate-limited with a deep queue): what the member sends queues up, so its
    # answers come late under load. For kernels without netem.
    ip netns exec "$(ns "$tag" "$2")" tc qdisc replace dev "${3}0" root tbf rate "$4" \
      burst 16kbit latency 5s
    ;;
  slow-in)
    # The root end of member I's peer veth carries what the others send it: rate-limited with a
    # deep queue, its appends arrive late and it applies late, while it keeps its leader (the
    # flow never stops long enough for an election).
    tc qdisc replace dev "${tag}p$2" root tbf rate "$3" burst 32kbit latency 30s
    ;;
  blackhole)
    drop "$2" "iifname client0"
    drop "$2" "oifname client0"
    ;;
  clear)
    name=$(ns "$tag" "$2")
    ip netns exec "$name" nft delete table inet ehp 2>/dev/null || true
    for dev in peer0 client0; do
      ip netns exec "$name" tc qdisc del dev "$dev" root 2>/dev/null || true
      ip netns exec "$name" tc qdisc del dev "$dev" ingress 2>/dev/null || true
      ip -n "$name" link set "$dev" up
    done
    tc qdisc del dev "${tag}p$2" root 2>/dev/null || true
    ;;
  heal) ip -n "$(ns "$tag" "$2")" link set peer0 up ;;
  down)
    state=$2
    if [ -f "$state/pids" ]; then
      while read -r pid; do [ -n "$pid" ] || continue; kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done < "$state/pids"
      for _ in $(seq 1 50); do
        alive=0
        while read -r pid; do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1; done < "$state/pids"
        [ $alive -eq 0 ] && break
        sleep 0.1
      done
      while read -r pid; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done < "$state/pids"
      rm -f "$state/pids"
    fi
    for name in $(ip netns list | awk '{print $1}' | grep "^ehp-$tag-m" || true); do
      ip netns del "$name"
    done
    # Deleting a namespace frees its veth pairs only once the kernel has torn it down, which can
    # lag; delete the root ends now so the next `up` with this tag finds the names free.
    for link in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^${tag}[pc][0-9]+$" || true); do
      ip link del "$link" 2>/dev/null || true
    done
    ip link del "${tag}bp" 2>/dev/null || true
    ip link del "${tag}bc" 2>/dev/null || true
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
