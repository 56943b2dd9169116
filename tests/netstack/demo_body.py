#!/usr/bin/env python3
"""demo_body.py - the netdemo body stream, written independently of the C.

Byte i of every /bytes/<n> body is S[i mod 65521]; S[k] is the low byte of
the (k+1)-th state of xorshift32 (13, 17, 5) seeded with 0x2545f491 (see
tools/netdemo.c).

  demo_body.py sha256 <n>        print the SHA-256 (hex) of an n-byte body
  demo_body.py write <n> <file>  write the body to file
"""
import hashlib
import sys

PERIOD = 65521


def period():
    s = 0x2545F491
    out = bytearray(PERIOD)
    for k in range(PERIOD):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[k] = s & 0xFF
    return bytes(out)


def chunks(n):
    p = period()
    full, rest = divmod(n, PERIOD)
    for _ in range(full):
        yield p
    yield p[:rest]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "sha256":
        h = hashlib.sha256()
        for c in chunks(int(sys.argv[2])):
            h.update(c)
        print(h.hexdigest())
    elif len(sys.argv) == 4 and sys.argv[1] == "write":
        with open(sys.argv[3], "wb") as f:
            for c in chunks(int(sys.argv[2])):
                f.write(c)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
