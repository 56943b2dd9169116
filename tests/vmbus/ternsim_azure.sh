#!/usr/bin/env bash
# ternsim_azure.sh - ternsim --platform=azure (docs/ternsim.md,
# docs/hyperv.md): kernel/hv and the VMBus core in the hosted guest
# against the Hyper-V host simulator print TERN HV, TERN VMBUS with both
# offers, make no protocol error, and the process ends with status 0 on
# SIGTERM.  Then with --disk=FILE: storvsc binds two simulated
# controllers (a memory disk sda, the file sdb), blktest=1 writes,
# flushes and reads back through storvsc, the pattern is in the file,
# a second run with blktest=verify finds it, blktest=big moves one
# 256 KiB request each way (64 pages in one range), and with --disk
# given twice the second file is LUN 1 of the file's controller (sdc,
# its own marker) beside sdb.  Bounded: 3 s per run.
# Then, with a TAP in a private network namespace (root
# needed), netvsc binds through the simulator's netvsc VSP: TERN NIC
# driver=netvsc, /healthz answers from Linux, a 1 MiB and a 100 MiB file
# arrive byte for byte, 200 concurrent connections are answered, /stats
# shows no receive payload copies and received frames on more than one
# of the four queues (three sub-channels, the guest's RSS settings), no
# protocol error at the host, exit 0.
# With --fault=reset-after=N the host rescinds the NIC in the middle of a
# 32 MiB download and offers it again: the download completes byte for
# byte, netvsc attaches again, /healthz answers, no protocol error.  With
# --impair (ts_impair.c on both directions of the netvsc wire) four 1 MiB
# downloads are identical, /healthz answers, every impairment happened
# both ways and the guest's TCP caught corrupted frames.  Last, one guest
# with both --tap and --disk: netvsc and storvsc markers, blktest ok,
# /healthz.  The big files come from the make target
# build/tests/ena/httpd-big.pkg (tests/ena/module.mk), shared with
# tests/ena/ternsim_nitro.sh.  Bounded: 3 s per disk run, every client
# has a timeout; about 25 s in all once the package is built.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
L=$B/test-logs/ternsim-azure.log
mkdir -p "$B/test-logs"
timeout --preserve-status -s TERM 3 "$B/tools/ternsim" --platform=azure >"$L" 2>&1
rc=$?
failed=0
check() {
	if grep -Eq -- "$2" "$L"; then echo "PASS ternsim-azure: $1"
	else echo "FAIL ternsim-azure: $1 (no /$2/ in $L)"; failed=1; fi
}
check "TERN HV" '^TERN HV version=10\.0\.20348 features='
check "VMBus 5.3 with two offers" '^TERN VMBUS version=5\.3 offers=2$'
check "netvsc offer" '^TERN VMBUS offer class=netvsc instance=[0-9a-f-]{36} relid=14 sub=0$'
check "storvsc offer" '^TERN VMBUS offer class=storvsc instance=[0-9a-f-]{36} relid=15 sub=0$'
check "the workload still starts" '^TERN APP_START name=httpd'
if grep -q "protocol errors" "$L"; then
	echo "FAIL ternsim-azure: host simulator saw protocol errors"; failed=1
else
	echo "PASS ternsim-azure: no protocol error at the host"
fi
if [ "$rc" -eq 0 ]; then echo "PASS ternsim-azure: exit 0 on SIGTERM"
else echo "FAIL ternsim-azure: exit status $rc"; failed=1; fi

# storvsc on a file.
D=$B/test-logs/ternsim-azure-disk.img
rm -f "$D"
truncate -s 4M "$D"
L=$B/test-logs/ternsim-azure-disk.log
timeout --preserve-status -s TERM 3 "$B/tools/ternsim" --platform=azure --disk="$D" \
	--cmdline="blktest=1" >"$L" 2>&1
