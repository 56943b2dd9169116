#!/usr/bin/env python3
# mkcorpus.py - writes the seed inputs of the per-layer netstack fuzzers
# (tests/netstack/corpus/<layer>/) in the formats fuzz_input.c reads.
# The eth seeds are whole frames kept as they are.  Run from the top.
import os
import struct

MY, PEER, DNS1 = 0x0a00020f, 0x0a000202, 0x0a000203
D = "tests/netstack/corpus"


def csum(b, s=0):
    if len(b) % 2:
        b += b"\0"
    for i in range(0, len(b), 2):
        s += b[i] << 8 | b[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip(src, dst, proto, pl, ident=1, frag=0):
    h = struct.pack(">BBHHHBBHII", 0x45, 0, 20 + len(pl), ident, frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack(">H", csum(h)) + h[12:] + pl


def udp(sport, dport, data):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def icmp(t, c, rest, data):
    m = struct.pack(">BBH", t, c, 0) + rest + data
    return m[:2] + struct.pack(">H", csum(m)) + m[4:]


def pkts(*ps):
    return b"".join(struct.pack(">H", len(p)) + p for p in ps)


def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"


def dns(flags, qname, answers=b"", ancount=0, ident=0):
    return struct.pack(">HHHHHH", ident, flags, 1, ancount, 0, 0) + name(qname) + b"\0\1\0\1" + answers


def rr(owner, typ, ttl, rdata):
    return owner + struct.pack(">HHIH", typ, 1, ttl, len(rdata)) + rdata


def put(layer, fname, data):
    os.makedirs(f"{D}/{layer}", exist_ok=True)
    with open(f"{D}/{layer}/{fname}", "wb") as f:
        f.write(data)


arp_req = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + bytes([2, 0, 0, 0, 0, 0x99]) + \
    struct.pack(">I", PEER) + bytes(6) + struct.pack(">I", MY)
put("arp", "request", arp_req)
put("arp", "reply", arp_req[:6] + b"\0\2" + arp_req[8:])

echo = icmp(8, 0, struct.pack(">HH", 0x1234, 1), bytes(range(56)))
quoted = ip(MY, 0x08080808, 6, bytes(8))[:28]
put("icmp", "echo", b"\0" + echo)
put("icmp", "frag_needed", b"\0" + icmp(3, 4, struct.pack(">HH", 0, 1400), quoted))
quoted1500 = quoted[:2] + struct.pack(">H", 1500) + quoted[4:10] + b"\0\0" + quoted[12:]
put("icmp", "frag_needed_old_router", b"\0" + icmp(3, 4, bytes(4), quoted1500))
put("icmp", "port_unreachable", b"\0" + icmp(3, 3, bytes(4), quoted))

put("ip", "udp_echo", b"\0" + pkts(ip(PEER, MY, 17, udp(1000, 7, b"ping"))))
put("ip", "icmp_two_fragments", b"\0" + pkts(ip(PEER, MY, 1, echo[:32], 5, 0x2000),
                                             ip(PEER, MY, 1, echo[32:], 5, 4)))
put("ip", "udp_three_fragments_reversed", b"\0" + pkts(
    ip(PEER, MY, 17, udp(1000, 7, bytes(100))[80:], 6, 10),
    ip(PEER, MY, 17, udp(1000, 7, bytes(100))[40:80], 6, 0x2005),
    ip(PEER, MY, 17, udp(1000, 7, bytes(100))[:40], 6, 0x2000)))
put("ip", "overlap_timeout", b"\x08" + pkts(ip(PEER, MY, 17, bytes(16), 7, 0x2000),
                                            ip(PEER, MY, 17, bytes(16), 7, 0x2001)))
syn = struct.pack(">HHIIBBHHH", 40000, 80, 1000, 0, 0x60, 2, 65535, 0, 0) + bytes([2, 4, 5, 0xb4])
syn = syn[:16] + struct.pack(">H", csum(syn, (PEER >> 16) + (PEER & 0xffff) + (MY >> 16) + (MY & 0xffff) + 6 + len(syn))) + syn[18:]
put("ip", "tcp_syn", b"\0" + pkts(ip(PEER, MY, 6, syn)))

put("udp", "echo", b"\0" + udp(1000, 7, b"hello"))
put("udp", "dns_port", b"\x04" + udp(53, 0, dns(0x8180, "fuzz.example")))
put("udp", "dhcp_port", b"\x08" + udp(67, 68, bytes(240)))


def seg(ctl, flags, so, ao, data=b"", opt=b""):
    return struct.pack(">BBhhBB", ctl, flags, so, ao, len(opt), len(data)) + opt + data


put("tcp", "listen_syn", b"\0" + seg(1, 0x02, 0, 0, opt=bytes([2, 4, 5, 0xb4])))
put("tcp", "syn_rcvd_ack", b"\1" + seg(0, 0x10, 0, 0))
put("tcp", "established_data", b"\2" + seg(0, 0x18, 0, 0, b"GET / HTTP/1.0\r\n\r\n"))
put("tcp", "established_out_of_order", b"\2" + seg(0, 0x18, 10, 0, b"later") + seg(0, 0x18, 0, 0, b"first....."))
put("tcp", "data_acked", b"\3" + seg(0, 0x10, 0, 0))
put("tcp", "data_rtx", b"\3" + seg(4, 0x10, 0, -64) + seg(4, 0x10, 0, -64))
put("tcp", "close_wait_ack", b"\4" + seg(0, 0x10, 0, 0))
put("tcp", "fin_wait_1_fin", b"\5" + seg(0, 0x11, 0, 0))
put("tcp", "fin_wait_2_fin", b"\6" + seg(0, 0x11, 0, 0))
put("tcp", "last_ack", b"\7" + seg(0, 0x10, 0, 0))
put("tcp", "rst_in_window", b"\2" + seg(0, 0x04, 100, 0))
put("tcp", "unknown_conn", b"\2" + seg(8, 0x10, 0, 0))


def bootp(typ, extra=b""):
    m = bytearray(240)
    m[0:3] = b"\2\1\6"
    m[16:20] = struct.pack(">I", MY)
    opts = bytes([53, 1, typ, 54, 4, 10, 0, 2, 2, 51, 4, 0, 0, 14, 16, 1, 4, 255, 255, 255, 0,
                  3, 4, 10, 0, 2, 2, 6, 4, 10, 0, 2, 3]) + extra + b"\xff"
    return bytes(m) + opts


put("dhcp", "offer", b"\0" + pkts(bootp(2)))
put("dhcp", "ack", b"\1" + pkts(bootp(5, bytes([121, 11, 0, 10, 0, 2, 2, 8, 10, 10, 0, 2, 1]))))
put("dhcp", "nak_renewing", b"\3" + pkts(bootp(6)))
put("dhcp", "ack_bound", b"\2" + pkts(bootp(5, bytes([26, 2, 5, 0xdc, 245, 4, 168, 63, 129, 16]))))

q = "www.example.com"
a = rr(b"\xc0\x0c", 1, 300, bytes([93, 184, 216, 34]))
put("dns", "a", b"\0" + pkts(dns(0x8180, q, a, 1)))
cn = rr(b"\xc0\x0c", 5, 60, name("alias.example.net")) + rr(b"\xc0\x2d", 1, 300, bytes([1, 2, 3, 4]))
put("dns", "cname", b"\0" + pkts(dns(0x8180, q, cn, 2)))
put("dns", "nxdomain", b"\0" + pkts(dns(0x8183, q)))
put("dns", "servfail_then_a", b"\0" + pkts(dns(0x8182, q), dns(0x8180, q, a, 1)))
put("dns", "second_server", b"\x04" + pkts(dns(0x8180, q, a, 1)))
put("dns", "pointer_loop", b"\0" + pkts(dns(0x8180, q, rr(b"\xc0\x21", 1, 300, bytes(4)), 1)))
