#!/usr/bin/env bash
# tap.sh - the netstack against real Linux peers (issue 5): tools/netdemo
# (the same netstack sources, ASan build) on TAP devices inside a private
# network namespace, with curl, python clients and python's http.server on
# the Linux side of each TAP.  Traffic never leaves the namespace.
#
#   tern0  10.77.0.1 (Linux) <-> 10.77.0.2 demo server, clean wire
#   tern1  10.77.1.1 (Linux) <-> 10.77.1.2 demo server, impaired wire
#   tern2  10.77.2.1 (Linux http.server) <-> 10.77.2.2 demo --get client
#
# Checks (one PASS/FAIL line each): healthz; 1 MiB and 100 MiB bodies
# (SHA-256 against tests/netstack/demo_body.py); 1,000 sequential short
# connections; 200 concurrent connections; a peer RST mid-transfer (the
# demo stays healthy and counts the reset); a zero-window stall and
# recovery; keepalives dropping a peer whose link went down; under
# netem-style loss 5% reorder 25% duplicate 2% corrupt 1%
# delay 1 ms, one and four concurrent 1 MiB transfers, each within a bound;
# the demo as an HTTP client (tcp_connect) downloading from http.server,
# clean and impaired; and a clean exit with no sanitizer report.
#
# Impairment: `tc qdisc add dev tern1 root netem ...` when the kernel has
# sch_netem (it then impairs Linux -> demo, and the TAP port's own
# impairment, netstack/host/tap.h, does demo -> Linux); on kernels without
# it the TAP port impairs both directions with the same parameters.  A
# NOTE line says which.  Bounded: every client has a timeout; ~1 minute.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
DEMO=${NETDEMO:-$B/tools/netdemo-asan}
L=$B/test-logs/tap
NS=tern-tap-$$
SPEC="loss=5,reorder=25,dup=2,corrupt=1,delay_ms=1"
NETEM=(netem loss 5% reorder 25% 50% duplicate 2% corrupt 1% delay 1ms)
CLIENT=tests/netstack/tap_client.py
rm -rf "$L"
mkdir -p "$L"
failed=0
pids=()

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }
nsx() { ip netns exec "$NS" "$@"; }
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

if [ ! -x "$DEMO" ]; then
	make --no-print-directory "$DEMO" >/dev/null || { fail "build: $DEMO"; exit 1; }
fi
if ! ip netns add "$NS" 2>/dev/null; then
	fail "setup: cannot create network namespace $NS (need root)"
	exit 1
fi
nsx ip link set lo up
for i in 0 1 2 3; do
	nsx ip tuntap add dev tern$i mode tap &&
	nsx ip addr add 10.77.$i.1/24 dev tern$i &&
	nsx ip link set tern$i up || { fail "setup: tap device tern$i"; exit 1; }
done

