#!/bin/bash
# traces.sh - every committed hardware trace (tests/traces/*.trace) is well
# formed: tools/trace-pretty reads it without a sequence gap or a
# short sync line, and it says where it came from (docs/trace-format.md).
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
tool=$B/tools/trace-pretty
[ -x "$tool" ] || make --no-print-directory "$tool" >/dev/null || exit 1
n=0
for t in tests/traces/*.trace; do
	[ -e "$t" ] || continue
	n=$((n + 1))
	name=$(basename "$t" .trace)
	if ! head -1 "$t" | grep -Eq '^# (QEMU-recorded|simulator-generated) trace'; then
		echo "FAIL trace-$name: no provenance header"
		continue
	fi
	out=$("$tool" "$t" 2>&1 >/dev/null)
	if [ $? -ne 0 ] || "$tool" "$t" 2>/dev/null | grep -q '^!!'; then
		echo "FAIL trace-$name: malformed ($out)"
		continue
	fi
	case $out in
	*": 0 events") echo "FAIL trace-$name: no events" ;;
	*) echo "PASS trace-$name ($out)" ;;
	esac
done
[ $n -gt 0 ] || echo "PASS traces (none committed yet)"
exit 0
