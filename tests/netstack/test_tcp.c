/*
 * test_tcp.c - TCP against crafted segments through a fake NIC: the
 * three-way handshake with MSS, in-order data to the application, sending
 * by reference with release on ACK, retransmission with backoff and abort,
 * orderly close from both sides, RST for unknown connections, and the
 * RFC 5961 challenge-ACK cases (rate limited); active open (refused,
 * timed out, simultaneous open and close); the out-of-order queue with
 * SACK blocks; window scaling, timestamps and PAWS; delayed ACKs;
 * NewReno and SACK retransmission; Nagle and sender SWS avoidance;
 * keepalive; zero-window probes; SYN cookies; 200 connections and the
 * TIME_WAIT table; receive credit and the zero window; zero-copy
 * transmit (page split, checksum in software or offloaded, references
 * held while a NIC holds frames, full rings); a hostile peer over a
 * chaotic NIC; two stacks back to back over a clean and a lossy link;
 * and where the ISN and SYN cookie keys come from (the random hook, at
 * attach, never the clock).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/netstack/fake_nic.h"
#include "netstack/ns_var.h"
#include "netstack/tcp_var.h"

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

static const uint8_t *last_rx_ptr;	/* where the last delivery pointed */
static struct nic_buf *last_rx_buf;	/* the buffer it came with */
static bool hold_rx;			/* keep a reference on it */
static void on_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n,
    struct nic_buf *b)
{
	if (n == 0) { eofs++; return; }
	last_rx_ptr = d;
	last_rx_buf = b;
	if (hold_rx && b != NULL)
		nic_buf_hold(b);
	if (got_len + n <= sizeof(got))	/* beyond: counted only */
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

/* Teach ARP the peer so replies leave at once. */
static void
teach_arp(void)
{
	uint8_t a[42];
	memset(a, 0xff, 6); memcpy(a + 6, peer_mac, 6); wr16(a + 12, ETH_P_ARP);
	wr16(a + 14, 1); wr16(a + 16, ETH_P_IP); a[18] = 6; a[19] = 4; wr16(a + 20, 1);
	memcpy(a + 22, peer_mac, 6); wr32(a + 28, PEER_IP); memset(a + 32, 0, 6); wr32(a + 38, MY_IP);
	fake_inject(&f, a, sizeof(a));
}

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
	teach_arp();
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
handshake_with(const uint8_t *opts, size_t olen)
{
	f.ntx = 0;
	seg(1000, 0, 0x02, NULL, opts, olen);
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

static const uint8_t mss_only[] = { 2, 4, 0x05, 0xb4 };
static void handshake(void) { handshake_with(mss_only, 4); }

/* The option of `kind` in a TCP header, or NULL. */
static const uint8_t *
find_opt(const uint8_t *t, uint8_t kind)
{
	size_t hl = (size_t)(t[12] >> 4) * 4;
	for (size_t i = 20; i < hl;) {
		if (t[i] == 0)
			break;
		if (t[i] == 1) {
			i++;
			continue;
		}
		if (t[i] == kind)
			return t + i;
		i += t[i + 1];
	}
	return NULL;
}

static struct tcp_pcb *conn;
static int connects;
static void on_connected(void *ctx, struct tcp_pcb *p) { connects++; }
static const struct tcp_cbs ccbs = { on_recv, on_closed, on_connected };

/* tcp_connect to PEER_IP:443; returns our ISS from the SYN. */
static uint32_t
start_connect(void)
{
	f.ntx = 0;
	connects = 0;
	assert_int_equal(tcp_connect(&ns, PEER_IP, 443, &ccbs, NULL, &conn), 0);
	assert_int_equal(conn->state, TCP_SYN_SENT);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(last_flags(), 0x02);
	my_port = rd16(last_tcp());
	peer_port = 443;
	assert_true(my_port >= 49152);
	return rd32(last_tcp() + 4);
}

static void
test_rx_buffer_lent(void **state)
{
	/* A receiver that takes a reference keeps the driver's buffer (and
	   the bytes in it) until it drops the reference; data the stack had
	   to copy (out of order) comes without a buffer. */
	handshake();
	int rel = f.rx_released;
	hold_rx = true;
	seg(1001, iss + 1, 0x18, "hello", NULL, 0);
	assert_ptr_equal(last_rx_buf, &f.rxb);
	assert_int_equal(f.rx_released, rel);		/* still lent */
	assert_memory_equal(last_rx_ptr, "hello", 5);
	nic_buf_release(last_rx_buf);
	assert_int_equal(f.rx_released, rel + 1);
	seg(1011, iss + 1, 0x18, "later", NULL, 0);	/* queued out of order */
	assert_int_equal(f.rx_released, rel + 2);
	seg(1006, iss + 1, 0x18, "abcde", NULL, 0);	/* fills the gap */
	hold_rx = false;
	assert_int_equal(got_len, 15);
	assert_null(last_rx_buf);			/* "later", from the queue */
	assert_int_equal(f.rx_released, rel + 2);	/* "abcde" still held */
	nic_buf_release(&f.rxb);
	assert_int_equal(f.rx_released, rel + 3);
}

static void
test_handshake_and_data(void **state)
{
	handshake();
	f.ntx = 0;
	seg(1001, iss + 1, 0x18, "hello", NULL, 0);
	assert_int_equal(got_len, 5);
	assert_memory_equal(got, "hello", 5);
	/* Zero copy: the application saw the driver's receive buffer, and
	   was lent the buffer itself. */
	assert_true(last_rx_ptr >= f.rxdata && last_rx_ptr < f.rxdata + sizeof(f.rxdata));
	assert_ptr_equal(last_rx_buf, &f.rxb);
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

/* A write from the workload (outside netstack_poll) reads the clock
   once for all it sends, like a pass. */
static int clock_reads;
static uint64_t counting_now(void *ctx) { clock_reads++; return fake_now(ctx); }

static void
test_write_one_clock_read(void **state)
{
	static uint8_t big[3 * 1460];
	handshake();
	ns.port.now_ns = counting_now;
	clock_reads = 0;
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, big, sizeof(big), on_release, NULL), 0);
	assert_true(f.ntx >= 2);
	assert_int_equal(clock_reads, 1);
	assert_false(ns.clock_held);
	assert_true(accepted->rtx_deadline > f.now);
	ns.port.now_ns = fake_now;
}

/* The connections' timer scan runs only when a deadline may be due
   (or TCP_SCAN_MAX_NS after the last one): a deadline set after a scan
   that found none still fires on time. */
static void
test_timer_scan_when_due(void **state)
{
	handshake();
	f.now += MS_NS(500);
	netstack_poll(&ns);		/* nothing armed: the scan finds no deadline */
	uint64_t scans = ns.tcp.st.timer_scans;
	f.now += MS_NS(2);
	netstack_poll(&ns);
	assert_int_equal(ns.tcp.st.timer_scans, scans);	/* skipped */
	f.ntx = 0;
	seg(1001, iss + 1, 0x18, "hello", NULL, 0);	/* arms the delayed ACK */
	assert_int_equal(f.ntx, 0);
	f.now += DELACK_NS - MS_NS(1);
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 0);
	f.now += MS_NS(1);
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 1);			/* at 40 ms, not at the next full scan */
	assert_int_equal(ns.tcp.st.delayed_acks, 1);
	assert_int_equal(ns.tcp.st.timer_scans, scans + 1);
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
test_fin_wait_2_timeout(void **state)
{
	handshake();
	tcp_close(accepted);
	seg(1001, iss + 2, 0x10, NULL, NULL, 0);
	assert_int_equal(accepted->state, TCP_FIN_WAIT_2);
	f.now += 59000000000ULL;
	netstack_poll(&ns);
	seg(1001, iss + 2, 0x18, "still here", NULL, 0);	/* data restarts it */
	assert_int_equal(got_len, 10);
	f.now += 59000000000ULL;
	netstack_poll(&ns);
	assert_int_equal(accepted->state, TCP_FIN_WAIT_2);
	f.now += 2000000000ULL;
	netstack_poll(&ns);
	assert_int_equal(accepted->state, TCP_CLOSED);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, TERN_ETIMEDOUT);
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
	/* A flood of in-window RSTs: at most 100 challenge ACKs a second. */
	f.now += 1000000000ULL;
	f.ntx = 0;
	for (int i = 0; i < 300; i++)
		seg(1001 + 100, 0, 0x04, NULL, NULL, 0);
	assert_int_equal(f.ntx, TCP_CHALLENGE_PER_S);
	assert_int_equal(ns.tcp.st.challenge_limited, 300 - TCP_CHALLENGE_PER_S);
	f.now += 1000000000ULL;
	seg(1001 + 100, 0, 0x04, NULL, NULL, 0);
	assert_int_equal(f.ntx, TCP_CHALLENGE_PER_S + 1);
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
	ns_tcp_input(&ns, PEER_IP, MY_IP, (const uint8_t *)"\x9c\x40\x00\x50garbage-garbage!!", 20, false);
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

