#!/usr/bin/env bash
# ternsim_nitro.sh - ternsim --platform=nitro (docs/ena.md, docs/ternsim.md):
# the ENA driver over the ENA device simulator, the netstack, the PAL and
# the real httpd package, behind TAP devices in a private network
# namespace, checked from Linux with curl and ping.  Traffic never leaves
# the namespace.
#
#   te0  10.79.5.1 (Linux) <-> 10.79.5.2 ternsim --platform=nitro, an EBS
#        volume (NVMe simulator, Amazon identity) on a file
#   te1  10.79.6.1 (Linux) <-> 10.79.6.2 ternsim --platform=nitro --fault=reset-after=N
#
# Checks (one PASS/FAIL line each): the boot lines with the ENA marker
# (llq=on, mtu=9001), the NVMe marker with the EBS volume id; /healthz; the 256 KiB big.bin and a 1 MiB file byte for byte; 200
# concurrent connections; a 9001-byte-MTU ping; no protocol error seen by
# the simulator; a device-requested reset in the middle of a download,
# which completes byte for byte with the marker printed again with the
# same MAC and /stats showing ena.resets >= 1; exit status 0 on SIGTERM.
# Bounded: every client has a timeout; ~15 s.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
SIM=$B/tools/ternsim
PKG=$B/tests/hosted/httpd-1m.pkg
BIG=$B/apps/httpd/big.bin
ONEM=$B/tests/hosted/1m.bin
L=$B/test-logs/ternsim-nitro
NS=tern-ena-$$
RESET_AFTER=${RESET_AFTER:-100}
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

make --no-print-directory "$SIM" "$PKG" >/dev/null ||
	{ fail "build: $SIM $PKG"; exit 1; }
if ! ip netns add "$NS" 2>/dev/null; then
	fail "setup: cannot create network namespace $NS (need root)"
	exit 1
fi
nsx ip link set lo up
for i in 0 1; do
	nsx ip tuntap add dev te$i mode tap &&
	nsx ip addr add 10.79.$((5 + i)).1/24 dev te$i &&
	nsx ip link set te$i up || { fail "setup: tap device te$i"; exit 1; }
done

start_sim() {
	local name=$1 i=$2
	shift 2
	ip netns exec "$NS" "$SIM" --platform=nitro --tap=te$i --pkg="$PKG" \
		--cmdline="ip=10.79.$((5 + i)).2/24 gw=10.79.$((5 + i)).1" "$@" >"$L/$name.log" 2>&1 &
	pids+=($!)
	eval "pid_$name=$!"
}
wait_ready() {
	for _ in $(seq 100); do
		grep -q '^TERN READY port=80' "$L/$1.log" && return 0
		sleep 0.1
	done
	return 1
}
stop_sim() {
	local pid
	eval "pid=\$pid_$1"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	local rc=$?
	if [ $rc -eq 0 ]; then
		pass "$1: exit status 0 on SIGTERM"
	else
		fail "$1: exit status $rc on SIGTERM (log $L/$1.log)"
	fi
	if grep -q ' 0 protocol errors seen by the simulator' "$L/$1.log"; then
		pass "$1: no protocol error seen by the ENA simulator"
	else
		fail "$1: the ENA simulator saw protocol errors (log $L/$1.log)"
	fi
}

truncate -s 4M "$L/ebs.img"
start_sim main 0 --disk="$L/ebs.img" --cmdline="ip=10.79.5.2/24 gw=10.79.5.1"
if wait_ready main; then
	want=("TERN NIC name=ena0 driver=ena mac=02:1d:0f:ec:20:01 mtu=9001 queues=4 llq=on"
	    "TERN BLK name=nvme0n1 sectors=8192" "ebs_volume=vol-"
	    "TERN NET_UP ip=10.79.5.2/24 gw=10.79.5.1" "TERN APP_START name=httpd" "TERN READY port=80")
	missing=""
	for w in "${want[@]}"; do
		grep -qF "$w" "$L/main.log" || missing="$missing [$w]"
	done
	[ -z "$missing" ] && pass "boot: ENA marker (llq=on, mtu=9001), EBS volume on NVMe, NET_UP, APP_START, READY" ||
		fail "boot: missing$missing"
else
	fail "boot: no TERN READY in 10 s (log $L/main.log)"
fi

body=$(nsx curl -s -m 5 http://10.79.5.2/healthz)
[ "$body" = ok ] && pass "healthz: ok" || fail "healthz: got '$body'"

if nsx curl -s -m 15 -o "$L/big.bin" http://10.79.5.2/big.bin && cmp -s "$L/big.bin" "$BIG"; then
	pass "download: big.bin $(stat -c %s "$BIG") bytes identical"
else
	fail "download: big.bin differs or failed"
fi
if nsx curl -s -m 20 -o "$L/1m.bin" http://10.79.5.2/1m.bin && cmp -s "$L/1m.bin" "$ONEM"; then
	pass "download: 1m.bin $(stat -c %s "$ONEM") bytes identical"
else
	fail "download: 1m.bin differs or failed"
fi

ok=$(seq 200 | nsx xargs -P 200 -I{} curl -s -m 20 -o /dev/null -w '%{http_code}\n' \
	http://10.79.5.2/healthz 2>/dev/null | grep -c '^200$')
[ "$ok" = 200 ] && pass "concurrent: 200 of 200 connections answered 200" ||
	fail "concurrent: $ok of 200 connections answered 200"

nsx ip link set te0 mtu 9001
if nsx curl -s -m 15 -o "$L/big-jumbo.bin" http://10.79.5.2/big.bin && cmp -s "$L/big-jumbo.bin" "$BIG"; then
	pass "mtu: big.bin identical at MTU 9001 on both sides"
else
	fail "mtu: big.bin differs or failed at MTU 9001"
fi
if nsx ping -c 2 -W 2 -M do -s 8973 10.79.5.2 >/dev/null; then
	pass "mtu: a 9001-byte ping (a five-buffer receive chain) answered"
else
	fail "mtu: the 9001-byte ping (don't fragment) was not answered"
fi
stop_sim main

start_sim fault 1 --fault=reset-after="$RESET_AFTER"
if ! wait_ready fault; then
	fail "fault: no TERN READY in 10 s (log $L/fault.log)"
else
	if nsx curl -s -m 30 -o "$L/big-fault.bin" http://10.79.6.2/big.bin &&
	    cmp -s "$L/big-fault.bin" "$BIG"; then
		pass "fault: big.bin identical across a device-requested reset"
	else
		fail "fault: big.bin differs or failed across the reset"
	fi
	nics=$(grep -c '^TERN NIC name=ena0' "$L/fault.log")
	macs=$(sed -n 's/^TERN NIC .* mac=\([^ ]*\) .*/\1/p' "$L/fault.log" | sort -u | wc -l)
	resets=$(nsx curl -s -m 5 http://10.79.6.2/stats | sed -n 's/.*"ena\.resets": *\([0-9]*\).*/\1/p')
	if [ "$nics" -ge 2 ] && [ "$macs" = 1 ] && [ "${resets:-0}" -ge 1 ]; then
		pass "fault: recovered with the same MAC ($nics TERN NIC lines), /stats ena.resets=$resets"
	else
		fail "fault: $nics TERN NIC lines, $macs MACs, ena.resets=${resets:-?} (log $L/fault.log)"
	fi
	body=$(nsx curl -s -m 5 http://10.79.6.2/healthz)
	[ "$body" = ok ] && pass "fault: healthz ok after the reset" ||
		fail "fault: healthz after the reset: '$body'"
fi
stop_sim fault

exit $failed
