#!/usr/bin/env bash
# bench-net.sh - `make bench-net`: tern's netstack on the host (the
# performance build of tools/netdemo: -O2, no sanitizers) against the Linux
# kernel stack with nginx, over the same kind of path.
#
# Topology (all private network namespaces, nothing leaves them):
#
#   client ns ($NS): curl, wrk, python
#     tern0 (TAP) 10.78.0.1  <->  10.78.0.2  netdemo (tern netstack)
#     veth0      10.78.1.1  <->  10.78.1.2  nginx in server ns ($NS-srv)
#   and for the demo as a client: nginx in the client ns on 10.78.0.1:8080,
#   reached by `netdemo --get` through the TAP.
#
# Each server sits one virtual link away from the client: for tern the link
# is a TAP device plus the demo process, for Linux a veth pair into another
# namespace; both use the same Linux client stack.  nginx runs one worker
# (the demo is one thread), sendfile on, access log off.
#
# Figures: wrk (1 thread, 8 keep-alive connections, 10 s) on /healthz and
# on a 16 KiB body; bulk TCP both directions (tern sends: curl downloads
# /bytes/N from the demo vs from nginx; tern receives: `netdemo --get`
# from nginx vs curl from nginx, when the demo has tcp_connect), median
# of 3; instructions per keep-alive request with valgrind --tool=callgrind
# (total and the netstack's own functions), from the difference between a
# run of N1 and a run of N2 requests so start-up cancels out.
# Printed side by side with ratios and written to build/bench/net.txt.
# The machine is shared: run it on a quiet machine for stable figures.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
W=$B/bench/net
DEMO=$B/tools/netdemo
NS=tern-bench-$$
SRV=$NS-srv
BULK=${BULK:-268435456}		# bytes per bulk transfer (256 MiB)
N1=${N1:-200}
N2=${N2:-2200}
WRK_SECS=${WRK_SECS:-10}
CLIENT=tests/netstack/tap_client.py
pids=()

die() { echo "bench-net: $*" >&2; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }
srvx() { ip netns exec "$SRV" "$@"; }
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$SRV" 2>/dev/null
}
trap cleanup EXIT

tools/deps.sh wrk nginx-light valgrind ethtool >/dev/null ||
	die "cannot install wrk nginx-light valgrind ethtool"
[ -x "$DEMO" ] || make --no-print-directory "$DEMO" >/dev/null || die "cannot build $DEMO"
mkdir -p "$W/www/bytes"
W=$(cd "$W" && pwd)
for n in 16384 "$BULK"; do
	[ -f "$W/www/bytes/$n" ] || python3 tests/netstack/demo_body.py write "$n" "$W/www/bytes/$n"
done

# ---- namespaces ------------------------------------------------------------
ip netns add "$NS" && ip netns add "$SRV" || die "cannot create namespaces (need root)"
nsx ip link set lo up
srvx ip link set lo up
nsx ip tuntap add dev tern0 mode tap
nsx ip addr add 10.78.0.1/24 dev tern0
nsx ip link set tern0 up
nsx ip link add veth0 type veth peer name veth1
nsx ip link set veth1 netns "$SRV"
nsx ip addr add 10.78.1.1/24 dev veth0
nsx ip link set veth0 up
srvx ip addr add 10.78.1.2/24 dev veth1
srvx ip link set veth1 up

nginx_conf() {	# nginx_conf <name> <listen>
	local d=$W/nginx-$1
	mkdir -p "$d/logs"
	cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000000;
	keepalive_timeout 120;
	default_type application/octet-stream;
	server {
		listen $2;
		root $W/www;
		location = /healthz { default_type text/plain; return 200 "ok\n"; }
	}
}
EOF
	echo "$d"
}
d=$(nginx_conf srv 10.78.1.2:80)
ip netns exec "$SRV" nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" &
pids+=($!)
d=$(nginx_conf cli 10.78.0.1:8080)
ip netns exec "$NS" nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" &
pids+=($!)

