#!/usr/bin/env bash
# mkseed.sh - a small valid tern disk for check-image's fuzz target and
# FAT12 coverage: 1 MiB, GPT, a FAT12 ESP from LBA 34, the real loader,
# the first 4 KiB of the kernel (check-image reads only its ELF header)
# and a command line.
#   tests/images/mkseed.sh <out.img> [<out.vhd>]
# SEED_MB (default 1) and SEED_MFORMAT (extra mformat options, e.g. "-c 1"
# for a FAT16 at 16 MiB) make other shapes for check_image.sh.
set -euo pipefail
B=${B:-build}
out=$1 vhd=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s "${SEED_MB:-1}M" "$tmp/d.img"
sgdisk -a 1 -o -n 1:34:0 -t 1:ef00 "$tmp/d.img" >/dev/null
first=$(sgdisk -i 1 "$tmp/d.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
last=$(sgdisk -i 1 "$tmp/d.img" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
truncate -s $(( (last - first + 1) * 512 )) "$tmp/esp.img"
mformat -i "$tmp/esp.img" ${SEED_MFORMAT:-} -v TERN ::
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/BOOT ::/tern
head -c 4096 "$B/kernel.elf" >"$tmp/kernel.elf"
echo "log=info cloud=none" >"$tmp/cmdline"
mcopy -i "$tmp/esp.img" "$B/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$tmp/esp.img" "$tmp/kernel.elf" ::/tern/kernel.elf
mcopy -i "$tmp/esp.img" "$tmp/cmdline" ::/tern/cmdline
dd if="$tmp/esp.img" of="$tmp/d.img" bs=512 seek="$first" conv=notrunc status=none
cp "$tmp/d.img" "$out"
[ -z "$vhd" ] || "$B/tools/mkvhd" "$out" "$vhd"
