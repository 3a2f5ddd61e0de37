#!/bin/sh
# The whole test suite, from a fresh Debian machine: installs what is
# missing, builds, and runs `make check` (last line: "N passed, N failed").
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
make check
