/*
 * test_ipfrag.c - IPv4 reassembly (ipfrag.c) and path MTU (ip.c) against
 * crafted fragments: in order, reversed, duplicate, overlapping,
 * inconsistent ends, timeout, memory and slot limits, oversize, a
 * fragmented UDP datagram, ICMP echo and TCP SYN reaching their
 * handlers; ICMP fragmentation needed with valid, bogus and unrelated
 * quotes, plateaus, clamping and expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/netstack/frames.h"

static struct fake_nic f;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];

static uint8_t got[70000];
static size_t got_len;
static int got_n;

static void
on_udp(void *ctx, struct netstack *n, uint32_t src, uint16_t sport,
    const uint8_t *data, size_t len)
{
	memcpy(got, data, len);
	got_len = len;
	got_n++;
}

static int
setup(void **state)
{
	fake_init(&f);
	struct netstack_port port = { fake_now, fake_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
	netstack_set_static(&ns, MY_IP, 0xffffff00u, PEER_IP, 0);
	uint8_t a[64];
	fake_inject(&f, a, fr_arp_request(a, PEER_IP, MY_IP));
	f.ntx = 0;
	f.rx_released = 0;
	got_len = 0;
	got_n = 0;
	assert_int_equal(netstack_udp_bind(&ns, 5000, on_udp, NULL), TERN_OK);
	return 0;
}

/* One fragment: payload bytes [off, off+len) of dgram, MF as given. */
static void
send_frag(uint8_t proto, uint16_t id, const uint8_t *dgram, size_t off, size_t len, bool mf)
{
	static uint8_t fr[2048];
	uint16_t fl = (uint16_t)(off / 8) | (mf ? 0x2000 : 0);
	size_t n = fr_ip(fr, f.nic.mac, PEER_IP, MY_IP, proto, id, fl, dgram + off, len);
	fake_inject(&f, fr, n);
}

static uint8_t dg[66000];

/* A UDP datagram to port 5000 with `len` bytes of data; returns its size. */
static size_t
make_udp(size_t len, uint8_t seed)
{
	static uint8_t data[66000];
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + seed);
	return fr_udp(dg, PEER_IP, MY_IP, 4000, 5000, data, len);
}

static void
assert_got(size_t len, uint8_t seed)
{
	assert_int_equal(got_n, 1);
	assert_int_equal(got_len, len);
	for (size_t i = 0; i < len; i++)
		if (got[i] != (uint8_t)(i * 7 + seed))
			fail_msg("byte %zu differs", i);
}

static void
assert_empty(void)
{
	for (int i = 0; i < NS_FRAG_SLOTS; i++)
		assert_false(ns.frag[i].used);
	assert_int_equal(ns.frag_used, 0);
}

static void
test_in_order(void **state)
{
	size_t n = make_udp(4000, 1);		/* 4008 bytes: 1480 + 1480 + 1048 */
	send_frag(IPPROTO_UDP, 7, dg, 0, 1480, true);
	send_frag(IPPROTO_UDP, 7, dg, 1480, 1480, true);
	assert_int_equal(got_n, 0);
	send_frag(IPPROTO_UDP, 7, dg, 2960, n - 2960, false);
	assert_got(4000, 1);
	assert_int_equal(ns.cnt.reasm_ok, 1);
	assert_int_equal(ns.cnt.frag_in, 3);
	assert_int_equal(ns.cnt.udp_in, 1);
	assert_int_equal(f.rx_released, 3);
	assert_empty();
}

static void
test_reversed(void **state)
{
	size_t n = make_udp(4000, 2);
	send_frag(IPPROTO_UDP, 8, dg, 2960, n - 2960, false);
	send_frag(IPPROTO_UDP, 8, dg, 1480, 1480, true);
	send_frag(IPPROTO_UDP, 8, dg, 0, 1480, true);
	assert_got(4000, 2);
	assert_empty();
}

static void
test_interleaved(void **state)
{
	/* Two datagrams at once, with the same ID from the same peer but
	   different protocols (so different keys), completed in turn. */
	static uint8_t other[2100];
	size_t n = make_udp(2000, 3);
	memcpy(other, dg, n);
	send_frag(IPPROTO_UDP, 9, dg, 0, 1000, true);
	send_frag(IPPROTO_ICMP, 9, dg, 0, 1000, true);	/* never completed */
	send_frag(IPPROTO_UDP, 9, other, 1000, n - 1000, false);
	assert_got(2000, 3);
	assert_int_equal(ns.frag_used, 1000);
}

