/*
 * test_nic_v2.c - the netstack against NIC interface v2 (kernel/dev/nic.h):
 * the re-entrancy rule (a full ring never makes the stack poll, so
 * netstack_input never runs inside itself), per-queue polling, the TX
 * metadata the stack fills, and a NIC unregistered mid-connection and
 * registered again with the same MAC (the stack rebinds, the connection
 * continues on the same pcb).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/netstack/frames.h"

static struct fake_nic f, f2;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];

/* ---- a NIC whose ring is full and whose poll has a frame waiting ----- */

static int rx_depth, rx_max_depth, polls_inside_rx, polls[NIC_MAX_QUEUES];
static int tx_refused;
static uint8_t waiting[60];		/* delivered by the next poll */
static size_t waiting_len;
static int waiting_queue;		/* the queue whose poll delivers it */

static void
depth_rx(void *upper, struct nic_buf *b)
{
	if (++rx_depth > rx_max_depth)
		rx_max_depth = rx_depth;
	netstack_input(upper, b);
	rx_depth--;
}

static int
full_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	tx_refused++;
	return TERN_EAGAIN;	/* the chain stays the caller's */
}

static int
waiting_poll(struct nic *n, int q, int budget)
{
	struct fake_nic *fn = (struct fake_nic *)n;
	polls[q]++;
	if (rx_depth > 0)
		polls_inside_rx++;
	if (q != waiting_queue || waiting_len == 0 || budget == 0)
		return 0;
	size_t len = waiting_len;
	waiting_len = 0;
	fake_inject(fn, waiting, len);
	return 1;
}

static const struct nic_ops full_ops = { full_tx, waiting_poll, fake_intr, fake_detach, NULL };
static const struct nic_ops poll_ops = { fake_tx, waiting_poll, fake_intr, fake_detach, NULL };

