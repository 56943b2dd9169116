#!/usr/bin/env bash
# fuzz-run.sh - run one libFuzzer target for a bounded time over seed
# inputs; a crash fails.  Shared by the per-area fuzz.sh scripts.
#   tests/fuzz-run.sh <name> <seconds> <max_len> [seed files...]
# FUZZ_SECONDS overrides the time.  The log is build/test-logs/fuzz-<name>.log.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
name=$1 secs=${FUZZ_SECONDS:-$2} maxlen=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$B/test-logs"
for f in "$@"; do [ -f "$f" ] && cp "$f" "$work/"; done
log=$B/test-logs/fuzz-$name.log
if "$B/fuzz/$name" -max_total_time="$secs" -max_len="$maxlen" -print_final_stats=1 \
	-artifact_prefix="$B/test-logs/fuzz-$name-" "$work" >"$log" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	echo "PASS $name: ${runs:-?} inputs in ${secs}s without a crash"
else
	echo "FAIL $name: the fuzzer found a crash (input kept as $B/test-logs/fuzz-$name-crash-*)"
	tail -n 40 "$log"
	exit 1
fi
