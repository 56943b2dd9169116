/*
 * test_netstack.c - the netstack's first layer against crafted frames:
 * ARP replies and cache, ICMP echo, IPv4/UDP validation with the drop
 * counters, the ARP wait queue, and the DHCP client's whole exchange
 * including renewal, classless routes and malformed replies, and what the
 * stack does with each receive checksum state a NIC can report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/netstack/fake_nic.h"
#include "netstack/ns_var.h"

static struct fake_nic f;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];
static int ups;

static void on_up(void *ctx, struct netstack *n) { ups++; }

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
#define MY_IP	0x0a00020f	/* 10.0.2.15 */
#define PEER_IP	0x0a000202	/* 10.0.2.2 */

static int
setup(void **state)
{
	fake_init(&f);
	struct netstack_port port = { fake_now, fake_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
	ns.on_up = on_up;
	ups = 0;
	return 0;
}

static void
setup_static(void)
{
	netstack_set_static(&ns, MY_IP, 0xffffff00u, PEER_IP, 0x0a000203);
	f.ntx = 0;	/* forget the gratuitous ARP */
}

static size_t
eth(uint8_t *p, const uint8_t *dst, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, peer_mac, 6);
	wr16(p + 12, type);
	return 14;
}

static size_t
arp_frame(uint8_t *p, int op, uint32_t spa, uint32_t tpa)
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t o = eth(p, bc, ETH_P_ARP);
	wr16(p + o, 1); wr16(p + o + 2, ETH_P_IP); p[o + 4] = 6; p[o + 5] = 4;
	wr16(p + o + 6, (uint16_t)op);
	memcpy(p + o + 8, peer_mac, 6);
	wr32(p + o + 14, spa);
	memset(p + o + 18, 0, 6);
	wr32(p + o + 24, tpa);
	return o + 28;
}

static size_t
ip_frame(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *pl, size_t plen)
{
	size_t o = eth(p, f.nic.mac, ETH_P_IP);
	uint8_t *h = p + o;
	memset(h, 0, 20);
	h[0] = 0x45;
	wr16(h + 2, (uint16_t)(20 + plen));
	h[8] = 64;
	h[9] = proto;
	wr32(h + 12, src);
	wr32(h + 16, dst);
	wr16(h + 10, ns_csum(h, 20, 0));
	memcpy(h + 20, pl, plen);
	return o + 20 + plen;
}

static size_t
echo_request(uint8_t *p, uint16_t seq, size_t datalen)
{
	uint8_t icmp[1500];
	icmp[0] = 8; icmp[1] = 0; wr16(icmp + 2, 0);
	wr16(icmp + 4, 0x1234); wr16(icmp + 6, seq);
	for (size_t i = 0; i < datalen; i++)
		icmp[8 + i] = (uint8_t)i;
	wr16(icmp + 2, ns_csum(icmp, 8 + datalen, 0));
	return ip_frame(p, PEER_IP, MY_IP, IPPROTO_ICMP, icmp, 8 + datalen);
}

static void
test_arp_reply(void **state)
{
	uint8_t fr[64];
	setup_static();
	size_t n = arp_frame(fr, 1, PEER_IP, MY_IP);
	fake_inject(&f, fr, n);
	assert_int_equal(f.ntx, 1);
	const uint8_t *r = f.tx[0];
	assert_memory_equal(r, peer_mac, 6);		/* unicast back */
	assert_int_equal(rd16(r + 12), ETH_P_ARP);
	assert_int_equal(rd16(r + 14 + 6), 2);		/* reply */
	assert_int_equal(rd32(r + 14 + 14), MY_IP);
	assert_int_equal(rd32(r + 14 + 24), PEER_IP);
	assert_int_equal(f.tx_len[0], 60);		/* padded */
	assert_non_null(ns_arp_lookup(&ns, PEER_IP));	/* learned */
	/* A request for someone else: no reply, no learning. */
	f.ntx = 0;
	n = arp_frame(fr, 1, 0x0a000263, 0x0a000264);
	fake_inject(&f, fr, n);
	assert_int_equal(f.ntx, 0);
	assert_null(ns_arp_lookup(&ns, 0x0a000263));
	/* Malformed: wrong hardware length. */
	n = arp_frame(fr, 1, PEER_IP, MY_IP);
	fr[14 + 4] = 8;
	fake_inject(&f, fr, n);
	assert_int_equal(ns.cnt.drops[ND_ARP_BAD], 1);
	assert_int_equal(f.rx_released, 3);		/* every buffer returned */
}

