#!/bin/sh
# Unpacks the Debian source packages of BearSSL and musl into DIR/bearssl
# and DIR/musl (for static and cross builds; see Makefile). Adds deb-src
# entries for the configured Debian archive when there are none: a fresh
# Debian machine has only binary ones. Nothing else is downloaded.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
[ -f bearssl/src/settings.c ] && [ -f musl/configure ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if ! apt-get source --download-only --print-uris bearssl >/dev/null 2>&1; then
    src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$src" ]; then
        sed 's/^Types: deb$/Types: deb-src/' "$src" | $SUDO tee /etc/apt/sources.list.d/alknet-src.sources >/dev/null
    elif [ -f /etc/apt/sources.list ]; then
        grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
            $SUDO tee /etc/apt/sources.list.d/alknet-src.list >/dev/null
    fi
    $SUDO apt-get update -q >/dev/null
fi
apt-get source --download-only bearssl musl >/dev/null
rm -rf bearssl musl
mkdir bearssl musl
tar -xJf bearssl_*.orig.tar.xz -C bearssl --strip-components=1
tar -xzf musl_*.orig.tar.gz -C musl --strip-components=1
echo "BearSSL and musl sources in $dir"
