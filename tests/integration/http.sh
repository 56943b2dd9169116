#!/usr/bin/env bash
# http.sh - the full path on QEMU: firmware -> loader -> kernel -> virtio-net
# -> netstack (DHCP, TCP) -> the runtime's HTTP service, reached from the
# host through QEMU user networking's port forward, as `make run` does.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
port=$((20000 + $$ % 20000))
url=http://127.0.0.1:$port
trap 'qemu_stop http' EXIT

qemu_start http "" -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:80 \
	-device virtio-net-pci,netdev=n0,disable-legacy=on
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
check "POST with a body is refused" "413" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -d 'x=1' $url/healthz)"
check "DELETE is 405" "405" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X DELETE $url/healthz)"
big=$(head -c 3000 /dev/zero | tr '\0' 'a')
check "oversized header is 431" "431" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "X-Big: $big" $url/healthz)"
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
# Garbage must not hurt: the service still answers afterwards.
printf 'NOT HTTP AT ALL\r\n\r\n' | timeout 5 python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$port),timeout=4); s.sendall(sys.stdin.buffer.read()); s.recv(100)" >/dev/null 2>&1
check "still healthy after garbage" "ok" "$(curl -s -m 10 $url/healthz)"
expect_no_line http "no panic" '^TERN (PANIC|FAIL)'
finish