static void
test_icmp_echo(void **state)
{
	uint8_t fr[1600];
	setup_static();
	/* Learn the peer first so the reply goes out at once. */
	size_t n = arp_frame(fr, 1, PEER_IP, MY_IP);
	fake_inject(&f, fr, n);
	f.ntx = 0;
	n = echo_request(fr, 7, 56);
	fake_inject(&f, fr, n);
	assert_int_equal(f.ntx, 1);
	const uint8_t *ip = f.tx[0] + 14;
	assert_int_equal(ip[9], IPPROTO_ICMP);
	assert_int_equal(rd32(ip + 12), MY_IP);
	assert_int_equal(rd32(ip + 16), PEER_IP);
	assert_int_equal(ns_csum(ip, 20, 0), 0);
	const uint8_t *ic = ip + 20;
	assert_int_equal(ic[0], 0);
	assert_int_equal(rd16(ic + 6), 7);
	assert_int_equal(ns_csum(ic, 64, 0), 0);
	assert_memory_equal(ic + 8, fr + 14 + 20 + 8, 56);
	assert_int_equal(ns.cnt.icmp_echo_out, 1);
	/* Corrupt ICMP checksum: dropped, counted. */
	f.ntx = 0;
	n = echo_request(fr, 8, 56);
	fr[14 + 20 + 10] ^= 0xff;
	fake_inject(&f, fr, n);
	assert_int_equal(f.ntx, 0);
	assert_int_equal(ns.cnt.drops[ND_ICMP_CSUM], 1);
}

static void
test_ip_validation(void **state)
{
	uint8_t fr[1600];
	setup_static();
	size_t n = echo_request(fr, 1, 8);
	uint8_t bad[1600];
	memcpy(bad, fr, n); bad[14] = 0x65;			/* version 6 */
	fake_inject(&f, bad, n);
	assert_int_equal(ns.cnt.drops[ND_IP_HDR], 1);
	memcpy(bad, fr, n); bad[14 + 8] ^= 1;			/* header checksum */
	fake_inject(&f, bad, n);
	assert_int_equal(ns.cnt.drops[ND_IP_CSUM], 1);
	memcpy(bad, fr, n); wr16(bad + 14 + 2, 1400);		/* longer than the frame */
	wr16(bad + 14 + 10, 0); wr16(bad + 14 + 10, ns_csum(bad + 14, 20, 0));
	fake_inject(&f, bad, n);
	assert_int_equal(ns.cnt.drops[ND_IP_LEN], 1);
	/* A fragment that is not the last must carry a multiple of 8 bytes
	   (reassembly itself is tested in test_ipfrag.c). */
	size_t n9 = echo_request(bad, 1, 9);
	wr16(bad + 14 + 6, 0x2000);
	wr16(bad + 14 + 10, 0); wr16(bad + 14 + 10, ns_csum(bad + 14, 20, 0));
	fake_inject(&f, bad, n9);
	assert_int_equal(ns.cnt.drops[ND_IP_FRAG], 1);
	assert_int_equal(ns.cnt.frag_in, 0);
	memcpy(bad, fr, n); wr32(bad + 14 + 16, 0x0a000299);	/* not our address */
	wr16(bad + 14 + 10, 0); wr16(bad + 14 + 10, ns_csum(bad + 14, 20, 0));
	fake_inject(&f, bad, n);
	assert_int_equal(ns.cnt.drops[ND_NOT_FOR_US], 1);
	fake_inject(&f, fr, 10);				/* runt */
	assert_int_equal(ns.cnt.drops[ND_SHORT], 1);
	assert_int_equal(f.rx_released, 6);
}