static int
setup(void **state)
{
	fake_init(&f);
	struct netstack_port port = { fake_now, fake_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
	netstack_set_static(&ns, MY_IP, 0xffffff00u, PEER_IP, 0);
	f.nic.rx = depth_rx;
	rx_depth = rx_max_depth = polls_inside_rx = tx_refused = 0;
	memset(polls, 0, sizeof(polls));
	waiting_len = 0;
	waiting_queue = 0;
	return 0;
}

static void
test_full_ring_never_reenters(void **state)
{
	uint8_t req[60];
	memset(req, 0, sizeof(req));
	fr_arp_request(req, PEER_IP, MY_IP);
	/* The poll has another request waiting: an old-style "poll to make
	   room and retry" would deliver it from inside the first one. */
	memcpy(waiting, req, sizeof(req));
	waiting_len = sizeof(req);
	f.nic.ops = &full_ops;
	fake_inject(&f, req, sizeof(req));	/* the stack answers: ring full */
	assert_int_equal(tx_refused, 1);
	assert_int_equal(polls[0], 0);		/* transmit never polled */
	assert_int_equal(rx_max_depth, 1);
	assert_int_equal(ns.cnt.drops[ND_TX_RING_FULL], 1);
	assert_int_equal(f.rx_released, 1);
	for (int i = 0; i < NS_TXBUFS; i++)
		assert_false(txmem[i].busy);	/* the refused frame came back */
	/* The scheduler's poll delivers the waiting frame, at depth 1. */
	netstack_poll(&ns);
	assert_int_equal(polls[0], 1);
	assert_int_equal(polls_inside_rx, 0);
	assert_int_equal(rx_max_depth, 1);
	assert_int_equal(tx_refused, 2);
	assert_int_equal(ns.cnt.drops[ND_TX_RING_FULL], 2);
	assert_int_equal(ns.cnt.rx_frames, 2);
}

/* ---- what netstack_poll returns: frames in, not transmit completions -- */

static int tx_completions;	/* the next poll reports this many */

static int
completing_poll(struct nic *n, int q, int budget)
{
	int done = waiting_poll(n, q, budget) + tx_completions;
	tx_completions = 0;
	return done;
}

static const struct nic_ops completing_ops = { fake_tx, completing_poll, fake_intr, fake_detach, NULL };

static void
test_poll_counts_frames_in(void **state)
{
	uint8_t req[60];
	memset(req, 0, sizeof(req));
	fr_arp_request(req, PEER_IP, MY_IP);
	f.nic.ops = &completing_ops;
	/* Completions alone: nothing to do at once, the caller may sleep. */
	tx_completions = 3;
	assert_int_equal(netstack_poll(&ns), 0);
	/* A frame and completions: the frame counts. */
	memcpy(waiting, req, sizeof(req));
	waiting_len = sizeof(req);
	tx_completions = 2;
	assert_int_equal(netstack_poll(&ns), 1);
	assert_int_equal(ns.cnt.rx_frames, 1);
	/* A queue waiting for transmit room: completions are what it waits
	   for, so they count (the slow case of the fast path above). */
	ns.tx_blocked = 1;
	ns.tx_blocked_ns[0] = fake_now(&f);
	tx_completions = 3;
	assert_int_equal(netstack_poll(&ns), 3);
	assert_int_equal(netstack_poll(&ns), 0);
	ns.tx_blocked = 0;
}

static void
test_poll_every_queue(void **state)
{
	uint8_t req[60];
	memset(req, 0, sizeof(req));
	fr_arp_request(req, PEER_IP, MY_IP);
	memcpy(waiting, req, sizeof(req));
	waiting_len = sizeof(req);
	waiting_queue = 2;		/* the frame arrives on queue 2 */
	f.nic.nqueues = 3;
	f.nic.ops = &poll_ops;
	f.ntx = 0;
	netstack_poll(&ns);
	assert_int_equal(polls[0], 1);
	assert_int_equal(polls[1], 1);
	assert_int_equal(polls[2], 1);
	assert_int_equal(polls[3], 0);		/* only the queues in use */
	assert_int_equal(ns.cnt.rx_frames, 1);
	assert_int_equal(f.ntx, 1);		/* the ARP reply */
	assert_int_equal(polls_inside_rx, 0);
}

/* ---- TX metadata v2 -------------------------------------------------- */

static struct nic_tx_meta metas[8];
static int nmeta;

static int
meta_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	if (nmeta < 8)
		metas[nmeta++] = m != NULL ? *m : (struct nic_tx_meta){ .reserved = 0xee };
	return fake_tx(n, q, chain, m);
}
static const struct nic_ops meta_ops = { meta_tx, fake_poll, fake_intr, fake_detach, NULL };

static void
test_tx_meta_filled(void **state)
{
	uint8_t req[60];
	memset(req, 0, sizeof(req));
	fr_arp_request(req, PEER_IP, MY_IP);
	f.nic.ops = &meta_ops;
	nmeta = 0;
	fake_inject(&f, req, sizeof(req));	/* ARP reply: no IP */
	assert_int_equal(nmeta, 1);
	assert_int_equal(metas[0].reserved, 0);
	assert_int_equal(metas[0].l3_off, 0);
	assert_int_equal(metas[0].l4_off, 0);
	assert_int_equal(metas[0].flags, 0);
	assert_int_equal(netstack_udp_send(&ns, PEER_IP, 5000, 53, "abc", 3), 0);
	assert_int_equal(nmeta, 2);
	assert_int_equal(metas[1].l3_off, 14);
	assert_int_equal(metas[1].l4_off, 34);
	assert_int_equal(metas[1].l4_proto, NIC_PROTO_UDP);
	assert_int_equal(nic_tx_csum_field(&metas[1]), 6);
	assert_int_equal(metas[1].flags, 0);	/* checksum done in software */
}

/* ---- unregister and rebind ------------------------------------------- */

#define PEER_PORT 40000
static struct tcp_pcb *accepted;
static uint8_t got[4096];
static size_t got_len;
static int closes;

static struct nic_buf *piece_buf[8];
static size_t piece_len[8];
static int npieces;