static void
test_active_open(void **state)
{
	uint32_t s = start_connect();
	/* The SYN offers MSS, window scale, SACK and timestamps. */
	assert_non_null(find_opt(last_tcp(), 2));
	assert_int_equal(find_opt(last_tcp(), 3)[2], 3);
	assert_non_null(find_opt(last_tcp(), 4));
	assert_non_null(find_opt(last_tcp(), 8));
	seg(7000, s + 1, 0x12, NULL, mss_only, 4);
	assert_int_equal(conn->state, TCP_ESTABLISHED);
	assert_int_equal(connects, 1);
	assert_int_equal(ns.tcp.st.connected, 1);
	assert_int_equal(last_flags(), 0x10);
	assert_int_equal(rd32(last_tcp() + 4), s + 1);
	assert_int_equal(rd32(last_tcp() + 8), 7001);
	assert_false(conn->ws_ok);	/* the peer did not offer it */
	assert_int_equal(rd16(last_tcp() + 14), 65535);
	/* Data both ways. */
	assert_int_equal(tcp_write(conn, "ping", 4, on_release, NULL), 0);
	assert_memory_equal(last_tcp() + 20, "ping", 4);
	seg(7001, s + 5, 0x18, "pong", NULL, 0);
	assert_int_equal(releases, 1);
	assert_memory_equal(got, "pong", 4);
	/* A second connection gets another ephemeral port. */
	uint16_t first = my_port;
	struct tcp_pcb *c1 = conn;
	start_connect();
	assert_true(my_port != first);
	assert_true(conn != c1);
}

static void
test_connect_refused(void **state)
{
	uint32_t s = start_connect();
	seg(0, s + 7, 0x14, NULL, NULL, 0);	/* RST with a wrong ACK: ignored */
	assert_int_equal(closes, 0);
	seg(0, s + 1, 0x14, NULL, NULL, 0);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, TERN_ECONNREFUSED);
	assert_int_equal(connects, 0);
	assert_int_equal(ns.tcp.st.connect_failed, 1);
	/* A SYN-ACK acknowledging something else gets an RST. */
	s = start_connect();
	seg(100, s + 9, 0x12, NULL, NULL, 0);
	assert_int_equal(last_flags(), 0x04);
	assert_int_equal(rd32(last_tcp() + 4), s + 9);
	assert_int_equal(conn->state, TCP_SYN_SENT);
}

static void
test_connect_timeout(void **state)
{
	start_connect();
	uint64_t rto = 1000000000ULL;
	for (int i = 0; i < 6; i++) {
		f.now += rto - 1000;
		netstack_poll(&ns);
		assert_int_equal(f.ntx, 1 + i);		/* not before the RTO */
		/* Timers are scanned once per tick (netstack_poll): the RTO
		   fires within a tick of its deadline. */
		f.now += NS_TIMER_TICK_NS;
		netstack_poll(&ns);
		assert_int_equal(f.ntx, 2 + i);
		assert_int_equal(last_flags(), 0x02);
		rto *= 2;				/* backoff */
	}
	assert_int_equal(closes, 0);
	f.now += rto;
	netstack_poll(&ns);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, TERN_ETIMEDOUT);
	assert_int_equal(conn->state, TCP_CLOSED);
}

static void
test_simultaneous_open(void **state)
{
	uint32_t s = start_connect();
	seg(9000, 0, 0x02, NULL, mss_only, 4);		/* their SYN crosses ours */
	assert_int_equal(conn->state, TCP_SYN_RCVD);
	assert_int_equal(last_flags(), 0x12);
	assert_int_equal(rd32(last_tcp() + 4), s);		/* same ISS */
	assert_int_equal(rd32(last_tcp() + 8), 9001);
	assert_int_equal(connects, 0);
	seg(9000, s + 1, 0x12, NULL, mss_only, 4);	/* their SYN-ACK */
	assert_int_equal(conn->state, TCP_ESTABLISHED);
	assert_int_equal(connects, 1);
	seg(9001, s + 1, 0x18, "hi", NULL, 0);
	assert_int_equal(got_len, 2);
}

static void
test_simultaneous_close(void **state)
{
	handshake();
	tcp_close(accepted);
	assert_int_equal(accepted->state, TCP_FIN_WAIT_1);
	seg(1001, iss + 1, 0x11, NULL, NULL, 0);	/* their FIN, ours not acked */
	assert_int_equal(accepted->state, TCP_CLOSING);
	assert_int_equal(eofs, 0);
	assert_int_equal(rd32(last_tcp() + 8), 1002);
	seg(1002, iss + 2, 0x10, NULL, NULL, 0);	/* now it is */
	assert_int_equal(accepted->state, TCP_CLOSED);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, 0);
	int tw = 0;
	for (int i = 0; i < TCP_TW_ENTRIES; i++)
		tw += ns.tcp.tw[i].end != 0;
	assert_int_equal(tw, 1);
}

/* Simultaneous close where the ACK of our FIN is lost: the FIN goes again
   on the RTO and the connection must stay CLOSING (it once fell back to
   ESTABLISHED, re-sent the FIN as if new, and sat in FIN_WAIT_2 waiting
   for a FIN it had already acknowledged). */
static void
test_closing_fin_retransmit(void **state)
{
	handshake();
	tcp_close(accepted);
	seg(1001, iss + 1, 0x11, NULL, NULL, 0);	/* their FIN, ours not acked */
	assert_int_equal(accepted->state, TCP_CLOSING);
	f.ntx = 0;
	f.now += 1100000000ULL;				/* past the 1 s RTO */
	netstack_poll(&ns);
	assert_true(f.ntx >= 1);
	assert_true(last_flags() & 0x01);		/* the FIN again */
	assert_int_equal(rd32(last_tcp() + 4), iss + 1);
	assert_int_equal(accepted->state, TCP_CLOSING);
	seg(1002, iss + 2, 0x10, NULL, NULL, 0);	/* the ACK arrives */
	assert_int_equal(accepted->state, TCP_CLOSED);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, 0);
}

static void
test_ooo_sack(void **state)
{
	static const uint8_t o[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };
	handshake_with(o, sizeof(o));
	assert_non_null(find_opt(last_tcp(), 4) == NULL ? NULL : "x");
	assert_true(accepted->sack_ok);
	f.ntx = 0;
	seg(1011, iss + 1, 0x18, "BBBBB", NULL, 0);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(rd32(last_tcp() + 8), 1001);
	const uint8_t *sk = find_opt(last_tcp(), 5);
	assert_non_null(sk);
	assert_int_equal(sk[1], 10);
	assert_int_equal(rd32(sk + 2), 1011);
	assert_int_equal(rd32(sk + 6), 1016);
	seg(1021, iss + 1, 0x18, "DDDDD", NULL, 0);
	sk = find_opt(last_tcp(), 5);
	assert_int_equal(sk[1], 18);			/* latest block first */
	assert_int_equal(rd32(sk + 2), 1021);
	assert_int_equal(rd32(sk + 10), 1011);
	seg(1001, iss + 1, 0x18, "AAAAAAAAAA", NULL, 0);
	assert_int_equal(got_len, 15);
	assert_int_equal(rd32(last_tcp() + 8), 1016);	/* at once: a gap remains */
	sk = find_opt(last_tcp(), 5);
	assert_int_equal(sk[1], 10);
	assert_int_equal(rd32(sk + 2), 1021);
	seg(1016, iss + 1, 0x18, "CCCCC", NULL, 0);
	assert_int_equal(got_len, 25);
	assert_memory_equal(got, "AAAAAAAAAABBBBBCCCCCDDDDD", 25);
	assert_null(find_opt(last_tcp(), 5));
	assert_int_equal(rd32(last_tcp() + 8), 1026);
	/* The queue is bounded: the ninth held segment is dropped. */
	for (int i = 0; i < TCP_OOO_MAX + 1; i++)
		seg(2000 + 10 * (uint32_t)i, iss + 1, 0x18, "zz", NULL, 0);
	assert_int_equal(accepted->ooo_n, TCP_OOO_MAX);
	assert_int_equal(ns.tcp.st.ooo_dropped, 1);
	/* Closing frees the pool slots. */
	tcp_abort(accepted);
	for (int i = 0; i < TCP_OOO_SLOTS; i++)
		assert_false(ns.tcp.ooo_used[i]);
}

static void
test_wscale_timestamps(void **state)
{
	static const uint8_t o[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2,
		8, 10, 0, 0, 0, 100, 0, 0, 0, 0 };
	f.ntx = 0;
	seg(1000, 0, 0x02, NULL, o, sizeof(o));
	const uint8_t *ws = find_opt(last_tcp(), 3), *ts = find_opt(last_tcp(), 8);
	assert_non_null(ws);
	assert_int_equal(ws[2], 3);
	assert_non_null(ts);
	assert_int_equal(rd32(ts + 6), 100);			/* TSecr echoes */
	assert_int_equal(rd16(last_tcp() + 14), 65535);	/* SYN: unscaled */
	iss = rd32(last_tcp() + 4);
	peer_wnd = 100;
	uint8_t t[12] = { 1, 1, 8, 10 };
	wr32(t + 4, 101);
	wr32(t + 8, rd32(ts + 2));
	seg(1001, iss + 1, 0x10, NULL, t, 12);
	assert_int_equal(accepted->state, TCP_ESTABLISHED);
	assert_int_equal(accepted->snd_wnd, 100 << 7);	/* their scale honoured */
	/* Data: ACK carries TS and our scaled window (256 KiB >> 3). */
	wr32(t + 4, 200);
	seg(1001, iss + 1, 0x18, "abc", t, 12);
	f.now += 40000000ULL;
	netstack_poll(&ns);
	assert_int_equal(rd16(last_tcp() + 14), (256 << 10) >> 3);
	assert_int_equal(rd32(find_opt(last_tcp(), 8) + 6), 200);
	/* PAWS: an older timestamp is dropped (and answered). */
	wr32(t + 4, 150);
	seg(1004, iss + 1, 0x18, "old", t, 12);
	assert_int_equal(got_len, 3);
	assert_int_equal(ns.tcp.st.paws_dropped, 1);
	/* RTT from TSecr. */
	assert_int_equal(tcp_write(accepted, "x", 1, NULL, NULL), 0);
	uint32_t tsval = rd32(find_opt(last_tcp(), 8) + 2);
	assert_int_equal(last_tcp()[12] >> 4, 8);		/* 20 + 12 bytes */
	f.now += 50000000ULL;
	wr32(t + 4, 300);
	wr32(t + 8, tsval);
	seg(1004, iss + 2, 0x10, NULL, t, 12);
	assert_int_equal(accepted->srtt_ns, 50000000ULL);
}