start_demo() {	# start_demo <log> [wrapper...]: the demo on tern0
	local log=$1
	shift
	ip netns exec "$NS" "$@" "$DEMO" --tap tern0 --ip 10.78.0.2/24 >"$log" 2>&1 &
	demo_pid=$!
	pids+=("$demo_pid")
}
wait_ok() {	# wait_ok <url> <tries of 0.2 s>
	for _ in $(seq "$2"); do
		[ "$(nsx curl -s -m 2 "$1" 2>/dev/null)" = ok ] && return 0
		sleep 0.2
	done
	return 1
}
start_demo "$W/demo.log"
wait_ok http://10.78.0.2/healthz 50 || die "the demo does not answer (see $W/demo.log)"
wait_ok http://10.78.1.2/healthz 50 || die "nginx does not answer (see $W/nginx-srv/logs)"

# ---- requests/s ------------------------------------------------------------
wrk_rps() {	# wrk_rps <url>
	nsx wrk -t1 -c8 -d"${WRK_SECS}s" "$1" >"$W/wrk.out" 2>&1
	awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$W/wrk.out"
	cat "$W/wrk.out" >>"$W/wrk.log"
}
: >"$W/wrk.log"
rps_t_h=$(wrk_rps http://10.78.0.2/healthz)
rps_l_h=$(wrk_rps http://10.78.1.2/healthz)
rps_t_b=$(wrk_rps http://10.78.0.2/bytes/16384)
rps_l_b=$(wrk_rps http://10.78.1.2/bytes/16384)

# ---- bulk ------------------------------------------------------------------
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
curl_mbit() {	# curl_mbit <url> <bytes>: Mbit/s, or 0 when the size is wrong
	local out
	out=$(nsx curl -sS -m 120 -o /dev/null -w '%{size_download} %{speed_download}' "$1")
	awk -v n="$2" '{ if ($1 == n) printf "%.0f", $2 * 8 / 1e6; else print 0 }' <<<"$out"
}
a=() b=()
for _ in 1 2 3; do
	a+=("$(curl_mbit "http://10.78.0.2/bytes/$BULK" "$BULK")")
	b+=("$(curl_mbit "http://10.78.1.2/bytes/$BULK" "$BULK")")
done
bulk_t_tx=$(median3 "${a[@]}")
bulk_l=$(median3 "${b[@]}")
# The veth normally carries 64 KiB GSO/TSO super-segments and GRO merges
# them again, while the TAP path moves one 1514-byte frame per syscall.
# The same Linux pair with those offloads off moves MTU-sized segments.
nsx ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
srvx ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1
b=()
for _ in 1 2 3; do
	b+=("$(curl_mbit "http://10.78.1.2/bytes/$BULK" "$BULK")")
done
bulk_l_nooff=$(median3 "${b[@]}")

bulk_t_rx=""
if [ "$("$DEMO" --features)" = "get=yes" ]; then
	kill "$demo_pid"; wait "$demo_pid" 2>/dev/null
	a=()
	for _ in 1 2 3; do
		out=$(nsx "$DEMO" --tap tern0 --ip 10.78.0.2/24 --get 10.78.0.1 8080 \
			"/bytes/$BULK" /dev/null --timeout 120 2>&1)
		a+=("$(sed -n 's/.*get bytes='"$BULK"' .*mbit_s=\([0-9.]*\) ok=1.*/\1/p' <<<"$out" | cut -d. -f1)")
		[ -n "${a[-1]}" ] || { a[-1]=0; echo "bench-net: --get: $out" >&2; }
	done
	bulk_t_rx=$(median3 "${a[@]}")
	start_demo "$W/demo2.log"
	wait_ok http://10.78.0.2/healthz 50 || die "the demo does not answer after --get"
fi

# ---- instructions per request (callgrind) ----------------------------------
# Callgrind's total (Ir), and the self cost of the netstack's own files
# (netstack/*.[ch], not netstack/host/, plus the kernel/lib it uses).
cg_sum() {	# cg_sum <callgrind.out> -> "total netstack"
	callgrind_annotate --inclusive=no --threshold=100 --auto=no "$1" 2>/dev/null | awk '
		/PROGRAM TOTALS/ { v = $1; gsub(",", "", v); tot = v; next }
		/^ *[0-9,]+ .*:/ {
			v = $1; gsub(",", "", v)
			if ($0 ~ /netstack\/[a-z0-9_]+\.[ch]:/ || $0 ~ /kernel\/lib\//) ns += v
		}
		END { printf "%d %d\n", tot, ns }'
}
cg_run() {	# cg_run <requests>: sets cg_tot and cg_ns
	local out=$W/callgrind.$1
	kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null
	rm -f "$out"
	start_demo "$W/callgrind-$1.log" valgrind --tool=callgrind --callgrind-out-file="$out"
	wait_ok http://10.78.0.2/healthz 150 || die "the demo under callgrind does not answer"
	nsx timeout 600 python3 "$CLIENT" keepalive 10.78.0.2 80 "$1" /healthz >/dev/null ||
		die "keep-alive client failed under callgrind"
	kill -INT "$demo_pid"; wait "$demo_pid" 2>/dev/null
	read -r cg_tot cg_ns < <(cg_sum "$out")
}
cg_run "$N1"
c1_tot=$cg_tot c1_ns=$cg_ns
cg_run "$N2"
c2_tot=$cg_tot c2_ns=$cg_ns
ipr_tot=$(( (c2_tot - c1_tot) / (N2 - N1) ))
ipr_ns=$(( (c2_ns - c1_ns) / (N2 - N1) ))

# ---- report ----------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else print "-" }'; }
{
	echo "bench-net $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-52s %12s %12s %12s\n' "" tern Linux "tern/Linux"
	printf '%-52s %12s %12s %12s\n' "wrk req/s /healthz (1 thread, 8 conns, ${WRK_SECS}s)" \
		"$rps_t_h" "$rps_l_h" "$(ratio "$rps_t_h" "$rps_l_h")"
	printf '%-52s %12s %12s %12s\n' "wrk req/s /bytes/16384" \
		"$rps_t_b" "$rps_l_b" "$(ratio "$rps_t_b" "$rps_l_b")"
	printf '%-52s %12s %12s %12s\n' "bulk Mbit/s, tern sends (curl <- server, median 3)" \
		"$bulk_t_tx" "$bulk_l" "$(ratio "$bulk_t_tx" "$bulk_l")"
	printf '%-52s %12s %12s %12s\n' "  same, Linux with TSO/GSO/GRO off on the veth" \
		"$bulk_t_tx" "$bulk_l_nooff" "$(ratio "$bulk_t_tx" "$bulk_l_nooff")"
	if [ -n "$bulk_t_rx" ]; then
		printf '%-52s %12s %12s %12s\n' "bulk Mbit/s, tern receives (--get <- nginx)" \
			"$bulk_t_rx" "$bulk_l" "$(ratio "$bulk_t_rx" "$bulk_l")"
		printf '%-52s %12s %12s %12s\n' "  same, Linux with TSO/GSO/GRO off on the veth" \
			"$bulk_t_rx" "$bulk_l_nooff" "$(ratio "$bulk_t_rx" "$bulk_l_nooff")"
	else
		printf '%-52s %12s %12s %12s\n' "bulk Mbit/s, tern receives (--get <- nginx)" \
			"not built" "$bulk_l" "-"
	fi
	printf '%-52s %12s\n' "instructions/request, whole demo (callgrind)" "$ipr_tot"
	printf '%-52s %12s\n' "instructions/request, netstack only" "$ipr_ns"
	echo "(bulk: $BULK bytes per transfer; callgrind: ($N2 - $N1) keep-alive /healthz requests)"
} | tee "$W/../net.txt"
