/*
 * test_virtio_mq.c - virtio-net multiqueue (virtio v1.2 5.1.6.5.5)
 * against the device simulator (virtio_sim.c with `mq`): N pairs and the
 * control queue set up and torn down with every DMA region back, frames
 * received on pair 2 reaching the driver's upper layer and the netstack
 * as queue 2, transmit per queue and the netstack's per-connection queue
 * choice, one MSI-X entry per receive queue, and the hostile cases: the
 * control command refused, never answered (a bounded wait), completed
 * without its ack, max_virtqueue_pairs 0, 0x8000 and 0x8001, a queue of
 * size 0, and every DMA allocation of the attach refused in turn.  The
 * simulator checks the driver's side (command class, command, size and
 * range; no transmit on a pair not enabled); every test asserts it saw
 * no violation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "tests/hw/kstubs.h"
#include "tests/virtio/virtio_regnames.h"
#include "tests/virtio/virtio_sim.h"
#include "netstack/ns_var.h"
#include "virtio/virtio_var.h"

struct mq_fix {
	struct vsim sim;
	struct virtio_net_softc *sc;
	int rx_frames;
	uint16_t last_queue;
	struct nic_buf *held[16];
	int nheld;
	bool hold;
};

static void
mq_rx(void *upper, struct nic_buf *b)
{
	struct mq_fix *f = upper;
	f->rx_frames++;
	f->last_queue = b->queue;
	if (f->hold && f->nheld < 16)
		f->held[f->nheld++] = b;
	else
		nic_buf_release_chain(b);
}

/* A net device offering MQ with `max` pairs (no MQ when max < 0). */
static void
mq_new(struct mq_fix *f, int max)
{
	memset(f, 0, sizeof(*f));
	kstub_reset();
	f->sc = calloc(1, sizeof(*f->sc));
	strcpy(f->sc->bus.hw.name, "virtio-net5");
	vsim_init(&f->sim, VSIM_NET, &f->sc->bus.hw);
	virtio_qemu_windows(&f->sc->bus, virtio_net_regnames);
	f->sc->bus.vd.msix = false;
	if (max >= 0) {
		f->sim.mq = true;
		f->sim.mq_max = (uint16_t)max;
	}
}

static struct nic *
mq_attach(struct mq_fix *f)
{
	assert_int_equal(virtio_net_attach_core(f->sc, &f->sc->bus.vd, 5), TERN_OK);
	struct nic *n = &f->sc->nic;
	n->rx = mq_rx;
	n->upper = f;
	return n;
}

static void
mq_end(struct mq_fix *f)
{
	virtio_net_detach_core(f->sc);
	if (f->sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f->sim.violation);
	assert_int_equal(f->sim.dma_live, 0);
	vsim_fini(&f->sim);
	free(f->sc);
}

static int released;
static void tx_release(struct nic_buf *b) { released++; }

/* Sends one 60-byte frame on queue q; TERN_OK or the driver's error. */
static int
send_on(struct nic *n, int q)
{
	static uint8_t fr[60];
	static struct nic_buf b;
	b = (struct nic_buf){ .data = fr, .len = sizeof(fr), .release = tx_release };
	return nic_tx(n, q, &b, NULL);
}

/*
 * A device with 6 pairs: we set up VNET_MAX_PAIRS (4), every one with its
 * own posted pool, the control queue at 12, and one VQ_PAIRS_SET(4) the
 * device accepted.  Each queue transmits on its own pair and reaps its
 * own completions; detach gives every DMA region back.
 */
