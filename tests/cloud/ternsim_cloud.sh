#!/usr/bin/env bash
# ternsim_cloud.sh - the boot wiring of cloud= (pal/pal_cloud.c) end to
# end: build/tools/ternsim (virtio-net over the device simulator, the
# netstack, cloud/, the PAL runtime, the real httpd package) on a TAP
# device in a private network namespace, against fake metadata services
# (tests/cloud/fake_services.py) bound to 169.254.169.254 and
# 168.63.129.16 inside that namespace.  Traffic never leaves it.
#
#   tc0 in the namespace: 169.254.0.1/16 (the guest's gateway),
#   169.254.169.254/16 (IMDS), 168.63.129.16/32 (WireServer, reached
#   through the gateway); the guest: ip=169.254.0.10/16 gw=169.254.0.1
#   (static, so no DHCP option 245: the default WireServer address).
#
# Scenarios (PASS/FAIL lines): EC2 with user data; Azure with a 500 on
# the first health report; Azure with bad user data; Azure over DHCP
# (dnsmasq, option 245 -> a WireServer on 169.254.169.253); EC2 with no
# metadata service at all.  Bounded: every wait has a limit; ~45 s.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
SIM=$B/tools/ternsim
PKG=$B/apps/httpd.pkg
L=$B/test-logs/ternsim_cloud
NS=tern-cloud-$$
FAKE=tests/cloud/fake_services.py
rm -rf "$L"
mkdir -p "$L"
failed=0
pids=()

pass() { echo "PASS ternsim_cloud: $*"; }
fail() { echo "FAIL ternsim_cloud: $*"; failed=1; }
nsx() { ip netns exec "$NS" "$@"; }
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

if [ ! -x "$SIM" ] || [ ! -f "$PKG" ]; then
	make --no-print-directory "$SIM" "$PKG" >/dev/null ||
		{ fail "build: $SIM $PKG"; exit 1; }
fi
if ! ip netns add "$NS" 2>/dev/null; then
	fail "setup: cannot create network namespace $NS (need root)"
	exit 1
fi
nsx ip link set lo up
nsx ip tuntap add dev tc0 mode tap &&
nsx ip addr add 169.254.0.1/16 dev tc0 &&
nsx ip addr add 169.254.169.254/16 dev tc0 &&
nsx ip addr add 168.63.129.16/32 dev tc0 &&
nsx ip link set tc0 up || { fail "setup: tap device tc0"; exit 1; }

# fake <name> [fake_services.py args]: background, log in $L/<name>.jsonl
fake() {
	local name=$1
	shift
	ip netns exec "$NS" python3 "$FAKE" --log="$L/$name.jsonl" "$@" >"$L/$name.fake.out" 2>&1 &
	pids+=($!)
	fake_pid=$!
	for _ in $(seq 50); do
		grep -q "fake services up" "$L/$name.fake.out" && return 0
		sleep 0.1
	done
	fail "$name: fake services did not start ($L/$name.fake.out)"
	return 1
}
# sim <name> <cloud>: ternsim in the background
sim() {
	ip netns exec "$NS" "$SIM" --platform=qemu --tap=tc0 --pkg="$PKG" \
		--cmdline="ip=169.254.0.10/16 gw=169.254.0.1 cloud=$2" >"$L/$1.log" 2>&1 &
	pids+=($!)
	sim_pid=$!
}
# wait_line <name> <ERE> <seconds>
wait_line() {
	for _ in $(seq $(($3 * 10))); do
		grep -Eq -- "$2" "$L/$1.log" && return 0
		sleep 0.1
	done
	return 1
}
stop() { kill "$@" 2>/dev/null; wait "$@" 2>/dev/null; }
count() { grep -c -- "$2" "$L/$1.jsonl" 2>/dev/null || true; }

