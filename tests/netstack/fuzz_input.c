/*
 * fuzz_input.c - libFuzzer targets for the netstack's input paths, one
 * binary per layer (built with -DFUZZ_LAYER=FL_<layer>, see module.mk).
 * Each builds what lies below its layer correctly (Ethernet header, IPv4
 * header and checksum, UDP/TCP checksums, matching IDs) around the fuzz
 * data, so the inputs reach the parser under test instead of dying in
 * the layers beneath; a flags byte lets the fuzzer turn each fix-up off.
 *
 *   eth   the whole frame (addressed to us); odd first byte: mid-DHCP
 *   arp   an ARP packet
 *   ip    up to 16 IPv4 packets (2-byte length each): reassembly, timeouts
 *   icmp  one ICMP message (echo, unreachable, fragmentation needed)
 *   udp   one UDP datagram to a bound port (echo, DNS query port, other)
 *   tcp   segments against a listener and a connection in one of several
 *         states (SYN_RCVD .. LAST_ACK), sequence numbers relative to ours
 *   dhcp  DHCP messages to a client selecting, requesting or bound
 *   dns   a reply to an outstanding query (ID, and optionally question,
 *         patched to match)
 *
 * Invariants for every layer: no crash or out-of-bounds access (ASan,
 * UBSan), the receive buffer always returned, every IPv4 packet accounted
 * for (a drop counter or a protocol's input counter moved), and after the
 * clock runs on every transmit buffer back, every connection and
 * reassembly slot gone and every DNS query answered exactly once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/netstack/frames.h"

#define FL_ETH	1
#define FL_ARP	2
#define FL_IP	3
#define FL_ICMP	4
#define FL_UDP	5
#define FL_TCP	6
#define FL_DHCP	7
#define FL_DNS	8
#ifndef FUZZ_LAYER
#define FUZZ_LAYER FL_ETH
#endif

#define DNS1	0x0a000203
#define DNS2	0x0a000204
#define PEER_PORT 40000
#define SEC	1000000000ULL

static struct fake_nic f;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];
static uint8_t fr[2048];

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
stack_static(void)
{
	netstack_set_static(&ns, MY_IP, 0xffffff00u, PEER_IP, DNS1);
	ns.cfg.dns[1] = DNS2;
	/* Teach ARP the gateway and the servers, so replies leave at once. */
	fake_inject(&f, fr, fr_arp_request(fr, PEER_IP, MY_IP));
	fake_inject(&f, fr, fr_arp_request(fr, DNS1, MY_IP));
}

static void
stack_init(void)
{
	fake_init(&f);
	struct netstack_port port = { fake_now, fake_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
}

/* Everything an IPv4 packet can move: exactly one must per packet. */
static uint64_t
accounted(void)
{
	uint64_t s = ns.cnt.frag_in + ns.cnt.frag_dup + ns.cnt.icmp_in + ns.cnt.udp_in +
	    ns.tcp.st.segs_in + ns.tcp.st.bad_csum;
	for (int i = 0; i < ND_NDROPS; i++)
		s += ns.cnt.drops[i];
	return s;
}

static void
inject(size_t n)
{
	int before = f.rx_released;
	fake_inject(&f, fr, n);
	CHECK(f.rx_released == before + 1);
}

/* An IPv4 packet from src carrying pl; counted, so it must be accounted. */
static void
inject_ip(uint32_t src, uint8_t proto, uint16_t frag, const uint8_t *pl, size_t plen)
{
	uint64_t a = accounted();
	inject(fr_ip(fr, f.nic.mac, src, MY_IP, proto, 1, frag, pl, plen));
	CHECK(accounted() > a);
}

/* ---- DNS: a query outstanding during the test ---- */
static int dns_calls, dns_err;

static void
dns_done(void *ctx, int err, uint32_t ip)
{
	dns_calls++;
	dns_err = err;
	CHECK(err == TERN_OK || err == TERN_ENOENT || err == TERN_EIO ||
	    err == TERN_ETIMEDOUT);
}

/* ---- TCP: the connection under test and what we last sent ---- */
static struct tcp_pcb *conn;
static uint32_t our_nxt, our_ack;
static const uint8_t hello[64] = "hello";

static struct tcp_pcb *live[TCP_MAX_PCBS];	/* accepted, not yet closed */

static void tc_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n,
    struct nic_buf *b) { }

