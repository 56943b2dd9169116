#!/usr/bin/env bash
# fuzz.sh - check-image's parsers (GPT, FAT, PE, VHD footer) under
# libFuzzer for a bounded time; a crash fails.  The seed is a valid 1 MiB
# disk and its VHD (mkseed.sh) in the target's compact form: the first
# 96 KiB (GPT, FAT12, loader, kernel header, cmdline), the last 33 sectors
# (backup GPT), the VHD footer.
cd "$(dirname "$0")/../.."
B=${B:-build}
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
B=$B tests/images/mkseed.sh "$seeds/d.img" "$seeds/d.vhd" ||
	{ echo "FAIL check_image fuzz: could not build the seed"; exit 1; }
{ head -c 98304 "$seeds/d.img"; tail -c 16896 "$seeds/d.img"; tail -c 512 "$seeds/d.vhd"; } >"$seeds/seed"
rm -f "$seeds/d.img" "$seeds/d.vhd"
# Inputs the fuzzer once crashed on (tests/images/regress/), run first.
for r in tests/images/regress/*; do
	if "$B/fuzz/check_image" "$r" >/dev/null 2>&1; then
		echo "PASS check_image regress $(basename "$r")"
	else
		echo "FAIL check_image regress $(basename "$r")"
	fi
done
tests/fuzz-run.sh check_image 10 131072 "$seeds/seed"
