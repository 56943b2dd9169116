# platform_lib.sh - helpers shared by the platform_*.sh integration tests
# (issue 3).  Sourced, not run.  One QEMU boot per case: the kernel gets
# "exit=boot_ok log=debug" through fw_cfg and leaves through isa-debug-exit
# (status 33) right after TERN BOOT_OK.
#
# When the image, QEMU or OVMF is missing the test prints "SKIP <why>" and
# exits 0, so a tree whose kernel does not boot yet is not reported as a
# platform failure.
B=${B:-build}
PLAT_IMG=${TERN_IMG:-$B/tern-qemu.img}
PLAT_LOGDIR=$B/test-logs/platform
PLAT_OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
PLAT_OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
PLAT_TIMEOUT=${PLAT_TIMEOUT:-400}
plat_failed=0

plat_prereq() {
	local what
	for what in "$PLAT_IMG" "$PLAT_OVMF_CODE" "$PLAT_OVMF_VARS"; do
		if [ ! -f "$what" ]; then
			echo "SKIP $1: $what missing"
			exit 0
		fi
	done
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "SKIP $1: qemu-system-x86_64 missing"
		exit 0
	fi
	mkdir -p "$PLAT_LOGDIR"
}

# plat_boot <case> [extra qemu args...]: boots once; the serial log is
# $PLAT_LOGDIR/<case>.log and the QEMU status is in $plat_rc.
plat_boot() {
	local name=$1
	shift
	local log=$PLAT_LOGDIR/$name.log vars=$PLAT_LOGDIR/$name.vars.fd
	cp "$PLAT_OVMF_VARS" "$vars"
	timeout "$PLAT_TIMEOUT" qemu-system-x86_64 -nodefaults -display none \
		-m 512 -smp 1 -no-reboot \
		-drive if=pflash,format=raw,unit=0,readonly=on,file="$PLAT_OVMF_CODE" \
		-drive if=pflash,format=raw,unit=1,file="$vars" \
		-drive if=none,id=boot,format=raw,snapshot=on,file="$PLAT_IMG" \
		-device virtio-blk-pci,drive=boot,disable-legacy=on \
		-serial file:"$log" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg name=opt/tern/cmdline,string="exit=boot_ok log=debug" \
		"$@" </dev/null >"$log.qemu" 2>&1
	plat_rc=$?
	rm -f "$vars"
	tr -d '\r' <"$log" >"$log.txt" 2>/dev/null || : >"$log.txt"
}

# plat_check <case> <description> <extended regex>: one PASS/FAIL line.
plat_check() {
	local name=$1 desc=$2 re=$3
	if grep -Eq -- "$re" "$PLAT_LOGDIR/$name.log.txt"; then
		echo "PASS $name: $desc"
	else
		echo "FAIL $name: $desc (no line matching /$re/)"
		plat_failed=1
	fi
}

plat_check_absent() {
	local name=$1 desc=$2 re=$3
	if grep -Eq -- "$re" "$PLAT_LOGDIR/$name.log.txt"; then
		echo "FAIL $name: $desc (unexpected /$re/)"
		plat_failed=1
	else
		echo "PASS $name: $desc"
	fi
}

plat_check_exit() {
	local name=$1
	if [ "$plat_rc" -eq 33 ]; then
		echo "PASS $name: reached TERN BOOT_OK and exited (33)"
	else
		echo "FAIL $name: qemu status $plat_rc, expected 33"
		plat_failed=1
		tail -n 40 "$PLAT_LOGDIR/$name.log.txt"
	fi
}

plat_dump_markers() {
	grep -E '^TERN (PLATFORM|CLOCK|PCI|BOOT_OK|FAIL|PANIC)' \
		"$PLAT_LOGDIR/$1.log.txt" || true
}
