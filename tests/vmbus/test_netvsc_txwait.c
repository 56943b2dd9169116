/*
 * test_netvsc_txwait.c - netvsc's transmit wait on a full guest->host
 * ring (kernel/dev/nic.h transmit-ready rule, PROTOCOLS.md B.10
 * pending_send_sz), against hv_sim and the netvsc VSP.
 *
 * Built with NETVSC_RING_BYTES = 8 KiB (tests/vmbus/module.mk): with the
 * production 128 KiB ring the transmit slots run out before the ring can
 * fill, so only a smaller ring reaches the ring wait.  The driver code is
 * the same.
 *
 *  - The ring fills; the frame that does not fit leaves exactly its size
 *    (packet + trailer) in pending_send_sz; polls while the host does not
 *    drain change nothing and write nothing (hv_sim audits every write).
 *    The host drains one packet at a time: it signals once, on the read
 *    that makes the free space cross pending_send_sz, and the next poll
 *    clears it and calls tx_ready once, not before.
 *  - A packet that would leave the ring exactly full is refused too.
 *  - The real netstack over it: a 128 KiB TCP transfer with the host
 *    leaving the ring alone every other round.  The transmit queue waits
 *    each time it is refused (one refused call per wait, no call while
 *    waiting), tx_ready resumes it, and the peer gets every byte in
 *    order with no retransmission and no retransmission timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "netstack/netstack.h"
#include "netstack/ns_var.h"
#include "tests/hw/kstubs.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/vmbus/netvsc_vsp.h"
#include "vmbus/netvsc.h"
#include "vmbus/netvsc_var.h"
#include "vmbus/vmbus_var.h"

_Static_assert(NETVSC_RING_BYTES == 8192, "built with the small ring (module.mk)");

#define RELID_NET	14
#define CONN_NET	0x2e
#define RING_DATA	(NETVSC_RING_BYTES - 4096)

struct fx {
	struct hv_sim s;
	struct hv hv;
	struct hw_dma hcpage;
	struct vmbus vb;
	struct netvsc_vsp v;
	int txready;
	int tx_calls;		/* ops->tx calls (through count_ops) */
};

static const struct driver *const table[] = { &netvsc_driver, NULL };

static int softcs_live;
static void *tzalloc(size_t n) { softcs_live++; return calloc(1, n); }
static void tfree(void *p) { if (p != NULL) softcs_live--; free(p); }

static struct fx *cur;		/* for the counting tx wrapper */

static int
count_tx(struct nic *n, int q, struct nic_buf *chain, const struct nic_tx_meta *m)
{
	cur->tx_calls++;
	return netvsc_nic_ops.tx(n, q, chain, m);
}

static struct nic_ops counting;	/* netvsc's, tx counted */

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	hv_sim_init(&f->s);
	hv_sim_offer(&f->s, hv_sim_guid_netvsc, 1, RELID_NET, CONN_NET);
	netvsc_vsp_init(&f->v, &f->s, RELID_NET);
	f->hv.read_tsc = hv_sim_read_tsc;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &f->hcpage), 0);
	assert_int_equal(hv_hypercall_enable(&f->hv, f->hcpage.pa), TERN_OK);
	assert_int_equal(hv_synic_init(&f->hv, 0x41), TERN_OK);
	f->vb.bus.zalloc = tzalloc;
	f->vb.bus.free = tfree;
	kstub_reset();
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(vmbus_probe(&f->vb, table), 1);
	counting = netvsc_nic_ops;
	counting.tx = count_tx;
	cur = f;
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	vmbus_unload(&f->vb);
	vmbus_fini(&f->vb);
	hv_synic_fini(&f->hv);
	hv_hypercall_disable(&f->hv);
	hw_dma_free(&f->s.dev, &f->hcpage);
	int leaked = hv_sim_fini(&f->s);
	int errs = hv_sim_error_count(&f->s);
	char first[160];
	memcpy(first, f->s.err[0], sizeof(first));
	if (errs != 0 && getenv("TXW_DEBUG"))
		for (int i = 0; i < errs && i < SIM_MAX_ERRS; i++)
			print_message("host error: %s\n", f->s.err[i]);
	free(f);
	if (errs != 0)
		fail_msg("host saw %d protocol errors, first: %s", errs, first);
	assert_int_equal(leaked, 0);
	assert_int_equal(softcs_live, 0);
	assert_null(nic_first());
	return 0;
}

static void
up_txready(void *ctx, int q)
{
	struct fx *f = ctx;
	assert_int_equal(q, 0);
	f->txready++;
}