static void
test_mq_pairs_set_up_and_torn_down(void **state)
{
	struct mq_fix f;
	mq_new(&f, 6);
	struct nic *n = mq_attach(&f);
	assert_int_equal(n->nqueues, VNET_MAX_PAIRS);
	assert_int_equal(f.sim.pairs, VNET_MAX_PAIRS);
	assert_int_equal(f.sim.ctrl_cmds, 1);
	assert_int_equal(f.sc->ctrlq.index, 12);
	assert_true(f.sim.q[12].enable);
	assert_false(f.sim.q[2 * VNET_MAX_PAIRS].enable);	/* pair 4 not ours */
	for (int k = 0; k < VNET_MAX_PAIRS; k++)
		assert_int_equal(vsim_net_posted_pair(&f.sim, k), VNET_RX_BUFS);
	assert_true(kstub_logged("4 queue pairs (device offers 6)"));
	/* 4 pools + 4 header arrays + 8 rings + 4 indirect tables + the
	   control ring and its command buffer. */
	assert_int_equal(f.sim.dma_live, 22);

	released = 0;
	for (int k = 0; k < VNET_MAX_PAIRS; k++) {
		assert_int_equal(send_on(n, k), TERN_OK);
		assert_int_equal(f.sim.frame_pair[f.sim.nframes - 1], k);
		assert_int_equal(n->queue[k].stats.tx_packets, 1);
	}
	assert_int_equal(send_on(n, VNET_MAX_PAIRS), TERN_EINVAL);
	/* Polling queue 1 reaps queue 1's completion only. */
	nic_poll_queue(n, 1, 64);
	assert_int_equal(released, 1);
	nic_poll(n, 64);
	assert_int_equal(released, VNET_MAX_PAIRS);
	mq_end(&f);

	/* A device with 2 pairs gets 2. */
	mq_new(&f, 2);
	n = mq_attach(&f);
	assert_int_equal(n->nqueues, 2);
	assert_int_equal(f.sim.pairs, 2);
	assert_int_equal(f.sc->ctrlq.index, 4);
	mq_end(&f);

	/* One pair offered: no command needed, none sent. */
	mq_new(&f, 1);
	n = mq_attach(&f);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(f.sim.ctrl_cmds, 0);
	mq_end(&f);
}

/*
 * A frame the device puts on pair 2 goes up from poll(queue 2) with
 * queue = 2 and is counted in queue 2's counters; polling queue 0 does
 * not see it.  Its buffer, held by the upper layer across a detach,
 * keeps pool 2's memory until it comes back.
 */
static void
test_mq_rx_on_queue2(void **state)
{
	struct mq_fix f;
	mq_new(&f, 4);
	struct nic *n = mq_attach(&f);
	uint8_t fr[80] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	fr[40] = 0x42;
	f.hold = true;
	assert_int_equal(vsim_net_inject_pair(&f.sim, 2, fr, sizeof(fr)), 0);
	assert_int_equal(nic_poll_queue(n, 0, 64), 0);
	assert_int_equal(f.rx_frames, 0);
	assert_int_equal(nic_poll_queue(n, 2, 64), 1);
	assert_int_equal(f.rx_frames, 1);
	assert_int_equal(f.last_queue, 2);
	assert_int_equal(n->queue[2].stats.rx_packets, 1);
	assert_int_equal(n->queue[0].stats.rx_packets, 0);
	assert_int_equal(n->stats.rx_packets, 1);
	/* Given back, it is posted on pair 2 again. */
	assert_int_equal(vsim_net_posted_pair(&f.sim, 2), VNET_RX_BUFS - 1);
	nic_buf_release(f.held[0]);
	nic_poll_queue(n, 2, 64);
	assert_int_equal(vsim_net_posted_pair(&f.sim, 2), VNET_RX_BUFS);

	/* Held across the detach: only pool 2 stays. */
	assert_int_equal(vsim_net_inject_pair(&f.sim, 2, fr, sizeof(fr)), 0);
	nic_poll_queue(n, 2, 64);
	assert_int_equal(f.nheld, 2);
	virtio_net_detach_core(f.sc);
	assert_true(kstub_logged("1 receive buffers of queue 2 still held"));
	assert_int_equal(f.sim.dma_live, 1);
	assert_int_equal(f.held[1]->data[40], 0x42);
	nic_buf_release(f.held[1]);
	assert_int_equal(f.sim.dma_live, 0);
	if (f.sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f.sim.violation);
	vsim_fini(&f.sim);
	free(f.sc);
}

/* The netstack on a 4-queue virtio-net: an ARP request arriving on pair
   2 is answered (netstack_poll polls every queue), and TCP SYNs of
   different connections are answered on queues chosen by the
   connection's hash: the same connection always on the same queue, the
   connections on more than one. */
struct e2e {
	uint64_t now;
};
static uint64_t e2e_now(void *ctx) { return ((struct e2e *)ctx)->now; }
static uint32_t e2e_random(void *ctx) { return 0x9e3779b9u; }
static void e2e_accept(void *ctx, struct tcp_pcb *p) { }

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };

static size_t
arp_request(uint8_t *fr, uint32_t sip, uint32_t tip)
{
	memset(fr, 0, 60);
	memset(fr, 0xff, 6);
	memcpy(fr + 6, peer_mac, 6);
	fr[12] = 0x08; fr[13] = 0x06;
	uint8_t *a = fr + 14;
	wr16(a, 1); wr16(a + 2, 0x0800); a[4] = 6; a[5] = 4; wr16(a + 6, 1);
	memcpy(a + 8, peer_mac, 6);
	wr32(a + 14, sip);
	wr32(a + 24, tip);
	return 60;
}