# start_demo <name> <tap index> [netdemo args...]: background, pid in $!
start_demo() {
	local name=$1 i=$2
	shift 2
	ip netns exec "$NS" "$DEMO" --tap tern$i --ip 10.77.$i.2/24 "$@" >"$L/demo-$name.log" 2>&1 &
	pids+=($!)
	eval "pid_$name=$!"
}
# wait_healthy <ip>: up to 10 s for GET /healthz to answer "ok"
wait_healthy() {
	for _ in $(seq 50); do
		[ "$(nsx curl -s -m 2 "http://$1/healthz" 2>/dev/null)" = ok ] && return 0
		sleep 0.2
	done
	return 1
}
stat_of() {	# stat_of <ip> <counter>
	nsx curl -s -m 5 "http://$1/stats" | awk -v k="$2" '$1 == k {print $2}'
}
# fetch_sha <name> <url> <bytes> <bound_s>: curl the body, compare SHA-256
fetch_sha() {
	local name=$1 url=$2 n=$3 bound=$4 got want t0 t1 rc
	want=$(python3 tests/netstack/demo_body.py sha256 "$n")
	t0=$(date +%s.%N)
	got=$(set -o pipefail; nsx curl -sS -m "$bound" "$url" 2>>"$L/curl.err" | sha256sum | cut -d' ' -f1)
	rc=$?
	t1=$(date +%s.%N)
	local secs
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
	if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
		pass "$name: $n bytes identical in ${secs}s (bound ${bound}s)"
	else
		fail "$name: curl rc=$rc, sha256 $got, want $want (${secs}s, bound ${bound}s)"
	fi
}

# ---- clean wire ------------------------------------------------------------
start_demo clean 0
if wait_healthy 10.77.0.2; then
	pass "healthz: GET /healthz answers ok"
else
	fail "healthz: the demo does not answer (log: $L/demo-clean.log)"
	tail -20 "$L/demo-clean.log"
	exit 1
fi
fetch_sha bytes-1m http://10.77.0.2/bytes/1048576 1048576 30
fetch_sha bytes-100m http://10.77.0.2/bytes/104857600 104857600 90

acc0=$(stat_of 10.77.0.2 accepted)
if out=$(nsx timeout 120 python3 $CLIENT seq 10.77.0.2 80 1000) &&
    acc1=$(stat_of 10.77.0.2 accepted) && [ $((acc1 - acc0)) -ge 1000 ]; then
	pass "sequential: $out (demo accepted $((acc1 - acc0)))"
else
	fail "sequential: $out"
fi
if out=$(nsx timeout 120 python3 $CLIENT conc 10.77.0.2 80 200 100000 60); then
	pass "concurrent: $out (syn_dropped_full=$(stat_of 10.77.0.2 tcp_syn_dropped_full))"
else
	fail "concurrent: $out"
fi

resets0=$(stat_of 10.77.0.2 closed_reset)
out=$(nsx timeout 60 python3 $CLIENT rst 10.77.0.2 80)
rc=$?
sleep 0.3
health=$(nsx curl -s -m 5 http://10.77.0.2/healthz)
resets1=$(stat_of 10.77.0.2 closed_reset)
rstin=$(stat_of 10.77.0.2 tcp_resets_in)
if [ $rc -eq 0 ] && [ "$health" = ok ] && [ "${resets1:-0}" -gt "${resets0:-0}" ]; then
	pass "peer-rst: $out; healthz still ok, closed_reset $resets0 -> $resets1, tcp_resets_in=$rstin"
else
	fail "peer-rst: rc=$rc '$out', healthz='$health', closed_reset $resets0 -> $resets1"
fi

zw0=$(stat_of 10.77.0.2 zero_window_stalls)
out=$(nsx timeout 90 python3 $CLIENT zerowin 10.77.0.2 80 4194304 3)
rc=$?
zw1=$(stat_of 10.77.0.2 zero_window_stalls)
if [ $rc -eq 0 ] && [ "${zw1:-0}" -gt "${zw0:-0}" ]; then
	pass "zero-window: $out (zero_window_stalls $zw0 -> $zw1)"
else
	fail "zero-window: rc=$rc '$out' (zero_window_stalls $zw0 -> $zw1; 0 means the window never closed)"
fi

# Keepalive against a dead peer: a demo with keepalives (1 s idle, 3 probes
# 0.5 s apart) on tern3; a Linux client connects and idles, then its link
# goes down, so the probes go nowhere and the demo must drop the
# connection with a timeout in ~2.5 s.  The link comes back to read the
# counters.
start_demo keepalive 3 --keepalive 1000,500,3
if wait_healthy 10.77.3.2; then
	ka0=$(stat_of 10.77.3.2 closed_timeout)
	rm -f "$L/ka-connected"
	nsx python3 -c 'import socket, sys, time
s = socket.create_connection(("10.77.3.2", 80), timeout=5)
open(sys.argv[1], "w").close()
time.sleep(12)' "$L/ka-connected" &
	kpid=$!
	pids+=($kpid)
	# The link goes down only once the client is connected (a loaded
	# machine can take a second just to start python).
	for _ in $(seq 50); do [ -e "$L/ka-connected" ] && break; sleep 0.2; done
	sleep 0.2
	nsx ip link set tern3 down
	sleep 4.5
	nsx ip link set tern3 up
	sleep 0.5
	wait_healthy 10.77.3.2
	ka1=$(stat_of 10.77.3.2 closed_timeout)
	probes=$(stat_of 10.77.3.2 tcp_keepalive_probes)
	if [ "${ka1:-0}" -gt "${ka0:-0}" ] && [ "${probes:-0}" -ge 3 ]; then
		pass "keepalive: a silent peer was dropped (closed_timeout $ka0 -> $ka1, $probes probes)"
	else
		fail "keepalive: closed_timeout $ka0 -> $ka1, probes ${probes:-none} (log $L/demo-keepalive.log)"
	fi
	kill $kpid 2>/dev/null
else
	fail "keepalive: the demo on tern3 never answered healthz"
fi

# ---- impaired wire ---------------------------------------------------------
if nsx tc qdisc add dev tern1 root "${NETEM[@]}" 2>/dev/null; then
	echo "NOTE impairment: tc netem on tern1 (Linux -> demo) + the TAP port's impairment (demo -> Linux): $SPEC"
	start_demo impaired 1 --impair-tx "$SPEC" --seed 7
else
	echo "NOTE impairment: this kernel has no sch_netem; the TAP port impairs both directions: $SPEC"
	start_demo impaired 1 --impair-rx "$SPEC" --impair-tx "$SPEC" --seed 7
fi
if wait_healthy 10.77.1.2; then
	fetch_sha impaired-1m http://10.77.1.2/bytes/1048576 1048576 60
	if out=$(nsx timeout 150 python3 $CLIENT conc 10.77.1.2 80 4 1048576 90); then
		pass "impaired-concurrent: $out (bound 90s each)"
	else
		fail "impaired-concurrent: $out"
	fi
	echo "impaired counters: $(nsx curl -s -m 10 http://10.77.1.2/stats | tr '\n' ' ')"
else
	fail "impaired: the demo on tern1 never answered healthz (even with retries)"
fi

# ---- the stack as a client -------------------------------------------------
if [ "$("$DEMO" --features)" = "get=yes" ]; then
	www=$L/www
	mkdir -p "$www"
	python3 tests/netstack/demo_body.py write 1048576 "$www/body-1m"
	python3 tests/netstack/demo_body.py write 33554432 "$www/body-32m"
	ip netns exec "$NS" python3 -m http.server 8000 --bind 10.77.2.1 --directory "$www" \
		>"$L/http-server.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		nsx curl -s -m 1 -o /dev/null http://10.77.2.1:8000/body-1m && break
		sleep 0.2
	done
	for t in "get-1m body-1m 1048576 30" "get-32m body-32m 33554432 60" \
	    "get-impaired-1m body-1m 1048576 60 --impair-rx $SPEC --impair-tx $SPEC"; do
		set -- $t
		name=$1 file=$2 n=$3 bound=$4
		shift 4
		rm -f "$L/$name.out"
		out=$(nsx timeout $((bound + 10)) "$DEMO" --tap tern2 --ip 10.77.2.2/24 "$@" \
			--get 10.77.2.1 8000 "/$file" "$L/$name.out" --timeout "$bound" 2>&1)
		rc=$?
		got=$(sha256sum <"$L/$name.out" 2>/dev/null | cut -d' ' -f1)
		want=$(python3 tests/netstack/demo_body.py sha256 "$n")
		if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
			pass "client-$name: $(echo "$out" | grep 'get bytes')"
		else
			fail "client-$name: rc=$rc sha256 ${got:-none} want $want: $(echo "$out" | grep -E 'get bytes|--get' | tr '\n' ' ')"
			echo "$out" >"$L/$name.log"
		fi
	done
else
	fail "client-get: $DEMO does not offer --get"
fi

# ---- clean exit --------------------------------------------------------------
exit_ok=1
for name in clean impaired keepalive; do
	eval "p=\${pid_$name:-}"
	[ -n "$p" ] || continue
	kill -TERM "$p" 2>/dev/null
	wait "$p"
	rc=$?
	if [ $rc -ne 0 ] || grep -q 'AddressSanitizer\|runtime error' "$L/demo-$name.log"; then
		fail "exit-$name: rc=$rc or a sanitizer report in $L/demo-$name.log"
		tail -30 "$L/demo-$name.log"
		exit_ok=0
	fi
done
[ $exit_ok -eq 1 ] && pass "clean-exit: every demo exits 0 on SIGTERM, no sanitizer report"
exit $failed
