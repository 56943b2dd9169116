#!/usr/bin/env bash
# fuzz.sh - the package-parser fuzzer for a bounded time, seeded with the
# packages mkpkg builds (when present); a crash fails.
cd "$(dirname "$0")/../.."
B=${B:-build}
exec tests/fuzz-run.sh pal_pkg 10 4096 "$B"/tests/pal/*.pkg "$B"/apps/*.pkg
