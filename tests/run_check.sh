#!/usr/bin/env bash
# run_check.sh - tests/run.sh counts honestly: it runs run.sh over a few
# throw-away integration scripts and checks each one's verdict and the
# closing "N passed, N failed" line.  A script that prints no PASS/FAIL
# line is a failure even when it exits 0; a non-zero exit without a FAIL
# line is a failure; PASS/FAIL lines count one each; two scripts of the
# same name (the fuzz.sh of several areas) keep separate logs.
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#!/bin/bash\necho "all good, honest"\nexit 0\n' >"$work/silent.sh"
printf '#!/bin/bash\necho "PASS a: one"\necho "PASS b: two"\n' >"$work/passes.sh"
printf '#!/bin/bash\necho "PASS a: one"\necho "FAIL b: two"\nexit 1\n' >"$work/mixed.sh"
printf '#!/bin/bash\necho "PASS a: one"\nexit 3\n' >"$work/crashes.sh"
failed=0
check() {	# <script> <expected verdict regex> <expected closing line>
	local out
	out=$(B="$work/b" tests/run.sh -- "$work/$1.sh" 2>&1)
	if echo "$out" | grep -Eq -- "$2" && [ "$(echo "$out" | tail -1)" = "$3" ]; then
		echo "PASS run-$1: $3"
	else
		echo "FAIL run-$1: expected /$2/ and \"$3\"; got:"
		echo "$out" | grep -v '^---' | tail -5
		failed=1
	fi
}
check silent '^FAIL integ silent .*no PASS/FAIL result line' "0 passed, 1 failed"
check passes '^ok   integ passes \(2,' "2 passed, 0 failed"
check mixed '^FAIL integ mixed \(rc=1' "1 passed, 1 failed"
check crashes '^FAIL integ crashes .*exited non-zero without a FAIL line' "1 passed, 1 failed"
# Two scripts of the same name in different folders keep separate logs.
mkdir -p "$work/x" "$work/y"
printf '#!/bin/bash\necho "PASS x: from x"\n' >"$work/x/fuzz.sh"
printf '#!/bin/bash\necho "PASS y: from y"\n' >"$work/y/fuzz.sh"
out=$(B="$work/b" tests/run.sh -- "$work/x/fuzz.sh" "$work/y/fuzz.sh" 2>&1)
if grep -q '^PASS x:' "$work/b/test-logs/integ-fuzz.log" &&
    grep -q '^PASS y:' "$work/b/test-logs/integ-y-fuzz.log" &&
    [ "$(echo "$out" | tail -1)" = "2 passed, 0 failed" ]; then
	echo "PASS run-same-name: fuzz and y-fuzz logged apart"
else
	echo "FAIL run-same-name: logs overwrote each other or miscounted:"
	echo "$out" | tail -3
	failed=1
fi
exit $failed
