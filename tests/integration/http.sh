#!/usr/bin/env bash
# http.sh - the full path on QEMU: firmware -> loader -> kernel -> virtio-net
# -> netstack (DHCP, TCP) -> PAL -> the default workload package
# (apps/httpd), reached from the host through QEMU user networking's port
# forward, as `make run` does.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
port=$((20000 + $$ % 20000))
url=http://127.0.0.1:$port
trap 'qemu_stop http' EXIT

qemu_start http "" -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:80 \
	-device virtio-net-pci,romfile=,netdev=n0,disable-legacy=on
if ! wait_marker http '^TERN READY port=80$' 120; then
	echo "FAIL http: no TERN READY"
	finish
fi
check() {	# check <name> <expected> <actual>
	if [ "$2" = "$3" ]; then echo "PASS http: $1"; else
		echo "FAIL http: $1 (expected '$2', got '$3')"; harness_failed=1; fi
}
check "GET /healthz says ok" "ok" "$(curl -s -m 10 $url/healthz)"
check "HEAD /healthz has no body" "200 0" "$(curl -s -m 10 -I -o /dev/null -w '%{http_code} %{size_download}' $url/healthz)"
check "unknown path is 404" "404" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' $url/nope)"
check "POST with a small body is 405" "405" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -d 'x=1' $url/healthz)"
check "a body over BODY_MAX is 413" "413" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Content-Length: 100000000' -X POST $url/healthz)"
check "DELETE is 405" "405" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X DELETE $url/healthz)"
big=$(head -c 9000 /dev/zero | tr '\0' 'a')
check "oversized header is 431" "431" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "X-Big: $big" $url/healthz)"
expect_line http "the workload started" '^TERN APP_START name=httpd$'
# Package files, byte for byte: a small page and a 256 KiB binary.
curl -s -m 20 -o "$QLOGS/http-index" $url/
check "GET / is www/index.html" same "$(cmp -s "$QLOGS/http-index" apps/httpd/www/index.html && echo same)"
curl -s -m 60 -o "$QLOGS/http-big" $url/big.bin
check "GET /big.bin (256 KiB) matches" same "$(cmp -s "$QLOGS/http-big" "$B/apps/httpd/big.bin" && echo same)"
check "no traversal" "404" "$(curl -s -m 10 --path-as-is -o /dev/null -w '%{http_code}' "$url/../manifest")"
curl -s -m 10 -o "$QLOGS/http-stats.json" $url/stats
check "/stats is valid JSON" ok "$(python3 -m json.tool "$QLOGS/http-stats.json" >/dev/null && echo ok)"
check "/stats counts accepted connections" yes "$(python3 -c "
import json; d=json.load(open('$QLOGS/http-stats.json'))
print('yes' if d['tcp.accepted'] > 0 and d['httpd.requests'] > 0 and 'pal.mem_used' in d else 'no')")"
# NIC interface v2: queue 0's own counters agree with the NIC's totals.
check "/stats has per-queue NIC counters" yes "$(python3 -c "
import json; d=json.load(open('$QLOGS/http-stats.json'))
ok = d.get('nic.q0.rx_packets', 0) > 0 and d['nic.q0.rx_packets'] == d['nic.rx_packets'] and d['nic.q0.tx_packets'] == d['nic.tx_packets'] and d['nic.q0.polls'] > 0
print('yes' if ok else 'no: %s' % {k: v for k, v in d.items() if k.startswith('nic.')})")"
# Files go out by reference from the workload's memory: zero copy.
check "sending files goes out zero copy" yes "$(python3 -c "
import json; d=json.load(open('$QLOGS/http-stats.json'))
print('yes' if d['tcp.zc_frames'] > 180 else 'no: %d zero-copy frames' % d['tcp.zc_frames'])")"
ok=0
for i in $(seq 1 100); do
	[ "$(curl -s -m 10 $url/healthz)" = ok ] && ok=$((ok + 1))