static void
test_duplicate(void **state)
{
	size_t n = make_udp(3000, 4);
	send_frag(IPPROTO_UDP, 10, dg, 0, 1480, true);
	send_frag(IPPROTO_UDP, 10, dg, 0, 1480, true);		/* the same again */
	assert_int_equal(ns.cnt.frag_dup, 1);
	send_frag(IPPROTO_UDP, 10, dg, 1480, n - 1480, false);
	send_frag(IPPROTO_UDP, 10, dg, 1480, n - 1480, false);	/* late duplicate: a new, incomplete datagram */
	assert_got(3000, 4);
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERLAP], 0);
	/* A "duplicate" with other bytes is an attack or a bug: drop it all. */
	make_udp(3000, 4);
	send_frag(IPPROTO_UDP, 11, dg, 0, 1480, true);
	dg[100] ^= 1;
	send_frag(IPPROTO_UDP, 11, dg, 0, 1480, true);
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERLAP], 1);
	dg[100] ^= 1;
	send_frag(IPPROTO_UDP, 11, dg, 1480, n - 1480, false);
	assert_int_equal(got_n, 1);		/* nothing more delivered */
}

static void
test_overlap(void **state)
{
	size_t n = make_udp(3000, 5);
	send_frag(IPPROTO_UDP, 12, dg, 0, 1480, true);
	send_frag(IPPROTO_UDP, 12, dg, 1472, n - 1472, false);	/* overlaps by 8 */
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERLAP], 1);
	assert_int_equal(got_n, 0);
	assert_empty();
	/* Two different last fragments. */
	send_frag(IPPROTO_UDP, 13, dg, 1480, n - 1480, false);
	send_frag(IPPROTO_UDP, 13, dg, 1480, 800, false);
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERLAP], 2);
	/* A middle fragment past the known end. */
	send_frag(IPPROTO_UDP, 14, dg, 800, 800, false);
	send_frag(IPPROTO_UDP, 14, dg, 1600, 800, true);
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERLAP], 3);
	/* A last fragment ending before data already held. */
	send_frag(IPPROTO_UDP, 15, dg, 1480, 800, true);
	send_frag(IPPROTO_UDP, 15, dg, 8, 992, false);
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERLAP], 4);
	/* Malformed: not a multiple of 8 before the end, or empty. */
	send_frag(IPPROTO_UDP, 16, dg, 0, 1001, true);
	send_frag(IPPROTO_UDP, 16, dg, 8, 0, true);
	assert_int_equal(ns.cnt.drops[ND_IP_FRAG], 2);
	assert_int_equal(got_n, 0);
	assert_empty();
}

static void
test_timeout(void **state)
{
	size_t n = make_udp(3000, 6);
	send_frag(IPPROTO_UDP, 20, dg, 0, 1480, true);
	f.now += 29ULL * 1000000000ULL;
	netstack_poll(&ns);
	assert_int_equal(ns.cnt.drops[ND_FRAG_TIMEOUT], 0);
	f.now += 2ULL * 1000000000ULL;
	netstack_poll(&ns);
	assert_int_equal(ns.cnt.drops[ND_FRAG_TIMEOUT], 1);
	assert_empty();
	/* The rest arriving late starts a new datagram that cannot finish. */
	send_frag(IPPROTO_UDP, 20, dg, 1480, n - 1480, false);
	assert_int_equal(got_n, 0);
}

