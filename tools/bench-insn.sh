#!/usr/bin/env bash
# bench-insn.sh - instructions per keep-alive /healthz request, per layer
# (issue 20, docs/performance.md "Instructions per request").
#
# build/tools/ternsim (the virtio-net driver over the device simulator,
# the netstack, the PAL runtime and the real httpd package, one Linux
# process) runs under valgrind --tool=callgrind behind a TAP device in a
# private network namespace.  A client in the namespace
# sends keep-alive GET /healthz on one connection, pausing PAUSE_MS after
# each answer.  Callgrind counts instructions, not time, so the
# figure does not move with the load of the machine.
#
# One ternsim, warmed up with WARM requests; then two measured windows
# (callgrind_control --zero before the client starts, --dump after it
# ends), N1 and N2 requests each on a fresh connection.  Per request =
# (window N2 - window N1) / (N2 - N1): the connection's set-up and
# teardown and the idle passes around the client cancel out.  ternsim
# runs with --idle-ms=1000 so that its idle loop wakes for frames, not
# for its 1 ms tick, and the count does not depend on the host's speed.
#
# tools/cg_layers.py splits each window by layer (driver virtio/,
# netstack netstack/, PAL pal/, httpd apps/ and the loaded workload,
# kernel = registry and log, sim = device simulator, seam and ternsim
# glue, reported but not a guest layer); helpers (kernel/lib, libc)
# count for their callers.
#
# Usage: tools/bench-insn.sh            (make bench-insn)
#   N1, N2, WARM: request counts (default 100, 1100, 20); PAUSE_MS (3)
#   TOP=N: also list the N costliest functions of the N2 window
# Output: a table on stdout and in build/bench/insn.txt; the callgrind
# files in build/bench/insn/.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
SIM=$B/tools/ternsim
PKG=$B/apps/httpd.pkg
N1=${N1:-100}
N2=${N2:-1100}
WARM=${WARM:-20}
PAUSE_MS=${PAUSE_MS:-3}
TOP=${TOP:-0}
W=$B/bench/insn
NS=tern-insn-$$
sim_pid=""

die() { echo "bench-insn: $*" >&2; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }
cleanup() {
	[ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
	die "needs valgrind (callgrind, callgrind_control)"
make --no-print-directory "$SIM" "$PKG" >/dev/null || die "build: $SIM $PKG"
rm -rf "$W"
mkdir -p "$W"
ip netns add "$NS" 2>/dev/null || die "cannot create network namespace $NS (need root)"
nsx ip link set lo up
nsx ip tuntap add dev ti0 mode tap && nsx ip addr add 10.77.0.1/24 dev ti0 &&
	nsx ip link set ti0 up || die "tap device ti0"

# Under callgrind: instructions only (no cache simulation), dumps on demand.
ip netns exec "$NS" valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.out" \
	--compress-strings=no --compress-pos=no \
	"$SIM" --platform=qemu --tap=ti0 --pkg="$PKG" --idle-ms=1000 \
	--cmdline="ip=10.77.0.2/24 gw=10.77.0.1" >"$W/ternsim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 600); do
	grep -q '^TERN READY port=80' "$W/ternsim.log" && break
	kill -0 "$sim_pid" 2>/dev/null || die "ternsim exited (log $W/ternsim.log)"
	sleep 0.1
done
grep -q '^TERN READY port=80' "$W/ternsim.log" || die "no TERN READY in 60 s ($W/ternsim.log)"

# The client: <count> GET /healthz on one connection, each answer read
# whole (Content-Length) and checked, then a pause of PAUSE_MS before the
# next request, so that ternsim always goes idle between requests (one
# wake-up per request) whatever the speed of the host under valgrind.
cat >"$W/client.py" <<'PY'
import socket, sys, time
n, pause = int(sys.argv[1]), float(sys.argv[2]) / 1000.0
s = socket.create_connection(("10.77.0.2", 80), timeout=60)
req = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
buf = b""
for i in range(n):
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            sys.exit("closed at request %d" % i)
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    clen = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
            if l.lower().startswith(b"content-length:")][0]
    while len(buf) < clen:
        buf += s.recv(4096)
    if not head.startswith(b"HTTP/1.1 200 ") or buf[:clen] != b"ok":
        sys.exit("request %d: %r" % (i, head[:40]))
    buf = buf[clen:]
    time.sleep(pause)
