#!/usr/bin/env bash
# fuzz.sh - the hostile-device fuzzer (build/fuzz/ena_hostile,
# tests/ena/fuzz_ena.c) for a bounded time; a crash, a sanitizer report,
# a hang or a leaked buffer fails.  10 s (FUZZ_SECONDS overrides).
cd "$(dirname "$0")/../.."
exec tests/fuzz-run.sh ena_hostile 10 4096 tests/ena/corpus/*