static void
test_memory_limit(void **state)
{
	/* Two datagrams each claiming 40000 bytes cannot share 64 KiB: the
	   older is freed. */
	make_udp(50000, 7);
	send_frag(IPPROTO_UDP, 30, dg, 39000, 1000, true);
	assert_int_equal(ns.frag_used, 40000);
	f.now += 1000;
	send_frag(IPPROTO_UDP, 31, dg, 39000, 1000, true);
	assert_int_equal(ns.cnt.drops[ND_FRAG_MEM], 1);
	assert_int_equal(ns.frag_used, 40000);
	/* The survivor still completes, fragment by fragment. */
	size_t n = make_udp(50000, 7);
	for (size_t off = 0; off < n; off += 1000) {
		size_t len = n - off < 1000 ? n - off : 1000;
		if (off != 39000)
			send_frag(IPPROTO_UDP, 31, dg, off, len, off + len < n);
	}
	assert_got(50000, 7);
	assert_empty();
	/* More datagrams than slots: the oldest make way. */
	for (int i = 0; i < NS_FRAG_SLOTS + 3; i++) {
		f.now += 1000;
		send_frag(IPPROTO_UDP, (uint16_t)(40 + i), dg, 0, 8, true);
	}
	assert_int_equal(ns.cnt.drops[ND_FRAG_MEM], 4);
	assert_int_equal(ns.frag_used, 8 * NS_FRAG_SLOTS);
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < NS_FRAG_SLOTS; k++)
			assert_false(ns.frag[k].used && ns.frag[k].id == 40 + i);
}

static void
test_max_size(void **state)
{
	/* Exactly 65535 bytes (20 header + 65515 payload) is fine ... */
	size_t n = make_udp(65515 - 8, 8);
	assert_int_equal(n, 65515);
	for (size_t off = 0; off < n; off += 1480) {
		size_t len = n - off < 1480 ? n - off : 1480;
		send_frag(IPPROTO_UDP, 50, dg, off, len, off + len < n);
	}
	assert_got(65507, 8);
	assert_empty();
	/* ... one byte more is not, whichever fragment says so. */
	send_frag(IPPROTO_UDP, 51, dg, 0, 1480, true);
	send_frag(IPPROTO_UDP, 51, dg, 65512, 4, false);
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERSIZE], 1);
	assert_empty();
	send_frag(IPPROTO_UDP, 52, dg, 8184 * 8, 100, false);	/* largest offset */
	assert_int_equal(ns.cnt.drops[ND_FRAG_OVERSIZE], 2);
	assert_int_equal(got_n, 1);
}

static void
test_icmp_echo(void **state)
{
	/* An echo request in two fragments is answered as one. */
	uint8_t icmp[72];
	icmp[0] = 8; icmp[1] = 0; wr16(icmp + 2, 0);
	wr16(icmp + 4, 0x4242); wr16(icmp + 6, 3);
	for (int i = 8; i < 72; i++)
		icmp[i] = (uint8_t)i;
	wr16(icmp + 2, ns_csum(icmp, sizeof(icmp), 0));
	send_frag(IPPROTO_ICMP, 60, icmp, 40, 32, false);
	send_frag(IPPROTO_ICMP, 60, icmp, 0, 40, true);
	assert_int_equal(ns.cnt.icmp_echo_in, 1);
	assert_int_equal(f.ntx, 1);
	const uint8_t *ip = f.tx[0] + 14;
	assert_int_equal(rd16(ip + 2), 20 + 72);
	assert_int_equal(ip[20], 0);
	assert_memory_equal(ip + 28, icmp + 8, 64);
	assert_int_equal(ns_csum(ip + 20, 72, 0), 0);
	assert_empty();
}

static void tcp_accept_cb(void *ctx, struct tcp_pcb *p) { }

static void
test_tcp_syn(void **state)
{
	/* A SYN with options, split after 16 bytes of its header. */
	uint8_t syn[24];
	memset(syn, 0, sizeof(syn));
	wr16(syn, 40000); wr16(syn + 2, 80);
	wr32(syn + 4, 1000);
	syn[12] = 6 << 4; syn[13] = 0x02;
	wr16(syn + 14, 65535);
	syn[20] = 2; syn[21] = 4; wr16(syn + 22, 1460);
	uint32_t sum = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
	    (MY_IP & 0xffff) + IPPROTO_TCP + sizeof(syn);
	wr16(syn + 16, ns_csum(syn, sizeof(syn), sum));
	assert_int_equal(tcp_listen(&ns, 80, tcp_accept_cb, NULL), TERN_OK);
	send_frag(IPPROTO_TCP, 70, syn, 16, 8, false);
	send_frag(IPPROTO_TCP, 70, syn, 0, 16, true);
	assert_int_equal(ns.tcp.st.segs_in, 1);
	assert_int_equal(f.ntx, 1);
	const uint8_t *t = f.tx[0] + 14 + 20;
	assert_int_equal(t[13], 0x12);			/* SYN-ACK */
	assert_int_equal(rd32(t + 8), 1001);
	assert_empty();
}