static void
tc_closed(void *ctx, struct tcp_pcb *p, int reason)
{
	if (p == conn)
		conn = NULL;
	for (int i = 0; i < TCP_MAX_PCBS; i++)
		if (live[i] == p)
			live[i] = NULL;
}

static void
tc_accept(void *ctx, struct tcp_pcb *p)
{
	p->cbs.recv = tc_recv;
	p->cbs.closed = tc_closed;
	if (conn == NULL)
		conn = p;
	for (int i = 0; i < TCP_MAX_PCBS; i++) {
		if (live[i] == NULL) {
			live[i] = p;
			break;
		}
	}
}

/* Learn our sequence numbers from what the stack sent; forget the frames. */
static void
scan_tx(void)
{
	int n = f.ntx < FAKE_MAX_TX ? f.ntx : FAKE_MAX_TX;
	for (int k = 0; k < n; k++) {
		const uint8_t *e = f.tx[k];
		if (f.tx_len[k] < 54 || rd16(e + 12) != ETH_P_IP || e[14 + 9] != IPPROTO_TCP)
			continue;
		const uint8_t *ip = e + 14, *t = ip + (ip[0] & 15) * 4;
		size_t dlen = rd16(ip + 2) - (size_t)(ip[0] & 15) * 4 - (size_t)(t[12] >> 4) * 4;
		uint8_t fl = t[13];
		if (fl & 0x04)
			continue;	/* RST */
		uint32_t end = rd32(t + 4) + (uint32_t)dlen + ((fl & 0x02) ? 1 : 0) +
		    ((fl & 0x01) ? 1 : 0);
		if ((int32_t)(end - our_nxt) > 0 || our_nxt == 0)
			our_nxt = end;
		if (fl & 0x10)
			our_ack = rd32(t + 8);
	}
	f.ntx = 0;
}

static void
tcp_seg(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *opt, size_t optlen,
    const uint8_t *data, size_t dlen)
{
	static uint8_t s[2048];
	size_t hl = 20 + ((optlen + 3) & ~(size_t)3);
	if (hl > 60 || hl + dlen > 1400)
		return;
	memset(s, 0, hl);
	wr16(s, sport);
	wr16(s + 2, 80);
	wr32(s + 4, seq);
	wr32(s + 8, ack);
	s[12] = (uint8_t)(hl / 4) << 4;
	s[13] = flags;
	wr16(s + 14, 65535);
	if (optlen > 0)
		memcpy(s + 20, opt, optlen);
	if (dlen > 0)
		memcpy(s + hl, data, dlen);
	uint32_t sum = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
	    (MY_IP & 0xffff) + IPPROTO_TCP + (uint32_t)(hl + dlen);
	wr16(s + 16, ns_csum(s, hl + dlen, sum));
	inject_ip(PEER_IP, IPPROTO_TCP, 0, s, hl + dlen);
	scan_tx();
}

enum { TS_LISTEN, TS_SYN_RCVD, TS_ESTABLISHED, TS_ESTABLISHED_DATA, TS_CLOSE_WAIT,
	TS_FIN_WAIT_1, TS_FIN_WAIT_2, TS_LAST_ACK, TS_N };

/* Drive a connection on port 80 into `state` with well-formed segments. */
static void
tcp_prepare(int state, uint32_t irs)
{
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	conn = NULL;
	our_nxt = our_ack = 0;
	tcp_listen(&ns, 80, tc_accept, NULL);
	f.ntx = 0;
	if (state == TS_LISTEN)
		return;
	tcp_seg(PEER_PORT, irs, 0, 0x02, mss, 4, NULL, 0);			/* SYN */
	if (state == TS_SYN_RCVD)
		return;
	tcp_seg(PEER_PORT, irs + 1, our_nxt, 0x10, NULL, 0, NULL, 0);	/* ACK */
	if (conn == NULL)
		return;
	if (state == TS_ESTABLISHED_DATA) {
		tcp_write(conn, hello, sizeof(hello), NULL, NULL);
		scan_tx();
	} else if (state == TS_CLOSE_WAIT || state == TS_LAST_ACK) {
		tcp_seg(PEER_PORT, irs + 1, our_nxt, 0x11, NULL, 0, NULL, 0);	/* FIN */
		if (state == TS_LAST_ACK && conn != NULL) {
			tcp_close(conn);
			scan_tx();
		}
	} else if (state == TS_FIN_WAIT_1 || state == TS_FIN_WAIT_2) {
		tcp_close(conn);
		scan_tx();
		if (state == TS_FIN_WAIT_2)
			tcp_seg(PEER_PORT, irs + 1, our_nxt, 0x10, NULL, 0, NULL, 0);
	}
}

