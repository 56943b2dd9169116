#!/usr/bin/env bash
# fuzz_storvsc.sh - the hostile storvsc host (build/fuzz/storvsc,
# fuzz_storvsc.c) for a bounded time from a few seeds; a crash, a
# sanitizer report, a request never completed, or a hang fails; seeds
# in fuzz_storvsc_seeds/ start it with requests in flight.  10 s
# (FUZZ_SECONDS overrides).
cd "$(dirname "$0")/../.."
tests/fuzz-run.sh storvsc 10 4096 tests/vmbus/fuzz_storvsc_seeds/*
