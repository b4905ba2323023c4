#!/usr/bin/env bash
# What a new Debian 12 machine needs, checked on one: a minbase Debian 12 (bookworm) is
# debootstrapped into the build tree, tests/scripts/install-deps.sh runs in it (chroot), then
#   - every program in tests/scripts/commands.txt resolves there and belongs to the package the
#     list names or to what that package depends on ("required": a Priority required package);
#   - the release and fuzz presets configure there (every library and compiler CMake looks for)
#     and the sanitizer builds link (ASan+UBSan, TSan with g++; libFuzzer with clang++);
#   - tests/scripts/package-test.sh passes there against BUILD_DIR: cpack builds the .deb from
#     that release build, and it installs, works and purges.
# The chroot uses the Debian archive this machine's apt is set up with (the bookworm,
# bookworm-updates and bookworm-security suites it lists). Downloaded packages are kept in
# WORK/cache for the next run; the chroot itself is new every run, on a tmpfs at WORK/root.
# /proc, /sys, /dev and the trees are mounted for the run and unmounted on every exit path;
# processes left inside the chroot are stopped by PID.
# Needs root (exit 77 otherwise). Usage: fresh-debian-check.sh SOURCE_DIR BUILD_DIR VERSION [WORK]
set -euo pipefail

# Run inside the chroot by the check below.
# PROGRAM PACKAGE lines on stdin -> one line for each that does not resolve as the list says.
inside_programs() {
  local prog pkg path real owner prio
  while read -r prog pkg; do
    path=$(command -v "$prog" || true)
    if [ -z "$path" ]; then echo "FAIL: $prog (package $pkg) is not installed"; continue; fi
    real=$(readlink -f "$path")
    # Debian 12 merged /bin into /usr/bin; dpkg knows many files by their /bin path.
    owner=$(dpkg-query -S "$real" 2>/dev/null || dpkg-query -S "${real#/usr}" 2>/dev/null || true)
    owner=${owner%%:*}
    if [ -z "$owner" ]; then echo "FAIL: $prog is $real, which no package owns"; continue; fi
    if [ "$pkg" = required ]; then
      prio=$(dpkg-query -W -f='${Priority}' "$owner")
      [ "$prio" = required ] || echo "FAIL: $prog comes from $owner (Priority $prio), not a" \
        "required package: name the install-deps.sh package that brings it"
      continue
    fi
    if [ ! -f "/tmp/closure-$pkg" ]; then
      apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "$pkg" 2>/dev/null | grep -v '^ ' >"/tmp/closure-$pkg" || true
    fi
    grep -qx "$owner" "/tmp/closure-$pkg" ||
      echo "FAIL: $prog comes from $owner, which $pkg does not bring (not among its dependencies)"
  done
}
# SOURCE_DIR: every library and compiler the presets look for, and the sanitizer runtimes.
inside_toolchain() {
  local t=/tmp/toolchain
  mkdir -p $t
  cd "$1"
  cmake --preset release -B $t/release >$t/release.log 2>&1 ||
    { tail -20 $t/release.log; echo "FAIL: cmake --preset release"; return 1; }
  cmake --preset fuzz -B $t/fuzz >$t/fuzz.log 2>&1 ||
    { tail -20 $t/fuzz.log; echo "FAIL: cmake --preset fuzz"; return 1; }
  printf 'int main() { return 0; }\n' >$t/main.cc
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' >$t/fuzz.cc
  c++ -fsanitize=address,undefined $t/main.cc -o $t/asan || { echo "FAIL: c++ -fsanitize=address,undefined"; return 1; }
  c++ -fsanitize=thread $t/main.cc -o $t/tsan || { echo "FAIL: c++ -fsanitize=thread"; return 1; }
  clang++ -fsanitize=fuzzer,address,undefined $t/fuzz.cc -o $t/fuzzer ||
    { echo "FAIL: clang++ -fsanitize=fuzzer,address,undefined"; return 1; }
  $t/asan && $t/tsan && $t/fuzzer -runs=1 >$t/fuzz-run.log 2>&1 ||
    { echo "FAIL: a sanitizer build did not run"; return 1; }
}
if [ "${1:-}" = --inside ]; then
  case "$2" in
    programs) inside_programs ;;
    toolchain) inside_toolchain "$3" ;;
    *) exit 2 ;;
  esac
  exit
fi