/*
 * TCP input: byte 0 picks the state, then segments of
 *   [ctl][flags][seq off 2][ack off 2][optlen][dlen] options data
 * ctl bit 0: seq absolute (else relative to what we acknowledged),
 * bit 1: ack absolute (else relative to what we sent), bit 2: let the
 * clock run 1 s first, bit 3: from another port (unknown connection).
 */
static void
fuzz_tcp(const uint8_t *d, size_t n)
{
	stack_static();
	if (n < 1)
		return;
	uint32_t irs = 1000;
	tcp_prepare(d[0] % TS_N, irs);
	size_t i = 1;
	for (int k = 0; k < 16 && n - i >= 8; k++) {
		uint8_t ctl = d[i], flags = d[i + 1];
		uint16_t so = rd16(d + i + 2), ao = rd16(d + i + 4);
		size_t ol = d[i + 6] % 41, dl = d[i + 7];
		i += 8;
		if (ol > n - i)
			ol = n - i;
		const uint8_t *opt = d + i;
		i += ol;
		if (dl > n - i)
			dl = n - i;
		const uint8_t *data = d + i;
		i += dl;
		if (ctl & 4) {
			f.now += SEC;
			netstack_poll(&ns);
			scan_tx();
		}
		uint32_t base_seq = our_ack ? our_ack : irs + 1;
		uint32_t seq = (ctl & 1) ? (uint32_t)so * 65537u : base_seq + (uint32_t)(int16_t)so;
		uint32_t ack = (ctl & 2) ? (uint32_t)ao * 65537u : our_nxt + (uint32_t)(int16_t)ao;
		tcp_seg((ctl & 8) ? PEER_PORT + 1 : PEER_PORT, seq, ack, flags, opt, ol, data, dl);
	}
}

/* ---- per-layer entry points ---- */

static void
fuzz_eth(const uint8_t *d, size_t n)
{
	if (n > 0 && (d[0] & 1)) {
		netstack_dhcp_start(&ns);
		ns.dhcp.xid = 0x01020304;	/* let inputs hit the parser */
	} else {
		stack_static();
		tcp_listen(&ns, 80, tc_accept, NULL);
	}
	memcpy(fr, d, n);
	if (n >= 12)
		memcpy(fr, f.nic.mac, 6);
	inject(n);
}

static void
fuzz_arp(const uint8_t *d, size_t n)
{
	stack_static();
	uint64_t bad = ns.cnt.drops[ND_ARP_BAD];
	memset(fr, 0xff, 6);
	memcpy(fr + 6, peer_mac, 6);
	wr16(fr + 12, ETH_P_ARP);
	memcpy(fr + 14, d, n);
	inject(14 + n);
	if (n < 28)
		CHECK(ns.cnt.drops[ND_ARP_BAD] == bad + 1);
	/* Whatever it taught the cache, a valid packet for us still works. */
	inject(fr_arp_request(fr, PEER_IP, MY_IP));
}

static void
udp_echo(void *ctx, struct netstack *s, uint32_t src, uint16_t sport,
    const uint8_t *data, size_t len)
{
	netstack_udp_send(s, src, 7, sport, data, len < 512 ? len : 512);
}

/*
 * IPv4: byte 0 holds flags (bit 0: keep the header checksum, bit 1: keep
 * the total length, bit 2: keep the destination, bit 3: let 10 s pass
 * between packets), then packets as [len 2][bytes].
 */