static void
test_arp_queue(void **state)
{
	setup_static();
	/* No MAC for the gateway yet: the datagram waits, ARP goes out. */
	assert_int_equal(netstack_udp_send(&ns, 0x08080808, 1000, 53, "q", 1), TERN_OK);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(rd16(f.tx[0] + 12), ETH_P_ARP);
	assert_int_equal(rd32(f.tx[0] + 14 + 24), PEER_IP);	/* asks for the gateway */
	uint8_t fr[64];
	size_t n = arp_frame(fr, 2, PEER_IP, MY_IP);
	memcpy(fr, f.nic.mac, 6);
	fake_inject(&f, fr, n);
	assert_int_equal(f.ntx, 2);				/* the datagram left */
	assert_memory_equal(f.tx[1], peer_mac, 6);
	assert_int_equal(rd16(f.tx[1] + 12), ETH_P_IP);
	/* Unanswered: dropped after the wait, buffer back in the pool. */
	netstack_udp_send(&ns, 0x0a0002fe, 1000, 53, "q", 1);
	f.now += 4000000000ULL;
	ns_arp_timers(&ns);
	assert_int_equal(ns.cnt.drops[ND_ARP_QUEUE_FULL], 1);
	for (int i = 0; i < NS_TXBUFS; i++)
		assert_false(txmem[i].busy);
}

