/*
 * test_tcp.c - TCP against crafted segments through a fake NIC: the
 * three-way handshake with MSS, in-order data to the application, sending
 * by reference with release on ACK, retransmission with backoff and abort,
 * orderly close from both sides, RST for unknown connections, and the
 * RFC 5961 challenge-ACK cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/netstack/fake_nic.h"
#include "netstack/ns_var.h"

#define MY_IP	0x0a00020f
#define PEER_IP	0x0a000202
#define PEER_PORT 40000
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };

static struct fake_nic f;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];
static struct tcp_pcb *accepted;
static uint8_t got[4096];
static size_t got_len;
static int eofs, closes, closed_reason, releases;
static uint16_t peer_port = PEER_PORT, my_port = 80, peer_wnd = 65535;

static void on_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n)
{
	if (n == 0) { eofs++; return; }
	memcpy(got + got_len, d, n);
	got_len += n;
}
static void on_closed(void *ctx, struct tcp_pcb *p, int reason) { closes++; closed_reason = reason; }
static void on_accept(void *ctx, struct tcp_pcb *p)
{
	accepted = p;
	p->cbs.recv = on_recv;
	p->cbs.closed = on_closed;
}
static void on_release(void *ctx) { releases++; }

static int
setup(void **state)
{
	fake_init(&f);
	struct netstack_port port = { fake_now, fake_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
	netstack_set_static(&ns, MY_IP, 0xffffff00u, PEER_IP, 0);
	accepted = NULL;
	got_len = 0;
	eofs = closes = releases = 0;
	closed_reason = 1;
	peer_port = PEER_PORT;
	my_port = 80;
	peer_wnd = 65535;
	/* Teach ARP the peer so replies leave at once. */
	uint8_t a[42];
	memset(a, 0xff, 6); memcpy(a + 6, peer_mac, 6); wr16(a + 12, ETH_P_ARP);
	wr16(a + 14, 1); wr16(a + 16, ETH_P_IP); a[18] = 6; a[19] = 4; wr16(a + 20, 1);
	memcpy(a + 22, peer_mac, 6); wr32(a + 28, PEER_IP); memset(a + 32, 0, 6); wr32(a + 38, MY_IP);
	fake_inject(&f, a, sizeof(a));
	f.ntx = 0;
	assert_int_equal(tcp_listen(&ns, 80, on_accept, NULL), 0);
	return 0;
}

/* Send a segment from the peer (ports and window in the globals). */
static void
seg_n(uint32_t seq, uint32_t ack, uint8_t flags, const void *data, size_t dlen,
    const uint8_t *opts, size_t olen)
{
	uint8_t fr[1600];
	size_t hl = 20 + olen;
	memcpy(fr, f.nic.mac, 6); memcpy(fr + 6, peer_mac, 6); wr16(fr + 12, ETH_P_IP);
	uint8_t *ip = fr + 14, *t = ip + 20;
	memset(ip, 0, 20);
	ip[0] = 0x45; wr16(ip + 2, (uint16_t)(20 + hl + dlen)); ip[8] = 64; ip[9] = 6;
	wr32(ip + 12, PEER_IP); wr32(ip + 16, MY_IP);
	wr16(ip + 10, ns_csum(ip, 20, 0));
	memset(t, 0, hl);
	wr16(t, peer_port); wr16(t + 2, my_port); wr32(t + 4, seq); wr32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4); t[13] = flags; wr16(t + 14, peer_wnd);
	if (olen) memcpy(t + 20, opts, olen);
	if (dlen) memcpy(t + hl, data, dlen);
	uint32_t ps = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) + (MY_IP & 0xffff) + 6 + (uint32_t)(hl + dlen);
	wr16(t + 16, ns_csum(t, hl + dlen, ps));
	fake_inject(&f, fr, 14 + 20 + hl + dlen);
}

static void
seg(uint32_t seq, uint32_t ack, uint8_t flags, const char *data, const uint8_t *opts, size_t olen)
{
	seg_n(seq, ack, flags, data, data ? strlen(data) : 0, opts, olen);
}

static const uint8_t *last_tcp(void) { return f.tx[f.ntx - 1] + 14 + 20; }
static uint8_t last_flags(void) { return last_tcp()[13]; }