/* ICMP fragmentation needed quoting a datagram of ours to dst. */
static void
send_frag_needed(uint16_t mtu, uint32_t qsrc, uint32_t qdst, uint16_t qlen, size_t quote)
{
	uint8_t m[8 + 60 + 8], fr[200];
	memset(m, 0, sizeof(m));
	m[0] = 3; m[1] = 4;
	wr16(m + 6, mtu);
	fr_ip_header(m + 8, qsrc, qdst, IPPROTO_TCP, 1, 0x4000, qlen - 20);
	wr16(m + 2, ns_csum(m, 8 + quote, 0));
	fake_inject(&f, fr, fr_ip(fr, f.nic.mac, PEER_IP, MY_IP, IPPROTO_ICMP, 0, 0, m, 8 + quote));
}

static void
test_pmtu(void **state)
{
	const uint32_t far = 0x08080808, far2 = 0x01010101;
	assert_int_equal(ns_pmtu(&ns, far), 1500);
	send_frag_needed(1400, MY_IP, far, 1500, 28);
	assert_int_equal(ns.cnt.icmp_unreach_in, 1);
	assert_int_equal(ns_pmtu(&ns, far), 1400);
	assert_int_equal(ns_pmtu(&ns, far2), 1500);
	/* Not lower than what we have: ignored. */
	send_frag_needed(1450, MY_IP, far, 1500, 28);
	send_frag_needed(9000, MY_IP, far2, 1500, 28);
	assert_int_equal(ns.cnt.drops[ND_PMTU_BOGUS], 2);
	assert_int_equal(ns_pmtu(&ns, far), 1400);
	/* Below 68 is bogus; 68..575 is raised to 576. */
	send_frag_needed(40, MY_IP, far2, 1500, 28);
	assert_int_equal(ns.cnt.drops[ND_PMTU_BOGUS], 3);
	send_frag_needed(300, MY_IP, far2, 1500, 28);
	assert_int_equal(ns_pmtu(&ns, far2), 576);
	/* An old router (MTU 0): the plateau below the quoted length. */
	send_frag_needed(0, MY_IP, far, 1400, 28);
	assert_int_equal(ns_pmtu(&ns, far), 1006);
	/* Quotes that are not ours: wrong source, too short, not IPv4. */
	send_frag_needed(1000, 0x0a000299, 0x09090909, 1500, 28);
	send_frag_needed(1000, MY_IP, 0x09090909, 1500, 24);
	assert_int_equal(ns.cnt.drops[ND_ICMP_BAD], 2);
	assert_int_equal(ns_pmtu(&ns, 0x09090909), 1500);
	/* Bounded table: more destinations than entries. */
	for (uint32_t i = 0; i < NS_PMTU_ENTRIES + 4; i++) {
		f.now += 1000;
		send_frag_needed(1200, MY_IP, 0x0b000000 + i, 1500, 28);
	}
	assert_int_equal(ns_pmtu(&ns, 0x0b000000 + NS_PMTU_ENTRIES + 3), 1200);
	/* Entries expire after 10 minutes. */
	f.now += 601ULL * 1000000000ULL;
	assert_int_equal(ns_pmtu(&ns, 0x0b000000 + NS_PMTU_ENTRIES + 3), 1500);
	assert_int_equal(f.ntx, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_in_order, setup),
		cmocka_unit_test_setup(test_reversed, setup),
		cmocka_unit_test_setup(test_interleaved, setup),
		cmocka_unit_test_setup(test_duplicate, setup),
		cmocka_unit_test_setup(test_overlap, setup),
		cmocka_unit_test_setup(test_timeout, setup),
		cmocka_unit_test_setup(test_memory_limit, setup),
		cmocka_unit_test_setup(test_max_size, setup),
		cmocka_unit_test_setup(test_icmp_echo, setup),
		cmocka_unit_test_setup(test_tcp_syn, setup),
		cmocka_unit_test_setup(test_pmtu, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
