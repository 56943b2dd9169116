#!/usr/bin/env bash
# check_image.sh - issue 19, images: `make image CLOUD=qemu|aws|azure`
# builds each variant and tools/check-image accepts it; then copies are
# broken one way at a time and check-image must refuse each with the
# right one-line reason.  The VHD footer is also read here field by field
# with od, independently of tools/vhd.h.  No QEMU (image_boot.sh boots them).
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
CHECK=$B/tools/check-image
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
pass() { echo "PASS images: $1"; }
fail() { echo "FAIL images: $1"; failed=1; }

# Build through the real targets.  MAKEFLAGS is dropped so a `make test`
# jobserver is not inherited by this inner make.
for cloud in qemu aws azure; do
	if env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory B="$B" image \
	    CLOUD=$cloud >"$tmp/make-$cloud.log" 2>&1; then
		pass "make image CLOUD=$cloud builds and checks"
	else
		fail "make image CLOUD=$cloud failed: $(tail -n 3 "$tmp/make-$cloud.log" | tr '\n' ' ')"
	fi
done
if env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory B="$B" image \
    CLOUD=gcp >"$tmp/make-gcp.log" 2>&1; then
	fail "make image CLOUD=gcp should fail"
elif grep -q 'CLOUD=gcp is not one of qemu, aws, azure' "$tmp/make-gcp.log"; then
	pass "make image CLOUD=gcp is refused by name"
else
	fail "make image CLOUD=gcp failed without naming the variants"
fi
for f in "$B/tern-qemu.img" "$B/tern-aws.img" "$B/tern-azure.vhd" "$CHECK"; do
	[ -f "$f" ] || { fail "$f was not built"; exit 1; }
done

