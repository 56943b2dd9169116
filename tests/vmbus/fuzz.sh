#!/usr/bin/env bash
# fuzz.sh - the hostile-host fuzzer (build/fuzz/vmbus, fuzz_vmbus.c) for a
# bounded time from an empty corpus; a crash, a sanitizer report or a
# hang (libFuzzer's timeout) fails.  10 s (FUZZ_SECONDS overrides).
cd "$(dirname "$0")/../.."
tests/fuzz-run.sh vmbus 10 4096
