#!/usr/bin/env bash
# devices.sh - issue 4 in QEMU: virtio-blk and virtio-net attach with
# QEMU's values (TERN BLK / TERN NIC), blktest=1 writes, flushes, reads
# back and verifies on the second disk (and the data really reached the
# disk file), nettest=1 gets an ARP answer from QEMU's user-network
# gateway, and a transitional (legacy-capable) virtio-net is driven
# through its modern interface.  One boot.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 4M "$tmp/scratch.raw"

qemu_boot devices 120 "exit=boot_ok blktest=1 nettest=1 log=debug" \
	-drive if=none,id=d2,file="$tmp/scratch.raw",format=raw \
	-device virtio-blk-pci,drive=d2,disable-legacy=on \
	-netdev user,id=n0 -device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on,mac=52:54:00:aa:bb:01 \
	-netdev user,id=n1 -device virtio-net-pci,romfile=,netdev=n1,mac=52:54:00:aa:bb:02
expect_rc devices "boot reaches BOOT_OK with the devices attached" 33
expect_line devices "boot disk attached" '^TERN BLK name=virtio-blk0 sectors=131072 bsize=512$'
expect_line devices "scratch disk attached" '^TERN BLK name=virtio-blk1 sectors=8192 bsize=512$'
expect_line devices "modern NIC with its MAC" '^TERN NIC name=virtio-net0 mac=52:54:00:aa:bb:01 mtu=1500 link=up$'
expect_line devices "transitional NIC via the modern interface" '^TERN NIC name=virtio-net1 mac=52:54:00:aa:bb:02 mtu=1500 link=up$'
expect_line devices "blktest passes" '^TERN BLKTEST ok dev=virtio-blk1 mode=write lba=8064 bytes=65536 seed=[0-9a-f]{16}$'
expect_line devices "ARP answered by the gateway" '^TERN NETTEST ok dev=virtio-net0 gw=10.0.2.2 gw_mac=52:55:0a:00:02:02 tx_released=2$'
expect_line devices "virtio-blk1 bound to an MSI-X vector" 'debug virtio: virtio-blk1: MSI-X entry 0 on vector [0-9]+$'
expect_line devices "blktest completions woke the CPU by MSI-X" 'blktest: virtio-blk1: [1-9][0-9]* completion interrupts'
expect_no_line devices "no driver errors" 'error (virtio|blk)'
# The pattern is on the disk file itself, not just in a cache.
if [ "$(tail -c 65536 "$tmp/scratch.raw" | tr -d '\0' | wc -c)" -gt 60000 ]; then
	echo "PASS devices: blktest data is on the disk file"
else
	echo "FAIL devices: the scratch region of the disk file is still empty"
	harness_failed=1
fi
finish