static size_t
tcp_syn(uint8_t *fr, const uint8_t *mac, uint16_t sport)
{
	uint32_t src = 0x0a630001, dst = 0x0a630002;
	memcpy(fr, mac, 6);
	memcpy(fr + 6, peer_mac, 6);
	fr[12] = 0x08; fr[13] = 0x00;
	uint8_t *ip = fr + 14, *t = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45; ip[3] = 40; ip[8] = 64; ip[9] = IPPROTO_TCP;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	wr16(ip + 10, ns_csum(ip, 20, 0));
	wr16(t, sport); wr16(t + 2, 80); wr32(t + 4, 1000);
	t[12] = 0x50; t[13] = 0x02; wr16(t + 14, 65535);
	uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    IPPROTO_TCP + 20;
	wr16(t + 16, ns_csum(t, 20, pseudo));
	return 54;
}

static void
test_mq_netstack(void **state)
{
	struct mq_fix f;
	static struct netstack ns;
	static struct ns_txbuf txmem[NS_TXBUFS];
	struct e2e ctx = { .now = 1000000000ULL };
	mq_new(&f, 4);
	assert_int_equal(virtio_net_attach_core(f.sc, &f.sc->bus.vd, 5), TERN_OK);
	struct nic *n = &f.sc->nic;
	struct netstack_port port = { e2e_now, e2e_random, NULL, &ctx };
	netstack_attach(&ns, n, &port, txmem);
	netstack_set_static(&ns, 0x0a630002, 0xffffff00u, 0x0a630001, 0);
	assert_int_equal(tcp_listen(&ns, 80, e2e_accept, &ctx), TERN_OK);
	netstack_poll(&ns);

	uint8_t fr[64];
	int tx0 = f.sim.nframes;
	assert_int_equal(vsim_net_inject_pair(&f.sim, 2, fr, (uint32_t)arp_request(fr,
	    0x0a630001, 0x0a630002)), 0);
	netstack_poll(&ns);
	assert_int_equal(n->queue[2].stats.rx_packets, 1);
	assert_int_equal(f.sim.nframes, tx0 + 1);
	const uint8_t *reply = f.sim.frames[tx0];
	assert_int_equal(reply[12], 0x08);
	assert_int_equal(reply[13], 0x06);
	assert_int_equal(rd16(reply + 20), 2);	/* ARP reply, on queue 0 */
	assert_int_equal(f.sim.frame_pair[tx0], 0);

	/* SYN-ACKs of 16 connections: each on its connection's queue. */
	int seen[VNET_MAX_PAIRS] = { 0 };
	for (uint16_t i = 0; i < 16; i++) {
		int before = f.sim.nframes;
		size_t len = tcp_syn(fr, n->mac, (uint16_t)(40000 + i));
		assert_int_equal(vsim_net_inject_pair(&f.sim, i % 4, fr, (uint32_t)len), 0);
		netstack_poll(&ns);
		assert_int_equal(f.sim.nframes, before + 1);
		const uint8_t *o = f.sim.frames[before];
		assert_int_equal(o[23], IPPROTO_TCP);
		assert_int_equal(rd16(o + 36), 40000 + i);
		int q = ns_tx_queue(&ns, o, f.sim.frame_len[before]);
		assert_int_equal(f.sim.frame_pair[before], q);
		seen[q]++;
		/* A retransmitted SYN of the same connection: same queue. */
		assert_int_equal(vsim_net_inject_pair(&f.sim, (i + 1) % 4, fr, (uint32_t)len), 0);
		netstack_poll(&ns);
		if (f.sim.nframes > before + 1)
			assert_int_equal(f.sim.frame_pair[before + 1], q);
	}
	int used = 0;
	for (int k = 0; k < VNET_MAX_PAIRS; k++)
		used += seen[k] > 0;
	assert_true(used > 1);
	virtio_net_detach_core(f.sc);
	if (f.sim.violations != 0)
		fail_msg("driver violated the protocol: %s", f.sim.violation);
	assert_int_equal(f.sim.dma_live, 0);
	vsim_fini(&f.sim);
	free(f.sc);
}

/* The device answers VQ_PAIRS_SET with VIRTIO_NET_ERR: one pair, said
   so; frames flow on queue 0, queue 1 is refused. */