check "three offers with a disk" '^TERN VMBUS version=5\.3 offers=3$'
check "storvsc boot disk" '^TERN BLK name=sda driver=storvsc relid=15 lun=0 sectors=32768 bsize=512 fua=1 wce=1 vstor=6\.2 '
check "storvsc file disk" '^TERN BLK name=sdb driver=storvsc relid=16 lun=0 sectors=8192 bsize=512 fua=1 wce=1 vstor=6\.2 '
check "blktest through storvsc" '^TERN BLKTEST ok dev=sdb mode=write lba=8064 bytes=65536 seed=[0-9a-f]{16}$'
check "the host saw the write, flush and read" 'storvsc host: 1 reads, 1 writes, 1 flushes'
seed=$(sed -n 's/^TERN BLKTEST ok dev=sdb .*seed=\([0-9a-f]*\)$/\1/p' "$L")
onfile=$(od -An -tx8 -j $((8064 * 512)) -N 8 "$D" | tr -d ' ')
if [ -n "$seed" ] && [ "$seed" = "$onfile" ]; then
	echo "PASS ternsim-azure: the pattern is in the disk file"
else
	echo "FAIL ternsim-azure: seed '$seed' vs file '$onfile'"; failed=1
fi
if grep -q "protocol errors" "$L"; then
	echo "FAIL ternsim-azure: host simulator saw protocol errors (disk)"; failed=1
fi
L=$B/test-logs/ternsim-azure-verify.log
timeout --preserve-status -s TERM 3 "$B/tools/ternsim" --platform=azure --disk="$D" \
	--cmdline="blktest=verify" >"$L" 2>&1
check "blktest=verify finds the earlier run's data" "^TERN BLKTEST ok dev=sdb mode=verify .*seed=$seed\$"
L=$B/test-logs/ternsim-azure-big.log
timeout --preserve-status -s TERM 3 "$B/tools/ternsim" --platform=azure --disk="$D" \
	--cmdline="blktest=big" >"$L" 2>&1
check "blktest=big: one 256 KiB request (storvsc's max_transfer) each way" \
	'^TERN BLKTEST ok dev=sdb mode=big lba=7680 bytes=262144 seed=[0-9a-f]{16} discard=n/a$'
# --disk twice: the second file is LUN 1 of the same controller (sdc).
D2=$B/test-logs/ternsim-azure-disk2.img
rm -f "$D2"
truncate -s 1M "$D2"
L=$B/test-logs/ternsim-azure-2luns.log
timeout --preserve-status -s TERM 3 "$B/tools/ternsim" --platform=azure --disk="$D" \
	--disk="$D2" --cmdline="blktest=1" >"$L" 2>&1
check "two LUNs: the file disk is LUN 0" '^TERN BLK name=sdb driver=storvsc relid=16 lun=0 sectors=8192 '
check "two LUNs: the second file is LUN 1 of the same controller" \
	'^TERN BLK name=sdc driver=storvsc relid=16 lun=1 sectors=2048 bsize=512 '
check "two LUNs: blktest on sdb" '^TERN BLKTEST ok dev=sdb mode=write lba=8064 bytes=65536 seed=[0-9a-f]{16}$'
if grep -q "protocol errors" "$L"; then
	echo "FAIL ternsim-azure: host simulator saw protocol errors (two LUNs)"; failed=1
fi

# ---- netvsc on a TAP --------------------------------------------------
NS=tern-az-$$
LN=$B/test-logs/ternsim-azure-net.log
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
if ! ip netns add "$NS" 2>/dev/null; then
	echo "FAIL ternsim-azure: cannot create network namespace $NS (need root)"
	exit 1
fi
nsx ip link set lo up
nsx ip tuntap add dev tsa0 mode tap && nsx ip addr add 10.79.9.1/24 dev tsa0 &&
	nsx ip link set tsa0 up || { echo "FAIL ternsim-azure: tap tsa0"; exit 1; }
# The big-download package (1 MiB, 32 MiB, 100 MiB files), a make target
# shared with tests/ena/ternsim_nitro.sh (tests/ena/module.mk).
PKG=$B/tests/ena/httpd-big.pkg
ONEM=$B/tests/hosted/1m.bin
M32=$B/tests/ena/32m.bin
M100=$B/tests/ena/100m.bin
RESCIND_AFTER=${RESCIND_AFTER:-1200}	# frames in (ACKs): ~3100 in a 32 MiB download
IMPAIR=${IMPAIR:-loss=2%,reorder=2%,dup=1%,corrupt=1%,seed=18}
make --no-print-directory "$PKG" >/dev/null ||
	{ echo "FAIL ternsim-azure: build $PKG"; exit 1; }