/* The reference: 16-bit big-endian words one at a time (RFC 1071). */
static uint16_t
csum_ref(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)(p[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* ns_csum (32-bit words, host order) against the reference: every
   length to 300 and some long ones up to the largest TSO or reassembled
   payload, every alignment, carries forced by 0xff runs, partial sums up
   to the largest a pseudo header gives. */
static void
test_csum_reference(void **state)
{
	(void)state;
	static uint8_t buf[69600];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	memset(buf + 4000, 0xff, 2000);
	const size_t lens[] = { 1499, 1500, 1514, 2000, 4096, 8999, 9000, 65535 };
	const uint32_t sums[] = { 0, 1, 0xffff, 0x2fffd, 0x1fffe0 };
	for (size_t a = 0; a < 8; a++)
		for (size_t si = 0; si < sizeof(sums) / sizeof(sums[0]); si++) {
			for (size_t n = 0; n <= 300; n++)
				if (ns_csum(buf + a, n, sums[si]) != csum_ref(buf + a, n, sums[si]))
					fail_msg("length %zu at offset %zu, sum 0x%x", n, a, sums[si]);
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
				size_t n = lens[k];
				uint8_t *p = buf + (k & 1 ? 3990 : 0) + a;
				if (ns_csum(p, n, sums[si]) != csum_ref(p, n, sums[si]))
					fail_msg("length %zu at offset %zu, sum 0x%x", n, a, sums[si]);
			}
		}
	memset(buf, 0xff, 64);			/* all ones: +0 and -0 */
	assert_int_equal(ns_csum(buf, 64, 0), csum_ref(buf, 64, 0));
	memset(buf, 0xff, 65535);		/* the most carries a frame gives */
	assert_int_equal(ns_csum(buf, 65535, 0x1fffe0), csum_ref(buf, 65535, 0x1fffe0));
	memset(buf, 0, 64);
	assert_int_equal(ns_csum(buf, 64, 0), 0xffff);
}

static int clock_reads;
static uint64_t counting_now(void *ctx) { clock_reads++; return fake_now(ctx); }

/* netstack_poll reads the clock once per pass, and scans the timers once
   per NS_TIMER_TICK_NS: a deadline is still met within a tick, and a
   clock that steps back does not stop the scans. */
static void
test_poll_clock_and_tick(void **state)
{
	setup_static();
	ns.port.now_ns = counting_now;
	f.now = 5000000000ULL;
	netstack_udp_send(&ns, 0x0a0002fe, 1000, 53, "q", 1);	/* waits for ARP */
	uint64_t scans = ns.cnt.timer_scans;
	clock_reads = 0;
	netstack_poll(&ns);
	assert_int_equal(clock_reads, 1);
	assert_int_equal(ns.cnt.timer_scans, scans + 1);
	netstack_poll(&ns);				/* same tick: no scan */
	f.now += NS_TIMER_TICK_NS / 2;
	netstack_poll(&ns);
	assert_int_equal(clock_reads, 3);
	assert_int_equal(ns.cnt.timer_scans, scans + 1);
	f.now += NS_TIMER_TICK_NS / 2;			/* a tick since the scan */
	netstack_poll(&ns);
	assert_int_equal(ns.cnt.timer_scans, scans + 2);
	/* The ARP wait (3 s) expires: dropped on the first pass after it. */
	assert_int_equal(ns.cnt.drops[ND_ARP_QUEUE_FULL], 0);
	f.now += 3000000000ULL;
	netstack_poll(&ns);
	assert_int_equal(ns.cnt.drops[ND_ARP_QUEUE_FULL], 1);
	/* The clock steps back: scans continue. */
	f.now -= 2000000000ULL;
	netstack_poll(&ns);
	assert_int_equal(ns.cnt.timer_scans, scans + 4);
	/* Outside a pass every ns_now() reads the clock. */
	assert_false(ns.clock_held);
	ns.port.now_ns = fake_now;
	/* An ARP entry learned after the scans found nothing to wait for
	   still expires at its TTL (arp_next_ns is lowered on insert). */
	netstack_poll(&ns);
	assert_int_equal(ns.arp_next_ns, UINT64_MAX);
	uint8_t fr[64];
	size_t n = arp_frame(fr, 2, PEER_IP, MY_IP);
	memcpy(fr, f.nic.mac, 6);
	fake_inject(&f, fr, n);
	int valid = 0;
	for (int i = 0; i < NS_ARP_ENTRIES; i++)
		valid += ns.arp[i].valid;
	assert_int_equal(valid, 1);
	f.now += ARP_TTL_NS - NS_TIMER_TICK_NS;
	netstack_poll(&ns);
	valid = 0;
	for (int i = 0; i < NS_ARP_ENTRIES; i++)
		valid += ns.arp[i].valid;
	assert_int_equal(valid, 1);
	f.now += NS_TIMER_TICK_NS;
	netstack_poll(&ns);
	for (int i = 0; i < NS_ARP_ENTRIES; i++)
		assert_false(ns.arp[i].valid);
}

/* A DHCP reply from 10.0.2.2 with the given options. */
static size_t
dhcp_reply(uint8_t *fr, int type, uint32_t yiaddr, const uint8_t *opts, size_t olen)
{
	uint8_t m[600];
	memset(m, 0, sizeof(m));
	m[0] = 2; m[1] = 1; m[2] = 6;
	wr32(m + 4, ns.dhcp.xid);
	wr32(m + 16, yiaddr);
	memcpy(m + 28, f.nic.mac, 6);
	wr32(m + 236, 0x63825363u);
	size_t o = 240;
	m[o++] = 53; m[o++] = 1; m[o++] = (uint8_t)type;
	if (olen > 0)
		memcpy(m + o, opts, olen);
	o += olen;
	m[o++] = 255;
	uint8_t udp[700];
	wr16(udp, 67); wr16(udp + 2, 68); wr16(udp + 4, (uint16_t)(8 + o)); wr16(udp + 6, 0);
	memcpy(udp + 8, m, o);
	return ip_frame(fr, PEER_IP, 0xffffffffu, IPPROTO_UDP, udp, 8 + o);
}

static void
test_dhcp_exchange(void **state)
{
	uint8_t fr[1600];
	netstack_dhcp_start(&ns);
	assert_int_equal(f.ntx, 1);				/* DISCOVER */
	const uint8_t *d = f.tx[0] + 14 + 20 + 8;
	assert_int_equal(d[0], 1);
	assert_int_equal(d[242], 1);				/* option 53 = 1 */
	assert_memory_equal(f.tx[0], "\xff\xff\xff\xff\xff\xff", 6);
	static const uint8_t offer_opts[] = { 54, 4, 10, 0, 2, 2 };
	size_t n = dhcp_reply(fr, 2, MY_IP, offer_opts, sizeof(offer_opts));
	fake_inject(&f, fr, n);
	assert_int_equal(f.ntx, 2);				/* REQUEST */
	d = f.tx[1] + 14 + 20 + 8;
	assert_int_equal(d[242], 3);
	static const uint8_t ack_opts[] = { 54, 4, 10, 0, 2, 2, 1, 4, 255, 255, 255, 0,
		3, 4, 10, 0, 2, 1, 6, 8, 10, 0, 2, 3, 1, 1, 1, 1, 51, 4, 0, 0, 0x0e, 0x10,
		26, 2, 0x05, 0xdc,
		121, 13, 24, 10, 0, 9, 10, 0, 2, 7, 0, 10, 0, 2, 2,	/* routes: default via .2 */
		245, 4, 168, 63, 129, 16 };
	n = dhcp_reply(fr, 5, MY_IP, ack_opts, sizeof(ack_opts));
	fake_inject(&f, fr, n);
	assert_true(ns.configured);
	assert_int_equal(ups, 1);
	assert_int_equal(ns.cfg.ip, MY_IP);
	assert_int_equal(ns.cfg.mask, 0xffffff00u);
	assert_int_equal(ns.cfg.gw, PEER_IP);			/* option 121 beats option 3 */
	assert_int_equal(ns.cfg.dns[0], 0x0a000203);
	assert_int_equal(ns.cfg.dns[1], 0x01010101);
	assert_int_equal(ns.cfg.lease_s, 3600);
	assert_int_equal(ns.cfg.azure_wireserver, 0xa83f8110);
	/* Renewal at T1 (half the lease) is a unicast REQUEST. */
	int before = f.ntx;
	f.now += 1801ULL * 1000000000ULL;
	netstack_poll(&ns);
	assert_true(f.ntx > before);
	/* Expiry without an answer drops the address and starts over. */
	f.now += 2000ULL * 1000000000ULL;
	netstack_poll(&ns);
	assert_false(ns.configured);
}

static void
test_dhcp_malformed(void **state)
{
	uint8_t fr[1600];
	netstack_dhcp_start(&ns);
	/* Option length running past the end. */
	static const uint8_t bad1[] = { 54, 40, 10, 0, 2, 2 };
	size_t n = dhcp_reply(fr, 2, MY_IP, bad1, sizeof(bad1));
	fr[n - 1] = 0;	/* remove the end option too */
	fake_inject(&f, fr, n);
	/* Offer without a server id. */
	n = dhcp_reply(fr, 2, MY_IP, NULL, 0);
	fake_inject(&f, fr, n);
	/* Wrong transaction id. */
	static const uint8_t ok[] = { 54, 4, 10, 0, 2, 2 };
	n = dhcp_reply(fr, 2, MY_IP, ok, sizeof(ok));
	fr[14 + 20 + 8 + 4] ^= 1;
	wr16(fr + 14 + 20 + 6, 0);	/* no UDP checksum */
	fake_inject(&f, fr, n);
	/* Bad classless route width. */
	static const uint8_t bad2[] = { 54, 4, 10, 0, 2, 2, 121, 5, 40, 1, 2, 3, 4 };
	n = dhcp_reply(fr, 2, MY_IP, bad2, sizeof(bad2));
	fake_inject(&f, fr, n);
	assert_int_equal(ns.cnt.drops[ND_DHCP_BAD], 4);
	assert_false(ns.configured);
	assert_int_equal(f.ntx, 1);	/* still only the DISCOVER */
}

static void
test_parse_ipv4(void **state)
{
	uint32_t ip;
	int p;
	assert_int_equal(ns_parse_ipv4("10.0.2.15/24", 12, &ip, &p), 0);
	assert_int_equal(ip, MY_IP);
	assert_int_equal(p, 24);
	assert_int_equal(ns_parse_ipv4("1.2.3.4", 7, &ip, NULL), 0);
	assert_int_equal(ns_parse_ipv4("1.2.3.256", 9, &ip, NULL), -1);
	assert_int_equal(ns_parse_ipv4("1.2.3", 5, &ip, NULL), -1);
	assert_int_equal(ns_parse_ipv4("1.2.3.4/33", 10, &ip, &p), -1);
	assert_int_equal(ns_parse_ipv4("1.2.3.4/", 8, &ip, &p), -1);
	assert_int_equal(ns_parse_ipv4("a.b.c.d", 7, &ip, NULL), -1);
	/* dns=a,b */
	uint32_t l[2];
	assert_int_equal(ns_parse_ipv4_list("10.0.2.3,1.1.1.1", 16, l, 2), 2);
	assert_int_equal(l[0], 0x0a000203);
	assert_int_equal(l[1], 0x01010101);
	assert_int_equal(ns_parse_ipv4_list("10.0.2.3", 8, l, 2), 1);
	assert_int_equal(ns_parse_ipv4_list("1.1.1.1,2.2.2.2,3.3.3.3", 23, l, 2), -1);
	assert_int_equal(ns_parse_ipv4_list("1.1.1.1,", 8, l, 2), -1);
	assert_int_equal(ns_parse_ipv4_list(",1.1.1.1", 8, l, 2), -1);
	assert_int_equal(ns_parse_ipv4_list("", 0, l, 2), -1);
	assert_int_equal(ns_parse_ipv4_list("1.1.1.1/24", 10, l, 2), -1);
	char buf[16];
	ns_format_ipv4(buf, sizeof(buf), 0xc0a80101);
	assert_string_equal(buf, "192.168.1.1");
}

/*
 * A TCP SYN from the peer to port 80 whose checksum field holds `how`:
 * 0 the full checksum, 1 only the pseudo-header sum (what a host sends
 * with a partial checksum), 2 garbage.
 */
static size_t
tcp_syn(uint8_t *p, int how)
{
	uint8_t t[20] = { 0x9c, 0x40, 0x00, 0x50, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, 0x02,
		0xff, 0xff, 0, 0, 0, 0 };
	uint32_t pseudo = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
	    (MY_IP & 0xffff) + IPPROTO_TCP + 20;
	uint16_t c;
	if (how == 0) {
		c = ns_csum(t, 20, pseudo);
	} else if (how == 1) {
		while (pseudo >> 16)
			pseudo = (pseudo & 0xffff) + (pseudo >> 16);
		c = (uint16_t)pseudo;
	} else {
		c = 0x1234;
	}
	wr16(t + 16, c);
	return ip_frame(p, PEER_IP, MY_IP, IPPROTO_TCP, t, 20);
}

static void
test_rx_csum_states(void **state)
{
	/* Each of kernel/dev/nic.h's receive checksum states, on a TCP SYN
	   (accepted: tcp.segs_in, refused: tcp.bad_csum). */
	static const struct {
		uint16_t csum, start, off;
		int how;		/* tcp_syn() */
		bool accepted;
	} cases[] = {
		{ NIC_RXCSUM_NONE, 0, 0, 0, true },	/* verified in software */
		{ NIC_RXCSUM_NONE, 0, 0, 1, false },	/* partial sum, nobody vouched */
		{ NIC_RXCSUM_NONE, 0, 0, 2, false },
		{ NIC_RXCSUM_PARTIAL, 34, 16, 1, true },	/* vnet header NEEDS_CSUM */
		{ NIC_RXCSUM_PARTIAL, 30, 16, 1, false },	/* offsets name another field */
		{ NIC_RXCSUM_PARTIAL, 34, 6, 1, false },
		{ NIC_RXCSUM_GOOD, 0, 0, 2, true },	/* device verified: trusted */
		{ NIC_RXCSUM_BAD, 0, 0, 0, true },	/* false alarm: software says good */
		{ NIC_RXCSUM_BAD, 0, 0, 2, false },
	};
	uint8_t fr[128];
	setup_static();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t in = ns.tcp.st.segs_in, bad = ns.tcp.st.bad_csum;
		size_t n = tcp_syn(fr, cases[i].how);
		fake_inject_csum(&f, fr, n, cases[i].csum, cases[i].start, cases[i].off);
		if (ns.tcp.st.segs_in - in != (cases[i].accepted ? 1u : 0u) ||
		    ns.tcp.st.bad_csum - bad != (cases[i].accepted ? 0u : 1u))
			fail_msg("case %zu: state %u how %d: accepted %d, expected %d", i,
			    cases[i].csum, cases[i].how, (int)(ns.tcp.st.segs_in - in),
			    cases[i].accepted);
	}
	assert_int_equal(ns.cnt.rx_csum_good, 1);
	assert_int_equal(ns.cnt.rx_csum_partial, 1);
	assert_int_equal(ns.cnt.rx_csum_hw_bad, 2);
	/* Software verified: 3 NONE, 2 PARTIAL that did not match, 2 BAD. */
	assert_int_equal(ns.cnt.rx_csum_sw, 7);

	/* UDP the same way: a partial sum is delivered only when vouched for. */
	uint8_t u[12] = { 0x9c, 0x40, 0x00, 0x09, 0x00, 0x0c, 0, 0, 1, 2, 3, 4 };
	uint32_t pseudo = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
	    (MY_IP & 0xffff) + IPPROTO_UDP + 12;
	while (pseudo >> 16)
		pseudo = (pseudo & 0xffff) + (pseudo >> 16);
	wr16(u + 6, (uint16_t)pseudo);
	size_t n = ip_frame(fr, PEER_IP, MY_IP, IPPROTO_UDP, u, sizeof(u));
	uint64_t drops = ns.cnt.drops[ND_UDP_CSUM], port = ns.cnt.drops[ND_UDP_PORT];
	fake_inject(&f, fr, n);
	assert_int_equal(ns.cnt.drops[ND_UDP_CSUM], drops + 1);
	fake_inject_csum(&f, fr, n, NIC_RXCSUM_PARTIAL, 34, 6);
	assert_int_equal(ns.cnt.drops[ND_UDP_CSUM], drops + 1);
	assert_int_equal(ns.cnt.drops[ND_UDP_PORT], port + 1);	/* got through */

	/* ICMP is always verified: a device's GOOD covers TCP/UDP only. */
	n = echo_request(fr, 1, 8);
	fr[14 + 20 + 2] ^= 0x40;
	fake_inject_csum(&f, fr, n, NIC_RXCSUM_GOOD, 0, 0);
	assert_int_equal(ns.cnt.drops[ND_ICMP_CSUM], 1);
	assert_int_equal(f.rx_released, 9 + 2 + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_arp_reply, setup),
		cmocka_unit_test_setup(test_icmp_echo, setup),
		cmocka_unit_test_setup(test_ip_validation, setup),
		cmocka_unit_test_setup(test_arp_queue, setup),
		cmocka_unit_test_setup(test_poll_clock_and_tick, setup),
		cmocka_unit_test(test_csum_reference),
		cmocka_unit_test_setup(test_dhcp_exchange, setup),
		cmocka_unit_test_setup(test_dhcp_malformed, setup),
		cmocka_unit_test_setup(test_parse_ipv4, setup),
		cmocka_unit_test_setup(test_rx_csum_states, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
