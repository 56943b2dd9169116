#!/usr/bin/env bash
# platform_qemu.sh - plain q35 (issue 3): name=qemu from BOCHS/BXPC ACPI
# ids, QEMU SMBIOS and the TCG CPUID signature; virtio-net, virtio-blk and
# NVMe each show up as a TERN PCI line with their ids; a structurally
# corrupt extra ACPI table (-acpitable: an SPCR too short to parse) is
# reported and skipped and the boot still reaches TERN BOOT_OK.  One boot.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/platform_lib.sh
plat_prereq platform_qemu

bad=$PLAT_LOGDIR/short-spcr.bin
printf 'tern-bad' >"$bad"
truncate -s 1M "$PLAT_LOGDIR/blk.raw" "$PLAT_LOGDIR/nvme.raw"
plat_boot qemu -machine q35 \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0,disable-legacy=on \
	-drive if=none,id=d1,format=raw,snapshot=on,file="$PLAT_LOGDIR/blk.raw" \
	-device virtio-blk-pci,drive=d1,disable-legacy=on \
	-drive if=none,id=nv,format=raw,snapshot=on,file="$PLAT_LOGDIR/nvme.raw" \
	-device nvme,drive=nv,serial=tern0 \
	-acpitable sig=SPCR,oem_id=TERN,oem_table_id=BADTABLE,data="$bad"
plat_dump_markers qemu
plat_check qemu "platform is qemu" '^TERN PLATFORM name=qemu cpuid=TCGTCGTCGTCG acpi_oem=BOCHS smbios_vendor="QEMU" '
plat_check_absent qemu "no note on a consistent q35" '^TERN PLATFORM .* note='
plat_check qemu "virtio-net listed" '^TERN PCI bdf=[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] id=1af4:1041 class=0200'
plat_check qemu "virtio-blk listed" '^TERN PCI bdf=[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] id=1af4:1042 class=0100'
plat_check qemu "nvme listed" '^TERN PCI bdf=[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] id=1b36:0010 class=010802'
plat_check qemu "corrupt SPCR reported" 'SPCR: length [0-9]+ too short'
plat_check qemu "clock chosen" '^TERN CLOCK source=(tsc|hpet|pmtimer) hz=[1-9][0-9]*'
plat_check_exit qemu
exit $plat_failed