wait_ready() {
	for _ in $(seq 100); do
		grep -q '^TERN READY port=80' "$1" && return 0
		sleep 0.1
	done
	return 1
}
ip netns exec "$NS" "$B/tools/ternsim" --platform=azure --tap=tsa0 --pkg="$PKG" \
	--cmdline="ip=10.79.9.2/24 gw=10.79.9.1" >"$LN" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q '^TERN READY port=80' "$LN" && break
	sleep 0.1
done
L=$LN
check "netvsc bound on the TAP with four queues (vRSS)" '^TERN NIC name=hn0 driver=netvsc mac=00:15:5d:01:02:03 mtu=1500 queues=4 link=up$'
check "receive-scale parameters set" 'vRSS: Toeplitz IPv4/TCP over 4 channels'
check "network up through netvsc" '^TERN NET_UP ip=10\.79\.9\.2/24'
if [ "$(nsx curl -s -m 5 http://10.79.9.2/healthz)" = "ok" ]; then
	echo "PASS ternsim-azure: /healthz over netvsc"
else
	echo "FAIL ternsim-azure: /healthz over netvsc (log $LN)"; failed=1
fi
if nsx curl -s -m 20 -o "$B/test-logs/ternsim-azure-1m.bin" http://10.79.9.2/1m.bin &&
	cmp -s "$B/test-logs/ternsim-azure-1m.bin" "$ONEM"; then
	echo "PASS ternsim-azure: 1m.bin byte for byte over netvsc"
else
	echo "FAIL ternsim-azure: 1m.bin over netvsc (log $LN)"; failed=1
fi
t0=$(date +%s.%N)
if nsx curl -s -m 60 -o "$B/test-logs/ternsim-azure-100m.bin" http://10.79.9.2/100m.bin &&
	cmp -s "$B/test-logs/ternsim-azure-100m.bin" "$M100"; then
	echo "PASS ternsim-azure: 100m.bin byte for byte over netvsc ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
else
	echo "FAIL ternsim-azure: 100m.bin over netvsc (log $LN)"; failed=1
