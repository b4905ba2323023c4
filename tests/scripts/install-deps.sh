#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing, packaging, `make run`, the drills and
# the benchmarks need, when any is missing. This is the one list: the programs they run are in
# tests/scripts/commands.txt with the package below that brings each (the command_list test
# checks that file against the tree, the fresh_debian test checks it on a new Debian 12).
# Needs root for apt-get; without root it only reports what is missing.
#   install-deps.sh          install what is missing
#   install-deps.sh --list   print the list, one package a line
set -euo pipefail
packages=(
  # The build: toolchain, CMake, the libraries, etcd's .proto files, the man page; make format.
  build-essential cmake ccache pkg-config clang-format git help2man
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost1.81-dev libspdlog-dev libyaml-cpp-dev libsystemd-dev libgtest-dev libnghttp2-dev
  golang-etcd-server-dev golang-github-gogo-protobuf-dev
  golang-github-grpc-ecosystem-grpc-gateway-dev
  # The fuzz preset: clang with libFuzzer and its sanitizer runtimes.
  clang libclang-rt-14-dev
  # The package: cpack -G DEB runs dpkg-shlibdeps, which needs file; package-test.sh reads the
  # man page and verifies the unit.
  dpkg-dev file man-db systemd
  # Tests and `make run`: etcd, certificates, HTTP, promtool, the syscall filter check.
  etcd-server etcd-client openssl curl prometheus python3 procps strace
  # The drills: network namespaces, faults, the HAProxy mode, the npm client, the report.
  iproute2 nftables haproxy nodejs npm gnuplot-nox
  # Benchmarks and the HTTP/2 data path (nghttpx); instruction counts (bench/callgrind.sh).
  nghttp2-client nghttp2-proxy valgrind
  # The admin page test (headless).
  chromium
  # The fresh-machine check (tests/scripts/fresh-debian-check.sh).
  debootstrap shfmt
)
if [ "${1:-}" = --list ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
# A package counts as present when it is installed or an installed package provides it (a
# newer nodejs from another repository provides npm; installing Debian's npm would remove it).
declare -A present
while read -r status name provides; do
  [ "$status" = ii ] || continue
  present[$name]=1
  IFS=, read -r -a list <<<"$provides"
  for p in "${list[@]}"; do
    p=${p%% (*}
    p=${p// /}
    [ -n "$p" ] && present[$p]=1
  done
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Provides}\n' 2>/dev/null)
missing=()
for p in "${packages[@]}"; do
  [ -n "${present[$p]:-}" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages (run as root to install them): ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