static void
test_delayed_ack_every_second(void **state)
{
	static uint8_t full[1460];
	handshake();
	f.ntx = 0;
	seg_n(1001, iss + 1, 0x10, full, sizeof(full), NULL, 0);
	assert_int_equal(f.ntx, 0);
	seg_n(1001 + 1460, iss + 1, 0x10, full, sizeof(full), NULL, 0);
	assert_int_equal(f.ntx, 1);			/* second full segment */
	assert_int_equal(rd32(last_tcp() + 8), 1001 + 2920);
	f.now += 100000000ULL;
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 1);			/* nothing left to ACK */
	/* A FIN is acknowledged at once. */
	seg(1001 + 2920, iss + 1, 0x11, NULL, NULL, 0);
	assert_int_equal(f.ntx, 2);
	assert_int_equal(eofs, 1);
}

static void
test_delayed_ack_with_timestamps(void **state)
{
	/* Segments carry 12 bytes of timestamps: 1448 is full-size. */
	static const uint8_t o[] = { 2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0 };
	static uint8_t full[1448];
	handshake_with(o, sizeof(o));
	uint8_t t[12] = { 1, 1, 8, 10, 0, 0, 0, 2 };
	f.ntx = 0;
	seg_n(1001, iss + 1, 0x10, full, sizeof(full), t, 12);
	assert_int_equal(f.ntx, 0);
	seg_n(1001 + 1448, iss + 1, 0x10, full, sizeof(full), t, 12);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(rd32(last_tcp() + 8), 1001 + 2896);
}

static void
test_fast_retransmit_newreno(void **state)
{
	static uint8_t big[14600];
	handshake();
	assert_int_equal(accepted->cwnd, 14600);		/* RFC 6928 IW10 */
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, big, sizeof(big), on_release, NULL), 0);
	assert_int_equal(f.ntx, 10);
	seg(1001, iss + 1 + 1460, 0x10, NULL, NULL, 0);
	for (int i = 0; i < 3; i++)
		seg(1001, iss + 1 + 1460, 0x10, NULL, NULL, 0);
	assert_int_equal(ns.tcp.st.fast_retransmits, 1);
	assert_int_equal(f.ntx, 11);
	assert_int_equal(rd32(last_tcp() + 4), iss + 1 + 1460);
	assert_true(accepted->in_recovery);
	assert_int_equal(accepted->ssthresh, 13140 / 2);
	assert_int_equal(accepted->cwnd, 13140 / 2 + 3 * 1460);
	/* Partial ACK: the next hole goes at once, recovery continues. */
	seg(1001, iss + 1 + 2920, 0x10, NULL, NULL, 0);
	assert_int_equal(rd32(last_tcp() + 4), iss + 1 + 2920);
	assert_true(accepted->in_recovery);
	/* Full ACK: recovery ends with cwnd at most ssthresh. */
	seg(1001, iss + 1 + 14600, 0x10, NULL, NULL, 0);
	assert_false(accepted->in_recovery);
	assert_true(accepted->cwnd <= accepted->ssthresh);
	assert_int_equal(releases, 1);
}

static void
test_limited_transmit(void **state)
{
	static uint8_t big[5 * 1460];
	handshake();
	accepted->cwnd = 3 * 1460;
	f.ntx = 0;
	tcp_write(accepted, big, sizeof(big), NULL, NULL);
	assert_int_equal(f.ntx, 3);			/* cwnd-limited */
	/* The first segment is lost: the first two duplicates each let
	   one new segment out (RFC 3042), the third retransmits. */
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(f.ntx, 4);
	assert_int_equal(rd32(last_tcp() + 4), iss + 1 + 3 * 1460);
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(f.ntx, 5);
	assert_int_equal(rd32(last_tcp() + 4), iss + 1 + 4 * 1460);
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(f.ntx, 6);
	assert_int_equal(rd32(last_tcp() + 4), iss + 1);
	assert_int_equal(ns.tcp.st.fast_retransmits, 1);
	assert_int_equal(accepted->cwnd, accepted->ssthresh + 3 * 1460);
}

static void
test_nagle(void **state)
{
	handshake();
	f.ntx = 0;
	tcp_write(accepted, "a", 1, NULL, NULL);
	assert_int_equal(f.ntx, 1);
	tcp_write(accepted, "b", 1, NULL, NULL);
	tcp_write(accepted, "c", 1, NULL, NULL);
	assert_int_equal(f.ntx, 1);		/* small, and "a" is unacked */
	seg(1001, iss + 2, 0x10, NULL, NULL, 0);
	assert_int_equal(f.ntx, 2);
	assert_int_equal(rd16(f.tx[1] + 16) - 20 - 20, 2);	/* "bc" together */
	assert_memory_equal(last_tcp() + 20, "bc", 2);
	tcp_set_nodelay(accepted, true);
	tcp_write(accepted, "d", 1, NULL, NULL);
	assert_int_equal(f.ntx, 3);		/* no waiting now */
}

static void
test_keepalive(void **state)
{
	handshake();
	tcp_set_keepalive(accepted, 1000, 500, 3);
	f.ntx = 0;
	f.now += 999000000ULL;
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 0);
	f.now += 1000000ULL;
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(rd32(last_tcp() + 4), iss);	/* snd_una - 1 */
	assert_int_equal(ns.tcp.st.keepalive_probes, 1);
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);	/* the peer is alive */
	for (int i = 0; i < 3; i++) {
		f.now += i == 0 ? 1000000000ULL : 500000000ULL;
		netstack_poll(&ns);
	}
	assert_int_equal(ns.tcp.st.keepalive_probes, 4);
	assert_int_equal(closes, 0);
	f.now += 500000000ULL;
	netstack_poll(&ns);
	assert_int_equal(closes, 1);
	assert_int_equal(closed_reason, TERN_ETIMEDOUT);
}

static void
test_zero_window_persist(void **state)
{
	handshake();
	peer_wnd = 0;
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(accepted->snd_wnd, 0);
	f.ntx = 0;
	tcp_write(accepted, "data", 4, NULL, NULL);
	assert_int_equal(f.ntx, 0);
	/* Probes back off (1, 2, 4, ... 60 s) and never give up while the
	   peer answers. */
	uint64_t gap = 1000000000ULL;
	for (int i = 0; i < 8; i++) {
		f.now += gap;
		netstack_poll(&ns);
		assert_int_equal(f.ntx, i + 1);
		assert_int_equal(rd32(last_tcp() + 4), iss);
		seg(1001, iss + 1, 0x10, NULL, NULL, 0);
		gap = gap * 2 > 60000000000ULL ? 60000000000ULL : gap * 2;
	}
	assert_int_equal(ns.tcp.st.persist_probes, 8);
	assert_int_equal(accepted->state, TCP_ESTABLISHED);
	peer_wnd = 65535;
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);	/* window update */
	assert_int_equal(f.ntx, 9);
	assert_memory_equal(last_tcp() + 20, "data", 4);
}

