#!/usr/bin/env bash
# fuzz.sh - the netstack input fuzzer for a bounded time over the committed
# corpus (tests/netstack/corpus); any crash fails the test.
cd "$(dirname "$0")/../.."
exec tests/fuzz-run.sh netstack_input 20 1600 tests/netstack/corpus/*