static void
on_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n, struct nic_buf *b)
{
	if (n > 0 && npieces < 8) {
		piece_buf[npieces] = b;
		piece_len[npieces++] = n;
	}
	if (n > 0 && got_len + n <= sizeof(got)) {
		memcpy(got + got_len, d, n);
		got_len += n;
	}
}
static void on_closed(void *ctx, struct tcp_pcb *p, int reason) { closes++; }
static void
on_accept(void *ctx, struct tcp_pcb *p)
{
	accepted = p;
	p->cbs.recv = on_recv;
	p->cbs.closed = on_closed;
}
static void on_release(void *ctx) { }

/* A TCP segment from the peer, delivered through NIC `to`. */
static void
seg(struct fake_nic *to, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	uint8_t t[256], fr[320];
	size_t dlen = data != NULL ? strlen(data) : 0;
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	size_t hl = (flags & 0x02) ? 24 : 20;
	memset(t, 0, hl);
	wr16(t, PEER_PORT); wr16(t + 2, 80); wr32(t + 4, seq); wr32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4); t[13] = flags; wr16(t + 14, 65535);
	if (hl == 24)
		memcpy(t + 20, mss, 4);
	if (dlen > 0)
		memcpy(t + hl, data, dlen);
	uint32_t ps = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
	    (MY_IP & 0xffff) + 6 + (uint32_t)(hl + dlen);
	wr16(t + 16, ns_csum(t, hl + dlen, ps));
	size_t len = fr_ip(fr, to->nic.mac, PEER_IP, MY_IP, 6, 1, 0, t, hl + dlen);
	fake_inject(to, fr, len);
}

static const uint8_t *
last_tcp(struct fake_nic *fn)
{
	return fn->tx[fn->ntx - 1] + 34;
}

static void
test_unregister_and_rebind(void **state)
{
	uint8_t arp[60];
	memset(arp, 0, sizeof(arp));
	fr_arp_request(arp, PEER_IP, MY_IP);
	fake_inject(&f, arp, sizeof(arp));
	accepted = NULL;
	got_len = 0;
	closes = 0;
	assert_int_equal(tcp_listen(&ns, 80, on_accept, NULL), 0);
	f.ntx = 0;
	seg(&f, 1000, 0, 0x02, NULL);
	assert_int_equal(f.ntx, 1);
	uint32_t iss = rd32(last_tcp(&f) + 4);
	seg(&f, 1001, iss + 1, 0x10, NULL);
	assert_non_null(accepted);
	struct tcp_pcb *p = accepted;
	seg(&f, 1001, iss + 1, 0x18, "hello");
	assert_int_equal(got_len, 5);

	/* The driver goes away mid-connection. */
	netstack_nic_removed(&ns, &f.nic);
	assert_null(ns.nic);
	assert_null(f.nic.rx);
	int before = f.ntx;
	static const char msg[] = "world";
	assert_int_equal(tcp_write(p, msg, 5, on_release, NULL), 0);
	assert_int_equal(f.ntx, before);		/* nothing reaches the old NIC */
	assert_true(ns.cnt.drops[ND_NO_NIC] >= 1);
	f.now += 300000000ULL;
	netstack_poll(&ns);				/* timers run without a NIC */
	assert_int_equal(f.ntx, before);
	assert_int_equal(p->state, TCP_ESTABLISHED);

	/* Another MAC is not ours; the same MAC is taken up. */
	fake_init(&f2);
	f2.now = f.now;
	f2.nic.mac[5] ^= 1;
	assert_int_equal(netstack_nic_added(&ns, &f2.nic), TERN_ENODEV);
	assert_null(ns.nic);
	f2.nic.mac[5] ^= 1;
	assert_int_equal(netstack_nic_added(&ns, &f2.nic), TERN_OK);
	assert_ptr_equal(ns.nic, &f2.nic);
	assert_int_equal(ns.nic_rebinds, 1);
	assert_int_equal(netstack_nic_added(&ns, &f.nic), TERN_EBUSY);

	/* The retransmission timer sends the data on the new NIC. */
	f.now += 3000000000ULL;
	netstack_poll(&ns);
	assert_true(f2.ntx >= 1);
	assert_int_equal(f.ntx, before);
	const uint8_t *t = last_tcp(&f2);
	size_t thl = (size_t)(t[12] >> 4) * 4;
	assert_int_equal(rd32(t + 4), iss + 1);
	assert_memory_equal(t + thl, "world", 5);
	assert_int_equal(memcmp(f2.tx[f2.ntx - 1] + 6, f2.nic.mac, 6), 0);

	/* And data flows both ways on the same pcb. */
	seg(&f2, 1006, iss + 6, 0x18, "again");
	assert_ptr_equal(accepted, p);
	assert_int_equal(got_len, 10);
	assert_memory_equal(got, "helloagain", 10);
	assert_int_equal(p->snd_una, iss + 6);
	assert_int_equal(p->rcv_nxt, 1011);
	f.now += 500000000ULL;				/* the delayed ACK */
	netstack_poll(&ns);
	assert_int_equal(rd32(last_tcp(&f2) + 8), 1011);	/* ACKed on f2 */
	assert_int_equal(closes, 0);
}