static void
test_syn_cookies(void **state)
{
	for (int i = 0; i < TCP_SYN_BACKLOG; i++) {
		peer_port = (uint16_t)(30000 + i);
		seg(1000, 0, 0x02, NULL, mss_only, 4);
	}
	assert_int_equal(ns.tcp.listen[0].half_open, TCP_SYN_BACKLOG);
	assert_int_equal(ns.tcp.st.syn_cookies_sent, 0);
	/* Full: the next SYN gets a cookie and no state. */
	f.ntx = 0;
	peer_port = 31000;
	seg(5000, 0, 0x02, NULL, mss_only, 4);
	assert_int_equal(ns.tcp.st.syn_cookies_sent, 1);
	assert_int_equal(last_flags(), 0x12);
	assert_int_equal(rd32(last_tcp() + 8), 5001);
	assert_int_equal(ns.tcp.listen[0].half_open, TCP_SYN_BACKLOG);
	uint32_t c = rd32(last_tcp() + 4);
	/* The round trip: the ACK (carrying data here) rebuilds the
	   connection, and the data is delivered. */
	seg(5001, c + 1, 0x18, "data", NULL, 0);
	assert_int_equal(ns.tcp.st.syn_cookies_ok, 1);
	assert_non_null(accepted);
	assert_int_equal(accepted->state, TCP_ESTABLISHED);
	assert_int_equal(accepted->rport, 31000);
	assert_int_equal(accepted->mss, 1460);
	assert_int_equal(got_len, 4);
	seg(5005, c + 1, 0x18, "more", NULL, 0);
	assert_int_equal(got_len, 8);
	/* Forged: one hash bit wrong. */
	accepted = NULL;
	peer_port = 31001;
	seg(6000, 0, 0x02, NULL, mss_only, 4);
	c = rd32(last_tcp() + 4);
	seg(6001, (c ^ 0x100) + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(ns.tcp.st.syn_cookies_bad, 1);
	assert_int_equal(last_flags(), 0x04);
	assert_null(accepted);
	/* Wrong peer sequence for a good cookie. */
	seg(6002, c + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(ns.tcp.st.syn_cookies_bad, 2);
	/* Expired: two 64 s ticks later. */
	peer_port = 31002;
	seg(7000, 0, 0x02, NULL, mss_only, 4);
	c = rd32(last_tcp() + 4);
	f.now += 130000000000ULL;
	seg(7001, c + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(ns.tcp.st.syn_cookies_bad, 3);
	assert_null(accepted);
}

/* Passive open, then we close and the peer finishes: TIME_WAIT entry. */
static void
open_and_close(uint16_t port)
{
	peer_port = port;
	f.ntx = 0;
	seg(1000, 0, 0x02, NULL, mss_only, 4);
	uint32_t s = rd32(last_tcp() + 4);
	seg(1001, s + 1, 0x10, NULL, NULL, 0);
	tcp_close(accepted);
	seg(1001, s + 2, 0x11, NULL, NULL, 0);
}

static void
test_many_connections_and_timewait(void **state)
{
	/* 200 concurrent connections. */
	struct tcp_pcb *all[200];
	for (int i = 0; i < 200; i++) {
		peer_port = (uint16_t)(20000 + i);
		f.ntx = 0;
		seg(1000, 0, 0x02, NULL, mss_only, 4);
		uint32_t s = rd32(last_tcp() + 4);
		seg(1001, s + 1, 0x10, NULL, NULL, 0);
		all[i] = accepted;
		assert_int_equal(accepted->state, TCP_ESTABLISHED);
	}
	assert_int_equal(ns.tcp.st.accepted, 200);
	for (int i = 0; i < 200; i++)
		tcp_abort(all[i]);
	print_message("sizeof(struct tcp_pcb) = %zu, tcp state %zu bytes\n",
	    sizeof(struct tcp_pcb), sizeof(struct tcp_state_all));
	assert_true(sizeof(struct tcp_pcb) <= 1152);	/* about 1 KiB */
	/* TIME_WAIT takes no pcb; past 512 entries the oldest is recycled. */
	for (int i = 0; i < TCP_TW_ENTRIES + 10; i++) {
		f.now += 1000;
		open_and_close((uint16_t)(1024 + i));
	}
	for (int i = 0; i < TCP_MAX_PCBS; i++)
		assert_int_equal(ns.tcp.pcbs[i].state, TCP_CLOSED);
	assert_int_equal(ns.tcp.st.tw_recycled, 10);
}

static void
test_rx_credit_zero_window(void **state)
{
	static uint8_t full[1460];
	handshake();
	tcp_set_rx_credit(accepted, true);
	uint32_t seq = 1001;
	for (int i = 0; i < 45; i++) {
		seg_n(seq, iss + 1, 0x10, full, sizeof(full), NULL, 0);
		seq += 1460;
	}
	/* 44 full segments and 1295 bytes of the 45th fit 65535. */
	assert_int_equal(got_len, 65535);
	assert_int_equal(accepted->rcv_held, 65535);
	assert_int_equal(accepted->rcv_nxt, 1001 + 65535);
	assert_int_equal(rd16(last_tcp() + 14), 0);	/* zero window */
	assert_int_equal(rd32(last_tcp() + 8), 1001 + 65535);
	/* The peer probes: still zero. */
	seg(1001 + 65535 - 1, iss + 1, 0x10, NULL, NULL, 0);
	assert_int_equal(rd16(last_tcp() + 14), 0);
	/* The application reads: a window update goes out. */
	int before = f.ntx;
	tcp_recved(accepted, 65535);
	assert_int_equal(f.ntx, before + 1);
	assert_int_equal(rd16(last_tcp() + 14), 65535);
	/* And the sender's next segment is taken. */
	seg_n(1001 + 65535, iss + 1, 0x10, full, sizeof(full), NULL, 0);
	assert_int_equal(accepted->rcv_nxt, 1001 + 65535 + 1460);
}

/* A NIC that keeps transmitted chains until the test completes them. */
static struct nic_buf *held[64];
static int nheld;
static struct nic_tx_meta last_meta;
static int
hold_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	last_meta = m != NULL ? *m : (struct nic_tx_meta){ 0 };
	size_t len = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		if (f.ntx < FAKE_MAX_TX && len + b->len <= sizeof(f.tx[0]))
			memcpy(f.tx[f.ntx] + len, b->data, b->len);
		len += b->len;
	}
	if (f.ntx < FAKE_MAX_TX)
		f.tx_len[f.ntx] = len;
	f.ntx++;
	held[nheld++] = chain;
	return 0;
}
static const struct nic_ops hold_ops = { hold_tx, fake_poll, fake_intr, fake_detach, NULL };
static void
complete_held(void)
{
	for (int i = 0; i < nheld; i++)
		for (struct nic_buf *b = held[i], *next; b != NULL; b = next) {
			next = b->next;
			nic_buf_release(b);
		}
	nheld = 0;
}

/* The frame's TCP checksum verifies and its payload is `want`. */
static void
check_frame(int k, const uint8_t *want, size_t n)
{
	const uint8_t *t = f.tx[k] + 34;
	size_t tlen = f.tx_len[k] - 34;
	uint32_t ps = (MY_IP >> 16) + (MY_IP & 0xffff) + (PEER_IP >> 16) + (PEER_IP & 0xffff) + 6 + (uint32_t)tlen;
	assert_int_equal(ns_csum(t, tlen, ps), 0);
	size_t hl = (size_t)(t[12] >> 4) * 4;
	assert_int_equal(tlen - hl, n);
	assert_memory_equal(t + hl, want, n);
}

static void
test_zero_copy_tx(void **state)
{
	static uint8_t mem[8192] __attribute__((aligned(4096)));
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 7 + 1);
	handshake();
	f.nic.ops = &hold_ops;
	nheld = 0;
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, mem + 4000, 3000, on_release, NULL), 0);
	assert_int_equal(f.ntx, 2);		/* the 80-byte tail waits (Nagle) */
	/* Header buffer, then the app's memory split at the page boundary. */
	struct nic_buf *b = held[0]->next;
	assert_ptr_equal(b->data, mem + 4000);
	assert_int_equal(b->len, 96);
	assert_ptr_equal(b->next->data, mem + 4096);
	assert_int_equal(b->next->len, 1364);
	assert_null(b->next->next);
	assert_ptr_equal(held[1]->next->data, mem + 5460);
	assert_null(held[1]->next->next);
	check_frame(0, mem + 4000, 1460);
	check_frame(1, mem + 5460, 1460);
	seg(1001, iss + 2921, 0x10, NULL, NULL, 0);
	assert_int_equal(f.ntx, 3);
	check_frame(2, mem + 6920, 80);
	assert_int_equal(ns.cnt.payload_copied, 0);
	assert_int_equal(ns.tcp.st.zc_frames, 3);
	/* All acknowledged, but the NIC still holds frames: no release. */
	seg(1001, iss + 3001, 0x10, NULL, NULL, 0);
	assert_int_equal(releases, 0);
	complete_held();
	assert_int_equal(releases, 1);
	/* A connection that dies with frames in flight: closed() at once,
	   release and the pcb slot only after the NIC is done. */
	tcp_write(accepted, mem, 2000, on_release, NULL);
	struct tcp_pcb *dead = accepted;
	tcp_abort(dead);
	assert_int_equal(closes, 1);
	assert_int_equal(releases, 1);
	assert_int_equal(dead->sq_len, 1);
	peer_port = 41000;
	seg(1, 0, 0x02, NULL, mss_only, 4);
	for (int i = 0; i < TCP_MAX_PCBS; i++)
		if (ns.tcp.pcbs[i].state == TCP_SYN_RCVD)
			assert_true(&ns.tcp.pcbs[i] != dead);
	complete_held();
	assert_int_equal(releases, 2);
	assert_int_equal(dead->sq_len, 0);
	for (int i = 0; i < TCP_ZBUFS; i++)
		assert_false(ns.tcp.zbufs[i].used);
	f.nic.ops = &fake_ops;
}

