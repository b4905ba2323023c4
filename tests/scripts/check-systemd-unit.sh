#!/usr/bin/env bash
# The systemd unit and its credentials drop-in: `systemd-analyze verify` passes (with ExecStart
# pointed at the built binary, as it is not installed here) and `systemd-analyze security`
# rates the unit's exposure 2.0 or lower.
# Usage: check-systemd-unit.sh SOURCE_DIR BINARY
set -euo pipefail
src=$1 binary=$2
max_exposure=2.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

unit=$tmp/etcd-health-proxy.service
sed "s|/usr/bin/etcd-health-proxy|$binary|" "$src/systemd/etcd-health-proxy.service" >"$unit"
# verify reports problems on stderr; any output is a failure.
verify() {  # what
  systemd-analyze verify --man=no "$unit" 2>"$tmp/verify.txt" || true
  if [ -s "$tmp/verify.txt" ]; then
    echo "FAIL: systemd-analyze verify $1:" >&2
    cat "$tmp/verify.txt" >&2
    exit 1
  fi
}
verify "of the unit"
echo "ok: verify etcd-health-proxy.service"

# The drop-in on top of the unit.
mkdir "$tmp/etcd-health-proxy.service.d"
sed "s|/usr/bin/etcd-health-proxy|$binary|" "$src/systemd/credentials.conf.example" \
  >"$tmp/etcd-health-proxy.service.d/credentials.conf"
verify "with credentials.conf"
echo "ok: verify with the LoadCredential= drop-in"

exposure=$(systemd-analyze security --offline=true "$unit" 2>&1 |
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$exposure" ]; then
  echo "FAIL: no exposure level from systemd-analyze security" >&2
  exit 1
fi
if ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
  echo "FAIL: exposure $exposure is above $max_exposure" >&2
  systemd-analyze security --offline=true "$unit" | grep '✗' >&2
  exit 1
fi
echo "ok: systemd-analyze security exposure $exposure (at most $max_exposure)"