/* ---- received buffer chains ----------------------------------------- */

struct chain_rx {
	struct nic_buf nb[3];
	uint8_t mem[3][2048];
	int released;
};

static void chain_release(struct nic_buf *b) { ((struct chain_rx *)b->owner)->released++; }

/* Deliver `frame` to the stack split after `cut1` and `cut2` bytes, as
   a driver with mergeable buffers would. */
static void
inject_chain(struct chain_rx *c, const uint8_t *frame, size_t len, size_t cut1, size_t cut2)
{
	size_t cuts[4] = { 0, cut1, cut2, len };
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 3; i++) {
		memcpy(c->mem[i], frame + cuts[i], cuts[i + 1] - cuts[i]);
		c->nb[i] = (struct nic_buf){ .data = c->mem[i], .len = (uint32_t)(cuts[i + 1] - cuts[i]),
			.cap = sizeof(c->mem[i]), .release = chain_release, .owner = c, .refs = 1,
			.next = i < 2 ? &c->nb[i + 1] : NULL };
	}
	f.nic.rx(f.nic.upper, &c->nb[0]);
}

/* A TCP segment from the peer with `dlen` bytes of payload, whole. */
static size_t
tcp_frame(uint8_t *fr, uint32_t seq, uint32_t ack, const uint8_t *data, size_t dlen)
{
	uint8_t t[4096];
	memset(t, 0, 20);
	wr16(t, PEER_PORT); wr16(t + 2, 80); wr32(t + 4, seq); wr32(t + 8, ack);
	t[12] = 5 << 4; t[13] = 0x18; wr16(t + 14, 65535);
	memcpy(t + 20, data, dlen);
	uint32_t ps = (PEER_IP >> 16) + (PEER_IP & 0xffff) + (MY_IP >> 16) +
	    (MY_IP & 0xffff) + 6 + (uint32_t)(20 + dlen);
	wr16(t + 16, ns_csum(t, 20 + dlen, ps));
	return fr_ip(fr, f.nic.mac, PEER_IP, MY_IP, 6, 1, 0, t, 20 + dlen);
}

static struct tcp_pcb *
establish(uint32_t *iss)
{
	uint8_t arp[60];
	memset(arp, 0, sizeof(arp));
	fr_arp_request(arp, PEER_IP, MY_IP);
	fake_inject(&f, arp, sizeof(arp));
	accepted = NULL;
	got_len = 0;
	npieces = 0;
	assert_int_equal(tcp_listen(&ns, 80, on_accept, NULL), 0);
	f.ntx = 0;
	seg(&f, 1000, 0, 0x02, NULL);
	*iss = rd32(last_tcp(&f) + 4);
	seg(&f, 1001, *iss + 1, 0x10, NULL);
	assert_non_null(accepted);
	return accepted;
}