static void
test_zero_copy_csum_offload(void **state)
{
	static uint8_t mem[2000];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 5 + 3);
	handshake();
	f.nic.ops = &hold_ops;
	f.nic.offloads = NIC_OFF_TX_CSUM;
	nheld = 0;
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, mem, 1460, on_release, NULL), 0);
	assert_int_equal(ns.tcp.st.zc_frames, 1);
	assert_int_equal(last_meta.flags, NIC_TX_CSUM);
	assert_int_equal(last_meta.l3_off, 14);
	assert_int_equal(last_meta.l4_off, 34);
	assert_int_equal(last_meta.l4_proto, 6);
	assert_int_equal(last_meta.mss, accepted->mss);
	assert_int_equal(nic_tx_csum_field(&last_meta), 16);
	/* Do what the device does, then the checksum must verify. */
	uint8_t *t = f.tx[0] + 34;
	size_t tlen = f.tx_len[0] - 34;
	uint16_t c = ns_csum(t, tlen, 0);
	wr16(t + 16, c);
	check_frame(0, mem, 1460);
	complete_held();
	f.nic.offloads = 0;
	f.nic.ops = &fake_ops;
}

/* A NIC whose ring is full for the next `full_for` frames. */
static int full_for;
static int
full_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	if (full_for > 0) {
		full_for--;
		return TERN_EAGAIN;
	}
	return fake_tx(n, q, chain, m);
}
static const struct nic_ops full_ops = { full_tx, fake_poll, fake_intr, fake_detach, NULL };

static void
test_tx_ring_full_retry(void **state)
{
	static uint8_t mem[1460];
	handshake();
	f.nic.ops = &full_ops;
	full_for = 1;
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, mem, sizeof(mem), on_release, NULL), 0);
	assert_int_equal(f.ntx, 0);		/* the ring refused it */
	for (int i = 0; i < TCP_ZBUFS; i++)
		assert_false(ns.tcp.zbufs[i].used);	/* chain given back */
	assert_int_equal(accepted->snd_nxt, iss + 1);
	f.now += 1000000000ULL;			/* the retry timer */
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 1);
	check_frame(0, mem, sizeof(mem));
	/* A FIN that cannot leave is retried too. */
	seg(1001, iss + 1461, 0x10, NULL, NULL, 0);
	full_for = 1;		/* dropped, not retried by polling */
	tcp_close(accepted);
	assert_int_equal(f.ntx, 1);
	f.now += 1000000000ULL;
	netstack_poll(&ns);
	assert_int_equal(last_flags() & 0x01, 0x01);
	f.nic.ops = &fake_ops;
}

/* A NIC that segments (NIC_OFF_TSO4 with the checksum offload): new
   data leaves as one frame for as much as the windows allow (here the
   initial 10-segment cwnd), with NIC_TX_TSO, mss = the payload per
   segment, the IPv4 length of the whole frame, the pseudo-header sum
   over its TCP length in the checksum field, the payload by reference in
   order, and PSH only when it ends the queued data; a retransmission
   goes one ordinary segment at a time. */
static void
test_tso_one_frame(void **state)
{
	static uint8_t mem[20 * 1460] __attribute__((aligned(4096)));
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 11 + 3);
	handshake();
	f.nic.ops = &hold_ops;
	uint32_t offl = f.nic.offloads;
	f.nic.offloads |= NIC_OFF_TSO4 | NIC_OFF_TX_CSUM;
	nheld = 0;
	f.ntx = 0;
	uint64_t segs0 = ns.tcp.st.segs_out;
	assert_int_equal(tcp_write(accepted, mem, sizeof(mem), on_release, NULL), 0);
	assert_int_equal(f.ntx, 1);
	uint32_t len = 10 * 1460;
	assert_true(last_meta.flags & NIC_TX_TSO);
	assert_true(last_meta.flags & NIC_TX_CSUM_L4);
	assert_int_equal(last_meta.mss, 1460);
	assert_int_equal(f.tx_len[0], 14 + 20 + 20 + len);
	const uint8_t *ip = f.tx[0] + 14, *t = ip + 20;
	assert_int_equal(rd16(ip + 2), 20 + 20 + len);
	assert_int_equal(ns_csum(ip, 20, 0), 0);
	assert_int_equal(rd32(t + 4), iss + 1);
	assert_int_equal(t[13], 0x10);		/* more is queued: no PSH */
	uint32_t ps = (MY_IP >> 16) + (MY_IP & 0xffff) + (PEER_IP >> 16) + (PEER_IP & 0xffff) +
	    6 + 20 + len;
	while (ps >> 16)
		ps = (ps & 0xffff) + (ps >> 16);
	assert_int_equal(rd16(t + 16), ps);
	size_t off = 0;
	for (struct nic_buf *b = held[0]->next; b != NULL; b = b->next) {
		assert_memory_equal(b->data, mem + off, b->len);
		off += b->len;
	}
	assert_int_equal(off, len);
	assert_int_equal(ns.tcp.st.tso_frames, 1);
	assert_int_equal(ns.tcp.st.segs_out, segs0 + 10);	/* counted as ten */
	complete_held();
	/* Nothing acknowledged: the timeout resends one plain segment. */
	f.ntx = 0;
	f.now += 5000000000ULL;
	netstack_poll(&ns);
	assert_true(f.ntx >= 1);
	assert_false(last_meta.flags & NIC_TX_TSO);
	assert_int_equal(f.tx_len[0], 14 + 20 + 20 + 1460);
	assert_int_equal(rd32(f.tx[0] + 34 + 4), iss + 1);
	complete_held();
	f.nic.ops = &fake_ops;
	f.nic.offloads = offl;
}

/* A NIC that keeps the transmit-ready promise (nic.tx_wakes): its ring
   takes `room` more frames, then refuses; every call is counted. */
static int wake_room, wake_calls;
static int
wake_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	wake_calls++;
	if (wake_room == 0)
		return TERN_EAGAIN;
	wake_room--;
	return fake_tx(n, q, chain, m);
}
static const struct nic_ops wake_ops = { wake_tx, fake_poll, fake_intr, fake_detach, NULL };

/* 8 segments with room for 3: the 4th is refused once, nothing more is
   offered to the waiting queue (not by the peer's ACK, not by the
   timers), and tx_ready sends the rest byte for byte with no
   retransmission and no timeout. */
static void
test_tx_wait_resumes_on_tx_ready(void **state)
{
	static uint8_t mem[8 * 1460];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 29 + 5);
	handshake();
	f.nic.ops = &wake_ops;
	f.nic.tx_wakes = true;
	wake_room = 3;
	wake_calls = 0;
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, mem, sizeof(mem), on_release, NULL), 0);
	assert_int_equal(f.ntx, 3);
	assert_int_equal(wake_calls, 4);	/* one refusal, then quiet */
	assert_int_equal(ns.tx_blocked, 1);
	assert_int_equal(ns.cnt.tx_waits, 1);
	assert_int_equal(ns.cnt.drops[ND_TX_RING_FULL], 1);
	/* The peer acknowledges the first two: output runs, the queue still
	   waits, the NIC is not asked. */
	seg(1001, iss + 1 + 2 * 1460, 0x10, NULL, NULL, 0);
	f.now += 100000000ULL;		/* 100 ms: timers run, under the RTO */
	netstack_poll(&ns);
	assert_int_equal(wake_calls, 4);
	assert_true(ns.cnt.tx_held >= 1);
	/* The driver's poll: the ring has room again. */
	wake_room = 100;
	f.nic.tx_ready(f.nic.upper, 0);
	assert_int_equal(ns.tx_blocked, 0);
	assert_int_equal(ns.cnt.tx_wakeups, 1);
	assert_int_equal(f.ntx, 8);
	for (int k = 0; k < 8; k++)
		check_frame(k, mem + k * 1460, 1460);
	seg(1001, iss + 1 + sizeof(mem), 0x10, NULL, NULL, 0);
	assert_int_equal(releases, 1);
	assert_int_equal(ns.tcp.st.retransmits, 0);
	assert_int_equal(ns.tcp.st.timeouts, 0);
	f.nic.ops = &fake_ops;
	f.nic.tx_wakes = false;
}

/* Every transmit buffer busy (frames the NIC has not completed): the
   refused segments go out on the next pass after one comes back, not at
   a retransmission timeout; the release itself sends nothing (it runs
   inside the driver's completion loop). */
static void
test_txbuf_wait_resumes(void **state)
{
	static uint8_t mem[3 * 1460];
	static struct ns_txbuf *taken[NS_TXBUFS];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 13 + 7);
	handshake();
	f.ntx = 0;
	int nt = 0;
	while (nt < NS_TXBUFS && (taken[nt] = ns_txbuf_get(&ns)) != NULL)
		nt++;
	assert_int_equal(nt, NS_TXBUFS);
	assert_false(ns.txbuf_short);
	assert_int_equal(tcp_write(accepted, mem, sizeof(mem), on_release, NULL), 0);
	assert_int_equal(f.ntx, 0);
	assert_true(ns.txbuf_short);
	assert_true(ns.cnt.drops[ND_NO_TXBUF] >= 1);
	nic_buf_release(&taken[0]->nb);		/* a transmit completion */
	assert_int_equal(f.ntx, 0);
	assert_true(ns.txbuf_back);
	netstack_poll(&ns);			/* same instant: no timer ran */
	assert_int_equal(ns.cnt.txbuf_wakeups, 1);
	assert_false(ns.txbuf_short);
	assert_int_equal(f.ntx, 3);
	for (int k = 0; k < 3; k++)
		check_frame(k, mem + k * 1460, 1460);
	for (int i = 1; i < nt; i++)
		nic_buf_release(&taken[i]->nb);
	seg(1001, iss + 1 + sizeof(mem), 0x10, NULL, NULL, 0);
	assert_int_equal(releases, 1);
	assert_int_equal(ns.tcp.st.retransmits, 0);
	assert_int_equal(ns.tcp.st.timeouts, 0);
}