static int tx_released;
static void tx_rel(struct nic_buf *b) { (void)b; tx_released++; }

static void
txbuf(struct nic_buf *b, uint8_t *data, uint32_t len)
{
	memset(b, 0, sizeof(*b));
	b->data = data;
	b->len = len;
	b->cap = len;
	b->release = tx_rel;
	b->refs = 1;
}

static uint32_t
pending_send_sz(struct fx *f)
{
	struct sim_chan *c = hv_sim_chan(&f->s, RELID_NET);
	return ((struct vmbus_ring_hdr *)c->in.base)->pending_send_sz;
}

/* The ring fills, the refused frame's size waits in pending_send_sz, the
   host's drain signals once at the crossing, tx_ready comes once after. */
static void
test_ring_wait_pending_send(void **state)
{
	struct fx *f = *state;
	struct nic *n = nic_first();
	struct netvsc_softc *sc = n->sc;
	struct sim_chan *c = hv_sim_chan(&f->s, RELID_NET);
	struct hw_dma mem;
	static struct nic_buf small[64], big[8];
	static uint8_t want[1200];

	n->tx_ready = up_txready;
	n->upper = f;
	assert_true(n->tx_wakes);
	assert_int_equal(hw_dma_alloc(&f->s.dev, 12 * 4096, 4096, &mem), 0);
	uint8_t *p = mem.va;
	for (int i = 0; i < 1200; i++)
		p[i] = (uint8_t)(i * 3 + 1);
	memset(p, 0xff, 6);
	p[12] = 0x08;
	/* The big frame: 8 pieces of 150 bytes, each across a page boundary:
	   17 page buffers (its RNDIS header too). */
	for (int k = 0; k < 8; k++) {
		uint8_t *at = p + (size_t)(2 + k) * 4096 - 75;
		for (int i = 0; i < 150; i++)
			at[i] = want[k * 150 + i] = (uint8_t)(k * 31 + i * 5 + 7);
		txbuf(&big[k], at, 150);
		big[k].next = k < 7 ? &big[k + 1] : NULL;
	}
	memcpy(want, "\xff\xff\xff\xff\xff\xff\x00\x15\x5d\x09\x09\x09\x08\x00", 14);
	memcpy(big[0].data, want, 14);
	const uint32_t need = 16 + 8 + 17 * 16 + NVSP_MSG_SIZE + 8;
	const uint32_t small_need = 16 + 8 + 2 * 16 + NVSP_MSG_SIZE + 8;

	tx_released = 0;
	f->v.f_no_drain = true;
	/* As full as small frames make it: the big one then needs several
	   of them read before it fits. */
	int sent = 0;
	uint32_t room = hv_sim_chan_audit(&f->s, c);
	while (room > small_need) {
		txbuf(&small[sent], p, 1200);
		assert_int_equal(nic_tx(n, 0, &small[sent], NULL), TERN_OK);
		sent++;
		uint32_t now_free = hv_sim_chan_audit(&f->s, c);
		assert_int_equal(room - now_free, small_need);
		room = now_free;
	}
	assert_true(sent > 20 && sent < 64);
	assert_int_equal(pending_send_sz(f), 0);
	uint32_t w = ((struct vmbus_ring_hdr *)c->in.base)->write_index;
	assert_int_equal(nic_tx(n, 0, big, NULL), TERN_EAGAIN);
	/* B.10: the bytes it needs, nothing written. */
	assert_int_equal(pending_send_sz(f), need);
	assert_int_equal(((struct vmbus_ring_hdr *)c->in.base)->write_index, w);
	assert_int_equal(n->stats.tx_ring_full, 1);
	assert_int_equal(sc->st.tx_waits, 1);
	assert_int_equal(sc->txw_why[0], NETVSC_TXW_RING);
	assert_int_equal(tx_released, 0);
	for (int i = 0; i < 5; i++)
		nic_poll(n, 64);
	assert_int_equal(f->txready, 0);
	assert_int_equal(pending_send_sz(f), need);
	assert_int_equal(hv_sim_chan_audit(&f->s, c), room);

	/* The host resumes, one packet at a time. */
	f->v.f_no_drain = false;
	int drained = 0;
	for (;;) {
		assert_int_equal(netvsc_vsp_drain_some(&f->v, 1), 1);
		drained++;
		room += small_need;
		assert_int_equal(hv_sim_chan_audit(&f->s, c), room);
		nic_poll(n, 64);
		if (room > need)
			break;
		assert_int_equal(c->pend_signals, 0);
		assert_int_equal(f->txready, 0);
		assert_int_equal(pending_send_sz(f), need);
	}
	/* Crossed on this read: one signal, then one tx_ready. */
	assert_true(drained >= 3);
	assert_int_equal(c->pend_signals, 1);
	assert_int_equal(f->txready, 1);
	assert_int_equal(sc->st.tx_wakeups, 1);
	assert_int_equal(sc->txw_why[0], 0);
	assert_int_equal(pending_send_sz(f), 0);
	nic_poll(n, 64);
	assert_int_equal(f->txready, 1);
	/* It fits now. */
	assert_int_equal(nic_tx(n, 0, big, NULL), TERN_OK);
	netvsc_vsp_drain(&f->v);
	while (nic_poll(n, 64) > 0)
		;
	assert_int_equal(tx_released, sent + 8);
	const struct vsp_frame *last = &f->v.wire[(f->v.nwire - 1) % VSP_WIRE];
	assert_int_equal(last->len, 1200);
	assert_memory_equal(last->data, want, 1200);
	assert_int_equal(c->pend_signals, 1);
	assert_int_equal(f->txready, 1);
	hw_dma_free(&f->s.dev, &mem);
}

