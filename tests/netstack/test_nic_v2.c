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

static const struct nic_ops full_ops = { full_tx, waiting_poll, fake_intr, fake_detach };
static const struct nic_ops poll_ops = { fake_tx, waiting_poll, fake_intr, fake_detach };

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
static const struct nic_ops meta_ops = { meta_tx, fake_poll, fake_intr, fake_detach };

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
static uint8_t got[256];
static size_t got_len;
static int closes;

static void
on_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n, struct nic_buf *b)
{
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_full_ring_never_reenters, setup),
		cmocka_unit_test_setup(test_poll_every_queue, setup),
		cmocka_unit_test_setup(test_tx_meta_filled, setup),
		cmocka_unit_test_setup(test_unregister_and_rebind, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