[ $# -ge 3 ] || { echo "usage: fresh-debian-check.sh SOURCE_DIR BUILD_DIR VERSION [WORK]" >&2; exit 2; }
src=$(realpath "$1") build=$(realpath "$2") version=$3
self=$src/tests/scripts/fresh-debian-check.sh
work=${4:-$build/fresh-debian}
suite=bookworm
if [ "$(id -u)" -ne 0 ]; then echo "skipped: needs root (debootstrap, chroot, mount)"; exit 77; fi
command -v debootstrap >/dev/null || { echo "FAIL: debootstrap is not installed (tests/scripts/install-deps.sh)"; exit 1; }
[ -f "$build/CPackConfig.cmake" ] || { echo "FAIL: $build is not a configured build"; exit 1; }

mkdir -p "$work/cache/debootstrap" "$work/cache/apt/partial" "$work/logs"
work=$(realpath "$work")
root=$work/root
logs=$work/logs

# Where this machine's apt finds bookworm (the chroot is set up the same way).
sources=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
  'Identifier: Packages' 2>/dev/null | awk -v s="$suite" '
    $2 ~ "^" s "(-updates|-security)?$" && $3 == "main" && !seen[$1 " " $2]++ { print "deb " $1 " " $2 " main" }')
mirror=$(awk -v s="$suite" '$3 == s { print $2; exit }' <<<"$sources")
[ -n "$mirror" ] || { echo "FAIL: this machine's apt lists no $suite main (run apt-get update?)"; exit 1; }

mounts=()  # mount points, in the order mounted
under_root() { awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo; }
chroot_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}
cleanup() {
  local rc=$? pid i left
  trap - EXIT INT TERM
  for pid in $(chroot_pids); do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do [ -z "$(chroot_pids)" ] && break; sleep 0.1; done
  for pid in $(chroot_pids); do
    echo "killing $pid left in the chroot: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true
  done
  # Mounts made by what ran inside (ip netns add mounts /run/netns), deepest first.
  for m in $(under_root | tac); do
    echo "unmounting $m, mounted inside the chroot"
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  left=$(under_root)
  if [ -n "$left" ]; then
    echo "FAIL: still mounted under $root: $left"
    rc=1
  else
    rmdir "$root" 2>/dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step_start=0
step() { step_start=$SECONDS; echo "== $*"; }
step_done() { echo "   $((SECONDS - step_start)) s"; }
in_chroot() {
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive TMPDIR=/tmp "$@"
}
mnt() {  # type options to
  mount -t "$1" -o "$2" "$1" "$3"
  mounts+=("$3")
  mount --make-private "$3"
}
bind() {  # from to [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
  mount --make-private "$2"
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

if [ -n "$(under_root)" ]; then echo "FAIL: $root has mounts from an earlier run: $(under_root)"; exit 1; fi
rm -rf "$root"  # a leftover of an interrupted run; nothing is mounted there (checked above)
failures=()
# The chroot lives in memory (about 3.5 GB once everything is installed): installing and
# removing it then costs no disk time that the tests running beside it would feel.
mkdir -p "$root"
mnt tmpfs size=8g,mode=755 "$root"

step "debootstrap --variant=minbase $suite from $mirror"
if ! debootstrap --variant=minbase --cache-dir="$work/cache/debootstrap" "$suite" "$root" "$mirror" \
  >"$logs/debootstrap.log" 2>&1; then
  tail -20 "$logs/debootstrap.log"
  echo "FAIL: debootstrap"
  exit 1
fi
step_done
echo "$sources" >"$root/etc/apt/sources.list"
# As in Debian's container images: packages do not start services in a chroot, and dpkg does
# not sync every file it writes (the chroot is thrown away).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/unsafe-io"

mnt proc nosuid,nodev,noexec "$root/proc"
mnt sysfs ro "$root/sys"
bind /dev "$root/dev"
mnt devpts newinstance,ptmxmode=0666 "$root/dev/pts"
mnt tmpfs mode=1777 "$root/dev/shm"
bind "$work/cache/apt" "$root/var/cache/apt/archives"
bind "$src" "$root$src" ro
bind "$build" "$root$build"

step "tests/scripts/install-deps.sh"
if ! in_chroot "$src/tests/scripts/install-deps.sh" >"$logs/install-deps.log" 2>&1; then
  tail -30 "$logs/install-deps.log"
  echo "FAIL: install-deps.sh on a fresh $suite"
  exit 1
fi
step_done
echo "   $(in_chroot dpkg-query -W -f='${Status}\n' | grep -c 'install ok installed') packages installed"

step "every program in tests/scripts/commands.txt"
programs=$(sed 's/#.*//' "$src/tests/scripts/commands.txt" | awk 'NF == 2')
out=$(in_chroot "$self" --inside programs <<<"$programs")
if [ -n "$out" ]; then
  echo "$out"
  failures+=("programs")
else
  echo "   ok: $(wc -l <<<"$programs") programs"
fi
step_done

step "configure the release and fuzz presets; link the sanitizer builds"
if in_chroot "$self" --inside toolchain "$src" >"$logs/toolchain.log" 2>&1; then
  echo "   ok"
else
  cat "$logs/toolchain.log"
  failures+=("toolchain")
fi
step_done

step "tests/scripts/package-test.sh (cpack from $build, dpkg -i, checks, purge)"
if in_chroot "$src/tests/scripts/package-test.sh" "$build" "$version" >"$logs/package.log" 2>&1; then
  sed 's/^/   /' "$logs/package.log"
else
  cat "$logs/package.log"
  failures+=("package")
fi
step_done

if [ ${#failures[@]} -gt 0 ]; then
  echo "FAIL: on a fresh Debian 12 after install-deps.sh: ${failures[*]} (logs in $logs)"
  exit 1
fi
echo "ok: a fresh Debian 12 with install-deps.sh builds, tests and packages ($SECONDS s)"