/* A refused pure ACK goes out at tx_ready when no data carries it. */
static void
test_tx_wait_refused_ack_resent(void **state)
{
	handshake();
	f.nic.ops = &wake_ops;
	f.nic.tx_wakes = true;
	wake_room = 0;
	wake_calls = 0;
	f.ntx = 0;
	accepted->nodelay = true;
	seg(1001, iss + 1, 0x18, "hello", NULL, 0);
	f.now += 500000000ULL;		/* past the delayed ACK */
	netstack_poll(&ns);
	assert_int_equal(wake_calls, 1);
	assert_int_equal(f.ntx, 0);
	wake_room = 10;
	f.nic.tx_ready(f.nic.upper, 0);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(last_flags(), 0x10);
	assert_int_equal(rd32(last_tcp() + 8), 1006);
	f.nic.ops = &fake_ops;
	f.nic.tx_wakes = false;
}

/* The wait is bounded: a NIC that never calls tx_ready is offered frames
   again after NS_TX_WAIT_NS. */
static void
test_tx_wait_bounded(void **state)
{
	static uint8_t mem[2 * 1460];
	handshake();
	f.nic.ops = &wake_ops;
	f.nic.tx_wakes = true;
	wake_room = 1;
	wake_calls = 0;
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, mem, sizeof(mem), on_release, NULL), 0);
	assert_int_equal(wake_calls, 2);
	seg(1001, iss + 1 + 1460, 0x10, NULL, NULL, 0);
	assert_int_equal(wake_calls, 2);
	wake_room = 10;
	f.now += NS_TX_WAIT_NS / 2;
	netstack_poll(&ns);
	assert_int_equal(ns.tx_blocked, 1);
	f.now += NS_TX_WAIT_NS / 2;
	netstack_poll(&ns);
	assert_int_equal(ns.tx_blocked, 0);
	assert_int_equal(ns.cnt.tx_wait_expired, 1);
	assert_int_equal(f.ntx, 2);
	check_frame(1, mem + 1460, 1460);
	f.nic.ops = &fake_ops;
	f.nic.tx_wakes = false;
}

static void
test_write_ref_not_dma(void **state)
{
	static uint8_t mem[3000];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 13);
	handshake();
	f.ntx = 0;
	/* Memory the NIC may not read in place: every segment is copied. */
	assert_int_equal(tcp_write_ref(accepted, mem, sizeof(mem), on_release, NULL, false), 0);
	assert_int_equal(f.ntx, 2);
	check_frame(0, mem, 1460);
	check_frame(1, mem + 1460, 1460);
	assert_int_equal(ns.tcp.st.zc_frames, 0);
	assert_int_equal(ns.cnt.payload_copied, 2920);
	seg(1001, iss + 2921, 0x10, NULL, NULL, 0);	/* the tail follows */
	check_frame(2, mem + 2920, 80);
	seg(1001, iss + 3001, 0x10, NULL, NULL, 0);
	assert_int_equal(releases, 1);
}

/* A duplicate ACK at iss+1 carrying one SACK block [l, r). */
static void
sack_dupack(uint32_t l, uint32_t r)
{
	uint8_t o[12] = { 1, 1, 5, 10 };
	wr32(o + 4, l);
	wr32(o + 8, r);
	seg(1001, iss + 1, 0x10, NULL, o, sizeof(o));
}

static void
test_sack_retransmit(void **state)
{
	static uint8_t big[14600];
	static const uint8_t o[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };
	handshake_with(o, sizeof(o));
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, big, sizeof(big), on_release, NULL), 0);
	assert_int_equal(f.ntx, 10);
	uint32_t s1 = iss + 1, s3 = s1 + 2 * 1460;
	/* Segments 1 and 2 are lost; 3.. arrive and are SACKed. */
	sack_dupack(s3, s3 + 1460);
	sack_dupack(s3, s3 + 2920);
	sack_dupack(s3, s3 + 4380);
	assert_int_equal(ns.tcp.st.fast_retransmits, 1);
	assert_int_equal(rd32(last_tcp() + 4), s1);
	assert_int_equal(accepted->nsack, 1);
	/* The next duplicate fills the second hole at once. */
	sack_dupack(s3, s3 + 5840);
	assert_int_equal(f.ntx, 12);
	assert_int_equal(rd32(last_tcp() + 4), s1 + 1460);
	assert_int_equal(ns.tcp.st.sack_retransmits, 1);
	/* No hole left below the SACKed data: nothing more to resend. */
	sack_dupack(s3, s3 + 7300);
	assert_int_equal(f.ntx, 12);
	/* Blocks outside what we sent are ignored (and counted). */
	sack_dupack(s1 + 20000, s1 + 21000);
	assert_int_equal(ns.tcp.st.sack_blocks_bad, 1);
	assert_int_equal(accepted->nsack, 1);
	seg(1001, s1 + 14600, 0x10, NULL, NULL, 0);
	assert_false(accepted->in_recovery);
	assert_int_equal(accepted->nsack, 0);
	assert_int_equal(releases, 1);
}

static void
test_sender_sws(void **state)
{
	static uint8_t buf[1000];
	handshake();				/* the peer offered 65535 */
	peer_wnd = 100;
	seg(1001, iss + 1, 0x10, NULL, NULL, 0);
	f.ntx = 0;
	tcp_set_nodelay(accepted, true);	/* SWS avoidance applies anyway */
	tcp_write(accepted, buf, sizeof(buf), NULL, NULL);
	assert_int_equal(f.ntx, 0);		/* 100 < 65535 / 2: wait */
	f.now += 1000000000ULL;			/* the override timer */
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(rd16(f.tx[0] + 16) - 40, 100);
	/* The window opens wide: the rest goes at once. */
	peer_wnd = 65535;
	seg(1001, iss + 101, 0x10, NULL, NULL, 0);
	assert_int_equal(f.ntx, 2);
	assert_int_equal(rd16(f.tx[1] + 16) - 40, 900);
}

/* Hostile peer: random flags, sequence and ACK numbers around the window,
   random option bytes and lengths, against connections with every
   option on; interleaved with writes, reads and time.  Nothing may crash
   (ASan/UBSan), and aborting must give back every buffer. */
static uint32_t rng = 12345;
static uint32_t rnd(void) { rng = rng * 1103515245u + 12345u; return rng >> 8; }

/* A NIC that sometimes has a full ring and sometimes keeps frames a
   while (completed later, in bulk). */
static int
chaos_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	uint32_t r = rnd() % 10;
	if (r == 0)
		return TERN_EAGAIN;
	if (r < 4 && nheld < 64)
		return hold_tx(n, q, chain, m);
	return fake_tx(n, q, chain, m);
}
static const struct nic_ops chaos_ops = { chaos_tx, fake_poll, fake_intr, fake_detach, NULL };

