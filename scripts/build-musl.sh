#!/bin/sh
# Builds musl (static only) from SRC for a Debian cross compiler TRIPLE into
# PREFIX, with CFLAGS (-msoft-float for MIPS routers, which have no FPU).
# Run from make: the caller's ARCH= and CC= must not reach musl's make.
set -eu
src=$(cd "$1" && pwd)
triple=$2
prefix=$3
obj=$prefix.obj
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL ARCH CC CFLAGS_ALL
rm -rf "$obj"
mkdir -p "$obj"
cd "$obj"
# --enable-wrapper=gcc: musl-gcc even when the cross gcc has no glibc headers
# beside it (Debian's libc6-dev-*-cross are only recommended)
"$src/configure" --target="$triple" CROSS_COMPILE="$triple-" CFLAGS="${4:-} -Os" \
    --prefix="$prefix" --disable-shared --enable-wrapper=gcc >/dev/null
make -j"$(nproc)" >/dev/null
make install >/dev/null
cd ..
rm -rf "$obj"
test -x "$prefix/bin/musl-gcc" || { echo "build-musl.sh: no $prefix/bin/musl-gcc" >&2; exit 1; }
