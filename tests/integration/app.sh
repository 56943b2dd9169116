#!/usr/bin/env bash
# app.sh - the runtime's handling of workload packages on QEMU (issue 6):
# a corrupt ELF, a bad manifest and a missing package each stop the boot
# with their TERN FAIL line; a workload that exits non-zero is restarted
# per its policy (restart=on-failure, backoff doubling from 100 ms); one
# with restart=never ends in a power-off.  The workload is
# tests/pal/workload.c, which logs two lines and returns 40 + argc.
# Issue 15: with env.MODE=faults the same workload faults in its own code
# (a NULL write, ud2, a NULL read on a second thread): each run ends with
# APP_EXIT reason=fault and is restarted, the kernel does not panic (a
# fault in kernel code inside a PAL call still does); with
# ptfail=1 page-table memory runs out while it creates threads and it sees
# PAL_ENOMEM; no frame is writable and executable once its text is mapped.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

manifest() {	# manifest <file> <restart>
	cat >"$1" <<EOM
name = exiter
restart = $2
backoff_ms = 100
backoff_max_ms = 400
env.ANSWER = 42
#PATCHME#xyz
EOM
}
manifest "$tmp/m-fail" on-failure
manifest "$tmp/m-never" never
sed -e 's/^name = exiter/name = faulter/' -e 's/^env.ANSWER = 42/env.MODE = faults/' \
	"$tmp/m-fail" >"$tmp/m-faults"
for k in fail never faults; do
	"$B/tools/mkpkg" -o "$tmp/$k.pkg" -m "$tmp/m-$k" -e "$B/tests/pal/workload.elf" ||
		{ echo "FAIL app: mkpkg $k"; exit 1; }
done
# Same-length byte patches, then the checksum (offset 20, over [24,
# total): FNV-1a 64 by 8-byte words, folded, docs/packages.md) is
# recomputed so only the intended defect remains.
patch() {	# patch <in> <out> <python bytes old> <python bytes new>
	python3 - "$1" "$2" "$3" "$4" <<'EOP'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
old, new = eval(sys.argv[3]), eval(sys.argv[4])
i = d.find(old)
assert i > 0 and len(old) == len(new), "pattern not found"
d[i:i + len(old)] = new
h, M, P, body = 0xcbf29ce484222325, (1 << 64) - 1, 0x100000001b3, d[24:]
n8 = len(body) // 8 * 8
for (w,) in struct.iter_unpack('<Q', body[:n8]):
    h = ((h ^ w) * P) & M
for b in body[n8:]:
    h = ((h ^ b) * P) & M
struct.pack_into('<I', d, 20, (h ^ (h >> 32)) & 0xffffffff)
open(sys.argv[2], 'wb').write(d)
EOP
}
patch "$tmp/fail.pkg" "$tmp/badelf.pkg" "b'\\x7fELF'" "b'\\x7fELG'"
patch "$tmp/fail.pkg" "$tmp/badman.pkg" "b'#PATCHME#xyz'" "b'colour = red'"

image() {	# image <name> [pkg]
	tools/mkimage.sh "$tmp/$1.img" 64 "$B/BOOTX64.EFI" "$B/kernel.boot.elf" images/qemu.cmdline ${2:-}
}

# Refused packages: the boot stops with FAIL (QEMU exit 67).
for k in badelf badman nopkg; do
	if [ $k = nopkg ]; then image $k; else image $k "$tmp/$k.pkg"; fi
	TERN_IMG=$tmp/$k.img qemu_boot "app_$k" 120 ""
	expect_rc "app_$k" "the boot stops with TERN FAIL" 67
done
expect_line app_badelf "corrupt ELF named" '^TERN FAIL stage=app reason=elf_bad_magic$'
expect_line app_badman "bad manifest named" '^TERN FAIL stage=app reason=manifest_unknown_key$'
expect_line app_nopkg "missing package named" '^TERN FAIL stage=app reason=no_package$'
expect_no_line app_badelf "nothing started" '^TERN APP_START'

