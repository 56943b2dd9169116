#!/bin/bash
# record-traces.sh - re-record the QEMU virtio and NVMe traces under
# tests/traces/.  With arguments (blk, net, nvme) only those.
#
# Boots build/tern-qemu.img with trace=<dev> and saves what the kernel's
# record backend (kernel/hw/trace.c) writes on COM2.  The output is
# QEMU-recorded (see docs/trace-format.md); run via `make record-traces`.
set -u
cd "$(dirname "$0")/.."
. tests/integration/lib.sh
out=tests/traces
qv=$(qemu-system-x86_64 --version | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

want() { [ -z "$ARGS" ] || [[ " $ARGS " == *" $1 "* ]]; }
ARGS="$*"

record() {	# name cmdline outfile extra-qemu-args...
	local name=$1 cmdline=$2 file=$3
	shift 3
	want "${name#trace-}" || return 0
	: >"$tmp/$name.com2"
	qemu_boot "$name" 300 "$cmdline" "$@" -serial file:"$tmp/$name.com2"
	if ! grep -q "BOOT_OK" "$QLOGS/qemu-$name.log"; then
		echo "FAIL record $name: no BOOT_OK (log $QLOGS/qemu-$name.log)"
		rc=1
		return
	fi
	{
		echo "# QEMU-recorded trace: $qv"
		echo "# kernel command line: $cmdline"
		echo "# qemu extra args: $*"
		echo "# re-record with: make record-traces"
		grep -E "^TERN (BLK|NIC|BLKTEST|NETTEST)" "$QLOGS/qemu-$name.log" | sed 's/^/# marker: /'
		tr -d '\r' <"$tmp/$name.com2"
	} >"$file"
	echo "recorded $file ($(wc -l <"$file") lines, $(wc -c <"$file") bytes)"
}

truncate -s 8M "$tmp/d2.raw"
record trace-blk "exit=boot_ok blktest=1 trace=virtio-blk1" \
	$out/qemu72-virtio-blk.trace \
	-drive if=none,id=d2,file="$tmp/d2.raw",format=raw \
	-device virtio-blk-pci,drive=d2,disable-legacy=on
record trace-net "exit=boot_ok nettest=1 trace=virtio-net0" \
	$out/qemu72-virtio-net.trace \
	-netdev user,id=n0 -device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on,mac=52:54:00:12:34:56
truncate -s 4M "$tmp/nv.raw"
record trace-nvme "exit=boot_ok blktest=1 trace=nvme0" \
	$out/qemu72-nvme.trace \
	-drive if=none,id=nv,file="$tmp/nv.raw",format=raw -device nvme,drive=nv,serial=tern1234
exit $rc
