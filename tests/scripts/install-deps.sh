#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and running need, when any is missing.
# Needs root for apt-get; without root it only reports what is missing.
#   install-deps.sh          install what is missing
#   install-deps.sh --list   print the list, one package a line
set -euo pipefail
packages=(
  build-essential cmake ccache pkg-config clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost1.81-dev libspdlog-dev libyaml-cpp-dev libsystemd-dev libgtest-dev
  golang-etcd-server-dev golang-github-gogo-protobuf-dev
  golang-github-grpc-ecosystem-grpc-gateway-dev
  etcd-server etcd-client openssl curl iproute2 prometheus
  help2man dpkg-dev fakeroot systemd man-db python3 gnuplot-nox haproxy nftables nghttp2-client strace
  clang libclang-rt-14-dev
)
if [ "${1:-}" = --list ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
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
