#!/usr/bin/env python3
"""tap_client.py - Linux-side HTTP clients for tests/netstack/tap.sh.

Each mode talks to the netdemo (tools/netdemo.c) over the real Linux TCP
stack, checks every byte against demo_body.py's stream, prints one line
and exits 0 on success, 1 on failure.  Every socket operation has a
timeout, so a stuck stack fails the test instead of hanging it.

  tap_client.py seq <ip> <port> <count>
      count sequential short connections, each GET /healthz then close
  tap_client.py conc <ip> <port> <count> <bytes> <timeout_s>
      count connections at once, each GET /bytes/<bytes>, all verified
  tap_client.py rst <ip> <port>
      GET a 100 MiB body, read 1 MiB, then close with SO_LINGER 0 (RST)
  tap_client.py keepalive <ip> <port> <count> <path>
      count requests for path on one keep-alive connection (bench-net's
      callgrind run); checks the status of each
  tap_client.py zerowin <ip> <port> <bytes> <stall_s>
      small receive buffer; read 256 KiB, stop reading for stall_s (the
      window closes), then read the rest and verify it
"""
import asyncio
import hashlib
import socket
import struct
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import demo_body  # noqa: E402


def expected(n):
    h = hashlib.sha256()
    for c in demo_body.chunks(n):
        h.update(c)
    return h.hexdigest()


def read_response(sock, limit_hdr=8192):
    """Read one response; returns (status, headers dict, body bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(4096)
        if not d:
            raise IOError("closed before the header (%d bytes)" % len(buf))
        buf += d
        if len(buf) > limit_hdr:
            raise IOError("header too long")
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    chunks = [body]
    got = len(body)
    while got < n:
        d = sock.recv(min(1 << 20, n - got))
        if not d:
            raise IOError("closed after %d of %d body bytes" % (got, n))
        chunks.append(d)
        got += len(d)
    return status, hdrs, b"".join(chunks)


def mode_seq(ip, port, count):
    t0 = time.monotonic()
    for i in range(count):
        s = socket.create_connection((ip, port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        st, _, body = read_response(s)
        s.close()
        if st != 200 or body != b"ok\n":
            print("seq: connection %d: status %d body %r" % (i, st, body[:20]))
            return 1
    dt = time.monotonic() - t0
    print("seq: %d connections in %.2f s (%.0f/s)" % (count, dt, count / dt))
    return 0


async def one_conc(ip, port, nbytes, want):
    r, w = await asyncio.open_connection(ip, port)
    try:
        w.write(b"GET /bytes/%d HTTP/1.1\r\nHost: t\r\n\r\n" % nbytes)
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return "status " + head[:20].decode("latin-1")
        body = await r.readexactly(nbytes)
        if hashlib.sha256(body).hexdigest() != want:
            return "body differs"
        return None
    finally:
        w.close()


async def conc_all(ip, port, count, nbytes, timeout):
    want = expected(nbytes)
    tasks = [asyncio.wait_for(one_conc(ip, port, nbytes, want), timeout)
             for _ in range(count)]
    return await asyncio.gather(*tasks, return_exceptions=True)


def mode_conc(ip, port, count, nbytes, timeout):
    t0 = time.monotonic()
    res = asyncio.run(conc_all(ip, port, count, nbytes, timeout))
    dt = time.monotonic() - t0
    bad = [r for r in res if r is not None]
    if bad:
        kinds = {}
        for r in bad:
            k = r if isinstance(r, str) else type(r).__name__
            kinds[k] = kinds.get(k, 0) + 1
        print("conc: %d of %d failed in %.2f s: %s" % (len(bad), count, dt, kinds))
        return 1
    print("conc: %d connections x %d bytes verified in %.2f s" % (count, nbytes, dt))
    return 0


def mode_rst(ip, port):
    s = socket.create_connection((ip, port), timeout=10)
    s.sendall(b"GET /bytes/104857600 HTTP/1.1\r\nHost: t\r\n\r\n")
    got = 0
    while got < (1 << 20):
        d = s.recv(65536)
        if not d:
            print("rst: closed early after %d bytes" % got)
            return 1
        got += len(d)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("rst: reset the connection after %d bytes" % got)
    return 0


def mode_keepalive(ip, port, count, path):
    s = socket.create_connection((ip, port), timeout=60)
    req = b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode()
    t0 = time.monotonic()
    for i in range(count):
        s.sendall(req)
        st, _, _ = read_response(s)
        if st != 200:
            print("keepalive: request %d: status %d" % (i, st))
            return 1
    dt = time.monotonic() - t0
    s.close()
    print("keepalive: %d requests in %.2f s" % (count, dt))
    return 0


def mode_zerowin(ip, port, nbytes, stall):
    s = socket.socket()
    # A small buffer fills fast, so the advertised window really reaches 0.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(15)
    s.connect((ip, port))
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: t\r\n\r\n" % nbytes)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, body = buf.split(b"\r\n\r\n", 1)
    parts = [body]
    got = len(body)
    while got < 256 * 1024:
        d = s.recv(65536)
        if not d:
            break
        parts.append(d)
        got += len(d)
    time.sleep(stall)		# stop reading: the window closes
    t0 = time.monotonic()
    while got < nbytes:
        d = s.recv(65536)
        if not d:
            print("zerowin: closed after %d of %d bytes" % (got, nbytes))
            return 1
        parts.append(d)
        got += len(d)
    dt = time.monotonic() - t0
    s.close()
    data = b"".join(parts)[:nbytes]
    if hashlib.sha256(data).hexdigest() != expected(nbytes):
        print("zerowin: data differs")
        return 1
    print("zerowin: %d bytes identical, %.2f s after a %d s stall" % (nbytes, dt, stall))
    return 0


def main():
    a = sys.argv[1:]
    try:
        if a[0] == "seq":
            return mode_seq(a[1], int(a[2]), int(a[3]))
        if a[0] == "conc":
            return mode_conc(a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]))
        if a[0] == "rst":
            return mode_rst(a[1], int(a[2]))
        if a[0] == "keepalive":
            return mode_keepalive(a[1], int(a[2]), int(a[3]), a[4])
        if a[0] == "zerowin":
            return mode_zerowin(a[1], int(a[2]), int(a[3]), int(a[4]))
    except (OSError, IOError, ValueError) as e:
        print("%s: %s: %s" % (a[0], type(e).__name__, e))
        return 1
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
