#!/usr/bin/env bash
# fuzz.sh - run the package-parser fuzzer for a bounded time, seeded with
# the packages mkpkg builds (build/apps/*.pkg if present); a crash fails.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
secs=${FUZZ_SECONDS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$B/test-logs"
cp "$B"/tests/pal/*.pkg "$B"/apps/*.pkg "$work/" 2>/dev/null
if "$B/fuzz/pal_pkg" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
	"$work" >"$B/test-logs/fuzz-pal-pkg.log" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/test-logs/fuzz-pal-pkg.log" | grep -o '[0-9]*$')
	echo "PASS pal_pkg: ${runs:-?} inputs in ${secs}s without a crash"
else
	echo "FAIL pal_pkg: the fuzzer found a crash"
	tail -n 40 "$B/test-logs/fuzz-pal-pkg.log"
	exit 1
fi
