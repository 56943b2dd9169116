#!/usr/bin/env bash
# fuzz.sh - run the netstack input fuzzer for a bounded time over the
# committed corpus (tests/netstack/corpus); any crash fails the test.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
secs=${FUZZ_SECONDS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/netstack/corpus/* "$work/" 2>/dev/null
if "$B/fuzz/netstack_input" -max_total_time="$secs" -max_len=1600 -print_final_stats=1 \
	"$work" >"$B/test-logs/fuzz-netstack.log" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/test-logs/fuzz-netstack.log" | grep -o '[0-9]*$')
	echo "PASS netstack_input: ${runs:-?} inputs in ${secs}s without a crash"
else
	echo "FAIL netstack_input: the fuzzer found a crash"
	tail -n 40 "$B/test-logs/fuzz-netstack.log"
	exit 1
fi