# accept <name> <file> <regex on the ok line>
accept() {
	local out rc
	out=$("$CHECK" "$2" 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -Eq -- "$3" <<<"$out"; then
		pass "$1 accepted"
	else
		fail "$1 not accepted (rc=$rc): $out"
	fi
}
# refuse <name> <file> <regex on the reason> [--format f]
refuse() {
	local name=$1 file=$2 re=$3 out rc
	shift 3
	out=$("$CHECK" "$@" "$file" 2>&1); rc=$?
	if [ $rc -ne 1 ]; then
		fail "$name: exit $rc, expected 1 ($out)"
	elif [ "$(wc -l <<<"$out")" -ne 1 ]; then
		fail "$name: the reason is not one line: $out"
	elif ! grep -Eq -- "$re" <<<"$out"; then
		fail "$name: wrong reason '$out', expected /$re/"
	else
		pass "$name refused: ${out#*: *: }"
	fi
}
poke() {	# poke <file> <offset> <printf-escaped bytes>
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
flip() {	# flip <file> <offset>: invert one byte, so the edit always changes it
	local b
	b=$(od -An -tu1 -v -j "$2" -N 1 "$1" | tr -d ' \n')
	poke "$1" "$2" "$(printf '\\x%02x' $((b ^ 0xff)))"
}
be_hex() {	# be_hex <file> <offset> <n>: big-endian unsigned value
	od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -d ' \n'
}
# Recompute a VHD footer checksum after editing it (one's complement of
# the byte sum with the checksum field skipped: VHD spec, footer format).
vhd_fix_sum() {
	local f=$1 foot sum
	foot=$(( $(stat -c %s "$f") - 512 ))
	sum=$(od -An -tu1 -v -j "$foot" -N 512 "$f" | tr -s ' ' '\n' |
		awk 'NF { if (i < 64 || i >= 68) s += $1; i++ } END { print s }')
	sum=$(( ~sum & 0xffffffff ))
	poke "$f" $((foot + 64)) "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' \
		$((sum >> 24 & 255)) $((sum >> 16 & 255)) $((sum >> 8 & 255)) $((sum & 255)))"
}

accept "tern-qemu.img" "$B/tern-qemu.img" 'ok \(raw, 64 MiB, .*cmdline "log=info cloud=none"\)$'
accept "tern-aws.img" "$B/tern-aws.img" 'ok \(raw, 64 MiB, .*BOOTX64.EFI PE32\+ x86-64 EFI application.*cmdline "log=info cloud=aws"\)$'
accept "tern-azure.vhd" "$B/tern-azure.vhd" 'ok \(vhd, 64 MiB, .*cmdline "log=info cloud=azure"\)$'

# FAT12 and FAT16 ESPs (the images above are FAT32), small GPT disks.
B=$B tests/images/mkseed.sh "$tmp/fat12.img" "$tmp/fat12.vhd"
accept "1 MiB disk with a FAT12 ESP" "$tmp/fat12.img" 'ok \(raw, 1 MiB, GPT, ESP FAT12 at LBA 34,'
accept "its VHD" "$tmp/fat12.vhd" 'ok \(vhd, 1 MiB, GPT, ESP FAT12 at LBA 34,'
SEED_MB=16 SEED_MFORMAT="-c 1" B=$B tests/images/mkseed.sh "$tmp/fat16.img"
accept "16 MiB disk with a FAT16 ESP" "$tmp/fat16.img" 'ok \(raw, 16 MiB, GPT, ESP FAT16 at LBA [0-9]+,'
rm -f "$tmp"/fat1[26].*

# --- the VHD footer, read independently ------------------------------
vhd=$B/tern-azure.vhd
raw_size=$(stat -c %s "$B/images/tern-azure.raw")
foot=$(( $(stat -c %s "$vhd") - 512 ))
[ "$foot" -eq "$raw_size" ] && pass "VHD is the raw disk plus 512 bytes" ||
	fail "VHD is $foot+512 bytes, raw disk $raw_size"
cmp -s -n "$raw_size" "$vhd" "$B/images/tern-azure.raw" && pass "VHD data is the raw disk byte for byte" ||
	fail "VHD data differs from the raw disk"
[ "$(head -c 8 <(tail -c 512 "$vhd"))" = conectix ] && pass "VHD footer cookie" || fail "VHD footer cookie"
[ "$(be_hex "$vhd" $((foot + 60)) 4)" = 00000002 ] && pass "VHD disk type 2 (fixed)" || fail "VHD disk type"
[ $((16#$(be_hex "$vhd" $((foot + 48)) 8))) -eq $((64 * 1048576)) ] &&
	pass "VHD current size 64 MiB" || fail "VHD current size"
# 64 MiB = 131072 sectors; the spec's algorithm by hand: 17 sectors per
# track, 131072/17 = 7710 cylinders x heads, heads = ceil(7710/1024) = 8
# (>= 4, and 7710 < 8 x 1024), cylinders = 7710/8 = 963.
[ "$(be_hex "$vhd" $((foot + 56)) 4)" = "03c30811" ] &&
	pass "VHD geometry 963/8/17 (the spec's for 64 MiB)" ||
	fail "VHD geometry $(be_hex "$vhd" $((foot + 56)) 4), expected 03c3/08/11"
cp "$vhd" "$tmp/sum.vhd"; vhd_fix_sum "$tmp/sum.vhd"
cmp -s "$vhd" "$tmp/sum.vhd" && pass "VHD checksum agrees with an independent sum" ||
	fail "VHD checksum differs from the independent sum"
"$B/tools/mkvhd" "$B/images/tern-azure.raw" "$tmp/again.vhd"
[ "$(be_hex "$vhd" $((foot + 68)) 16)" != "$(be_hex "$tmp/again.vhd" $((foot + 68)) 16)" ] &&
	pass "VHD unique id differs between two builds" || fail "VHD unique id repeats"
head -c 1048000 /dev/zero >"$tmp/odd.raw"
if "$B/tools/mkvhd" "$tmp/odd.raw" "$tmp/odd.vhd" 2>"$tmp/odd.err"; then
	fail "mkvhd accepted a disk that is not whole MiB"
else
	grep -q 'not a whole number of MiB' "$tmp/odd.err" && pass "mkvhd refuses a disk that is not whole MiB" ||
		fail "mkvhd refused without the reason: $(cat "$tmp/odd.err")"
fi

# --- broken raw images -----------------------------------------------
raw=$B/tern-aws.img
size=$(stat -c %s "$raw")
last=$(( size / 512 - 1 ))
esp_off=$(( $(sgdisk -i 1 "$raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p') * 512 ))
mk() { cp "$raw" "$tmp/$1.img"; echo "$tmp/$1.img"; }

f=$(mk hdrcrc); flip "$f" $((512 + 56))		# disk GUID, primary header
refuse "primary GPT header CRC" "$f" 'GPT: primary header CRC 0x[0-9a-f]{8}, computed'
f=$(mk backup); flip "$f" $((last * 512 + 56))	# disk GUID, backup header
refuse "backup GPT header CRC" "$f" 'GPT: backup header CRC'
f=$(mk backupsig); poke "$f" $((last * 512)) 'XFI PART'
refuse "backup GPT header missing" "$f" 'GPT: backup header at LBA [0-9]+ has no "EFI PART"'
f=$(mk arraycrc); poke "$f" $((1024 + 56)) 'X'		# partition 1's name
refuse "partition array CRC" "$f" 'GPT: primary partition array CRC'
f=$(mk esptype); sgdisk -t 1:8300 "$f" >/dev/null	# valid GPT, Linux type
refuse "ESP type GUID" "$f" 'GPT: no EFI System Partition \(type C12A7328-F81F-11D2-BA4B-00A0C93EC93B\)'
f=$(mk nofat); dd if=/dev/zero of="$f" bs=512 seek=$((esp_off / 512)) count=1 conv=notrunc status=none
refuse "no FAT on the ESP" "$f" 'ESP: no FAT filesystem'
f=$(mk noefi); mdel -i "$f@@$esp_off" ::/EFI/BOOT/BOOTX64.EFI
refuse "missing BOOTX64.EFI" "$f" 'ESP: \\EFI\\BOOT\\BOOTX64.EFI is missing'
f=$(mk notpe); mcopy -o -i "$f@@$esp_off" "$B/kernel.elf" ::/EFI/BOOT/BOOTX64.EFI
refuse "non-PE loader (an ELF)" "$f" 'BOOTX64.EFI is not a PE image \(no MZ signature\)'
# PE fields of a copy of the real loader, at offsets from e_lfanew.
pe=$((16#$(od -An -tx4 -j 60 -N 4 "$B/BOOTX64.EFI" | tr -d ' ')))
peedit() {	# peedit <name> <offset from e_lfanew> <bytes>
	cp "$B/BOOTX64.EFI" "$tmp/$1.efi"; poke "$tmp/$1.efi" $((pe + $2)) "$3"
	f=$(mk "$1"); mcopy -o -i "$f@@$esp_off" "$tmp/$1.efi" ::/EFI/BOOT/BOOTX64.EFI
}
peedit machine 4 '\x4c\x01'			# IMAGE_FILE_MACHINE_I386
refuse "wrong machine" "$f" 'machine 0x014c is not x86-64 \(0x8664\)'
peedit pe32 24 '\x0b\x01'			# PE32 optional header magic
refuse "PE32 instead of PE32+" "$f" 'optional header magic 0x10b is not PE32\+ \(0x20b\)'
peedit subsys $((24 + 68)) '\x0b\x00'		# EFI boot service driver
refuse "not an EFI application" "$f" 'subsystem 11 is not an EFI application \(10\)'
peedit pesig 0 'PX'
refuse "no PE signature" "$f" 'no PE signature'
f=$(mk nokernel); mdel -i "$f@@$esp_off" ::/tern/kernel.elf
refuse "missing kernel" "$f" 'ESP: \\tern\\kernel.elf is missing'
f=$(mk badkernel); mcopy -o -i "$f@@$esp_off" "$B/BOOTX64.EFI" ::/tern/kernel.elf
refuse "kernel not ELF" "$f" 'kernel.elf is not an ELF64'
f=$(mk nocmdline); mdel -i "$f@@$esp_off" ::/tern/cmdline
refuse "missing cmdline" "$f" 'ESP: \\tern\\cmdline is missing'
f=$(mk odd); truncate -s $((size + 512)) "$f"
refuse "raw size not whole MiB" "$f" 'raw image size 67109376 is not a whole number of MiB'
f=$(mk shrunk); truncate -s $((size - 1048576)) "$f"	# backup header cut off
refuse "disk cut short" "$f" 'GPT: primary header puts the backup at LBA [0-9]+, the last LBA is'

# --- broken VHDs -----------------------------------------------------
mkv() { cp "$vhd" "$tmp/$1.vhd"; echo "$tmp/$1.vhd"; }
f=$(mkv cookie); poke "$f" "$foot" 'X'
refuse "VHD cookie" "$f" 'VHD: footer cookie is not "conectix"'
f=$(mkv sum); flip "$f" $((foot + 27))		# timestamp, sum left stale
refuse "VHD checksum" "$f" 'VHD: footer checksum 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}'
f=$(mkv dynamic); poke "$f" $((foot + 63)) '\x03'; vhd_fix_sum "$f"
refuse "VHD type dynamic" "$f" 'VHD: disk type 3 \(dynamic\) is not fixed \(2\)'
f=$(mkv bigger); poke "$f" $((foot + 48)) '\x00\x00\x00\x00\x08\x00\x00\x00'; vhd_fix_sum "$f"
refuse "VHD size mismatch" "$f" 'VHD: virtual size 134217728 does not match the 67108864 data bytes'
f=$(mkv notmib); poke "$f" $((foot + 48)) '\x00\x00\x00\x00\x04\x00\x02\x00'; vhd_fix_sum "$f"
refuse "VHD size not whole MiB" "$f" 'VHD: virtual size 67109376 is not a whole number of MiB'
f=$(mkv chs); poke "$f" $((foot + 56)) '\xff\xff\x10\xff'; vhd_fix_sum "$f"
refuse "VHD geometry" "$f" 'VHD: geometry 65535/16/255 is not the spec.s 963/8/17'
f=$(mkv dataoff); poke "$f" $((foot + 16)) '\x00\x00\x00\x00\x00\x00\x02\x00'; vhd_fix_sum "$f"
refuse "VHD data offset of a dynamic disk" "$f" 'VHD: data offset is not 0xffffffffffffffff'
f=$(mkv noid); poke "$f" $((foot + 68)) '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'; vhd_fix_sum "$f"
refuse "VHD unique id zero" "$f" 'VHD: unique id is all zeros'
refuse "raw disk named as VHD" "$raw" 'VHD: footer cookie' --format vhd
# What qemu-img writes: without force_size it rounds the size up to a
# CHS geometry (the classic VHD Azure rejects); with it, the size is kept
# but the geometry is the 65535/16/255 marker rather than the spec's.
qemu-img convert -q -f raw -O vpc -o subformat=fixed "$raw" "$tmp/qi.vhd"
refuse "qemu-img fixed VHD without force_size" "$tmp/qi.vhd" 'VHD: virtual size [0-9]+ is not a whole number of MiB'
qemu-img convert -q -f raw -O vpc -o subformat=fixed,force_size "$raw" "$tmp/qi.vhd"
refuse "qemu-img fixed VHD with force_size" "$tmp/qi.vhd" 'VHD: geometry 65535/16/255 is not the spec.s 963/8/17'
rm -f "$tmp/qi.vhd"


# --- hostile input: random damage never crashes the checker ----------
# The checker is built with ASan/UBSan (HOST_CFLAGS); their exit codes are
# moved off 0/1 so a memory error cannot pass for a refusal.
crash=0
mkdir -p "$B/test-logs"
cp "$raw" "$tmp/fuzz.img"
for i in $(seq 1 40); do
	# Every damaged byte lies in the first 2 MiB: restore just those.
	dd if="$raw" of="$tmp/fuzz.img" bs=1M count=2 conv=notrunc status=none
	for _ in 1 2 3 4; do
		# Damage the GPT, the FAT metadata or the directories.
		case $((RANDOM % 3)) in
		0) off=$((RANDOM % 34 * 512 + RANDOM % 512)) ;;
		1) off=$((esp_off + RANDOM % 8 * 4096 + RANDOM % 4096)) ;;
		*) off=$((esp_off + (RANDOM % 2048) * 512 + RANDOM % 512)) ;;
		esac
		printf -v byte '\\x%02x' $((RANDOM % 256))
		poke "$tmp/fuzz.img" "$off" "$byte"
	done
	ASAN_OPTIONS=exitcode=90 UBSAN_OPTIONS=exitcode=91:halt_on_error=1 \
		"$CHECK" "$tmp/fuzz.img" >"$tmp/fuzz.out" 2>&1
	rc=$?
	if [ $rc -gt 1 ] || [ "$(wc -l <"$tmp/fuzz.out")" -ne 1 ]; then
		crash=$((crash + 1))
		cp "$tmp/fuzz.img" "$B/test-logs/check-image-crash-$i.img" 2>/dev/null
		head -n 5 "$tmp/fuzz.out"
	fi
done
[ $crash -eq 0 ] && pass "40 randomly damaged images: exit 0 or 1, one line each" ||
	fail "$crash randomly damaged images crashed or misreported (kept in $B/test-logs/)"

exit $failed