# ---- EC2: IMDSv2, user data moves the workload to port 8080 ------------
printf '#tern v1\nport=8080\nenv.PORT=8080\n' >"$L/aws.userdata"
fake aws --mode=aws --userdata="$L/aws.userdata"
fp=$fake_pid
sim aws aws
if wait_line aws '^TERN READY port=8080$' 20; then
	grep -qx 'TERN CLOUD provider=aws instance=i-0123456789abcdef0 type=t3.micro region=eu-central-1' \
	    "$L/aws.log" && pass "aws: TERN CLOUD line" || fail "aws: TERN CLOUD line ($L/aws.log)"
	body=$(nsx curl -s -m 5 http://169.254.0.10:8080/healthz)
	[ "$body" = ok ] && pass "aws: user data applied, /healthz on 8080" ||
		fail "aws: /healthz on 8080 got '$body'"
else
	fail "aws: no TERN READY port=8080 in 20 s ($L/aws.log)"
fi
[ "$(count aws '"tokenless": true')" = 0 ] && [ "$(count aws '"method": "PUT"')" -ge 1 ] &&
	[ "$(count aws '"path": "/latest/user-data", "status": 200')" = 1 ] &&
	pass "aws: token first, no tokenless request" ||
	fail "aws: requests ($L/aws.jsonl)"
stop "$sim_pid" "$fp"

# ---- Azure: IMDS, first report gets 500, retry with a fresh goal state --
printf '#tern v1\nport=8080\nenv.PORT=8080\n' >"$L/azure.userdata"
fake azure --mode=azure --userdata="$L/azure.userdata" --health-500=1
fp=$fake_pid
sim azure azure
if wait_line azure '^TERN CLOUD provider=azure' 30; then
	grep -qx 'TERN CLOUD provider=azure vm=02aab8a4-74ef-476e-8182-f6d2ba4166a6 ready=reported' \
	    "$L/azure.log" && pass "azure: TERN CLOUD ... ready=reported" ||
		fail "azure: TERN CLOUD line ($L/azure.log)"
	grep -q '^TERN READY port=8080$' "$L/azure.log" &&
		pass "azure: user data from IMDS applied (READY on 8080)" ||
		fail "azure: no READY on 8080"
else
	fail "azure: no TERN CLOUD in 30 s ($L/azure.log)"
fi
sleep 1
ok=$(count azure '"state": "Ready"')
gs=$(count azure '"path": "/machine/?comp=goalstate"')
if [ "$(count azure '"injected": true')" = 1 ] && [ "$gs" = 2 ] && [ "$ok" = 1 ] &&
    grep '"state": "Ready"' "$L/azure.jsonl" | grep -q '"incarnation": "2".*"status": 200'; then
	pass "azure: 500, fresh goal state (incarnation 2), one Ready report accepted"
else
	fail "azure: reports ($gs goal states, $ok Ready; $L/azure.jsonl)"
fi
[ "$(count azure no_metadata_header)$(count azure no_version_header)$(count azure '"bad"')" = 000 ] &&
	pass "azure: Metadata and x-ms-version headers, report fields all correct" ||
	fail "azure: header or field errors ($L/azure.jsonl)"
stop "$sim_pid" "$fp"

# ---- Azure: bad user data -> NotReady, TERN FAIL stage=config ----------
printf '#tern v1\nport=0\n' >"$L/azbad.userdata"
fake azbad --mode=azure --userdata="$L/azbad.userdata"
fp=$fake_pid
sim azbad azure
if wait_line azbad '^TERN FAIL stage=config reason=userdata_bad_port$' 30; then
	pass "azure bad user data: TERN FAIL stage=config reason=userdata_bad_port"
	grep -q '"state": "NotReady".*"description": "stage=config reason=userdata_bad_port".*"status": 200' \
	    "$L/azbad.jsonl" && pass "azure bad user data: NotReady reported with the reason" ||
		fail "azure bad user data: no NotReady report ($L/azbad.jsonl)"
	grep -q '^TERN APP_START' "$L/azbad.log" && fail "azure bad user data: the workload started"
else
	fail "azure bad user data: no TERN FAIL stage=config in 30 s ($L/azbad.log)"
fi
stop "$sim_pid" "$fp"

# ---- Azure over DHCP: WireServer from option 245 -----------------------
# dnsmasq (when installed) leases 169.254.0.10 with option 245 =
# 169.254.169.253, where the WireServer fake listens instead of the default.
if command -v dnsmasq >/dev/null; then
	nsx ip addr add 169.254.169.253/32 dev tc0
	ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--interface=tc0 --bind-interfaces --dhcp-authoritative \
		--dhcp-range=169.254.0.10,169.254.0.10,255.255.0.0,1h \
		--dhcp-option=3,169.254.0.1 --dhcp-option=245,169.254.169.253 \
		--dhcp-leasefile="$L/leases" --pid-file= >"$L/dnsmasq.log" 2>&1 &
	pids+=($!)
	dp=$!
	fake dhcp --mode=azure --ws=169.254.169.253
	fp=$fake_pid
	ip netns exec "$NS" "$SIM" --platform=qemu --tap=tc0 --pkg="$PKG" \
		--cmdline="cloud=azure" >"$L/dhcp.log" 2>&1 &
	pids+=($!)
	sim_pid=$!
	if wait_line dhcp '^TERN CLOUD provider=azure' 30; then
		grep -q 'WireServer 169.254.169.253 (DHCP option 245)' "$L/dhcp.log" &&
		    grep -qx 'TERN CLOUD provider=azure vm=02aab8a4-74ef-476e-8182-f6d2ba4166a6 ready=reported' \
		    "$L/dhcp.log" && [ "$(count dhcp '"state": "Ready"')" = 1 ] &&
			pass "azure dhcp: WireServer from option 245, Ready reported there" ||
			fail "azure dhcp: ($L/dhcp.log, $L/dhcp.jsonl)"
	else
		fail "azure dhcp: no TERN CLOUD in 30 s ($L/dhcp.log)"
	fi
	stop "$sim_pid" "$fp" "$dp"
else
	echo "NOTE ternsim_cloud: dnsmasq not installed: DHCP option 245 scenario skipped"
fi

# ---- EC2 without a metadata service: serve anyway ----------------------
sim down aws
if wait_line down '^TERN READY port=80$' 40; then
	grep -q '^TERN CLOUD provider=aws metadata=unavailable reason=' "$L/down.log" &&
		pass "aws down: metadata=unavailable, then READY on the package's port" ||
		fail "aws down: no metadata=unavailable line"
	body=$(nsx curl -s -m 5 http://169.254.0.10/healthz)
	[ "$body" = ok ] && pass "aws down: /healthz ok" || fail "aws down: /healthz got '$body'"
else
	fail "aws down: no TERN READY port=80 in 40 s ($L/down.log)"
fi
stop "$sim_pid"
exit $failed
