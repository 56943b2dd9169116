#!/usr/bin/env bash
# platform_qemu.sh - plain q35 (issue 3): name=qemu from BOCHS/BXPC ACPI
# ids, QEMU SMBIOS and the TCG CPUID signature; virtio-net, virtio-blk and
# NVMe each show up as a TERN PCI line with their ids; a structurally
# corrupt extra ACPI table (-acpitable: an SPCR too short to parse) is
# reported and skipped and the boot still reaches TERN BOOT_OK.  One boot.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'tern-bad' >"$tmp/short-spcr.bin"
truncate -s 1M "$tmp/blk.raw" "$tmp/nvme.raw"
qemu_boot qemu 400 "exit=boot_ok log=debug" \
	-netdev user,id=n0 -device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on \
	-drive if=none,id=d1,format=raw,snapshot=on,file="$tmp/blk.raw" \
	-device virtio-blk-pci,drive=d1,disable-legacy=on \
	-drive if=none,id=nv,format=raw,snapshot=on,file="$tmp/nvme.raw" \
	-device nvme,drive=nv,serial=tern0 \
	-acpitable sig=SPCR,oem_id=TERN,oem_table_id=BADTABLE,data="$tmp/short-spcr.bin"
expect_rc qemu "reached TERN BOOT_OK" 33
expect_line qemu "platform is qemu" '^TERN PLATFORM name=qemu cpuid=TCGTCGTCGTCG acpi_oem=BOCHS smbios_vendor="QEMU" '
expect_no_line qemu "no note on a consistent q35" '^TERN PLATFORM .* note='
expect_line qemu "virtio-net listed" '^TERN PCI bdf=[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] id=1af4:1041 class=0200'
expect_line qemu "virtio-blk listed" '^TERN PCI bdf=[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] id=1af4:1042 class=0100'
expect_line qemu "nvme listed" '^TERN PCI bdf=[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] id=1b36:0010 class=010802'
expect_line qemu "corrupt SPCR reported" 'SPCR: length [0-9]+ too short'
expect_line qemu "clock chosen" '^TERN CLOCK source=(tsc|hpet|pmtimer) hz=[1-9][0-9]*'
finish