done
check "100 sequential connections" 100 "$ok"
# 20 concurrent clients, each reusing one connection for 5 requests.
pids=()
for i in $(seq 1 20); do
	curl -s -m 30 $url/healthz $url/healthz $url/healthz $url/healthz $url/healthz >"$QLOGS/http-par-$i.out" &
	pids+=($!)
done
wait "${pids[@]}"	# not QEMU, which runs in the background too
par=$(cat "$QLOGS"/http-par-*.out | grep -o ok | wc -l)
rm -f "$QLOGS"/http-par-*.out
check "20 concurrent keep-alive connections x 5 requests" 100 "$par"
# Pipelining: two requests in one write.
pipe=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	timeout 10 python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$port),timeout=8); s.sendall(sys.stdin.buffer.read()); d=b''
while True:
    b=s.recv(4096)
    if not b: break
    d+=b
print(d.count(b'200 OK'))")
check "two pipelined requests, two answers" 2 "$pipe"
# A request with a body, then another on the same connection: the body
# is skipped, the next request parsed after it.
body=$(timeout 10 python3 -c "
import socket, re
s=socket.create_connection(('127.0.0.1',$port),timeout=8)
s.sendall(b'PUT /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n' + b'b'*3000)
s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'); d=b''
while True:
    b=s.recv(4096)
    if not b: break
    d+=b
print(' '.join(m.decode() for m in re.findall(rb'HTTP/1.1 (\d+) ', d)))")
check "a request with a body, then the next on the same connection" "405 200" "$body"
# Zero copy both ways after all of the above (bodies, files, keep-alive,
# pipelining): received payload reached the workload in the driver's
# buffers, responses went out from runtime buffers and by reference.
curl -s -m 10 -o "$QLOGS/http-stats2.json" $url/stats
check "no payload copied by the stack or the runtime, either way" yes "$(python3 -c "
import json; d=json.load(open('$QLOGS/http-stats2.json'))
k=('net.payload_copied','pal.rx_copied','pal.tx_copied')
ok = all(d[x] == 0 for x in k) and d['pal.rx_lent'] > 3000
print('yes' if ok else 'no: ' + ', '.join('%s %d' % (x, d[x]) for x in k + ('pal.rx_lent',)))")"
# Garbage must not hurt: the service still answers afterwards.
printf 'NOT HTTP AT ALL\r\n\r\n' | timeout 5 python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$port),timeout=4); s.sendall(sys.stdin.buffer.read()); s.recv(100)" >/dev/null 2>&1
check "still healthy after garbage" "ok" "$(curl -s -m 10 $url/healthz)"
# A started request that never completes gets 408 after IDLE_MS (5 s).
check "an unfinished request times out with 408" yes "$(timeout 20 python3 -c "
import socket
s=socket.create_connection(('127.0.0.1',$port),timeout=15); s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n')
print('yes' if s.recv(100).startswith(b'HTTP/1.1 408') else 'no')")"
# MAX_CONNS (48): connections past it get 503 at once.  Slirp accepts
# forwarded connections slowly (a listen backlog of one), so each client
# thread keeps its request unfinished, trickling a header byte every half
# second to stay clear of IDLE_MS, until all 50 have had their answer.
check "connections past MAX_CONNS get 503" 2 "$(timeout 120 python3 -c "
import socket,threading,time
res=[]; done=threading.Event()
def client():
    try:
        s=socket.create_connection(('127.0.0.1',$port),timeout=60)
        s.sendall(b'GET / HTTP/1.1\\r\\nX: '); s.settimeout(0.5)
        while not done.is_set():
            try:
                d=s.recv(100)
                res.append(d[:12] == b'HTTP/1.1 503'); return
            except socket.timeout: s.sendall(b'a')
        res.append(False)
    except OSError: res.append(False)
t=[threading.Thread(target=client) for i in range(50)]
[x.start() for x in t]
deadline=time.time()+100
while time.time() < deadline and sum(res) < 2: time.sleep(0.5)
time.sleep(1); done.set(); [x.join() for x in t]
print(sum(res))")"
check "healthy after the connection flood" "ok" "$(curl -s -m 10 $url/healthz)"
expect_no_line http "no panic" '^TERN (PANIC|FAIL)'
finish