static void
test_hostile_segments(void **state)
{
	static uint8_t junk[1460], out[65536];
	static const uint8_t o[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 14, 4, 2,
		8, 10, 0, 0, 0, 100, 0, 0, 0, 0 };
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rnd();
	nheld = 0;
	for (int round = 0; round < 200; round++) {
		peer_port = (uint16_t)(30000 + round);
		accepted = NULL;
		f.nic.ops = &fake_ops;	/* a clean handshake, then chaos */
		teach_arp();	/* random time steps let the entry expire */
		struct tcp_pcb *p;
		if (round % 4 == 3) {
			/* Active open; random segments may hit SYN_SENT too. */
			uint32_t s0 = start_connect();
			p = conn;
			if (round % 8 == 3)
				seg(7000, s0 + 1, 0x12, NULL, o, sizeof(o));
		} else {
			my_port = 80;
			handshake_with(o, sizeof(o));
			p = accepted;
		}
		f.nic.ops = &chaos_ops;
		tcp_set_rx_credit(p, round & 1);
		tcp_set_keepalive(p, 500, 100, 2);
		for (int k = 0; k < 300 && p->state != TCP_CLOSED; k++) {
			uint32_t r = rnd();
			if (r % 17 == 0)
				tcp_write(p, out + rnd() % 1000, rnd() % 30000, NULL, NULL);
			if (r % 13 == 0)
				tcp_recved(p, rnd() % 5000);
			if (r % 7 == 0)
				complete_held();
			if (r % 11 == 0) {
				f.now += (uint64_t)(rnd() % 3000) * 1000000ULL;
				netstack_poll(&ns);
				continue;
			}
			uint8_t opts[40];
			size_t ol = (rnd() % 11) * 4;
			for (size_t i = 0; i < ol; i++)
				opts[i] = (uint8_t)(rnd() % 3 == 0 ? rnd() % 9 : rnd());
			if (p->state == TCP_SYN_SENT && rnd() % 4 == 0) {
				seg_n(rnd(), p->iss + 1 - rnd() % 2, (uint8_t)(rnd() & 0x3f),
				    junk, rnd() % 100, opts, ol);
				continue;
			}
			uint32_t seq = p->rcv_nxt + rnd() % 80000 - 4000;
			uint32_t ack = rnd() % 8 == 0 ? p->snd_una + rnd() % 40000 - 2000 :
			    p->snd_una + rnd() % (p->snd_max - p->snd_una + 1);
			uint8_t fl = rnd() % 16 == 0 ? (uint8_t)(rnd() & 0x3f) :
			    (uint8_t)(0x10 | (rnd() & 0x09));
			if (rnd() % 3 == 0)
				seq = p->rcv_nxt + (rnd() % 8) * 1000;
			peer_wnd = (uint16_t)(rnd() % 8 == 0 ? 0 : rnd());
			f.ntx = 0;
			seg_n(seq, ack, fl, junk, rnd() % 1461, opts, ol);
		}
		tcp_abort(p);
		if (round % 3 == 0)
			complete_held();	/* else pcbs linger with frames out */
		peer_wnd = 65535;
		peer_port = PEER_PORT;
		my_port = 80;
	}
	complete_held();
	f.nic.ops = &fake_ops;
	for (int i = 0; i < TCP_ZBUFS; i++)
		assert_false(ns.tcp.zbufs[i].used);
	const struct tcp_stats *st = &ns.tcp.st;
	print_message("hostile: in %llu out %llu ooo %llu paws %llu challenge %llu "
	    "resets_in %llu fastrtx %llu sackrtx %llu bad_sack %llu zc %llu\n",
	    (unsigned long long)st->segs_in, (unsigned long long)st->segs_out,
	    (unsigned long long)st->out_of_order, (unsigned long long)st->paws_dropped,
	    (unsigned long long)st->challenge_acks, (unsigned long long)st->resets_in,
	    (unsigned long long)st->fast_retransmits, (unsigned long long)st->sack_retransmits,
	    (unsigned long long)st->sack_blocks_bad, (unsigned long long)st->zc_frames);
	for (int i = 0; i < TCP_OOO_SLOTS; i++)
		assert_false(ns.tcp.ooo_used[i]);
	for (int i = 0; i < NS_TXBUFS; i++)
		assert_false(txmem[i].busy);
	for (int i = 0; i < TCP_MAX_PCBS; i++)
		assert_int_equal(ns.tcp.pcbs[i].state, TCP_CLOSED);
}



/*
 * Two stacks back to back: A connects to B through a lossy link (a FIFO
 * of frames, so neither side is re-entered while sending) and sends a
 * pattern that B checks byte by byte, reading through credit mode in
 * bursts.  Both ends are this TCP: active and passive open, zero-copy
 * send, SACK, fast retransmit, RTO, out-of-order queue, delayed ACKs,
 * window updates, then an orderly close.
 */
#define LINK_Q	512
static struct fake_nic fa, fb;
static struct netstack na, nb;
static struct ns_txbuf txa[NS_TXBUFS], txb[NS_TXBUFS];
static struct {
	struct fake_nic *to;
	uint16_t len;
	uint8_t data[1536];
} linkq[LINK_Q];
static int lq_head, lq_len, link_loss_pct;
static uint64_t link_frames, link_dropped;

static int
link_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	struct fake_nic *to = (struct fake_nic *)n == &fa ? &fb : &fa;
	if (lq_len == LINK_Q)
		return TERN_EAGAIN;
	int slot = (lq_head + lq_len) % LINK_Q;
	size_t len = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		assert_true(len + b->len <= sizeof(linkq[0].data));
		memcpy(linkq[slot].data + len, b->data, b->len);
		len += b->len;
	}
	for (struct nic_buf *b = chain, *next; b != NULL; b = next) {
		next = b->next;
		nic_buf_release(b);
	}
	linkq[slot].to = to;
	linkq[slot].len = (uint16_t)len;
	lq_len++;
	return 0;
}
static const struct nic_ops link_ops = { link_tx, fake_poll, fake_intr, fake_detach, NULL };

/* Delivers one queued frame (or drops it); false when the link is idle. */
static bool
link_pump(void)
{
	if (lq_len == 0)
		return false;
	int slot = lq_head;
	lq_head = (lq_head + 1) % LINK_Q;
	lq_len--;
	link_frames++;
	if (link_loss_pct > 0 && (int)(rnd() % 100) < link_loss_pct) {
		link_dropped++;
		return true;
	}
	fake_inject(linkq[slot].to, linkq[slot].data, linkq[slot].len);
	return true;
}

static uint8_t pattern[1 << 16];
static size_t sent_total, rcvd_total, to_send, unread;
static bool b_eof, a_closed, b_closed;
static struct tcp_pcb *pa, *pb;

static void
a_release(void *ctx)
{
	(void)ctx;
}
static void
a_fill(void)
{
	while (sent_total < to_send && tcp_writable(pa)) {
		size_t off = sent_total % sizeof(pattern);
		size_t n = sizeof(pattern) - off;
		if (n > to_send - sent_total)
			n = to_send - sent_total;
		if (n > 20000)
			n = 20000;
		assert_int_equal(tcp_write(pa, pattern + off, n, a_release, NULL), 0);
		sent_total += n;
	}
	if (sent_total == to_send && !pa->fin_queued)
		tcp_close(pa);
}
static void a_connected(void *ctx, struct tcp_pcb *p) { a_fill(); }
static void a_closed_cb(void *ctx, struct tcp_pcb *p, int r) { a_closed = true; assert_int_equal(r, 0); }
static void
b_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n, struct nic_buf *b)
{
	if (n == 0) {
		b_eof = true;
		tcp_close(p);
		return;
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(d[i], pattern[(rcvd_total + i) % sizeof(pattern)]);
	rcvd_total += n;
	unread += n;
}
static void b_closed_cb(void *ctx, struct tcp_pcb *p, int r) { b_closed = true; }
static void
b_accept(void *ctx, struct tcp_pcb *p)
{
	pb = p;
	p->cbs.recv = b_recv;
	p->cbs.closed = b_closed_cb;
	tcp_set_rx_credit(p, true);
}

/* Runs the pair until both sides are closed or the clock passes limit_ns. */
static void
run_pair(size_t bytes, int loss, uint64_t limit_ns)
{
	fake_init(&fa);
	fake_init(&fb);
	fb.nic.mac[5] = 0x57;
	fa.nic.ops = fb.nic.ops = &link_ops;
	struct netstack_port port_a = { fake_now, fake_random, NULL, &fa };
	struct netstack_port port_b = { fake_now, fake_random, NULL, &fb };
	fb.rnd = 777;
	netstack_attach(&na, &fa.nic, &port_a, txa);
	netstack_attach(&nb, &fb.nic, &port_b, txb);
	netstack_set_static(&na, 0x0a000001, 0xffffff00u, 0x0a0000fe, 0);
	netstack_set_static(&nb, 0x0a000002, 0xffffff00u, 0x0a0000fe, 0);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 31 + (i >> 8));
	lq_head = lq_len = 0;
	link_loss_pct = 0;
	link_frames = link_dropped = 0;
	sent_total = rcvd_total = unread = 0;
	to_send = bytes;
	b_eof = a_closed = b_closed = false;
	pb = NULL;
	assert_int_equal(tcp_listen(&nb, 8080, b_accept, NULL), 0);
	static const struct tcp_cbs acbs = { NULL, a_closed_cb, a_connected };
	assert_int_equal(tcp_connect(&na, 0x0a000002, 8080, &acbs, NULL, &pa), 0);
	/* The connect's SYN waited for ARP; from here the link may lose. */
	while (link_pump())
		;
	link_loss_pct = loss;
	uint64_t start = fa.now;
	while (!(a_closed && b_closed) && fa.now - start < limit_ns) {
		int k = 0;
		while (k < 64 && link_pump())
			k++;
		if (pb != NULL && pb->state != TCP_CLOSED && unread > 0 &&
		    (lq_len == 0 || unread > 100000)) {
			tcp_recved(pb, unread);		/* the reader catches up */
			unread = 0;
		}
		if (pa->state != TCP_CLOSED)
			a_fill();
		/* tcp_unsent_from's running total against the queue. */
		uint64_t q = 0;
		for (int i = 0; i < pa->sq_len; i++) {
			const struct tcp_sendref *r = &pa->sq[(pa->sq_head + i) % TCP_SENDQ];
			q += r->len - r->acked;
		}
		assert_int_equal(q, pa->sq_bytes);
		if (lq_len == 0) {
			fa.now += 1000000ULL;		/* idle: time passes */
			fb.now = fa.now;
		}
		netstack_poll(&na);
		netstack_poll(&nb);
	}
}

static void
test_pair_transfer(void **state)
{
	run_pair(4u << 20, 0, 60ULL * 1000000000ULL);
	assert_true(a_closed && b_closed && b_eof);
	assert_int_equal(rcvd_total, 4u << 20);
	assert_int_equal(na.tcp.st.retransmits, 0);
	assert_int_equal(na.cnt.payload_copied, 0);	/* zero-copy all the way */
	assert_true(nb.tcp.st.delayed_acks + nb.tcp.st.segs_out < na.tcp.st.segs_out);
	assert_true(pa->ws_ok && pa->sack_ok && pa->ts_ok);
	print_message("pair: 4 MiB in %llu frames, A sent %llu segments (%llu zero-copy), "
	    "B sent %llu\n", (unsigned long long)link_frames,
	    (unsigned long long)na.tcp.st.segs_out, (unsigned long long)na.tcp.st.zc_frames,
	    (unsigned long long)nb.tcp.st.segs_out);
}

