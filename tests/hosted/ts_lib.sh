# ts_lib.sh - shared by the ternsim scripts against Linux peers
# (tests/hosted/ternsim.sh, tests/ena/ternsim_nitro.sh).  Sourced.  The
# caller sets NS (its network namespace), L (its log folder) and ONEM
# (the 1 MiB file the package serves), appends background pids to pids[]
# and defines its own start_sim, which records pid_<name>.

failed=0
pids=()
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }
nsx() { ip netns exec "$NS" "$@"; }
ts_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap ts_cleanup EXIT

# wait_ready <name>: up to 10 s for TERN READY in $L/<name>.log
wait_ready() {
	for _ in $(seq 100); do
		grep -q '^TERN READY port=80' "$L/$1.log" && return 0
		sleep 0.1
	done
	return 1
}

# ts_stop <name>: SIGTERM, and the exit status must be 0
ts_stop() {
	local pid rc
	eval "pid=\$pid_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ $rc -eq 0 ]; then
		pass "$1: exit status 0 on SIGTERM"
	else
		fail "$1: exit status $rc on SIGTERM (log $L/$1.log)"
	fi
}

# impaired_downloads <address> <spec>: four 1 MiB downloads through an
# impaired wire (enough frames, ~3000 each way, that every kind of
# impairment happens in both directions and some corrupted frames reach
# the guest's TCP checksum, whatever the timing), then /healthz; leaves
# the guest's /stats in $stats.
impaired_downloads() {
	local ip=$1 spec=$2 same=0 body
	for _ in 1 2 3 4; do
		nsx curl -s -m 30 -o "$L/1m-impair.bin" "http://$ip/1m.bin" &&
			cmp -s "$L/1m-impair.bin" "$ONEM" && same=$((same + 1))
	done
	if [ $same = 4 ]; then
		pass "impair: 1m.bin identical 4 of 4 times through $spec"
	else
		fail "impair: 1m.bin identical $same of 4 times through $spec"
	fi
	body=$(nsx curl -s -m 10 --retry 3 "http://$ip/healthz")
	[ "$body" = ok ] && pass "impair: healthz ok" || fail "impair: healthz: '$body'"
	stats=$(nsx curl -s -m 10 --retry 3 "http://$ip/stats")
}

# impaired_both_ways <name>: how many directions in $L/<name>.log saw
# every kind of impairment (ternsim's exit report).
impaired_both_ways() {
	grep -c 'impair [a-z]* guest: [0-9]* frames, [1-9][0-9]* lost, [1-9][0-9]* corrupted, [1-9][0-9]* duplicated, [1-9][0-9]* reordered' "$L/$1.log"
}
