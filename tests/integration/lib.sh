# lib.sh - the QEMU harness for integration tests.  Sourced, not run.
#
#   qemu_boot <name> <timeout_s> <cmdline> [extra qemu args...]
#       Boot $TERN_IMG (default build/tern-qemu.img) headless and wait for
#       QEMU to exit; the exit status is returned and kept in $qemu_rc.
#       The serial log (CR stripped) is build/test-logs/qemu-<name>.log.
#   qemu_start <name> <cmdline> [extra qemu args...]   (background)
#   wait_marker <name> <regex> <timeout_s>              (0 when seen)
#   qemu_stop <name>
#   expect_line <name> <desc> <regex>     prints PASS/FAIL, counts failures
#   expect_no_line <name> <desc> <regex>
#   expect_rc <name> <desc> <rc>
#   finish                                 exits 1 if anything failed
#
# Environment: TERN_IMG (image), TERN_IMG_FMT (its -drive format options,
# default "format=raw"; tests/images/image_boot.sh boots a fixed VHD with
# "format=vpc,force_size_calc=current_size"), TERN_BOOT_DEV=virtio|nvme
# (boot disk device), TERN_QEMU_MEM (default 256M), QEMU_WRAP (qemu_start prefix),
# TERN_NO_DEBUG_EXIT=1 (no isa-debug-exit: exits go through ACPI power-off).  Every run has a timeout; logs
# stay in build/test-logs/ and a failing check prints the log's tail.
B=${B:-build}
TERN_IMG=${TERN_IMG:-$B/tern-qemu.img}
TERN_IMG_FMT=${TERN_IMG_FMT:-format=raw}
TERN_BOOT_DEV=${TERN_BOOT_DEV:-virtio}
TERN_QEMU_MEM=${TERN_QEMU_MEM:-256M}
TERN_OVMF=${TERN_OVMF:-/usr/share/ovmf/OVMF.fd}
QLOGS=$B/test-logs
mkdir -p "$QLOGS"
harness_failed=0
declare -A qemu_pid

_qemu_args() {
	local name=$1 cmdline=$2
	local disk
	case $TERN_BOOT_DEV in
	nvme) disk=(-device nvme,drive=boot,serial=ternboot) ;;
	*) disk=(-device virtio-blk-pci,drive=boot,disable-legacy=on) ;;
	esac
	QARGS=(qemu-system-x86_64 -machine q35 -m "$TERN_QEMU_MEM" -bios "$TERN_OVMF"
		-display none -no-reboot -net none
		-drive if=none,id=boot,file="$TERN_IMG",$TERN_IMG_FMT,snapshot=on
		"${disk[@]}"
		-serial file:"$QLOGS/qemu-$name.raw")
	[ -n "${TERN_NO_DEBUG_EXIT:-}" ] || QARGS+=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)
	[ -n "$cmdline" ] && QARGS+=(-fw_cfg "name=opt/tern/cmdline,string=$cmdline")
}

_qemu_log() {
	tr -d '\r' <"$QLOGS/qemu-$1.raw" >"$QLOGS/qemu-$1.log" 2>/dev/null || : >"$QLOGS/qemu-$1.log"
}

qemu_boot() {
	local name=$1 tmo=$2 cmdline=$3
	shift 3
	[ -f "$TERN_IMG" ] || { echo "FAIL $name: image $TERN_IMG missing"; harness_failed=1; return 1; }
	_qemu_args "$name" "$cmdline"
	timeout --kill-after=5 "$tmo" "${QARGS[@]}" "$@" </dev/null >"$QLOGS/qemu-$name.stderr" 2>&1
	qemu_rc=$?
	_qemu_log "$name"
	[ $qemu_rc -eq 124 ] && echo "qemu $name: timeout after ${tmo}s"
	return $qemu_rc
}

qemu_start() {
	local name=$1 cmdline=$2
	shift 2
	_qemu_args "$name" "$cmdline"
	: >"$QLOGS/qemu-$name.raw"
	# QEMU_WRAP: a command prefix, e.g. "ip netns exec <ns>" for tap tests.
	${QEMU_WRAP:-} "${QARGS[@]}" "$@" </dev/null >"$QLOGS/qemu-$name.stderr" 2>&1 &
	qemu_pid[$name]=$!
}

wait_marker() {
	local name=$1 re=$2 tmo=$3 t=0
	while [ "$t" -lt $((tmo * 5)) ]; do
		if tr -d '\r' <"$QLOGS/qemu-$name.raw" | grep -Eq -- "$re"; then
			_qemu_log "$name"
			return 0
		fi
		if ! kill -0 "${qemu_pid[$name]}" 2>/dev/null; then
			break
		fi
		sleep 0.2
		t=$((t + 1))
	done
	_qemu_log "$name"
	tr -d '\r' <"$QLOGS/qemu-$name.raw" | grep -Eq -- "$re" && return 0
	echo "qemu $name: gave up after ${tmo}s waiting for /$re/"
	return 1
}

qemu_stop() {
	local pid=${qemu_pid[$1]:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	_qemu_log "$1"
}

_fail_tail() {
	echo "--- serial log tail ($QLOGS/qemu-$1.log) ---"
	tail -n 30 "$QLOGS/qemu-$1.log"
	echo "---"
}

expect_line() {
	if grep -Eq -- "$3" "$QLOGS/qemu-$1.log"; then
		echo "PASS $1: $2"
	else
		echo "FAIL $1: $2 (no line matching /$3/)"
		harness_failed=1
		_fail_tail "$1"
	fi
}

expect_no_line() {
	if grep -Eq -- "$3" "$QLOGS/qemu-$1.log"; then
		echo "FAIL $1: $2 (unexpected /$3/)"
		harness_failed=1
		_fail_tail "$1"
	else
		echo "PASS $1: $2"
	fi
}

expect_rc() {
	if [ "$qemu_rc" -eq "$3" ]; then
		echo "PASS $1: $2 (exit $3)"
	else
		echo "FAIL $1: $2 (exit $qemu_rc, expected $3)"
		harness_failed=1
		_fail_tail "$1"
	fi
}

finish() {
	exit $harness_failed
}
