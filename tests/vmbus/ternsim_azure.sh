#!/usr/bin/env bash
# ternsim_azure.sh - ternsim --platform=azure (docs/ternsim.md,
# docs/hyperv.md): kernel/hv and the VMBus core in the hosted guest
# against the Hyper-V host simulator print TERN HV, TERN VMBUS with both
# offers, make no protocol error, and the process ends with status 0 on
# SIGTERM.  Then with --disk=FILE: storvsc binds two simulated
# controllers (a memory disk sda, the file sdb), blktest=1 writes,
# flushes and reads back through storvsc, the pattern is in the file,
# a second run with blktest=verify finds it, and blktest=big moves one
# 256 KiB request each way (64 pages in one range).  Bounded: 3 s per run.
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
exit $failed