/* A frame whose packet would leave the ring exactly full is refused
   (B.10: read == write would read as empty); hv_sim's audit would see a
   write of all the free bytes. */
static void
test_ring_never_exactly_full(void **state)
{
	struct fx *f = *state;
	struct nic *n = nic_first();
	struct sim_chan *c = hv_sim_chan(&f->s, RELID_NET);
	struct hw_dma mem;
	static struct nic_buf small[64], pieces[32];

	n->tx_ready = up_txready;
	n->upper = f;
	assert_int_equal(hw_dma_alloc(&f->s.dev, 34 * 4096, 4096, &mem), 0);
	uint8_t *p = mem.va;
	memset(p, 0x5a, 34 * 4096);
	memset(p, 0xff, 6);
	tx_released = 0;
	f->v.f_no_drain = true;
	int sent = 0;
	uint32_t room = hv_sim_chan_audit(&f->s, c);
	while (room > 584 || (room > 480 && (room - 72) % 16 != 0)) {
		txbuf(&small[sent], p, 1200);
		assert_int_equal(nic_tx(n, 0, &small[sent], NULL), TERN_OK);
		sent++;
		room = hv_sim_chan_audit(&f->s, c);
	}
	/* A GPA-direct packet of exactly `room` bytes with its trailer:
	   k page buffers, the RNDIS header and k - 1 pieces in pages of
	   their own. */
	uint32_t k = (room - 72) / 16;
	assert_int_equal(72 + 16 * k, room);
	assert_true(k >= 14 && k <= 32);
	uint32_t plen = (700 + k - 2) / (k - 1);
	for (uint32_t i = 0; i < k - 1; i++) {
		txbuf(&pieces[i], p + (size_t)(2 + i) * 4096, plen);
		pieces[i].next = i + 2 < k ? &pieces[i + 1] : NULL;
	}
	uint32_t w = ((struct vmbus_ring_hdr *)c->in.base)->write_index;
	assert_int_equal(nic_tx(n, 0, pieces, NULL), TERN_EAGAIN);
	assert_int_equal(((struct vmbus_ring_hdr *)c->in.base)->write_index, w);
	assert_int_equal(pending_send_sz(f), room);
	assert_int_equal(hv_sim_chan_audit(&f->s, c), room);
	/* One packet read by the host and it fits. */
	f->v.f_no_drain = false;
	assert_int_equal(netvsc_vsp_drain_some(&f->v, 1), 1);
	nic_poll(n, 64);
	assert_int_equal(f->txready, 1);
	assert_int_equal(nic_tx(n, 0, pieces, NULL), TERN_OK);
	netvsc_vsp_drain(&f->v);
	while (nic_poll(n, 64) > 0)
		;
	assert_int_equal(tx_released, sent + (int)k - 1);
	hw_dma_free(&f->s.dev, &mem);
}

/* ---- the real netstack on top ------------------------------------------ */

#define XFER	(128u * 1024)

struct peer {
	const uint8_t *want;
	uint32_t iss;		/* our ISS (from the SYN-ACK) */
	size_t got;		/* in-order payload bytes seen on the wire */
	int dups, gaps, bad;
	uint32_t acks[256];	/* to acknowledge: one ACK per segment */
	int nacks;
};