static uint32_t iss;
static void
handshake(void)
{
	static const uint8_t mss[] = { 2, 4, 0x05, 0xb4 };
	seg(1000, 0, 0x02, NULL, mss, 4);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(last_flags(), 0x12);			/* SYN|ACK */
	assert_int_equal(rd32(last_tcp() + 8), 1001);
	assert_int_equal(last_tcp()[20], 2);			/* MSS option */
	iss = rd32(last_tcp() + 4);
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);
	assert_non_null(accepted);
	assert_int_equal(accepted->state, TCP_ESTABLISHED);
	assert_int_equal(accepted->mss, 1460);
}

static void
test_handshake_and_data(void **state)
{
	handshake();
	f.ntx = 0;
	seg(1001, iss + 1, 0x18, "hello", NULL, 0);
	assert_int_equal(got_len, 5);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(f.ntx, 0);			/* the ACK is delayed... */
	f.now += 40000000ULL;
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 1);			/* ...by at most 40 ms */
	assert_int_equal(rd32(last_tcp() + 8), 1006);		/* ACKs the data */
	assert_int_equal(ns.tcp.st.delayed_acks, 1);
	/* Out of order: kept, not delivered, duplicate ACK at once. */
	seg(1010, iss + 1, 0x18, "later", NULL, 0);
	assert_int_equal(got_len, 5);
	assert_int_equal(f.ntx, 2);
	assert_int_equal(rd32(last_tcp() + 8), 1006);
	assert_int_equal(ns.tcp.st.out_of_order, 1);
	/* The gap fills: both delivered in order, ACKed at once. */
	seg(1006, iss + 1, 0x18, "abcd", NULL, 0);
	assert_int_equal(got_len, 14);
	assert_memory_equal(got, "helloabcdlater", 14);
	assert_int_equal(f.ntx, 3);
	assert_int_equal(rd32(last_tcp() + 8), 1015);
	assert_int_equal(ns.cnt.payload_copied, 0);		/* receive copied nothing */
	assert_int_equal(ns.tcp.st.ooo_copied, 5);		/* but the held segment */
}

static void
test_send_release_and_retransmit(void **state)
{
	handshake();
	static const char msg[] = "0123456789";
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, msg, 10, on_release, NULL), 0);
	assert_int_equal(f.ntx, 1);
	assert_memory_equal(last_tcp() + 20, msg, 10);
	assert_int_equal(releases, 0);
	/* No ACK: retransmitted after the RTO (1 s), then backs off. */
	f.now += 1100000000ULL;
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 2);
	assert_int_equal(rd32(last_tcp() + 4), iss + 1);
	assert_int_equal(ns.tcp.st.retransmits, 1);
	f.now += 1100000000ULL;		/* RTO is now 2 s: nothing yet */
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 2);
	/* A partial ACK keeps the reference; the full ACK releases it. */
	seg(1001, iss + 1 + 4, 0x10, NULL, NULL, 0);
	assert_int_equal(releases, 0);
	seg(1001, iss + 11, 0x10, NULL, NULL, 0);
	assert_int_equal(releases, 1);
	assert_int_equal(accepted->rtx_deadline, 0);
}

static void
test_abort_after_retries(void **state)
{
	handshake();
	tcp_write(accepted, "x", 1, on_release, NULL);
	for (int i = 0; i < 12; i++) {
		f.now += 70000000000ULL;	/* beyond the 60 s RTO ceiling */
		netstack_poll(&ns);
	}
	assert_int_equal(closes, 1);
	assert_int_equal(releases, 1);			/* reference given back */
	assert_int_equal(ns.tcp.st.aborted, 1);
	/* The RST went out (or waits for ARP: the cache entry expired
	   during the long backoff, so the last frames are ARP requests). */
	assert_int_equal(ns.tcp.st.resets_out, 1);
}

