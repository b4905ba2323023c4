# shellcheck shell=bash
# Sourced by the scripts that start etcd or etcdctl: puts the etcd that EHP_ETCD_VERSION names
# first in PATH, as tests/support/etcd_version.h reads it: 3.4 (the default) is Debian 12's, from
# PATH; 3.5 (the newest 3.5), 3.5.16, 3.5.30, trixie and sid are the builds fetch-etcd.sh put in
# EHP_ETCD_DIR (default: build/etcd of this tree, which `make build` fills).
ehp_etcd_version=${EHP_ETCD_VERSION:-3.4}
if [ "$ehp_etcd_version" != 3.4 ]; then
  ehp_etcd_bin="${EHP_ETCD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/etcd}/bin/$ehp_etcd_version"
  if [ ! -x "$ehp_etcd_bin/etcd" ] || [ ! -x "$ehp_etcd_bin/etcdctl" ]; then
    echo "etcd $ehp_etcd_version: $ehp_etcd_bin/etcd is missing (make build fetches it, or" \
      "tests/scripts/fetch-etcd.sh DIR with EHP_ETCD_DIR=DIR)" >&2
    exit 2
  fi
  export PATH="$ehp_etcd_bin:$PATH"
fi