/* The wire: what the VSP takes from the guest reaches the peer. */
static void
peer_on_tx(void *ctx, const uint8_t *fr, uint32_t len)
{
	struct peer *pr = ctx;
	if (len < 54 || fr[12] != 0x08 || fr[13] != 0x00 || fr[23] != IPPROTO_TCP)
		return;
	const uint8_t *ip = fr + 14, *t = ip + 20;
	size_t hl = (size_t)(t[12] >> 4) * 4;
	size_t dlen = rd16(ip + 2) - 20u - hl;
	if ((t[13] & 0x02) != 0) {
		pr->iss = rd32(t + 4);
		return;
	}
	if (dlen == 0)
		return;
	uint32_t off = rd32(t + 4) - (pr->iss + 1);
	if (off < pr->got) {
		pr->dups++;
		return;
	}
	if (off > pr->got || off + dlen > XFER) {
		pr->gaps++;
		return;
	}
	if (memcmp(t + hl, pr->want + off, dlen) != 0)
		pr->bad++;
	pr->got += dlen;
	if (pr->nacks < 256)
		pr->acks[pr->nacks++] = pr->iss + 1 + (uint32_t)pr->got;
}

struct clock {
	uint64_t now;
};
static uint64_t c_now(void *ctx) { return ((struct clock *)ctx)->now; }
static uint32_t c_random(void *ctx) { (void)ctx; return 0x9e3779b9u; }

static struct tcp_pcb *accepted;
static void
on_accept(void *ctx, struct tcp_pcb *p)
{
	(void)ctx;
	accepted = p;
}

static int releases;
static void on_release(void *rctx) { (void)rctx; releases++; }

/* A segment from the peer 10.99.0.1:40000 to us (10.99.0.2:80). */
static uint32_t
seg(uint8_t *fr, const uint8_t *mac, uint8_t flags, uint32_t sq, uint32_t ack)
{
	uint32_t src = 0x0a630001, dst = 0x0a630002;
	memcpy(fr, mac, 6);
	memcpy(fr + 6, "\x02\x00\x00\x00\x00\x99", 6);
	fr[12] = 0x08;
	fr[13] = 0x00;
	uint8_t *ip = fr + 14, *t = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	wr16(ip + 2, 40);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	wr16(ip + 10, ns_csum(ip, 20, 0));
	wr16(t, 40000);
	wr16(t + 2, 80);
	wr32(t + 4, sq);
	wr32(t + 8, ack);
	t[12] = 0x50;
	t[13] = flags;
	wr16(t + 14, 65535);
	uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) +
	    (dst & 0xffff) + IPPROTO_TCP + 20u;
	wr16(t + 16, ns_csum(t, 20, pseudo));
	return 54;
}

static void
peer_send(struct fx *f, const uint8_t *fr, uint32_t l)
{
	const uint8_t *fp = fr;
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, RNDIS_RXCSUM_TCP_OK) != 0);
}

