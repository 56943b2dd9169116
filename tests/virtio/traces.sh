#!/bin/bash
# traces.sh - every committed hardware trace (tests/traces/*.trace) is well
# formed: tools/trace-pretty reads it without a sequence gap or a
# short sync line, and it says where it came from (docs/trace-format.md).
# Every trace a replay test is built from (the tests/traces/*.trace
# prerequisites in the module.mk files) must be there, and no trace at all
# is a failure, not a pass: a checkout that lost its fixtures must say so.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
tool=$B/tools/trace-pretty
[ -x "$tool" ] || make --no-print-directory "$tool" >/dev/null || exit 1
n=0 bad=0	# bad: failures of any kind
for t in $(grep -ho 'tests/traces/[A-Za-z0-9._-]*\.trace' */module.mk tests/*/module.mk | sort -u); do
	if [ ! -f "$t" ]; then
		echo "FAIL trace-$(basename "$t" .trace): $t is missing (a replay test is built from it; make record-traces)"
		bad=$((bad + 1))
	fi
done
for t in tests/traces/*.trace; do
	[ -e "$t" ] || continue
	n=$((n + 1))
	name=$(basename "$t" .trace)
	if ! head -1 "$t" | grep -Eq '^# (QEMU-recorded|simulator-generated) trace'; then
		echo "FAIL trace-$name: no provenance header"
		bad=$((bad + 1))
		continue
	fi
	out=$("$tool" "$t" 2>&1 >/dev/null)
	if [ $? -ne 0 ] || "$tool" "$t" 2>/dev/null | grep -q '^!!'; then
		echo "FAIL trace-$name: malformed ($out)"
		bad=$((bad + 1))
		continue
	fi
	case $out in
	*": 0 events") echo "FAIL trace-$name: no events"; bad=$((bad + 1)) ;;
	*) echo "PASS trace-$name ($out)" ;;
	esac
done
if [ $n -eq 0 ]; then
	echo "FAIL traces: no trace in tests/traces/ (the replay tests have nothing to replay)"
	exit 1
fi
[ $bad -eq 0 ]
