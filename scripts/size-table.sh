#!/bin/sh
# The README's size table, from the binaries built so far (make static,
# make cross ARCH=...): one markdown row per CPU, bytes as ls counts them.
set -eu
echo "| binary | bytes | KiB | what file(1) says |"
echo "| --- | ---: | ---: | --- |"
for a in x86_64 aarch64 armv7 mipsel mips; do
    f=build/$a/alknet
    [ -f "$f" ] || continue
    n=$(wc -c < "$f")
    printf '| build/%s/alknet | %d | %d | %s |\n' "$a" "$n" $(( (n + 1023) / 1024 )) \
        "$(file -b "$f" | sed 's/, BuildID[^,]*//; s/,\{0,1\} version 1 (SYSV)//; s/ (GNU\/Linux)//')"
done
