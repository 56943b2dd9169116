#!/usr/bin/env bash
# net_mq.sh - virtio-net multiqueue on QEMU (virtio v1.2 5.1.6.5.5): a
# multi-queue TAP (4 queues, vnet header, no vhost) behind
# virtio-net-pci with mq=on and 10 MSI-X vectors; the guest asks for
# 4 queue pairs, serves parallel HTTP connections from Linux's TCP inside
# a private network namespace, and /stats shows received frames on more
# than one nic.q<N>.  One boot; the flows spread because the stack sends
# each connection on the queue its hash picks and the TAP steers a flow's
# answers to the queue it last saw it on (or by its own hash).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

ns=tern-mq-$$
cleanup() {
	qemu_stop mq 2>/dev/null
	ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
if ! ip netns add "$ns" 2>/dev/null; then
	echo "FAIL net-mq: cannot create a network namespace (need root)"
	exit 1
fi
nsx="ip netns exec $ns"
$nsx ip link set lo up
if ! $nsx ip tuntap add dev tap0 mode tap multi_queue; then
	echo "FAIL net-mq: cannot create a multi-queue tap"
	exit 1
fi
$nsx ip addr add 10.98.0.1/24 dev tap0
$nsx ip link set tap0 up
QEMU_WRAP="$nsx" qemu_start mq "ip=10.98.0.2/24 gw=10.98.0.1 dns=10.98.0.1 log=debug" \
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no,queues=4,vhost=off,vnet_hdr=on \
	-device virtio-net-pci,romfile=,netdev=n0,mq=on,vectors=10,disable-legacy=on
if ! wait_marker mq '^TERN READY port=80$' 90; then
	echo "FAIL net-mq: no TERN READY"
	_fail_tail mq
	finish
fi
expect_line mq "the device confirmed 4 queue pairs" 'virtio-net0: 4 queue pairs \(device offers 4\)'
expect_line mq "one MSI-X entry per receive queue" 'virtio-net0: MSI-X entries 0-3 bound'
url=http://10.98.0.2
check() {	# check <desc> <expected> <actual>
	if [ "$2" = "$3" ]; then echo "PASS net-mq: $1"; else
		echo "FAIL net-mq: $1 (expected '$2', got '$3')"; harness_failed=1; fi
}
check "GET /healthz" ok "$($nsx curl -s -m 10 "$url/healthz")"
pids=()
for i in $(seq 1 16); do
	$nsx curl -s -m 30 "$url/healthz" "$url/healthz" "$url/healthz" >"$QLOGS/mq-par-$i.out" &
	pids+=($!)
done
$nsx curl -s -m 30 -o "$QLOGS/mq-big" "$url/big.bin" &
pids+=($!)
wait "${pids[@]}"
check "16 parallel connections x 3 requests" 48 "$(cat "$QLOGS"/mq-par-*.out | grep -o ok | wc -l)"
check "GET /big.bin byte for byte alongside them" same \
	"$(cmp -s "$QLOGS/mq-big" "$B/apps/httpd/big.bin" && echo same)"
rm -f "$QLOGS"/mq-par-*.out
$nsx curl -s -m 10 -o "$QLOGS/mq-stats.json" "$url/stats"
check "received frames on more than one queue (nic.q<N>.rx_packets)" yes "$(python3 -c "
import json; d=json.load(open('$QLOGS/mq-stats.json'))
rx = [d.get('nic.q%d.rx_packets' % q, 0) for q in range(4)]
tx = [d.get('nic.q%d.tx_packets' % q, 0) for q in range(4)]
busy = sum(1 for r in rx if r > 0)
print('yes' if busy > 1 else 'no: rx %s tx %s' % (rx, tx))
print('rx per queue %s, tx per queue %s' % (rx, tx), file=open('$QLOGS/mq-queues.txt', 'w'))" 2>&1)"
echo "net-mq: $(cat "$QLOGS/mq-queues.txt" 2>/dev/null)"
qemu_stop mq
expect_no_line mq "no fallback to one queue pair" 'falling back to one queue pair'
finish