static void
fuzz_ip(const uint8_t *d, size_t n)
{
	stack_static();
	netstack_udp_bind(&ns, 7, udp_echo, NULL);
	tcp_listen(&ns, 80, tc_accept, NULL);
	if (n < 1)
		return;
	uint8_t fl = d[0];
	size_t i = 1;
	for (int k = 0; k < 16 && n - i >= 2; k++) {
		size_t len = rd16(d + i);
		i += 2;
		if (len > n - i)
			len = n - i;
		if (len > sizeof(fr) - 14)
			len = sizeof(fr) - 14;
		memcpy(fr, f.nic.mac, 6);
		memcpy(fr + 6, peer_mac, 6);
		wr16(fr + 12, ETH_P_IP);
		uint8_t *h = fr + 14;
		memcpy(h, d + i, len);
		i += len;
		if (len >= 20) {
			h[0] = (uint8_t)(0x40 | (h[0] & 15));
			if (!(fl & 2))
				wr16(h + 2, (uint16_t)len);
			if (!(fl & 4))
				wr32(h + 16, MY_IP);
			size_t hl = (size_t)(h[0] & 15) * 4;
			if (!(fl & 1) && hl >= 20 && hl <= len) {
				wr16(h + 10, 0);
				wr16(h + 10, ns_csum(h, hl, 0));
			}
		}
		uint64_t a = accounted();
		inject(14 + len);
		CHECK(accounted() > a);
		if (fl & 8) {
			f.now += 10 * SEC;
			netstack_poll(&ns);
		}
		f.ntx = 0;
	}
	CHECK(ns.frag_used <= NS_FRAG_MEM);
}

/*
 * ICMP: byte 0 flags (bit 0: keep the ICMP checksum, bit 1: keep the
 * quoted source, else it is ours, bit 2: from a broadcast-looking source),
 * then the message.
 */
static void
fuzz_icmp(const uint8_t *d, size_t n)
{
	static uint8_t m[1500];
	stack_static();
	if (n < 1)
		return;
	uint8_t fl = d[0];
	n--;
	if (n > sizeof(m))
		n = sizeof(m);
	memcpy(m, d + 1, n);
	if (!(fl & 2) && n >= 8 + 20)
		wr32(m + 8 + 12, MY_IP);
	if (!(fl & 1) && n >= 4) {
		wr16(m + 2, 0);
		wr16(m + 2, ns_csum(m, n, 0));
	}
	inject_ip(PEER_IP, IPPROTO_ICMP, 0, m, n);
	/* Whatever was reported, path MTUs stay within bounds. */
	for (int i = 0; i < NS_PMTU_ENTRIES; i++) {
		uint16_t p = ns_pmtu(&ns, ns.pmtu[i].dst);
		CHECK(p >= 576 && p <= 1500);
	}
	if (n >= 8 + 20)
		CHECK(ns_pmtu(&ns, rd32(m + 8 + 16)) >= 576);
}

/*
 * UDP: byte 0 flags (bit 0: keep the checksum field, bit 1: keep the
 * length field, bits 2-3: destination port 7 (echo), the DNS query's
 * port, 68, or as given), then the datagram.
 */
static void
fuzz_udp(const uint8_t *d, size_t n)
{
	static uint8_t u[1500];
	stack_static();
	netstack_udp_bind(&ns, 7, udp_echo, NULL);
	netstack_dns_resolve(&ns, "fuzz.example", dns_done, NULL);
	if (n < 1 + 8)
		return;
	uint8_t fl = d[0];
	n--;
	if (n > sizeof(u))
		n = sizeof(u);
	memcpy(u, d + 1, n);
	switch ((fl >> 2) & 3) {
	case 0: wr16(u + 2, 7); break;
	case 1: wr16(u + 2, ns.dns.q[0].port); break;
	case 2: wr16(u + 2, 68); break;
	default: break;
	}
	if (!(fl & 2))
		wr16(u + 4, (uint16_t)n);
	if (!(fl & 1)) {
		wr16(u + 6, 0);
		uint32_t sum = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
		    (MY_IP & 0xffff) + IPPROTO_UDP + (uint32_t)n;
		uint16_t c = ns_csum(u, n, sum);
		wr16(u + 6, c == 0 ? 0xffff : c);
	}
	inject_ip(PEER_IP, IPPROTO_UDP, 0, u, n);
}