static void
test_close_both_ways(void **state)
{
	handshake();
	/* Peer closes first: EOF to the app, app closes, LAST_ACK, gone. */
	seg(1001, iss + 1, 0x11, NULL, NULL, 0);
	assert_int_equal(eofs, 1);
	assert_int_equal(accepted->state, TCP_CLOSE_WAIT);
	tcp_close(accepted);
	assert_int_equal(accepted->state, TCP_LAST_ACK);
	assert_int_equal(last_flags() & 0x01, 0x01);
	seg(1002, iss + 2, 0x10, NULL, NULL, 0);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, 0);
	/* We close first: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> gone. */
	accepted = NULL;
	static const uint8_t mss[] = { 2, 4, 0x05, 0xb4 };
	seg(5000, 0, 0x02, NULL, mss, 4);
	uint32_t iss2 = rd32(last_tcp() + 4);
	seg(5001, iss2 + 1, 0x10, NULL, NULL, 0);
	tcp_close(accepted);
	assert_int_equal(accepted->state, TCP_FIN_WAIT_1);
	seg(5001, iss2 + 2, 0x10, NULL, NULL, 0);
	assert_int_equal(accepted->state, TCP_FIN_WAIT_2);
	seg(5001, iss2 + 2, 0x11, NULL, NULL, 0);
	/* TIME_WAIT lives in its own table: the pcb is free at once. */
	assert_int_equal(accepted->state, TCP_CLOSED);
	assert_int_equal(closes, 2);
	/* A retransmitted FIN is acknowledged from the TIME_WAIT entry. */
	f.ntx = 0;
	seg(5001, iss2 + 2, 0x11, NULL, NULL, 0);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(last_flags(), 0x10);
	assert_int_equal(rd32(last_tcp() + 8), 5002);
	f.now += 3000000000ULL;
	netstack_poll(&ns);
	/* Expired: the tuple is unknown again and gets an RST. */
	seg(5002, iss2 + 2, 0x10, "x", NULL, 0);
	assert_int_equal(last_flags(), 0x04);
}

static void
test_rfc5961(void **state)
{
	handshake();
	f.ntx = 0;
	/* RST in the window but not at rcv_nxt: challenge ACK, no reset. */
	seg(1001 + 100, 0, 0x04, NULL, NULL, 0);
	assert_int_equal(accepted->state, TCP_ESTABLISHED);
	assert_int_equal(ns.tcp.st.challenge_acks, 1);
	assert_int_equal(last_flags(), 0x10);
	/* RST outside the window: ignored silently. */
	int before = f.ntx;
	seg(1001 + 200000, 0, 0x04, NULL, NULL, 0);
	assert_int_equal(f.ntx, before);
	/* SYN on an established connection: challenge ACK. */
	seg(4242, 0, 0x02, NULL, NULL, 0);
	assert_int_equal(ns.tcp.st.challenge_acks, 2);
	assert_int_equal(accepted->state, TCP_ESTABLISHED);
	/* ACK for data never sent: challenge ACK, state unchanged. */
	seg(1001, iss + 5000, 0x10, NULL, NULL, 0);
	assert_int_equal(ns.tcp.st.challenge_acks, 3);
	/* RST exactly at rcv_nxt: the connection resets. */
	seg(1001, 0, 0x04, NULL, NULL, 0);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, TERN_ECONNRESET);
}

static void
test_unknown_gets_rst(void **state)
{
	f.ntx = 0;
	seg(777, 888, 0x10, "data", NULL, 0);		/* no such connection */
	assert_int_equal(f.ntx, 1);
	assert_int_equal(last_flags(), 0x04);
	assert_int_equal(rd32(last_tcp() + 4), 888);	/* seq = their ACK */
	/* SYN to a port nobody listens on: RST|ACK. */
	ns.tcp.listen[0].accept = NULL;
	seg(1, 0, 0x02, NULL, NULL, 0);
	assert_int_equal(last_flags(), 0x14);
	assert_int_equal(rd32(last_tcp() + 8), 2);
	/* A bad checksum is counted and answered with nothing. */
	int before = f.ntx;
	ns_tcp_input(&ns, PEER_IP, MY_IP, (const uint8_t *)"\x9c\x40\x00\x50garbage-garbage!!", 20);
	assert_int_equal(f.ntx, before);
	assert_int_equal(ns.tcp.st.bad_csum, 1);
}

static void
test_isn_differs(void **state)
{
	uint32_t a, b;
	static const uint8_t mss[] = { 2, 4, 0x05, 0xb4 };
	seg(1, 0, 0x02, NULL, mss, 4);
	a = rd32(last_tcp() + 4);
	ns.tcp.pcbs[0].state = TCP_CLOSED;
	f.now += 4000;	/* 1 tick of the 4 us clock */
	seg(1, 0, 0x02, NULL, mss, 4);
	b = rd32(last_tcp() + 4);
	assert_int_equal(b - a, 1);	/* same tuple: M advances, F is the same */
	assert_true(a != 0 && a != 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_handshake_and_data, setup),
		cmocka_unit_test_setup(test_send_release_and_retransmit, setup),
		cmocka_unit_test_setup(test_abort_after_retries, setup),
		cmocka_unit_test_setup(test_close_both_ways, setup),
		cmocka_unit_test_setup(test_rfc5961, setup),
		cmocka_unit_test_setup(test_unknown_gets_rst, setup),
		cmocka_unit_test_setup(test_isn_differs, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