# restart=on-failure: exit code 41, restarted; three runs are enough.
image fail "$tmp/fail.pkg"
TERN_IMG=$tmp/fail.img qemu_start app_restart ""
wait_marker app_restart '^TERN APP_START name=exiter' 120 >/dev/null
t=0
while [ "$(grep -c '^TERN APP_EXIT name=exiter code=41$' "$QLOGS/qemu-app_restart.log")" -lt 3 ] && [ $t -lt 60 ]; do
	sleep 1; t=$((t + 1)); _qemu_log app_restart
done
qemu_stop app_restart
n=$(grep -c '^TERN APP_START name=exiter$' "$QLOGS/qemu-app_restart.log")
if [ "$n" -ge 3 ]; then echo "PASS app_restart: restarted after exits ($n starts)"; else
	echo "FAIL app_restart: $n starts"; harness_failed=1; fi
expect_line app_restart "exit code reported" '^TERN APP_EXIT name=exiter code=41$'
expect_line app_restart "workload logs under its name" 'info  exiter: hello from$'
expect_line app_restart "backoff doubles" 'restarting exiter in 200 ms'
expect_line app_restart "resources freed between runs" 'exiter: freed [0-9]+ allocations'
expect_no_line app_restart "no panic" '^TERN (PANIC|FAIL)'

# restart=never: one run, then power-off (QEMU exit 39).
image never "$tmp/never.pkg"
TERN_IMG=$tmp/never.img qemu_boot app_never 120 ""
expect_rc app_never "powered off after the workload ended" 39
expect_line app_never "exit reported" '^TERN APP_EXIT name=exiter code=41$'

# Faults in the workload end the run, not the kernel: three runs end by
# faults and are restarted; the fourth makes the kernel fault inside a PAL
# call, which is the kernel's fault and panics (QEMU exit 65).
image faults "$tmp/faults.pkg"
TERN_IMG=$tmp/faults.img qemu_boot app_faults 120 "ptfail=1"
expect_rc app_faults "a kernel fault in a PAL call still panics" 65
expect_line app_faults "... reported as a kernel page fault at 0x8" \
	'^TERN PANIC vector=14 name=page-fault .*rip=0xffffffff8[0-9a-f]+ cr2=0x0*8$'
n=$(grep -c '^TERN \(PANIC\|FAIL\)' "$QLOGS/qemu-app_faults.log")
if [ "$n" -eq 1 ]; then echo "PASS app_faults: no panic before the PAL-call fault"; else
	echo "FAIL app_faults: $n PANIC/FAIL lines (want 1)"; harness_failed=1; fi
expect_line app_faults "NULL write: reason=fault, rip and cr2" \
	'^TERN APP_EXIT name=faulter reason=fault vector=14 addr=0xffffd[0-9a-f]+ cr2=0x0$'
expect_line app_faults "a faulted run's memory is freed" 'faulter: freed 1 allocations \(4096 bytes\)'
expect_line app_faults "ud2: reason=fault vector=6" \
	'^TERN APP_EXIT name=faulter reason=fault vector=6 addr=0xffffd[0-9a-f]+$'
expect_line app_faults "fault on a second thread" 'faults: thread reads address 0'
expect_line app_faults "restarted after a fault" 'restarting faulter in 200 ms'
expect_line app_faults "page-table exhaustion injected" 'page-table allocation refused'
expect_line app_faults "thread_create returned PAL_ENOMEM" 'faults: thread_create -> PAL_ENOMEM'
n=$(grep -c '^TERN APP_EXIT name=faulter reason=fault' "$QLOGS/qemu-app_faults.log")
if [ "$n" -eq 3 ]; then echo "PASS app_faults: three runs ended by faults"; else
	echo "FAIL app_faults: $n runs ended by faults (want 3)"; harness_failed=1; fi
expect_line app_faults "workload text has no writable alias" \
	'^TERN WX_CHECK where=app exec_pages=[1-9][0-9]* wx_pages=0$'
expect_no_line app_faults "no W+X frame" '^TERN WX_CHECK .* wx_pages=[1-9]'
finish