static void
test_pair_lossy(void **state)
{
	run_pair(2u << 20, 3, 600ULL * 1000000000ULL);
	assert_true(a_closed && b_closed && b_eof);
	assert_int_equal(rcvd_total, 2u << 20);
	assert_true(na.tcp.st.retransmits > 0);
	print_message("pair 3%% loss: 2 MiB, %llu of %llu frames lost, %llu retransmits "
	    "(%llu fast, %llu SACK, %llu timeouts), B held %llu out-of-order bytes, %llu ms simulated\n",
	    (unsigned long long)link_dropped, (unsigned long long)link_frames,
	    (unsigned long long)na.tcp.st.retransmits,
	    (unsigned long long)na.tcp.st.fast_retransmits,
	    (unsigned long long)na.tcp.st.sack_retransmits,
	    (unsigned long long)na.tcp.st.timeouts,
	    (unsigned long long)nb.tcp.st.ooo_copied,
	    (unsigned long long)((fa.now - 1000000000ULL) / 1000000ULL));
}

/* RFC 1191: ICMP fragmentation needed for the peer (next-hop MTU 1000),
   quoting one of our segments, makes the following segments fit it. */
static void
test_pmtu_segment_size(void **state)
{
	static uint8_t data[3000];
	handshake();
	uint8_t fr[14 + 20 + 8 + 28];
	memset(fr, 0, sizeof(fr));
	memcpy(fr, f.nic.mac, 6);
	memcpy(fr + 6, peer_mac, 6);
	wr16(fr + 12, ETH_P_IP);
	uint8_t *ip = fr + 14, *m = ip + 20, *q = m + 8;
	ip[0] = 0x45; wr16(ip + 2, 20 + 8 + 28); ip[8] = 64; ip[9] = 1;
	wr32(ip + 12, PEER_IP); wr32(ip + 16, MY_IP);
	wr16(ip + 10, ns_csum(ip, 20, 0));
	m[0] = 3; m[1] = 4; wr16(m + 6, 1000);
	q[0] = 0x45; wr16(q + 2, 1500); q[6] = 0x40; q[8] = 64; q[9] = 6;
	wr32(q + 12, MY_IP); wr32(q + 16, PEER_IP);
	wr16(q + 10, ns_csum(q, 20, 0));
	wr16(q + 20, my_port); wr16(q + 22, peer_port); wr32(q + 24, iss + 1);
	wr16(m + 2, ns_csum(m, 8 + 28, 0));
	fake_inject(&f, fr, sizeof(fr));
	assert_int_equal(ns_pmtu(&ns, PEER_IP), 1000);
	f.ntx = 0;
	assert_int_equal(tcp_write(accepted, data, sizeof(data), on_release, NULL), 0);
	assert_true(f.ntx >= 3);
	for (int i = 0; i < f.ntx; i++)
		assert_true(rd16(f.tx[i] + 14 + 2) <= 1000);
	assert_int_equal(rd16(f.tx[0] + 14 + 2), 1000);
}

/* ---- secrets come from the random hook, at attach ---------------------- */

static uint32_t hook_words[64];
static int hook_n;
static uint32_t
recording_random(void *ctx)
{
	uint32_t v = fake_random(ctx);
	if (hook_n < 64)
		hook_words[hook_n++] = v;
	return v;
}

static bool
hook_gave(uint32_t w)
{
	for (int i = 0; i < hook_n; i++)
		if (hook_words[i] == w)
			return true;
	return false;
}

/* Brings the global stack up with a random hook starting at `rnd` and the
   clock at `now`, checks the keys are drawn by attach from the hook's
   words alone, and returns the ISS of its SYN-ACK to one fixed SYN. */
static uint32_t
bring_up(uint32_t rnd, uint64_t now, uint64_t keys[4])
{
	fake_init(&f);
	f.rnd = rnd;
	f.now = now;
	hook_n = 0;
	struct netstack_port port = { fake_now, recording_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
	keys[0] = ns.tcp.isn_key[0];
	keys[1] = ns.tcp.isn_key[1];
	keys[2] = ns.tcp.cookie_key[0];
	keys[3] = ns.tcp.cookie_key[1];
	for (int i = 0; i < 4; i++) {
		assert_true(keys[i] != 0);	/* drawn by attach, not later */
		/* isn_key[0]'s low bit is forced: it marks the keys drawn. */
		uint32_t lo = (uint32_t)keys[i];
		assert_true(hook_gave((uint32_t)(keys[i] >> 32)));
		assert_true(hook_gave(lo) || (i == 0 && hook_gave(lo & ~1u)));
	}
	netstack_set_static(&ns, MY_IP, 0xffffff00u, PEER_IP, 0);
	teach_arp();
	assert_int_equal(tcp_listen(&ns, 80, on_accept, NULL), 0);
	f.ntx = 0;
	peer_port = PEER_PORT;
	my_port = 80;
	seg(5000, 0, 0x02, NULL, NULL, 0);
	assert_int_equal(f.ntx, 1);
	assert_int_equal(last_flags(), 0x12);
	return rd32(last_tcp() + 4);
}

/* Two stacks brought up with the same clock readings but different hooks
   (two boots of the same image at the same moment) have different keys
   and answer the same SYN with different ISNs; equal hook output and a
   different clock give the same keys: the clock is not part of them. */
static void test_keys_from_random_hook(void **state)
{
	(void)state;
	uint64_t k1[4], k2[4], k3[4];
	uint64_t t0 = 5000000000ULL;
	uint32_t iss1 = bring_up(1, t0, k1);
	uint32_t iss2 = bring_up(0x5eed, t0, k2);
	for (int i = 0; i < 4; i++)
		assert_true(k1[i] != k2[i]);
	assert_true(iss1 != iss2);
	bring_up(1, t0 + 123456789, k3);
	assert_memory_equal(k1, k3, sizeof(k1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rx_buffer_lent, setup),
		cmocka_unit_test_setup(test_handshake_and_data, setup),
		cmocka_unit_test_setup(test_send_release_and_retransmit, setup),
		cmocka_unit_test_setup(test_write_one_clock_read, setup),
		cmocka_unit_test_setup(test_timer_scan_when_due, setup),
		cmocka_unit_test_setup(test_abort_after_retries, setup),
		cmocka_unit_test_setup(test_close_both_ways, setup),
		cmocka_unit_test_setup(test_rfc5961, setup),
		cmocka_unit_test_setup(test_fin_wait_2_timeout, setup),
		cmocka_unit_test_setup(test_unknown_gets_rst, setup),
		cmocka_unit_test_setup(test_isn_differs, setup),
		cmocka_unit_test_setup(test_active_open, setup),
		cmocka_unit_test_setup(test_connect_refused, setup),
		cmocka_unit_test_setup(test_connect_timeout, setup),
		cmocka_unit_test_setup(test_simultaneous_open, setup),
		cmocka_unit_test_setup(test_simultaneous_close, setup),
		cmocka_unit_test_setup(test_closing_fin_retransmit, setup),
		cmocka_unit_test_setup(test_ooo_sack, setup),
		cmocka_unit_test_setup(test_wscale_timestamps, setup),
		cmocka_unit_test_setup(test_delayed_ack_every_second, setup),
		cmocka_unit_test_setup(test_delayed_ack_with_timestamps, setup),
		cmocka_unit_test_setup(test_fast_retransmit_newreno, setup),
		cmocka_unit_test_setup(test_limited_transmit, setup),
		cmocka_unit_test_setup(test_nagle, setup),
		cmocka_unit_test_setup(test_keepalive, setup),
		cmocka_unit_test_setup(test_zero_window_persist, setup),
		cmocka_unit_test_setup(test_syn_cookies, setup),
		cmocka_unit_test_setup(test_many_connections_and_timewait, setup),
		cmocka_unit_test_setup(test_rx_credit_zero_window, setup),
		cmocka_unit_test_setup(test_zero_copy_tx, setup),
		cmocka_unit_test_setup(test_write_ref_not_dma, setup),
		cmocka_unit_test_setup(test_tx_ring_full_retry, setup),
		cmocka_unit_test_setup(test_tx_wait_resumes_on_tx_ready, setup),
		cmocka_unit_test_setup(test_tx_wait_refused_ack_resent, setup),
		cmocka_unit_test_setup(test_tx_wait_bounded, setup),
		cmocka_unit_test_setup(test_txbuf_wait_resumes, setup),
		cmocka_unit_test_setup(test_tso_one_frame, setup),
		cmocka_unit_test_setup(test_zero_copy_csum_offload, setup),
		cmocka_unit_test_setup(test_sack_retransmit, setup),
		cmocka_unit_test_setup(test_hostile_segments, setup),
		cmocka_unit_test_setup(test_sender_sws, setup),
		cmocka_unit_test_setup(test_pmtu_segment_size, setup),
		cmocka_unit_test(test_pair_transfer),
		cmocka_unit_test(test_pair_lossy),
		cmocka_unit_test(test_keys_from_random_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