static void
test_tcp_over_blocked_ring(void **state)
{
	struct fx *f = *state;
	struct nic *n = nic_first();
	struct netvsc_softc *sc = n->sc;
	static struct netstack ns;
	static struct clock clk;
	static struct peer pr;
	static uint8_t fr[128];
	struct hw_dma txmem, data;

	/* Transmit buffers and the application's data in guest memory: the
	   host reads them through page buffers. */
	assert_int_equal(hw_dma_alloc(&f->s.dev, NS_TXBUFS * sizeof(struct ns_txbuf),
	    4096, &txmem), 0);
	assert_int_equal(hw_dma_alloc(&f->s.dev, XFER, 4096, &data), 0);
	uint8_t *d = data.va;
	for (uint32_t i = 0; i < XFER; i++)
		d[i] = (uint8_t)(i * 7 + i / 251);
	memset(&pr, 0, sizeof(pr));
	pr.want = d;
	f->v.on_tx = peer_on_tx;
	f->v.tx_ctx = &pr;
	clk.now = 1000000000ull;
	accepted = NULL;
	releases = 0;
	n->ops = &counting;
	struct netstack_port port = { c_now, c_random, NULL, &clk };
	netstack_attach(&ns, n, &port, txmem.va);
	assert_true(n->tx_ready != NULL);
	netstack_set_static(&ns, 0x0a630002, 0xffffff00u, 0x0a630001, 0);
	assert_int_equal(tcp_listen(&ns, 80, on_accept, NULL), TERN_OK);

	/* ARP request from the peer, then the handshake. */
	memset(fr, 0, 60);
	memset(fr, 0xff, 6);
	fr[6] = 0x02; fr[11] = 0x99; fr[12] = 0x08; fr[13] = 0x06;
	uint8_t *a = fr + 14;
	a[1] = 1; a[2] = 0x08; a[4] = 6; a[5] = 4; a[7] = 1;
	a[8] = 0x02; a[13] = 0x99;
	wr32(a + 14, 0x0a630001);
	wr32(a + 24, 0x0a630002);
	uint32_t l = 60;
	const uint8_t *fp = fr;
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, -1) != 0);
	netstack_poll(&ns);
	peer_send(f, fr, seg(fr, n->mac, 0x02, 1000, 0));
	netstack_poll(&ns);
	assert_true(pr.iss != 0);
	peer_send(f, fr, seg(fr, n->mac, 0x10, 1001, pr.iss + 1));
	netstack_poll(&ns);
	assert_non_null(accepted);
	assert_int_equal(tcp_write(accepted, d, XFER, on_release, NULL), 0);

	/* Rounds: the host leaves the ring alone while the peer's ACKs for
	   the last round arrive (one per segment, as a receiver without
	   delayed ACKs sends them) and the stack sends what they open (the
	   ring fills once cwnd outgrows it); then the host drains it. */
	int rounds, waits_seen = 0;
	for (rounds = 0; rounds < 400 && pr.got < XFER; rounds++) {
		f->v.f_no_drain = true;
		int nacks = pr.nacks;
		static uint32_t acks[256];
		memcpy(acks, pr.acks, sizeof(acks));
		pr.nacks = 0;
		for (int i = 0; i < nacks; i++) {
			bool waiting = ns.tx_blocked != 0;
			int calls = f->tx_calls;
			peer_send(f, fr, seg(fr, n->mac, 0x10, 1001, acks[i]));
			netstack_poll(&ns);
			if (waiting) {
				/* Waiting: the ACK opened the window, yet the NIC
				   is asked nothing while its ring stays full. */
				waits_seen++;
				assert_int_equal(f->tx_calls, calls);
				assert_true(pending_send_sz(f) != 0);
			}
		}
		if (getenv("TXW_DEBUG"))
			print_message("round %d: got %zu cwnd %u inflight %u blocked %x wire %d\n",
			    rounds, pr.got, accepted->cwnd,
			    accepted->snd_nxt - accepted->snd_una, ns.tx_blocked, f->v.nwire);
		f->v.f_no_drain = false;
		netvsc_vsp_drain(&f->v);
		netstack_poll(&ns);	/* completions; tx_ready resumes */
		netvsc_vsp_drain(&f->v);
		netstack_poll(&ns);
		netvsc_vsp_drain(&f->v);
	}
	peer_send(f, fr, seg(fr, n->mac, 0x10, 1001, pr.iss + 1 + (uint32_t)pr.got));
	netstack_poll(&ns);
	print_message("tcp over a blocking ring: %u bytes in %d rounds, %llu waits, "
	    "%llu frames held back, %d tx calls\n", XFER, rounds,
	    (unsigned long long)ns.cnt.tx_waits,
	    (unsigned long long)ns.cnt.tx_held, f->tx_calls);
	assert_int_equal(pr.got, XFER);
	assert_int_equal(pr.bad, 0);
	assert_int_equal(pr.gaps, 0);
	assert_int_equal(pr.dups, 0);
	assert_int_equal(releases, 1);
	/* The ring did fill, and every wait ended by tx_ready: */
	assert_true(waits_seen >= 1);
	assert_true(ns.cnt.tx_waits >= 1);
	assert_int_equal(ns.cnt.tx_wakeups, ns.cnt.tx_waits);
	assert_int_equal(sc->st.tx_wakeups, ns.cnt.tx_wakeups);
	assert_int_equal(ns.cnt.tx_wait_expired, 0);
	/* one refused call per wait (no spin) ... */
	assert_int_equal(n->stats.tx_ring_full, ns.cnt.tx_waits);
	assert_true(ns.cnt.tx_held >= 1);
	/* ... and nothing left to a retransmission timeout. */
	assert_int_equal(ns.tcp.st.timeouts, 0);
	assert_int_equal(ns.tcp.st.retransmits, 0);
	assert_true(sc->ch->tx.full >= ns.cnt.tx_waits);
	n->ops = &netvsc_nic_ops;
	f->v.on_tx = NULL;
	/* Give the stack's buffers back before they are freed. */
	netvsc_vsp_drain(&f->v);
	while (nic_poll(n, 64) > 0)
		;
	netstack_nic_removed(&ns, n);
	hw_dma_free(&f->s.dev, &data);
	hw_dma_free(&f->s.dev, &txmem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_ring_wait_pending_send),
		T(test_ring_never_exactly_full),
		T(test_tcp_over_blocked_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