static void
test_mq_ctrl_refused(void **state)
{
	struct mq_fix f;
	mq_new(&f, 4);
	f.sim.f.ctrl_refuse = true;
	struct nic *n = mq_attach(&f);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(f.sim.pairs, 1);
	assert_int_equal(f.sc->ctrl_failures, 1);
	assert_true(kstub_logged("VQ_PAIRS_SET(4) with VIRTIO_NET_ERR"));
	assert_true(kstub_logged("falling back to one queue pair"));
	assert_int_equal(send_on(n, 0), TERN_OK);
	assert_int_equal(send_on(n, 1), TERN_EINVAL);
	uint8_t fr[60] = { 1 };
	assert_int_equal(vsim_net_inject(&f.sim, fr, sizeof(fr), 0), 0);
	nic_poll(n, 64);
	assert_int_equal(f.rx_frames, 1);
	assert_int_equal(f.last_queue, 0);
	mq_end(&f);
}

/* The device never answers: attach waits a bounded time (on the device
   clock), logs what it waited for, and runs one pair; the command's
   buffer stays the device's until the detach's reset. */
static void
test_mq_ctrl_unanswered(void **state)
{
	struct mq_fix f;
	mq_new(&f, 4);
	f.sim.f.ctrl_silent = true;
	uint64_t t0 = f.sim.now_ns;
	struct nic *n = mq_attach(&f);
	uint64_t waited = f.sim.now_ns - t0;
	assert_true(waited >= 500000000ULL);
	assert_true(waited < 2000000000ULL);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(f.sim.ctrl_cmds, 1);
	assert_true(kstub_logged("no answer to VQ_PAIRS_SET(4) within 500 ms (control queue 8"));
	assert_int_equal(send_on(n, 0), TERN_OK);
	mq_end(&f);
}

/* Completed without the ack written (used length 0): not taken for OK. */
static void
test_mq_ctrl_no_ack(void **state)
{
	struct mq_fix f;
	mq_new(&f, 4);
	f.sim.f.ctrl_no_ack = true;
	struct nic *n = mq_attach(&f);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(n->stats.bad_completions, 1);
	assert_true(kstub_logged("completed with 0 bytes written"));
	mq_end(&f);
}

/* max_virtqueue_pairs the spec forbids (0, above 0x8000) or whose
   control queue no 16-bit queue_select names (0x8000): one pair, no
   control queue touched, counted and logged. */
static void
hostile_max(int max)
{
	struct mq_fix f;
	mq_new(&f, max);
	struct nic *n = mq_attach(&f);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(f.sim.ctrl_cmds, 0);
	assert_int_equal(f.sc->ctrlq.size, 0);
	assert_int_equal(n->stats.bad_completions, 1);
	char want[64];
	snprintf(want, sizeof(want), "max_virtqueue_pairs %d outside 1..32767", max);
	assert_true(kstub_logged(want));
	assert_int_equal(send_on(n, 0), TERN_OK);
	mq_end(&f);
}

static void test_mq_max_pairs_0(void **state) { hostile_max(0); }
static void test_mq_max_pairs_0x8000(void **state) { hostile_max(0x8000); }
static void test_mq_max_pairs_0x8001(void **state) { hostile_max(0x8001); }

/* A device without MQ (QEMU's default) negotiates neither MQ nor
   CTRL_VQ even when it offers CTRL_VQ: the single-queue driver. */
static void
test_mq_not_offered(void **state)
{
	struct mq_fix f;
	mq_new(&f, -1);
	f.sim.dev_features |= 1ULL << VIRTIO_NET_F_CTRL_VQ;
	struct nic *n = mq_attach(&f);
	assert_int_equal(n->nqueues, 1);
	assert_false(f.sim.drv_features & (1ULL << VIRTIO_NET_F_CTRL_VQ));
	assert_int_equal(f.sim.dma_live, 5);
	mq_end(&f);
}

/* MSI-X: with an entry per pair bound, receive queue k takes entry k;
   with only entry 0, all share it. */
static void
msix_case(uint16_t bound)
{
	struct mq_fix f;
	mq_new(&f, 4);
	f.sim.msix_vectors = 8;
	f.sc->bus.vd.msix = true;
	f.sc->bus.vd.msix_entry = 0;
	f.sc->bus.vd.msix_count = bound;
	struct nic *n = mq_attach(&f);
	assert_int_equal(n->nqueues, 4);
	for (int k = 0; k < 4; k++) {
		uint16_t want = bound >= 4 ? (uint16_t)k : 0;
		assert_int_equal(f.sim.q[2 * k].msix, want);
		assert_int_equal(n->queue[k].msix_vector, want);
		assert_int_equal(f.sim.q[2 * k + 1].msix, 0);
	}
	assert_int_equal(f.sim.config_msix, 0);
	mq_end(&f);
}

static void test_mq_msix_per_queue(void **state) { msix_case(4); }
static void test_mq_msix_shared(void **state) { msix_case(1); }

