#!/usr/bin/env bash
# The Debian package: built with CPack, installed with dpkg into this machine, checked (binary,
# man page, unit, system user, conffiles), then removed and purged. Needs root; exits 77
# (skipped) without it, or when the package is already installed here (an operator's copy is
# never touched).
# Usage: package-test.sh BUILD_DIR VERSION
set -euo pipefail
build=$1 version=$2
pkg=etcd-health-proxy
if [ "$(id -u)" -ne 0 ]; then echo "skipped: dpkg -i needs root"; exit 77; fi
if dpkg-query -W -f='${Status}' $pkg 2>/dev/null | grep -q "install ok installed"; then
  echo "skipped: $pkg is installed on this machine"
  exit 77
fi
user_existed=0
getent passwd $pkg >/dev/null && user_existed=1
out=$(mktemp -d)
cleanup() {
  dpkg --purge $pkg >/dev/null 2>&1 || true
  if [ $user_existed -eq 0 ] && getent passwd $pkg >/dev/null; then userdel $pkg || true; fi
  if getent group $pkg >/dev/null && [ $user_existed -eq 0 ]; then groupdel $pkg 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; fail cpack; }
deb=$(ls "$out"/${pkg}_"$version"_*.deb)
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

info=$(dpkg-deb --info "$deb")
grep -q "Depends:.*libgrpc++" <<<"$info" || fail "Depends lacks libgrpc++: $info"
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/$pkg ./lib/systemd/system/$pkg.service ./usr/lib/sysusers.d/$pkg.conf \
  ./etc/$pkg/config.yaml ./etc/default/$pkg ./usr/share/man/man1/$pkg.1.gz \
  ./usr/share/doc/$pkg/examples/kubernetes/kube-apiserver.yaml \
  ./usr/share/doc/$pkg/examples/credentials.conf.example; do
  grep -q " $f\$" <<<"$contents" || fail "$f is not in the package"
done

dpkg -i "$deb" >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; fail "dpkg -i"; }
# Output captured first: with pipefail, `grep -q` closing the pipe early fails the writer.
version_out=$(/usr/bin/$pkg --version)
grep -q "^$pkg $version " <<<"$version_out" || fail "--version: $version_out"
help_out=$(/usr/bin/$pkg --help)
grep -q -- "--endpoints" <<<"$help_out" || fail "--help lacks --endpoints"
man -w $pkg >/dev/null || fail "no man page"
man_out=$(zcat "$(man -w $pkg)")
grep -q -- "endpoints" <<<"$man_out" || fail "man page lacks the flags"
getent passwd $pkg >/dev/null || fail "no $pkg user after install"
[ "$(stat -c %G /etc/$pkg)" = $pkg ] || fail "/etc/$pkg is not group $pkg"
grep -qx "/etc/$pkg/config.yaml" /var/lib/dpkg/info/$pkg.conffiles || fail "config.yaml not a conffile"
verify=$(systemd-analyze verify /lib/systemd/system/$pkg.service 2>&1) || true
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
echo "installed: --version, --help, man page, user, conffiles and unit are in place"

dpkg -r $pkg >/dev/null
[ ! -e /usr/bin/$pkg ] || fail "binary left after dpkg -r"
[ -e /etc/$pkg/config.yaml ] || fail "dpkg -r removed the configuration (a conffile stays)"
dpkg --purge $pkg >/dev/null
[ ! -e /etc/$pkg/config.yaml ] || fail "configuration left after purge"
echo "removed and purged"