static void
test_rx_chain_tcp(void **state)
{
	uint32_t iss;
	struct tcp_pcb *p = establish(&iss);
	static uint8_t data[3000], fr[3100];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	size_t len = tcp_frame(fr, 1001, iss + 1, data, sizeof(data));
	static struct chain_rx c;
	/* Headers and 200 bytes, then 1400, then the rest: software checksum
	   over the three pieces, each piece delivered with its own buffer. */
	inject_chain(&c, fr, len, 54 + 200, 54 + 1600);
	assert_int_equal(ns.tcp.st.bad_csum, 0);
	assert_int_equal(got_len, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	assert_int_equal(npieces, 3);
	assert_ptr_equal(piece_buf[0], &c.nb[0]);
	assert_ptr_equal(piece_buf[1], &c.nb[1]);
	assert_ptr_equal(piece_buf[2], &c.nb[2]);
	assert_int_equal(piece_len[0], 200);
	assert_int_equal(piece_len[1], 1400);
	assert_int_equal(piece_len[2], 1400);
	assert_int_equal(c.released, 3);	/* every buffer of the chain back */
	assert_int_equal(p->rcv_nxt, 1001 + sizeof(data));

	/* The payload starting exactly at the second buffer, its first 200
	   bytes already received (trimmed inside the second piece), then a
	   corrupted last piece (dropped), then the same frame intact. */
	static uint8_t more[1000];
	for (size_t i = 0; i < sizeof(more); i++)
		more[i] = (uint8_t)((2800 + i) * 7 + 1);
	npieces = 0;
	got_len = 0;
	len = tcp_frame(fr, 1001 + 2800, iss + 1, more, sizeof(more));
	fr[len - 1] ^= 0x40;
	inject_chain(&c, fr, len, 54, 54 + 500);
	assert_int_equal(ns.tcp.st.bad_csum, 1);
	assert_int_equal(got_len, 0);
	assert_int_equal(c.released, 3);
	fr[len - 1] ^= 0x40;
	inject_chain(&c, fr, len, 54, 54 + 500);
	assert_int_equal(got_len, 800);
	assert_int_equal(npieces, 2);
	assert_ptr_equal(piece_buf[0], &c.nb[1]);
	assert_int_equal(piece_len[0], 300);
	assert_ptr_equal(piece_buf[1], &c.nb[2]);
	assert_int_equal(piece_len[1], 500);
	assert_memory_equal(got, more + 200, 800);
	assert_int_equal(c.released, 3);
	assert_int_equal(p->rcv_nxt, 1001 + 3800);

	/* A chained UDP datagram is not taken, but comes back whole. */
	static uint8_t u[2000];
	memset(u, 0, sizeof(u));
	fr_udp(u, PEER_IP, MY_IP, 5000, 6000, data, 1500);
	len = fr_ip(fr, f.nic.mac, PEER_IP, MY_IP, 17, 2, 0, u, 1508);
	inject_chain(&c, fr, len, 100, 1000);
	assert_int_equal(ns.cnt.drops[ND_RX_CHAIN], 1);
	assert_int_equal(c.released, 3);
	/* Headers split across buffers: refused, returned. */
	len = tcp_frame(fr, 1001 + 3800, iss + 1, data, 100);
	inject_chain(&c, fr, len, 40, 100);
	assert_int_equal(ns.cnt.drops[ND_RX_CHAIN], 1);	/* TCP header split: */
	assert_int_equal(ns.tcp.st.bad_csum, 2);		/* refused by TCP */
	assert_int_equal(got_len, 800);
	assert_int_equal(c.released, 3);
}


/* ---- a chained (jumbo) echo request --------------------------------- */

static struct nic_buf *held_tx;		/* the reply, until "sent" */
static uint8_t echo_out[4096];
static size_t echo_out_len;
static int echo_out_pieces;

static int
hold_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	echo_out_len = 0;
	echo_out_pieces = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next, echo_out_pieces++) {
		assert_true(echo_out_len + b->len <= sizeof(echo_out));
		memcpy(echo_out + echo_out_len, b->data, b->len);
		echo_out_len += b->len;
	}
	held_tx = chain;
	return TERN_OK;
}
static const struct nic_ops hold_ops = { hold_tx, fake_poll, fake_intr, fake_detach, NULL };

