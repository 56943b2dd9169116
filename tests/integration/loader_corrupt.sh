#!/usr/bin/env bash
# loader_corrupt.sh - issue 2: a bad kernel on the ESP gives the loader's
# clear error and TERN FAIL within a bounded time (the firmware then goes
# on to other boot options, so the run is stopped once the marker shows).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Wrong machine (EM_386) and a truncated file.
cp "$B/kernel.elf" "$tmp/machine.elf"
printf '\x03\x00' | dd of="$tmp/machine.elf" bs=1 seek=18 conv=notrunc status=none
head -c 3000 "$B/kernel.elf" >"$tmp/trunc.elf"

for kind in machine trunc; do
	img=$tmp/$kind.img
	tools/mkimage.sh "$img" 64 "$B/BOOTX64.EFI" "$tmp/$kind.elf" images/qemu.cmdline
	TERN_IMG=$img qemu_start "loader_$kind" ""
	if wait_marker "loader_$kind" '^TERN FAIL stage=loader' 90; then
		echo "PASS loader_$kind: loader refused the kernel"
	else
		echo "FAIL loader_$kind: no TERN FAIL stage=loader within 90 s"
		harness_failed=1
	fi
	qemu_stop "loader_$kind"
done
expect_line loader_machine "reason names the machine" 'TERN FAIL stage=loader reason=wrong_machine'
expect_line loader_machine "readable error line" 'tern-loader: error: .*not a valid tern kernel'
expect_line loader_trunc "reason names the truncation" 'TERN FAIL stage=loader reason=(segment_outside_file|phdrs_outside_file)'
expect_no_line loader_machine "the kernel never started" 'TERN BOOT_OK'
finish