/* DEVICE_NEEDS_RESET with 4 pairs: recovery sets them up and asks for
   them again; a buffer held on pair 3 is posted once released. */
static void
test_mq_recover(void **state)
{
	struct mq_fix f;
	mq_new(&f, 4);
	struct nic *n = mq_attach(&f);
	uint8_t fr[60] = { 1 };
	f.hold = true;
	assert_int_equal(vsim_net_inject_pair(&f.sim, 3, fr, sizeof(fr)), 0);
	nic_poll_queue(n, 3, 64);
	f.hold = false;
	f.sim.f.needs_reset_after = 0;
	assert_int_equal(vsim_net_inject_pair(&f.sim, 1, fr, sizeof(fr)), 0);
	nic_poll(n, 64);
	assert_true(f.sc->bus.vd.broken);
	assert_int_equal(virtio_net_recover(f.sc), TERN_OK);
	assert_int_equal(n->nqueues, 4);
	assert_int_equal(f.sim.pairs, 4);
	assert_int_equal(f.sim.ctrl_cmds, 2);
	assert_int_equal(vsim_net_posted_pair(&f.sim, 3), VNET_RX_BUFS - 1);
	nic_buf_release(f.held[0]);
	nic_poll_queue(n, 3, 64);
	assert_int_equal(vsim_net_posted_pair(&f.sim, 3), VNET_RX_BUFS);
	assert_int_equal(vsim_net_inject_pair(&f.sim, 3, fr, sizeof(fr)), 0);
	nic_poll(n, 64);
	assert_int_equal(f.last_queue, 3);
	mq_end(&f);
}

/* The control queue (8 on a 4-pair device) has size 0: one pair, no
   command.  Pair 2's transmit queue (5) has size 0: pairs 0 and 1 work,
   and the device is asked for two. */
static void
test_mq_pair_setup_fails(void **state)
{
	struct mq_fix f;
	mq_new(&f, 4);
	f.sim.f.zero_size_q = 8;
	struct nic *n = mq_attach(&f);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(f.sim.ctrl_cmds, 0);
	assert_true(kstub_logged("control queue 8 unusable"));
	mq_end(&f);

	mq_new(&f, 4);
	f.sim.f.zero_size_q = 5;
	n = mq_attach(&f);
	assert_int_equal(n->nqueues, 2);
	assert_int_equal(f.sim.pairs, 2);
	assert_true(kstub_logged("queue pair 2 unusable"));
	assert_int_equal(send_on(n, 1), TERN_OK);
	mq_end(&f);
}

/* Every DMA allocation of a 4-pair attach refused in turn: the attach
   fails with a log line or runs with what it got, and after detach
   (or the failed attach) every region is back and the device saw no
   violation. */
static void
test_mq_dma_failure_loop(void **state)
{
	int fails = 0, degraded = 0;
	for (int k = 0; k < 30; k++) {
		struct mq_fix f;
		mq_new(&f, 4);
		f.sim.f.dma_fail_after = k;
		int rc = virtio_net_attach_core(f.sc, &f.sc->bus.vd, 5);
		if (rc == TERN_OK) {
			struct nic *n = &f.sc->nic;
			degraded += n->nqueues < 4;
			assert_int_equal(send_on(n, n->nqueues - 1), TERN_OK);
			mq_end(&f);
			continue;
		}
		fails++;
		assert_true(kstub_logged("attach failed"));
		if (f.sim.violations != 0)
			fail_msg("k=%d: driver violated the protocol: %s", k, f.sim.violation);
		assert_int_equal(f.sim.dma_live, 0);
		vsim_fini(&f.sim);
		free(f.sc);
	}
	assert_true(fails > 0);
	assert_true(degraded > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mq_pairs_set_up_and_torn_down),
		cmocka_unit_test(test_mq_rx_on_queue2),
		cmocka_unit_test(test_mq_netstack),
		cmocka_unit_test(test_mq_ctrl_refused),
		cmocka_unit_test(test_mq_ctrl_unanswered),
		cmocka_unit_test(test_mq_ctrl_no_ack),
		cmocka_unit_test(test_mq_max_pairs_0),
		cmocka_unit_test(test_mq_max_pairs_0x8000),
		cmocka_unit_test(test_mq_max_pairs_0x8001),
		cmocka_unit_test(test_mq_not_offered),
		cmocka_unit_test(test_mq_msix_per_queue),
		cmocka_unit_test(test_mq_msix_shared),
		cmocka_unit_test(test_mq_recover),
		cmocka_unit_test(test_mq_pair_setup_fails),
		cmocka_unit_test(test_mq_dma_failure_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
