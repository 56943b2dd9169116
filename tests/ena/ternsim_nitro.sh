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
#   te2  10.79.7.1 (Linux) <-> 10.79.7.2 ternsim --platform=nitro --impair=...
#
# The package is built here, at test time, into $B/tests/ena: the httpd
# package of the hosted checks plus 32m.bin and 100m.bin, deterministic
# bytes (AES-128-CTR keystream of a fixed key, or Python's seeded
# generator without openssl).  ternsim maps the package; the files are
# served from it without a copy.
#
# Checks (one PASS/FAIL line each): the boot lines with the ENA marker
# (llq=on, mtu=9001), the NVMe marker with the EBS volume id; /healthz;
# the 256 KiB big.bin, a 1 MiB and a 100 MiB file byte for byte; 200
# concurrent connections; a 9001-byte-MTU ping; no protocol error seen by
# the simulator; a device-requested reset (after RESET_AFTER transmitted
# frames, in the middle of a 32 MiB download), which completes byte for
# byte with the marker printed again with the same MAC and /stats showing
# ena.resets >= 1; the 1 MiB file byte for byte and /healthz through a
# wire with loss, reordering, duplication and corruption in both
# directions (IMPAIR), the corrupted frames caught by checksums on both
# sides (tcp.bad_csum on ours); exit status 0 on SIGTERM.
# Bounded: every client has a timeout; ~25 s.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
SIM=$B/tools/ternsim
PKG1M=$B/tests/hosted/httpd-1m.pkg
PKG=$B/tests/ena/httpd-big.pkg
M32=$B/tests/ena/32m.bin
M100=$B/tests/ena/100m.bin
BIG=$B/apps/httpd/big.bin
ONEM=$B/tests/hosted/1m.bin
L=$B/test-logs/ternsim-nitro
NS=tern-ena-$$
RESET_AFTER=${RESET_AFTER:-12000}	# ~half the frames of the 32 MiB download
IMPAIR=${IMPAIR:-loss=2%,reorder=2%,dup=1%,corrupt=1%,seed=16}
rm -rf "$L"
mkdir -p "$L"
. tests/hosted/ts_lib.sh

# The big package (32 MiB and 100 MiB files) is a make target shared with
# tests/vmbus/ternsim_azure.sh (tests/ena/module.mk).
make --no-print-directory "$SIM" "$PKG1M" "$PKG" >/dev/null ||
	{ fail "build: $SIM $PKG1M $PKG"; exit 1; }
if ! ip netns add "$NS" 2>/dev/null; then
	fail "setup: cannot create network namespace $NS (need root)"
	exit 1
fi
nsx ip link set lo up
for i in 0 1 2; do
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
# stop_sim <name>: exit status 0 on SIGTERM, and no protocol error at the device
stop_sim() {
	ts_stop "$1"
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

if nsx curl -s -m 30 -o "$L/100m.bin" http://10.79.5.2/100m.bin && cmp -s "$L/100m.bin" "$M100"; then
	pass "download: 100m.bin $(stat -c %s "$M100") bytes identical"
else
	fail "download: 100m.bin differs or failed"
fi
rm -f "$L/100m.bin"

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
	# The reset comes after RESET_AFTER transmitted frames: far more
	# than boot and READY send, so inside the download.
	if nsx curl -s -m 30 -o "$L/32m-fault.bin" http://10.79.6.2/32m.bin &&
	    cmp -s "$L/32m-fault.bin" "$M32"; then
		pass "fault: 32m.bin identical across a device-requested reset after $RESET_AFTER frames"
	else
		fail "fault: 32m.bin differs or failed across the reset"
	fi
	rm -f "$L/32m-fault.bin"
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

start_sim impair 2 --impair="$IMPAIR"
if ! wait_ready impair; then
	fail "impair: no TERN READY in 10 s (log $L/impair.log)"
else
	impaired_downloads 10.79.7.2 "$IMPAIR"
	bad=$(echo "$stats" | sed -n 's/.*"tcp\.bad_csum": *\([0-9]*\).*/\1/p')
	rtx=$(echo "$stats" | sed -n 's/.*"tcp\.retransmits": *\([0-9]*\).*/\1/p')
	stop_sim impair
	# Every kind of impairment happened in both directions, and the
	# corrupted frames that reached us were caught by checksums.
	counts=$(impaired_both_ways impair)
	to_guest=$(sed -n 's/.*impair to guest: .* \([0-9]*\) corrupted.*/\1/p' "$L/impair.log")
	if [ "$counts" = 2 ] && [ "${bad:-0}" -ge 1 ] && [ "${rtx:-0}" -ge 1 ]; then
		pass "impair: all four impairments both ways; $to_guest corrupted frames in, tcp.bad_csum=$bad, tcp.retransmits=$rtx"
	else
		fail "impair: $counts directions fully impaired, tcp.bad_csum=${bad:-?}, tcp.retransmits=${rtx:-?} (log $L/impair.log)"
	fi
fi

exit $failed