fi
rm -f "$B/test-logs/ternsim-azure-100m.bin"
ok=$(seq 200 | nsx xargs -P 200 -I{} curl -s -m 20 -o /dev/null -w '%{http_code}\n' \
	http://10.79.9.2/healthz | grep -c '^200$')
if [ "$ok" = 200 ]; then echo "PASS ternsim-azure: 200 of 200 concurrent connections over netvsc"
else echo "FAIL ternsim-azure: $ok of 200 concurrent connections over netvsc"; failed=1; fi
st=$(nsx curl -s -m 5 http://10.79.9.2/stats)
if echo "$st" | grep -q '"net.payload_copied": 0,' && echo "$st" | grep -q '"pal.rx_copied": 0,' &&
	echo "$st" | grep -Eq '"nic.rx_packets": [1-9]'; then
	echo "PASS ternsim-azure: /stats shows no receive payload copies"
else
	echo "FAIL ternsim-azure: /stats receive copies (or no frames): $(echo "$st" | grep -E 'copied|rx_packets' | tr -d '\n')"
	failed=1
fi
# vRSS: after 200 connections from as many source ports, the VSP's
# Toeplitz hash put received frames on more than one of the four queues.
used=0
per=
for q in 0 1 2 3; do
	v=$(echo "$st" | sed -n "s/.*\"nic\.q$q\.rx_packets\": *\([0-9]*\).*/\1/p")
	[ "${v:-0}" -gt 0 ] && used=$((used + 1))
	per="$per q$q=${v:-0}"
done
if [ "$used" -ge 2 ]; then echo "PASS ternsim-azure: received frames on $used of 4 queues (vRSS):$per"
else
	echo "FAIL ternsim-azure: received frames on $used queue(s): $(echo "$st" | grep -E 'nic\.q[0-9]\.rx_packets' | tr -d '\n')"
	failed=1
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
pid=
if [ "$rc" -eq 0 ]; then echo "PASS ternsim-azure: netvsc run exits 0 on SIGTERM"
else echo "FAIL ternsim-azure: netvsc run exit status $rc"; failed=1; fi
if grep -Eq "netvsc wire: .* 0 host protocol errors" "$LN" &&
	! grep -q "protocol errors, first" "$LN"; then
	echo "PASS ternsim-azure: no protocol error at the netvsc VSP"
else
	echo "FAIL ternsim-azure: the netvsc VSP saw protocol errors (log $LN)"; failed=1
fi

# ---- rescind and re-offer of the NIC in the middle of a download -------
LR=$B/test-logs/ternsim-azure-rescind.log
ip netns exec "$NS" "$B/tools/ternsim" --platform=azure --tap=tsa0 --pkg="$PKG" \
	--fault=reset-after="$RESCIND_AFTER" --cmdline="ip=10.79.9.2/24 gw=10.79.9.1" >"$LR" 2>&1 &
pid=$!
wait_ready "$LR"
if nsx curl -s -m 60 -o "$B/test-logs/ternsim-azure-32m-rescind.bin" http://10.79.9.2/32m.bin &&
	cmp -s "$B/test-logs/ternsim-azure-32m-rescind.bin" "$M32"; then
	echo "PASS ternsim-azure: 32m.bin byte for byte across a rescind and re-offer"
else
	echo "FAIL ternsim-azure: 32m.bin across a rescind (log $LR)"; failed=1
fi
rm -f "$B/test-logs/ternsim-azure-32m-rescind.bin"
if [ "$(nsx curl -s -m 5 http://10.79.9.2/healthz)" = "ok" ]; then
	echo "PASS ternsim-azure: /healthz after the re-offer"
else
	echo "FAIL ternsim-azure: /healthz after the re-offer (log $LR)"; failed=1
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
pid=
L=$LR
check "the NIC rescinded" 'netvsc \(netvsc\) rescinded by the host|relid 14 \(netvsc\) rescinded'
n=$(grep -c '^TERN NIC name=hn0 driver=netvsc' "$LR")
if [ "$n" = 2 ]; then echo "PASS ternsim-azure: netvsc attached again after the re-offer"
else echo "FAIL ternsim-azure: $n netvsc attaches (want 2)"; failed=1; fi
# In the middle: frames kept arriving after the rescind.
at=$(grep -o 'netvsc rescinded after [0-9]* frames$' "$LR" | grep -o '[0-9]*')
total=$(grep -o 'netvsc wire: [0-9]* frames in' "$LR" | grep -o '[0-9]*')
if [ -n "$at" ] && [ -n "$total" ] && [ $((total - at)) -ge 1000 ]; then
	echo "PASS ternsim-azure: rescinded mid-traffic (after $at of $total frames in)"
else
	echo "FAIL ternsim-azure: rescind not mid-traffic (after ${at:-?} of ${total:-?} frames)"; failed=1
fi
if grep -Eq "netvsc wire: .* 1 rescinds, 0 host protocol errors" "$LR"; then
	echo "PASS ternsim-azure: no protocol error at the host across the rescind"
else
	echo "FAIL ternsim-azure: protocol errors across the rescind (log $LR)"; failed=1
fi
if [ "$rc" -eq 0 ]; then echo "PASS ternsim-azure: rescind run exits 0 on SIGTERM"
else echo "FAIL ternsim-azure: rescind run exit status $rc"; failed=1; fi

# ---- the TAP impairment on the netvsc wire (both directions) ---------
LI=$B/test-logs/ternsim-azure-impair.log
ip netns exec "$NS" "$B/tools/ternsim" --platform=azure --tap=tsa0 --pkg="$PKG" \
	--impair="$IMPAIR" --cmdline="ip=10.79.9.2/24 gw=10.79.9.1" >"$LI" 2>&1 &
pid=$!
wait_ready "$LI"
same=0
for k in 1 2 3 4; do
	nsx curl -s -m 30 -o "$B/test-logs/ternsim-azure-1m-impair.bin" http://10.79.9.2/1m.bin &&
		cmp -s "$B/test-logs/ternsim-azure-1m-impair.bin" "$ONEM" && same=$((same + 1))
done
if [ $same = 4 ]; then echo "PASS ternsim-azure: 1m.bin identical 4 of 4 times through $IMPAIR"
else echo "FAIL ternsim-azure: 1m.bin identical $same of 4 times through $IMPAIR (log $LI)"; failed=1; fi
if [ "$(nsx curl -s -m 10 --retry 3 http://10.79.9.2/healthz)" = "ok" ]; then
	echo "PASS ternsim-azure: /healthz through the impairment"
else
	echo "FAIL ternsim-azure: /healthz through the impairment (log $LI)"; failed=1
fi
st=$(nsx curl -s -m 10 --retry 3 http://10.79.9.2/stats)
bad=$(echo "$st" | sed -n 's/.*"tcp\.bad_csum": *\([0-9]*\).*/\1/p')
rtx=$(echo "$st" | sed -n 's/.*"tcp\.retransmits": *\([0-9]*\).*/\1/p')
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
pid=
counts=$(grep -c 'impair [a-z]* guest: [0-9]* frames, [1-9][0-9]* lost, [1-9][0-9]* corrupted, [1-9][0-9]* duplicated, [1-9][0-9]* reordered' "$LI")
if [ "$counts" = 2 ] && [ "${bad:-0}" -ge 1 ] && [ "${rtx:-0}" -ge 1 ]; then
	echo "PASS ternsim-azure: all four impairments both ways on netvsc; tcp.bad_csum=$bad, tcp.retransmits=$rtx"
else
	echo "FAIL ternsim-azure: $counts directions fully impaired, tcp.bad_csum=${bad:-?}, tcp.retransmits=${rtx:-?} (log $LI)"
	failed=1
fi
if [ "$rc" -eq 0 ] && grep -Eq "netvsc wire: .* 0 host protocol errors" "$LI"; then
	echo "PASS ternsim-azure: impaired run exits 0, no protocol error at the host"
else
	echo "FAIL ternsim-azure: impaired run exit $rc or protocol errors (log $LI)"; failed=1
fi

# ---- netvsc and storvsc in one guest -----------------------------------
LB=$B/test-logs/ternsim-azure-both.log
ip netns exec "$NS" "$B/tools/ternsim" --platform=azure --tap=tsa0 --disk="$D" --pkg="$PKG" \
	--cmdline="ip=10.79.9.2/24 gw=10.79.9.1 blktest=1" >"$LB" 2>&1 &
pid=$!
wait_ready "$LB"
if [ "$(nsx curl -s -m 5 http://10.79.9.2/healthz)" = "ok" ]; then
	echo "PASS ternsim-azure: /healthz with netvsc and storvsc bound"
else
	echo "FAIL ternsim-azure: /healthz with netvsc and storvsc (log $LB)"; failed=1
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
pid=
L=$LB
check "both: three offers" '^TERN VMBUS version=5\.3 offers=3$'
check "both: netvsc marker" '^TERN NIC name=hn0 driver=netvsc mac=00:15:5d:01:02:03 mtu=1500 queues=4 link=up$'
check "both: storvsc markers" '^TERN BLK name=sdb driver=storvsc relid=16 lun=0 sectors=8192 '
check "both: blktest through storvsc" '^TERN BLKTEST ok dev=sdb mode=write lba=8064 bytes=65536 seed=[0-9a-f]{16}$'
if [ "$rc" -eq 0 ] && grep -Eq "netvsc wire: .* 0 host protocol errors" "$LB" &&
	! grep -q "protocol errors, first" "$LB"; then
	echo "PASS ternsim-azure: both-devices run exits 0, no protocol error at the host"
else
	echo "FAIL ternsim-azure: both-devices run exit $rc or protocol errors (log $LB)"; failed=1
fi
exit $failed
