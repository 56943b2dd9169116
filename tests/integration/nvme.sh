#!/usr/bin/env bash
# nvme.sh - issue 7 in QEMU: QEMU's NVMe controller attaches with its
# identity (TERN BLK ... model= serial=), blktest writes, flushes, reads
# back and verifies through PRP lists; the data survives a power-off:
# a second boot of the same disk reads the pattern the first one wrote.
# The whole image also boots from NVMe (what EC2 Nitro offers).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 4M "$tmp/nvme.raw"
truncate -s 1M "$tmp/nvme2.raw"
disk=(-drive if=none,id=nv,file="$tmp/nvme.raw",format=raw -device nvme,drive=nv,serial=tern1234
	-drive if=none,id=nv2,file="$tmp/nvme2.raw",format=raw -device nvme,drive=nv2,serial=tern5678)

qemu_boot nvme_write 120 "exit=boot_ok blktest=1" "${disk[@]}"
expect_rc nvme_write "boot with an NVMe data disk" 33
expect_line nvme_write "namespace attached with the controller's identity" \
	'^TERN BLK name=nvme0n1 sectors=8192 bsize=512 model="QEMU NVMe Ctrl" serial=tern1234$'
expect_line nvme_write "a second controller is a second device" \
	'^TERN BLK name=nvme1n1 sectors=2048 bsize=512 model="QEMU NVMe Ctrl" serial=tern5678$'
expect_line nvme_write "write, flush, read back through PRP lists" \
	'^TERN BLKTEST ok dev=nvme0n1 mode=write lba=8064 bytes=65536 seed=[0-9a-f]{16}$'
seed=$(sed -n 's/^TERN BLKTEST ok dev=nvme0n1 mode=write .*seed=\([0-9a-f]*\)$/\1/p' "$QLOGS/qemu-nvme_write.log")
expect_line nvme_write "I/O queue completions arrive by MSI-X" \
	'nvme0n1: [1-9][0-9]* completion interrupts'
expect_line nvme_write "one queue pair, interrupt driven" '1 queue pair\(s\) \(0 polled\)'
expect_line nvme_write "CC.SHN at power-off: both controllers shut down" 'nvme1: shutdown complete'
expect_line nvme_write "CC.SHN at power-off: the first one too" 'nvme0: shutdown complete'

# Power off (exit), boot again on the same disk, verify only.
qemu_boot nvme_verify 120 "exit=boot_ok blktest=verify" "${disk[@]}"
expect_line nvme_verify "the pattern survived power-off" \
	"^TERN BLKTEST ok dev=nvme0n1 mode=verify lba=8064 bytes=65536 seed=${seed:-none}\$"

# A blank disk must fail verification: the check can fail.
truncate -s 0 "$tmp/nvme.raw"; truncate -s 4M "$tmp/nvme.raw"
qemu_boot nvme_blank 120 "exit=boot_ok blktest=verify" "${disk[@]}"
expect_line nvme_blank "a blank disk fails verification" '^TERN BLKTEST fail dev=nvme0n1 mode=verify reason=mismatch'

# No MDTS limit (mdts=0): one 4 MiB write and read, a PRP list chained
# over two pages, then Dataset Management deallocates the region.
truncate -s 8M "$tmp/big.raw"
qemu_boot nvme_big 120 "exit=boot_ok blktest=big" \
	-drive if=none,id=nb,file="$tmp/big.raw",format=raw -device nvme,drive=nb,serial=big1,mdts=0
expect_line nvme_big "MDTS 0 offers 8 MiB transfers" 'MDTS 8192 KiB'
expect_line nvme_big "4 MiB in one command through a chained PRP list, then deallocated" \
	'^TERN BLKTEST ok dev=nvme0n1 mode=big lba=8192 bytes=4194304 seed=[0-9a-f]{16} discard=ok$'

# Boot the image itself from NVMe, with the workload path up to READY.
TERN_BOOT_DEV=nvme qemu_start nvme_ready "" -netdev user,id=n0 \
	-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on
if wait_marker nvme_ready '^TERN READY port=80$' 120; then
	echo "PASS nvme_ready: image on NVMe boots to TERN READY"
else
	echo "FAIL nvme_ready: no TERN READY when booting from NVMe"
	harness_failed=1
fi
qemu_stop nvme_ready
expect_line nvme_ready "boot disk is the NVMe namespace" '^TERN BLK name=nvme0n1 sectors=131072 bsize=512 model="QEMU NVMe Ctrl" serial=ternboot$'
finish
