#!/usr/bin/env bash
# fuzz.sh - the cloud/ parsers' fuzzer (fuzz_cloud.c) for a bounded time,
# seeded with tests/cloud/corpus; a crash fails.
cd "$(dirname "$0")/../.."
B=${B:-build}
exec tests/fuzz-run.sh cloud 10 4096 tests/cloud/corpus/*