s.close()
PY
client() {	# client <requests>
	nsx timeout 600 python3 "$W/client.py" "$1" "$PAUSE_MS" >>"$W/client.log" 2>&1 ||
		die "keep-alive client failed ($1 requests; $W/client.log)"
}
cgc() { callgrind_control "$@" "$sim_pid" >/dev/null || die "callgrind_control $*"; }
# window <name> <requests>: zero, run the client, dump; the dump is
# $W/callgrind.out.<n> with n counting dumps from 1.
ndump=0
window() {
	cgc --zero
	client "$2"
	sleep 0.3	# let the close finish
	cgc --dump="$1"
	ndump=$((ndump + 1))
	local f
	f=$(ls -t "$W"/callgrind.out.* 2>/dev/null | head -1)
	[ -n "$f" ] || die "no callgrind dump for window $1"
	mv "$f" "$W/win-$1.out"
}
client "$WARM"
window n1 "$N1"
window n2 "$N2"
window n1b "$N1"
kill -TERM "$sim_pid"; wait "$sim_pid" 2>/dev/null; sim_pid=""

img=$(sed -n 's/.*ternsim: image at \(0x[0-9a-f]*\), \([0-9]*\) bytes.*/\1:\2/p' "$W/ternsim.log" | head -1)
[ -n "$img" ] || die "no 'image at' line in $W/ternsim.log"
CGL="python3 tools/cg_layers.py --image=$img --elf=$B/apps/httpd.elf --calls=time_now_ns,kmalloc,virtq_kick,sim_notify,virtio_check_broken,virtio_cfg16"
declare -A L1 L2 L1b
layers="driver netstack pal httpd kernel sim other total"
counts="time_now_ns kmalloc virtq_kick sim_notify virtio_check_broken virtio_cfg16"
read_layers() {	# read_layers <assoc name> <file>
	local -n arr=$1
	local kv
	for kv in $($CGL "$2"); do arr[${kv%%=*}]=${kv#*=}; done
}
read_layers L1 "$W/win-n1.out"
read_layers L2 "$W/win-n2.out"
read_layers L1b "$W/win-n1b.out"

{
	echo "bench-insn $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD 2>/dev/null)" \
		"instructions per keep-alive GET /healthz: (window of $N2 - window of $N1) / $((N2 - N1))"
	printf '%-10s %12s\n' layer "insn/req"
	guest=0
	for l in $layers; do
		d=$(( (L2[$l] - L1[$l]) / (N2 - N1) ))
		case $l in driver|netstack|pal|httpd|kernel) guest=$((guest + d)) ;; esac
		[ "$l" = total ] && printf '%-10s %12s\n' "guest" "$guest"
		printf '%-10s %12s\n' "$l" "$d"
	done
	echo "(guest = driver + netstack + pal + httpd + kernel; sim = device simulator," \
		"seam and ternsim glue, not a guest cost)"
	for c in $counts; do
		printf '%-24s %8s\n' "calls/req $c" \
			"$(awk -v a="${L1[calls.$c]}" -v b="${L2[calls.$c]}" -v n=$((N2 - N1)) \
			'BEGIN { printf "%.2f", (b - a) / n }')"
	done
	echo "repeat check: window of $N1 requests twice: total ${L1[total]} vs ${L1b[total]}" \
		"($(awk -v a="${L1[total]}" -v b="${L1b[total]}" 'BEGIN { printf "%+.2f%%", (b - a) * 100 / a }'))"
	if [ "$TOP" -gt 0 ]; then
		echo "costliest functions, window of $N2 requests (Ir, self + helpers):"
		$CGL --funcs="$TOP" "$W/win-n2.out" | tail -n +2
	fi
} | tee "$W/../insn.txt"
