#!/bin/sh
# Installs the Debian packages that alknet's build, demo and test suite
# need, and only those missing. The one list of them; .ci/run, demo.sh and
# test.sh all come through here.
set -eu
PKGS="make gcc libc6-dev libbearssl-dev
      clang libclang-rt-dev valgrind
      openssh-server openssh-client openssl curl python3 microsocks
      tinyproxy-bin nmap
      iproute2 iptables util-linux
      gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu
      gcc-mips-linux-gnu qemu-user-static file xz-utils
      man-db groff-base"
# --bench: what make bench compares alknet with, instead (CI does not run it)
BENCH_PKGS="openssh-server openssh-client dropbear-bin shadowsocks-libev python3
            iproute2 iptables util-linux"
[ "${1:-}" != --bench ] || PKGS=$BENCH_PKGS
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -n "$missing" ] || exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
# the bench starts its own ss-server; the package enables a system service
# (where systemd runs) that should not be left listening
case "$missing" in *shadowsocks-libev*)
    $SUDO systemctl disable --now shadowsocks-libev.service 2>/dev/null || true ;;
esac
