#!/usr/bin/env bash
# fuzz_netvsc.sh - the hostile netvsc host (build/fuzz/netvsc,
# fuzz_netvsc.c) for a bounded time from an empty corpus; a crash, a
# sanitizer report, a leak or a hang (libFuzzer's timeout) fails.  10 s
# (FUZZ_SECONDS overrides).
cd "$(dirname "$0")/../.."
tests/fuzz-run.sh netvsc 10 4096
