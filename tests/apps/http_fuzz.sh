#!/usr/bin/env bash
# http_fuzz.sh - the httpd request parser under libFuzzer for a bounded time,
# seeded with the committed corpus (tests/apps/corpus); a crash, a pointer
# outside the input or an inconsistent result fails.
cd "$(dirname "$0")/../.."
exec tests/fuzz-run.sh http 10 9000 tests/apps/corpus/*
