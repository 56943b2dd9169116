#!/usr/bin/env bash
# Run every test and print one closing line "N passed, N failed".
#   tests/run.sh <cmocka binaries...> -- <integration scripts...>
# A cmocka binary counts each of its test cases; an integration script
# must print result lines "PASS <name>" / "FAIL <name>", and each such line
# counts.  A script that prints none has checked nothing that anyone can
# see: it counts as one failure, whatever its exit status, and so does a
# non-zero exit without a FAIL line.  Logs go to $B/test-logs/; the tail of
# a failing test's log is printed.
set -u
B=${B:-build}
LOGS=$B/test-logs
mkdir -p "$LOGS"
pass=0 fail=0 failed_names=()

note_fail() { fail=$((fail + $2)); failed_names+=("$1"); echo "--- log of $1 ($3) ---"; tail -n 80 "$3"; echo "--- end ---"; }

units=() integs=() seen=0
for a in "$@"; do
	if [ "$a" = "--" ]; then seen=1; continue; fi
	if [ $seen -eq 0 ]; then units+=("$a"); else integs+=("$a"); fi
done

for t in "${units[@]}"; do
	name=$(basename "$t")
	log=$LOGS/unit-$name.log
	timeout 300 "$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	pass=$((pass + p))
	if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
		[ "$f" -eq 0 ] && f=1
		note_fail "$name" "$f" "$log"
		echo "FAIL unit $name (rc=$rc, $p passed, $f failed)"
	else
		echo "ok   unit $name ($p)"
	fi
done

declare -A used
for t in "${integs[@]}"; do
	name=$(basename "$t" .sh)
	# Several areas have a fuzz.sh: the second and later get their
	# folder's name in front, so each keeps its own log and line.
	[ -n "${used[$name]:-}" ] && name=$(basename "$(dirname "$t")")-$name
	used[$name]=1
	log=$LOGS/integ-$name.log
	start=$(date +%s)
	B=$B timeout 900 bash "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log")
	why=""
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		why="; it printed no PASS/FAIL result line, so it counts as a failure"
		echo "FAIL $name: no PASS/FAIL result line in its output (rc=$rc)" >>"$log"
	elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		why="; it exited non-zero without a FAIL line"
	fi
	pass=$((pass + p))
	if [ "$f" -ne 0 ]; then
		note_fail "$name" "$f" "$log"
		echo "FAIL integ $name (rc=$rc, ${secs}s$why)"
	else
		echo "ok   integ $name ($p, ${secs}s)"
	fi
done

[ $fail -ne 0 ] && echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