/* A well-formed DHCP reply of `type` for the current transaction. */
static void
dhcp_reply(int type)
{
	static uint8_t m[300], u[400];
	memset(m, 0, sizeof(m));
	m[0] = 2; m[1] = 1; m[2] = 6;
	wr32(m + 4, ns.dhcp.xid);
	wr32(m + 16, MY_IP);
	memcpy(m + 28, f.nic.mac, 6);
	wr32(m + 236, 0x63825363u);
	static const uint8_t opts[] = { 53, 1, 0, 54, 4, 10, 0, 2, 2, 51, 4, 0, 0, 0x0e, 0x10,
		1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2, 255 };
	memcpy(m + 240, opts, sizeof(opts));
	m[242] = (uint8_t)type;
	size_t n = fr_udp(u, PEER_IP, 0xffffffffu, 67, 68, m, 240 + sizeof(opts));
	inject(fr_ip(fr, f.nic.mac, PEER_IP, 0xffffffffu, IPPROTO_UDP, 1, 0, u, n));
}

/*
 * DHCP: byte 0 picks the client's state (selecting, requesting, bound,
 * renewing) and bit 2 keeps the message raw (else xid, op, chaddr and
 * cookie are made to match); then messages as [len 2][bytes].
 */
static void
fuzz_dhcp(const uint8_t *d, size_t n)
{
	static uint8_t m[1400], u[1500];
	netstack_dhcp_start(&ns);
	if (n < 1)
		return;
	int st = d[0] & 3;
	if (st >= 1)
		dhcp_reply(2);		/* OFFER */
	if (st >= 2)
		dhcp_reply(5);		/* ACK */
	if (st >= 3) {
		f.now += 1801 * SEC;	/* T1: renewing */
		netstack_poll(&ns);
	}
	size_t i = 1;
	for (int k = 0; k < 4 && n - i >= 2; k++) {
		size_t len = rd16(d + i);
		i += 2;
		if (len > n - i)
			len = n - i;
		if (len > sizeof(m))
			len = sizeof(m);
		memcpy(m, d + i, len);
		i += len;
		if (!(d[0] & 4) && len >= 240) {
			m[0] = 2;
			wr32(m + 4, ns.dhcp.xid);
			memcpy(m + 28, f.nic.mac, 6);
			wr32(m + 236, 0x63825363u);
		}
		uint64_t bad = ns.cnt.drops[ND_DHCP_BAD];
		size_t un = fr_udp(u, PEER_IP, 0xffffffffu, 67, 68, m, len);
		inject(fr_ip(fr, f.nic.mac, PEER_IP, 0xffffffffu, IPPROTO_UDP, 1, 0, u, un));
		if (len < 240)
			CHECK(ns.cnt.drops[ND_DHCP_BAD] == bad + 1);
		f.ntx = 0;
	}
}

/*
 * DNS: byte 0 flags (bit 0: keep the ID, bit 1: keep the question, else
 * ours is copied in, bit 2: from the second server), then up to four
 * replies as [len 2][bytes].  Each reply must end the query or be counted.
 */
