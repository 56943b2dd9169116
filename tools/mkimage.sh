#!/usr/bin/env bash
# Build a GPT disk image with one FAT32 EFI System Partition, without root
# or loop devices (sgdisk + mtools).
#   tools/mkimage.sh <out.img> <size-MiB> <BOOTX64.EFI> <kernel.elf> <cmdline-file> [app.pkg]
# ESP layout: \EFI\BOOT\BOOTX64.EFI, \tern\kernel.elf, \tern\cmdline,
# \tern\app.pkg (optional).  docs/boot.md describes it.
set -euo pipefail
out=$1 size_mb=$2 efi=$3 kernel=$4 cmdline=$5 app=${6:-}

for f in "$efi" "$kernel" "$cmdline"; do
	[ -f "$f" ] || { echo "mkimage: missing $f" >&2; exit 1; }
done
[ -z "$app" ] || [ -f "$app" ] || { echo "mkimage: missing package $app" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
disk=$tmp/disk.img esp=$tmp/esp.img

truncate -s "${size_mb}M" "$disk"
sgdisk -o -n 1:2048:0 -t 1:ef00 -c "1:EFI System" "$disk" >/dev/null
first=$(sgdisk -i 1 "$disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
last=$(sgdisk -i 1 "$disk" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
[ -n "$first" ] && [ -n "$last" ] || { echo "mkimage: sgdisk gave no partition" >&2; exit 1; }

truncate -s $(( (last - first + 1) * 512 )) "$esp"
mformat -i "$esp" -F -v TERN ::
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/tern
mcopy -i "$esp" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$kernel" ::/tern/kernel.elf
mcopy -i "$esp" "$cmdline" ::/tern/cmdline
[ -z "$app" ] || mcopy -i "$esp" "$app" ::/tern/app.pkg
dd if="$esp" of="$disk" bs=512 seek="$first" conv=notrunc status=none
mv "$disk" "$out"
