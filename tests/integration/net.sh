#!/usr/bin/env bash
# net.sh - the kernel's network on QEMU: DHCP on QEMU user networking
# gives TERN NET_UP with slirp's addresses; on a tap device inside a
# private network namespace, a statically configured guest answers ping
# from the Linux side; then, as a KVM/libvirt user runs it (a tap with a
# vnet header, dnsmasq handing out the lease), the workload serves HTTP to
# Linux's TCP, whose segments arrive with partial checksums (NEEDS_CSUM).
# Traffic stays inside the namespace.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

qemu_boot dhcp 120 "exit=net_up" -netdev user,id=n0 \
	-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on
expect_rc dhcp "NET_UP reached and exited" 41
expect_line dhcp "DHCP lease from slirp" '^TERN NET_UP ip=10\.0\.2\.15/24 gw=10\.0\.2\.2 dns=10\.0\.2\.3$'

ns=tern-net-$$
cleanup() {
	qemu_stop ping 2>/dev/null
	qemu_stop dhcptap 2>/dev/null
	[ -n "${dnsmasq_pid:-}" ] && kill "$dnsmasq_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
if ! ip netns add "$ns" 2>/dev/null; then
	echo "FAIL ping: cannot create a network namespace (need root)"
	exit 1
fi
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev tap0 mode tap
ip netns exec "$ns" ip addr add 10.99.0.1/24 dev tap0
ip netns exec "$ns" ip link set tap0 up
QEMU_WRAP="ip netns exec $ns" qemu_start ping "ip=10.99.0.2/24 gw=10.99.0.1 dns=10.99.0.1" \
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
	-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on
if wait_marker ping '^TERN NET_UP' 120; then
	expect_line ping "static address from the command line" '^TERN NET_UP ip=10\.99\.0\.2/24 gw=10\.99\.0\.1 dns=10\.99\.0\.1$'
	if ip netns exec "$ns" ping -c 3 -W 3 10.99.0.2 >"$QLOGS/ping.out" 2>&1; then
		echo "PASS ping: the guest answers ICMP echo ($(grep -o '[0-9]* received' "$QLOGS/ping.out"))"
	else
		echo "FAIL ping: no echo replies"
		cat "$QLOGS/ping.out"
		harness_failed=1
	fi
	# A large ping exercises bigger frames; a flood of bad frames must
	# not stop the guest from answering afterwards.
	if ip netns exec "$ns" ping -c 2 -s 1400 -W 3 10.99.0.2 >>"$QLOGS/ping.out" 2>&1; then
		echo "PASS ping: 1400-byte echo answered"
	else
		echo "FAIL ping: 1400-byte echo not answered"
		harness_failed=1
	fi
else
	echo "FAIL ping: no TERN NET_UP on the tap network"
	harness_failed=1
fi
qemu_stop ping

# tap_http <addr>: the workload over the tap, from Linux's TCP in the
# namespace.  QEMU enables checksum offload on the tap for a guest with
# GUEST_CSUM, so Linux hands the guest TCP segments with NEEDS_CSUM and only
# the pseudo-header sum in the checksum field; /stats must show them
# trusted as partial, not dropped as bad checksums.
tap_http() {
	local url=http://$1 nsx="ip netns exec $ns"
	if ! wait_marker dhcptap '^TERN READY port=80$' 60; then
		echo "FAIL tap-http: no TERN READY"
		harness_failed=1
		return
	fi
	tcheck() {	# tcheck <name> <expected> <actual>
		if [ "$2" = "$3" ]; then echo "PASS tap-http: $1"; else
			echo "FAIL tap-http: $1 (expected '$2', got '$3')"; harness_failed=1; fi
	}
	tcheck "GET /healthz over the tap" ok "$($nsx curl -s -m 10 "$url/healthz")"
	[ "$($nsx curl -s -m 10 "$url/healthz")" = ok ] || return	# no TCP: the rest would only time out
	$nsx curl -s -m 60 -o "$QLOGS/tap-big" "$url/big.bin"
	tcheck "GET /big.bin (256 KiB) byte for byte" same \
		"$(cmp -s "$QLOGS/tap-big" "$B/apps/httpd/big.bin" && echo same)"
	local ok=0 i
	for i in $(seq 1 100); do
		[ "$($nsx curl -s -m 10 "$url/healthz")" = ok ] && ok=$((ok + 1))
	done
	tcheck "100 sequential connections" 100 "$ok"
	local pids=()
	for i in $(seq 1 20); do
		$nsx curl -s -m 30 "$url/healthz" "$url/healthz" "$url/healthz" "$url/healthz" \
			"$url/healthz" >"$QLOGS/tap-par-$i.out" &
		pids+=($!)
	done
	wait "${pids[@]}"
	tcheck "20 concurrent keep-alive connections x 5 requests" 100 \
		"$(cat "$QLOGS"/tap-par-*.out | grep -o ok | wc -l)"
	rm -f "$QLOGS"/tap-par-*.out
	$nsx curl -s -m 10 -o "$QLOGS/tap-stats.json" "$url/stats"
	tcheck "partial checksums trusted, none dropped as bad" yes "$(python3 -c "
import json; d=json.load(open('$QLOGS/tap-stats.json'))
ok = d['net.rx_csum_partial'] > 100 and d['tcp.bad_csum'] == 0 and d['nic.rx_bad_offload'] == 0
print('yes' if ok else 'no: partial %d, bad_csum %d, bad_offload %d' % (d['net.rx_csum_partial'], d['tcp.bad_csum'], d['nic.rx_bad_offload']))" 2>&1)"
	# QEMU offers HOST_TSO4 on a tap with a vnet header: big.bin above
	# left as TSO frames the host kernel segmented (byte for byte).
	tcheck "big.bin sent as TSO frames" yes "$(python3 -c "
import json; d=json.load(open('$QLOGS/tap-stats.json'))
print('yes' if d['tcp.tso_frames'] > 0 and d['nic.tso_frames'] == d['tcp.tso_frames'] else 'no: tcp %d nic %d' % (d['tcp.tso_frames'], d['nic.tso_frames']))" 2>&1)"
}

# DHCP on the tap network: dnsmasq in the namespace hands out a lease
# with a router and a DNS server; the guest takes it and answers ping at
# the address it was given.
if ! command -v dnsmasq >/dev/null; then
	echo "FAIL dhcp-tap: dnsmasq missing (tools/deps.sh installs dnsmasq-base)"
	harness_failed=1
else
	ip netns exec "$ns" dnsmasq --no-daemon --user=root --port=0 --no-resolv --no-hosts \
		--interface=tap0 --bind-interfaces --pid-file= --dhcp-leasefile="$QLOGS/dnsmasq.leases" \
		--dhcp-range=10.99.0.50,10.99.0.59,255.255.255.0,10m \
		--dhcp-option=option:router,10.99.0.1 --dhcp-option=option:dns-server,10.99.0.53 \
		--log-dhcp >"$QLOGS/dnsmasq.log" 2>&1 &
	dnsmasq_pid=$!
	QEMU_WRAP="ip netns exec $ns" qemu_start dhcptap "" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vnet_hdr=on \
		-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on,mac=52:54:00:99:00:07
	if wait_marker dhcptap '^TERN NET_UP' 120; then
		expect_line dhcptap "lease from dnsmasq on the tap network" '^TERN NET_UP ip=10\.99\.0\.5[0-9]/24 gw=10\.99\.0\.1 dns=10\.99\.0\.53$'
		addr=$(grep -o 'ip=10\.99\.0\.5[0-9]' "$QLOGS/qemu-dhcptap.log" | head -1 | cut -d= -f2)
		if [ -n "$addr" ] && ip netns exec "$ns" ping -c 2 -W 3 "$addr" >>"$QLOGS/ping.out" 2>&1; then
			echo "PASS dhcp-tap: the guest answers ping at its leased address $addr"
		else
			echo "FAIL dhcp-tap: no echo reply from the leased address '$addr'"
			harness_failed=1
		fi
		if grep -q "DHCPACK(tap0) $addr 52:54:00:99:00:07" "$QLOGS/dnsmasq.log"; then
			echo "PASS dhcp-tap: dnsmasq acknowledged the lease to the guest's MAC"
		else
			echo "FAIL dhcp-tap: no DHCPACK for the guest in dnsmasq's log"
			harness_failed=1
		fi
		tap_http "$addr"
	else
		echo "FAIL dhcp-tap: no TERN NET_UP by DHCP on the tap network"
		harness_failed=1
	fi
	qemu_stop dhcptap
	kill "$dnsmasq_pid" 2>/dev/null
	wait "$dnsmasq_pid" 2>/dev/null
fi
finish