static void
fuzz_dns(const uint8_t *d, size_t n)
{
	static uint8_t m[1400], u[1500];
	stack_static();
	CHECK(netstack_dns_resolve(&ns, "www.Example.com", dns_done, NULL) == TERN_OK);
	struct dns_query *q = &ns.dns.q[0];
	static const uint8_t question[] = "\3www\7example\3com\0\0\1\0\1";
	if (n < 1)
		return;
	uint8_t fl = d[0];
	if (fl & 4) {			/* let the first attempt time out */
		f.now += 2 * SEC;
		netstack_poll(&ns);
	}
	uint16_t port = q->port, id = q->id;
	size_t i = 1;
	for (int k = 0; k < 4 && n - i >= 2; k++) {
		size_t len = rd16(d + i);
		i += 2;
		if (len > n - i)
			len = n - i;
		if (len > sizeof(m))
			len = sizeof(m);
		memcpy(m, d + i, len);
		i += len;
		if (!(fl & 1) && len >= 2)
			wr16(m, id);
		if (!(fl & 2) && len >= 12 + sizeof(question) - 1)
			memcpy(m + 12, question, sizeof(question) - 1);
		uint64_t before = ns.cnt.drops[ND_DNS_BAD] + ns.cnt.drops[ND_DNS_MISMATCH] +
		    ns.cnt.drops[ND_UDP_PORT] + ns.cnt.dns_queries_out + (uint64_t)dns_calls;
		size_t un = fr_udp(u, (fl & 4) ? DNS2 : DNS1, MY_IP, 53, port, m, len);
		inject(fr_ip(fr, f.nic.mac, (fl & 4) ? DNS2 : DNS1, MY_IP, IPPROTO_UDP, 1, 0, u, un));
		uint64_t after = ns.cnt.drops[ND_DNS_BAD] + ns.cnt.drops[ND_DNS_MISMATCH] +
		    ns.cnt.drops[ND_UDP_PORT] + ns.cnt.dns_queries_out + (uint64_t)dns_calls;
		CHECK(after == before + 1);
		f.ntx = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	stack_init();
	dns_calls = 0;
	conn = NULL;
	memset(live, 0, sizeof(live));
	switch (FUZZ_LAYER) {
	case FL_ETH: if (size <= sizeof(fr)) fuzz_eth(data, size); break;
	case FL_ARP: if (size <= sizeof(fr) - 14) fuzz_arp(data, size); break;
	case FL_IP: fuzz_ip(data, size); break;
	case FL_ICMP: fuzz_icmp(data, size); break;
	case FL_UDP: fuzz_udp(data, size); break;
	case FL_TCP: fuzz_tcp(data, size); break;
	case FL_DHCP: fuzz_dhcp(data, size); break;
	case FL_DNS: fuzz_dns(data, size); break;
	}
	/* NS_FUZZ_VERBOSE=1 <binary> <seed>: what a seed reached. */
	if (getenv("NS_FUZZ_VERBOSE") != NULL) {
		fprintf(stderr, "udp_in=%llu icmp_in=%llu echo_out=%llu unreach=%llu pmtu=%llu "
		    "frag_in=%llu reasm=%llu dns_calls=%d dns_err=%d segs_in=%llu accepted=%llu "
		    "conn_state=%d dhcp_state=%d tx=%llu drops:",
		    (unsigned long long)ns.cnt.udp_in, (unsigned long long)ns.cnt.icmp_in,
		    (unsigned long long)ns.cnt.icmp_echo_out, (unsigned long long)ns.cnt.icmp_unreach_in,
		    (unsigned long long)ns.cnt.pmtu_updates, (unsigned long long)ns.cnt.frag_in,
		    (unsigned long long)ns.cnt.reasm_ok, dns_calls, dns_err,
		    (unsigned long long)ns.tcp.st.segs_in, (unsigned long long)ns.tcp.st.accepted,
		    conn ? (int)conn->state : -1, ns.dhcp.state,
		    (unsigned long long)ns.cnt.tx_frames);
		for (int i = 0; i < ND_NDROPS; i++)
			if (ns.cnt.drops[i])
				fprintf(stderr, " %d=%llu", i, (unsigned long long)ns.cnt.drops[i]);
		fprintf(stderr, "\n");
	}
	/* The application closes what it accepted (an idle connection may
	   rightly live forever), then time runs out for everything:
	   retransmissions give up, TIME_WAIT ends, reassembly and the ARP
	   queue expire, DNS queries end.  Then every transmit buffer must be
	   back and every connection gone. */
	for (int i = 0; i < TCP_MAX_PCBS; i++)
		if (live[i] != NULL)
			tcp_close(live[i]);
	for (int k = 0; k < 20; k++) {
		f.now += 70 * SEC;
		netstack_poll(&ns);
		f.ntx = 0;
	}
	/* Every transmit buffer is back, except a frame queued for ARP by
	   the very last poll (a DHCP renewal can fall due there): it must
	   be young enough that the ARP queue's own timeout will free it. */
	for (int i = 0; i < NS_TXBUFS; i++) {
		bool young_pending = false;
		for (int k = 0; k < NS_ARP_PENDING; k++)
			if (ns.pending[k].tb == &txmem[i] &&
			    f.now - ns.pending[k].queued_ns <= ARP_PENDING_NS)
				young_pending = true;
		CHECK(!txmem[i].busy || young_pending);
	}
	/* Every connection gone (FIN_WAIT_2 too: it times out after 60 s). */
	for (int i = 0; i < TCP_MAX_PCBS; i++)
		CHECK(ns.tcp.pcbs[i].state == TCP_CLOSED);
	for (int i = 0; i < NS_FRAG_SLOTS; i++)
		CHECK(!ns.frag[i].used);
	CHECK(ns.frag_used == 0);
	if (FUZZ_LAYER == FL_DNS || FUZZ_LAYER == FL_UDP)
		CHECK(dns_calls == 1);
	for (int i = 0; i < DNS_QUERIES; i++)
		CHECK(ns.dns.q[i].state == 0);
	return 0;
}
