#!/usr/bin/env bash
# Fetches Debian's etcd 3.5 builds (static Go binaries that run on Debian 12) into DIR, with a
# private apt configuration: the machine's apt sources, lists, caches and dpkg state are never
# touched, and nothing is installed.
#   DIR/<version>/usr/bin/{etcd,etcdctl,etcdutl}   Debian 13 (trixie, 3.5.16) and unstable (sid,
#                                                  the newest 3.5 patch release)
#   DIR/bin/<name>/{etcd,etcdctl,...}              name: 3.5 (the newest 3.5 fetched), trixie,
#                                                  sid, each exact version, and 3.4 (links to
#                                                  the machine's Debian 12 etcd in PATH)
#   DIR/fetched.stamp                              written last; DIR is complete when it exists
# Tests, drills and `make run` pick a directory of DIR/bin by name (EHP_ETCD_VERSION).
# Idempotent: when DIR is complete it returns at once (--refresh fetches again). Concurrent runs
# (two build trees) wait for each other. EHP_DEBIAN_MIRROR overrides http://deb.debian.org/debian.
# Usage: fetch-etcd.sh [--refresh] DIR
set -euo pipefail
refresh=0
if [ "${1:-}" = --refresh ]; then
  refresh=1
  shift
fi
dest=${1:?usage: fetch-etcd.sh [--refresh] DIR}
mirror=${EHP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

complete() { [ -f "$dest/fetched.stamp" ] && [ -x "$dest/bin/3.5/etcd" ] && [ -x "$dest/bin/3.5/etcdctl" ]; }
# The stamp is the build's output: touched, so a newer copy of this script does not rerun it.
[ $refresh -eq 0 ] && complete && touch "$dest/fetched.stamp" && exit 0

exec 9>"$dest/.lock"
flock 9
[ $refresh -eq 0 ] && complete && touch "$dest/fetched.stamp" && exit 0  # another run finished it while this one waited

work=$(mktemp -d "$dest/.apt.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
printf 'deb %s trixie main\ndeb %s sid main\n' "$mirror" "$mirror" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
  -o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
)
# As root, apt downloads as the _apt user, which cannot write into this private directory.
[ "$(id -u)" -eq 0 ] && apt_opts+=(-o APT::Sandbox::User=root)

echo "fetch-etcd: package lists of trixie and sid from $mirror"
apt-get "${apt_opts[@]}" -qq update

# "3.5.30-2" -> "3.5.30" (no epoch, no Debian revision).
upstream() { local v=${1#*:}; echo "${v%%-*}"; }
# The candidate version of etcd-server in suite $1 ("" when the suite has none).
suite_version() {
  apt-cache "${apt_opts[@]}" madison etcd-server |
    awk -F'|' -v suite="$1" '$3 ~ (" " suite "/") { gsub(/ /, "", $2); print $2; exit }'
}

declare -A version_of  # suite -> upstream version
for suite in trixie sid; do
  v=$(suite_version "$suite")
  if [ -z "$v" ]; then
    echo "fetch-etcd: $suite has no etcd-server package" >&2
    continue
  fi
  u=$(upstream "$v")
  case "$u" in
    3.5.*) ;;
    *)
      # Only 3.5 is wanted from here; a suite that moved on is left out rather than mislabelled.
      echo "fetch-etcd: $suite has etcd $u, not 3.5: skipped" >&2
      continue
      ;;
  esac
  version_of[$suite]=$u
  if [ ! -x "$dest/$u/usr/bin/etcd" ] || [ $refresh -eq 1 ]; then
    (cd "$work/debs" && apt-get "${apt_opts[@]}" -qq download "etcd-server=$v" "etcd-client=$v")
    rm -rf "$dest/$u.new"
    mkdir -p "$dest/$u.new"
    for deb in "$work/debs"/etcd-server_*"$v"_*.deb "$work/debs"/etcd-client_*"$v"_*.deb; do
      dpkg-deb -x "$deb" "$dest/$u.new"
    done
    got=$("$dest/$u.new/usr/bin/etcd" --version | awk '/^etcd Version:/ { print $3 }')
    [ "$got" = "$u" ] || { echo "fetch-etcd: $suite's etcd reports version '$got', not $u" >&2; exit 1; }
    rm -rf "${dest:?}/${u:?}"
    mv "$dest/$u.new" "$dest/$u"
    echo "fetch-etcd: etcd $u ($suite) in $dest/$u/usr/bin"
  fi
done
[ ${#version_of[@]} -gt 0 ] || { echo "fetch-etcd: no etcd 3.5 found in trixie or sid" >&2; exit 1; }

link() {  # name version
  ln -sfn "../$2/usr/bin" "$dest/bin/$1.new"
  mv -T "$dest/bin/$1.new" "$dest/bin/$1"
}
mkdir -p "$dest/bin"
newest=""
for suite in "${!version_of[@]}"; do
  u=${version_of[$suite]}
  link "$suite" "$u"
  link "$u" "$u"
  if [ -z "$newest" ] || [ "$(printf '%s\n%s\n' "$newest" "$u" | sort -V | tail -1)" = "$u" ]; then
    newest=$u
  fi
done
link 3.5 "$newest"

# 3.4: the machine's own etcd (Debian 12's etcd-server/etcd-client), so every version has a
# directory of the same shape.
mkdir -p "$dest/bin/3.4"
for tool in etcd etcdctl; do
  ln -sfn "$(command -v "$tool" || echo "/usr/bin/$tool")" "$dest/bin/3.4/$tool"
done

{
  for suite in "${!version_of[@]}"; do echo "$suite ${version_of[$suite]}"; done
  echo "3.5 $newest"
} | sort >"$dest/fetched.stamp"
echo "fetch-etcd: etcd 3.5 is $newest; versions: $(tr '\n' ' ' <"$dest/fetched.stamp")"
