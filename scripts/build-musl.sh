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
"$src/configure" --target="$triple" CROSS_COMPILE="$triple-" CFLAGS="${4:-} -Os" \
    --prefix="$prefix" --disable-shared >/dev/null
make -j"$(nproc)" >/dev/null
make install >/dev/null
cd ..
rm -rf "$obj"