/* An echo request of 3000 data bytes in three receive buffers (a jumbo
   ping at MTU 9000): answered with the data by reference, each receive
   buffer held until the reply has been sent, and checksummed right;
   without an ARP entry for the sender, or with a bad checksum, it is
   dropped and every buffer comes back at once. */
static void
test_rx_chain_icmp_echo(void **state)
{
	uint8_t arp[60];
	memset(arp, 0, sizeof(arp));
	fr_arp_request(arp, PEER_IP, MY_IP);
	fake_inject(&f, arp, sizeof(arp));	/* the stack learns the peer */
	f.nic.mtu = 9000;
	ns.cfg.mtu = 9000;	/* as netstack_attach takes it from the NIC */
	f.nic.ops = &hold_ops;
	static uint8_t icmp[3008], fr[3100];
	icmp[0] = 8;
	wr16(icmp + 4, 0x1234);
	wr16(icmp + 6, 7);
	for (size_t i = 8; i < sizeof(icmp); i++)
		icmp[i] = (uint8_t)(i * 13 + 5);
	wr16(icmp + 2, ns_csum(icmp, sizeof(icmp), 0));
	size_t len = fr_ip(fr, f.nic.mac, PEER_IP, MY_IP, 1, 3, 0, icmp, sizeof(icmp));
	static struct chain_rx c;
	inject_chain(&c, fr, len, 34 + 100, 34 + 1600);
	assert_int_equal(ns.cnt.icmp_echo_out, 1);
	assert_int_equal(ns.cnt.drops[ND_RX_CHAIN], 0);
	assert_int_equal(echo_out_pieces, 4);	/* headers, then the three */
	assert_int_equal(echo_out_len, len);
	assert_int_equal(c.released, 0);	/* all three lent to the reply */
	const uint8_t *ip = echo_out + 14, *r = ip + 20;
	assert_int_equal(rd32(ip + 12), MY_IP);
	assert_int_equal(rd32(ip + 16), PEER_IP);
	assert_int_equal(rd16(ip + 2), 20 + sizeof(icmp));
	assert_int_equal(ns_csum(ip, 20, 0), 0);
	assert_int_equal(r[0], 0);
	assert_int_equal(ns_csum(r, sizeof(icmp), 0), 0);
	assert_memory_equal(r + 4, icmp + 4, sizeof(icmp) - 4);
	assert_int_equal(ns.cnt.payload_copied, 0);
	nic_buf_release_chain(held_tx);		/* the device sent it */
	assert_int_equal(c.released, 3);

	/* A flipped data bit: a bad checksum, nothing sent. */
	fr[len - 1] ^= 0x01;
	echo_out_pieces = 0;
	inject_chain(&c, fr, len, 34 + 100, 34 + 1600);
	assert_int_equal(ns.cnt.drops[ND_ICMP_CSUM], 1);
	assert_int_equal(echo_out_pieces, 0);
	assert_int_equal(c.released, 3);
	fr[len - 1] ^= 0x01;

	/* From a host whose MAC is not known: no answer (a chain cannot wait
	   for ARP), counted, buffers back. */
	len = fr_ip(fr, f.nic.mac, PEER_IP + 1, MY_IP, 1, 4, 0, icmp, sizeof(icmp));
	inject_chain(&c, fr, len, 34 + 100, 34 + 1600);
	assert_int_equal(ns.cnt.drops[ND_RX_CHAIN], 1);
	assert_int_equal(echo_out_pieces, 0);
	assert_int_equal(c.released, 3);
	assert_int_equal(ns.cnt.icmp_echo_out, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_full_ring_never_reenters, setup),
		cmocka_unit_test_setup(test_poll_every_queue, setup),
		cmocka_unit_test_setup(test_poll_counts_frames_in, setup),
		cmocka_unit_test_setup(test_tx_meta_filled, setup),
		cmocka_unit_test_setup(test_unregister_and_rebind, setup),
		cmocka_unit_test_setup(test_rx_chain_tcp, setup),
		cmocka_unit_test_setup(test_rx_chain_icmp_echo, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
