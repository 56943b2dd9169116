/*
 * test_netvsc.c - the netvsc driver (vmbus/netvsc*.c, PROTOCOLS.md
 * B.11/B.12) on the real VMBus core against the strict host simulator
 * and its netvsc VSP (tests/vmbus/netvsc_vsp.c): bring-up and its
 * marker, NVSP version fallback and refusals, RNDIS refusals and
 * malformed or missing control replies, zero-copy receive with the
 * transfer acknowledged only after the last release, checksum PPI,
 * hostile transfer packets and RNDIS messages, the bound on held
 * transfers, copied and page-buffer transmit, completions for unknown
 * ids, a full transmit side (its wait woken once by tx_ready), link
 * indications, detach and rescind with receive buffers still lent, every
 * DMA allocation failing in turn, and vRSS: sub-channels as queues, the
 * simulator's Toeplitz hash against Microsoft's verification values,
 * flows spread by the guest's key and indirection table, a refused SET,
 * hostile host send tables.
 * Each test ends with no protocol error at the host (unless it expects
 * some) and no leaked DMA memory.
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

#define RELID_NET	14
#define CONN_NET	0x2e

struct up {			/* a fake upper layer */
	bool hold;
	struct nic_buf *held[1024];
	int nheld;
	int rx, links, txready;
	bool link;
	uint8_t last[2048];
	uint32_t last_len;
	uint16_t last_flags;
};

struct fx {
	struct hv_sim s;
	struct hv hv;
	struct hw_dma hcpage;
	struct vmbus vb;
	struct netvsc_vsp v;
	struct up up;
	bool expect_errors;
	bool connected;
};

static const struct driver *const table[] = { &netvsc_driver, NULL };

static int softcs_live;
static void *tzalloc(size_t n) { softcs_live++; return calloc(1, n); }
static void tfree(void *p) { if (p != NULL) softcs_live--; free(p); }

static void
up_rx(void *ctx, struct nic_buf *b)
{
	struct up *u = ctx;
	u->rx++;
	u->last_len = b->len < sizeof(u->last) ? b->len : sizeof(u->last);
	memcpy(u->last, b->data, u->last_len);
	u->last_flags = b->flags;
	if (u->hold && u->nheld < 1024)
		u->held[u->nheld++] = b;
	else
		nic_buf_release(b);
}

static void
up_link(void *ctx, bool on)
{
	struct up *u = ctx;
	u->links++;
	u->link = on;
}

static void
up_txready(void *ctx, int q)
{
	struct up *u = ctx;
	assert_int_equal(q, 0);
	u->txready++;
}

static void
up_release_all(struct up *u)
{
	for (int i = 0; i < u->nheld; i++)
		nic_buf_release(u->held[i]);
	u->nheld = 0;
}

/* ---- fixture ---------------------------------------------------------- */

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
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
	f->connected = true;
}

/* Returns the number of DMA blocks leaked. */
static int
fx_fini(struct fx *f)
{
	if (f->vb.connected)
		vmbus_unload(&f->vb);
	vmbus_fini(&f->vb);
	up_release_all(&f->up);
	hv_synic_fini(&f->hv);
	hv_hypercall_disable(&f->hv);
	hw_dma_free(&f->s.dev, &f->hcpage);
	return hv_sim_fini(&f->s);
}

static int
fx_setup(void **state)
{
	struct fx *f = malloc(sizeof(*f));
	fx_init(f);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	int leaked = fx_fini(f);
	int errs = hv_sim_error_count(&f->s);
	char first[160];
	memcpy(first, f->s.err[0], sizeof(first));
	bool expect = f->expect_errors;
	free(f);
	if (!expect && errs != 0)
		fail_msg("host saw %d protocol errors, first: %s", errs, first);
	assert_int_equal(leaked, 0);
	assert_int_equal(softcs_live, 0);
	assert_null(nic_first());
	return 0;
}

/* Probe and hand the NIC to the fake upper layer. */
static struct nic *
bring_up(struct fx *f)
{
	assert_int_equal(vmbus_probe(&f->vb, table), 1);
	struct nic *n = nic_first();
	assert_non_null(n);
	n->rx = up_rx;
	n->link_change = up_link;
	n->tx_ready = up_txready;
	n->upper = &f->up;
	return n;
}

static struct netvsc_softc *
sc_of(struct nic *n)
{
	return n->sc;
}

static void
frame(uint8_t *b, uint32_t len, uint8_t seed)
{
	memset(b, 0xff, 6);
	memcpy(b + 6, "\x00\x15\x5d\x09\x09\x09", 6);
	b[12] = 0x08;
	b[13] = 0x00;
	for (uint32_t i = 14; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

/* ---- bring-up ------------------------------------------------------------ */

static void
test_bringup(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);

	assert_non_null(strstr(kstub_markers,
	    "TERN NIC name=hn0 driver=netvsc mac=00:15:5d:01:02:03 mtu=1500 queues=1"));
	assert_memory_equal(n->mac, f->v.mac, 6);
	assert_int_equal(n->mtu, 1500);
	assert_true(n->link_up);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(n->offloads, NIC_OFF_RX_CSUM | NIC_OFF_TX_CSUM);
	assert_int_equal(f->v.nvsp_ver, NVSP_V61);
	assert_int_equal(f->v.nvsp_inits, 1);
	assert_true(f->v.rxbuf && f->v.txbuf && f->v.offload_on);
	assert_int_equal(f->v.filter, RNDIS_FILTER_START);
	assert_int_equal(sc_of(n)->sec_size, 6144);
	/* Every control reply was acknowledged. */
	assert_int_equal(f->v.xfer_out, 0);
}

static void
test_mtu_and_link_from_host(void **state)
{
	struct fx *f = *state;
	f->v.mtu = 9000;
	f->v.link_up = false;
	struct nic *n = bring_up(f);
	assert_int_equal(n->mtu, 9000);
	assert_false(n->link_up);
	assert_non_null(strstr(kstub_markers, "mtu=9000 queues=1 link=down"));
}

static void
test_nvsp_fallback(void **state)
{
	struct fx *f = *state;
	f->v.max_nvsp = NVSP_V4;	/* 6.1, 6, 5 refused */
	bring_up(f);
	assert_int_equal(f->v.nvsp_ver, NVSP_V4);
	assert_int_equal(f->v.nvsp_inits, 4);
	assert_true(kstub_logged("NVSP version 0x60001 refused"));
}

static void
test_nvsp_v1_no_ndis_config(void **state)
{
	struct fx *f = *state;
	f->v.max_nvsp = NVSP_V1;
	bring_up(f);
	assert_int_equal(f->v.nvsp_ver, NVSP_V1);
	assert_false(f->v.ndis_config);	/* only from v2 (B.11) */
}

static void
test_nvsp_all_refused(void **state)
{
	struct fx *f = *state;
	f->v.max_nvsp = 0;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_null(nic_first());
	assert_int_equal(f->v.nvsp_inits, 6);
	assert_true(kstub_logged("no NVSP version accepted"));
}

static void
test_rndis_init_refused(void **state)
{
	struct fx *f = *state;
	f->v.f_rndis_init_status = 0xC0000001u;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_null(nic_first());
	assert_true(kstub_logged("RNDIS INITIALIZE refused"));
	/* The failed attach revoked and tore down both buffers. */
	assert_true(f->v.rx_revoked && f->v.tx_revoked);
}

static void
test_rndis_mute_is_bounded(void **state)
{
	struct fx *f = *state;
	uint64_t t0 = f->s.now_ns;
	f->v.f_ctl_mute = true;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_true(kstub_logged("no RNDIS INITIALIZE completion after 5000 ms"));
	assert_true(f->s.now_ns - t0 >= NETVSC_WAIT_NS);
	assert_true(f->s.now_ns - t0 < 2 * NETVSC_WAIT_NS);
}

static void
test_rndis_malformed_reply(void **state)
{
	struct fx *f = *state;
	f->v.f_ctl_bad_len = true;	/* RNDIS length beyond its range */
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_true(kstub_logged("no RNDIS INITIALIZE completion"));
	assert_int_equal(f->v.xfer_out, 0);	/* still acknowledged */
}

static void
test_recv_buf_two_sections_refused(void **state)
{
	struct fx *f = *state;
	f->v.f_recv_buf_sections = 2;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_true(kstub_logged("receive buffer refused"));
}

static void
test_offload_refused(void **state)
{
	struct fx *f = *state;
	f->v.f_offload_refuse = true;
	struct nic *n = bring_up(f);
	assert_int_equal(n->offloads, 0);
	assert_true(kstub_logged("checksum offloads refused"));
	/* A frame carrying a checksum PPI is then not trusted. */
	uint8_t fr[100];
	const uint8_t *fp = fr;
	uint32_t l = sizeof(fr);
	frame(fr, l, 1);
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, RNDIS_RXCSUM_TCP_OK) != 0);
	nic_poll(n, 64);
	assert_int_equal(f->up.rx, 1);
	assert_int_equal(f->up.last_flags & NIC_RXCSUM_MASK, NIC_RXCSUM_NONE);
}

/* ---- receive ------------------------------------------------------------- */

static void
test_rx_zero_copy_ack_after_release(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	uint8_t fr[3][1514];
	const uint8_t *fp[3] = { fr[0], fr[1], fr[2] };
	uint32_t l[3] = { 60, 1514, 700 };

	for (int i = 0; i < 3; i++)
		frame(fr[i], l[i], (uint8_t)(i * 31));
	f->up.hold = true;
	uint64_t tid = netvsc_vsp_rx(&f->v, fp, l, 3, -1);
	assert_true(tid != 0);
	assert_int_equal(nic_poll(n, 64), 3);
	assert_int_equal(f->up.nheld, 3);
	const uint8_t *lo = sc->rx->buf.va, *hi = lo + sc->rx->buf.len;
	for (int i = 0; i < 3; i++) {
		struct nic_buf *b = f->up.held[i];
		assert_true(b->data >= lo && b->data + b->len <= hi);
		assert_int_equal(b->len, l[i]);
		assert_memory_equal(b->data, fr[i], l[i]);
		assert_int_equal(b->flags & NIC_RXCSUM_MASK, NIC_RXCSUM_NONE);
	}
	assert_int_equal(n->stats.rx_copy_bytes, 0);
	/* Not acknowledged while any buffer is held. */
	nic_buf_release(f->up.held[0]);
	nic_buf_release(f->up.held[2]);
	nic_poll(n, 64);
	netvsc_vsp_drain(&f->v);
	assert_true(netvsc_vsp_xfer_outstanding(&f->v, tid));
	nic_buf_release(f->up.held[1]);
	f->up.nheld = 0;
	netvsc_vsp_drain(&f->v);
	assert_false(netvsc_vsp_xfer_outstanding(&f->v, tid));
	assert_int_equal(sc->st.acks, f->v.acks);
	assert_int_equal(n->stats.rx_packets, 3);
}

static void
test_rx_checksum_ppi(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	uint8_t fr[80];
	const uint8_t *fp = fr;
	uint32_t l = sizeof(fr);
	static const struct { int64_t info; uint16_t want; } c[] = {
		{ RNDIS_RXCSUM_TCP_OK | RNDIS_RXCSUM_IP_OK, NIC_RXCSUM_GOOD },
		{ RNDIS_RXCSUM_UDP_OK, NIC_RXCSUM_GOOD },
		{ RNDIS_RXCSUM_TCP_FAIL, NIC_RXCSUM_BAD },
		{ RNDIS_RXCSUM_IP_OK, NIC_RXCSUM_NONE },
		{ RNDIS_RXCSUM_TCP_OK | RNDIS_RXCSUM_TCP_FAIL, NIC_RXCSUM_NONE },
		{ -1, NIC_RXCSUM_NONE },
	};
	frame(fr, l, 3);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, c[i].info) != 0);
		assert_int_equal(nic_poll(n, 64), 1);
		assert_int_equal(f->up.last_flags & NIC_RXCSUM_MASK, c[i].want);
	}
	assert_int_equal(sc_of(n)->st.ppi_bad, 1);	/* OK and FAIL at once */
}

static void
test_rx_bad_ranges(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	uint32_t len = sc->rx->buf.len;
	static struct vmbus_xfer_range r[5];
	r[0] = (struct vmbus_xfer_range){ 64, len };		/* past the end */
	r[1] = (struct vmbus_xfer_range){ 64, len - 32 };	/* crosses it */
	r[2] = (struct vmbus_xfer_range){ 0x20, 0xfffffff0u };	/* wraps */
	r[3] = (struct vmbus_xfer_range){ 4, 0 };		/* too short */
	r[4] = (struct vmbus_xfer_range){ 64, 2 };		/* misaligned */
	uint64_t t1 = netvsc_vsp_xfer_raw(&f->v, NVSP_RECV_BUF_ID, r, 5);
	uint64_t t2 = netvsc_vsp_xfer_raw(&f->v, 0xBEEF, r, 1);	/* wrong set */
	assert_true(t1 != 0 && t2 != 0);
	assert_int_equal(nic_poll(n, 64), 0);
	assert_int_equal(f->up.rx, 0);
	assert_int_equal(sc->st.ranges_bad, 5);
	assert_int_equal(sc->st.xfer_bad, 1);
	netvsc_vsp_drain(&f->v);
	assert_false(netvsc_vsp_xfer_outstanding(&f->v, t1));
	assert_false(netvsc_vsp_xfer_outstanding(&f->v, t2));
}

static void
test_rx_malformed_rndis(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	static uint8_t m[6][200];
	const void *mp[6];
	uint32_t ml[6];
	for (int i = 0; i < 6; i++) {
		struct rndis_packet pk = { RNDIS_MSG_PACKET, 200, 36, 100, 0, 0, 0,
		    0, 0, 0, 0 };
		switch (i) {
		case 0: pk.data_off = 20; break;		/* into the header */
		case 1: pk.data_len = 0; break;
		case 2: pk.data_len = 170; break;		/* past len */
		case 3: pk.len = 400; break;			/* past the range */
		case 4: pk.data_off = 38; break;		/* misaligned */
		case 5: pk.ppi_off = 36; pk.ppi_len = 8; pk.data_off = 44; break;
		}
		memset(m[i], 0, sizeof(m[i]));
		memcpy(m[i], &pk, sizeof(pk));
		mp[i] = m[i];
		ml[i] = 200;
	}
	uint64_t t = netvsc_vsp_rx_msgs(&f->v, mp, ml, 6);
	assert_true(t != 0);
	nic_poll(n, 64);
	/* The short PPI makes checksums untrusted, the frame itself is fine. */
	assert_int_equal(f->up.rx, 1);
	assert_int_equal(sc->st.rndis_bad, 5);
	assert_int_equal(sc->st.ppi_bad, 1);
	netvsc_vsp_drain(&f->v);
	assert_false(netvsc_vsp_xfer_outstanding(&f->v, t));
}

static void
test_rx_bound_on_held_transfers(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	uint8_t fr[64];
	const uint8_t *fp = fr;
	uint32_t l = sizeof(fr);

	frame(fr, l, 9);
	f->up.hold = true;
	for (int i = 0; i < NETVSC_MAX_XFER + 5; i++)
		assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, -1) != 0);
	for (int i = 0; i < 4; i++)
		nic_poll(n, 64);
	assert_int_equal(f->up.rx, NETVSC_MAX_XFER);
	assert_true(sc->st.xfer_stalls > 0);
	assert_int_equal(sc->st.xfer_out_max, NETVSC_MAX_XFER);
	assert_int_equal(f->v.xfer_out, NETVSC_MAX_XFER + 5);
	up_release_all(&f->up);
	nic_poll(n, 64);
	assert_int_equal(f->up.rx, NETVSC_MAX_XFER + 5);
	up_release_all(&f->up);
	netvsc_vsp_drain(&f->v);
	assert_int_equal(f->v.xfer_out, 0);
}

static void
test_link_down_up(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	assert_int_equal(netvsc_vsp_link(&f->v, false), 0);
	nic_poll(n, 64);
	assert_false(n->link_up);
	assert_int_equal(f->up.links, 1);
	assert_false(f->up.link);
	assert_int_equal(netvsc_vsp_link(&f->v, false), 0);	/* no change */
	nic_poll(n, 64);
	assert_int_equal(f->up.links, 1);
	assert_int_equal(netvsc_vsp_link(&f->v, true), 0);
	nic_poll(n, 64);
	assert_true(n->link_up && f->up.link);
	assert_int_equal(f->up.links, 2);
	netvsc_vsp_drain(&f->v);
	assert_int_equal(f->v.xfer_out, 0);
}

/* ---- transmit ------------------------------------------------------------ */

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

static void
test_tx_small_copied(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct hw_dma mem;
	struct nic_buf b[2];

	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	uint8_t *p = mem.va;
	frame(p, 90, 5);
	txbuf(&b[0], p, 34);
	txbuf(&b[1], p + 34, 56);
	b[0].next = &b[1];
	tx_released = 0;
	assert_int_equal(nic_tx(n, 0, b, NULL), TERN_OK);
	assert_int_equal(f->v.nwire, 1);
	assert_true(f->v.wire[0].copied);
	assert_int_equal(f->v.wire[0].len, 90);
	assert_memory_equal(f->v.wire[0].data, p, 90);
	assert_int_equal(n->stats.tx_copy_bytes, 90);
	assert_int_equal(tx_released, 0);	/* until the completion is seen */
	assert_int_equal(nic_poll(n, 64), 1);
	assert_int_equal(tx_released, 2);
	hw_dma_free(&f->s.dev, &mem);
}

static void
test_tx_large_page_buffers(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct hw_dma mem;
	struct nic_buf b[2];

	assert_int_equal(hw_dma_alloc(&f->s.dev, 3 * 4096, 4096, &mem), 0);
	uint8_t *p = (uint8_t *)mem.va + 4000;	/* crosses a page */
	frame(p, 1514, 77);
	txbuf(&b[0], p, 54);
	txbuf(&b[1], p + 54, 1460);
	b[0].next = &b[1];
	tx_released = 0;
	f->v.f_hold_tx = true;
	assert_int_equal(nic_tx(n, 0, b, NULL), TERN_OK);
	assert_int_equal(f->v.nwire, 1);
	assert_false(f->v.wire[0].copied);
	assert_memory_equal(f->v.wire[0].data, p, 1514);
	assert_int_equal(n->stats.tx_copy_bytes, 0);
	assert_int_equal(sc_of(n)->st.tx_direct, 1);
	nic_poll(n, 64);
	assert_int_equal(tx_released, 0);	/* the host has not finished */
	netvsc_vsp_release_tx(&f->v);
	assert_int_equal(nic_poll(n, 64), 1);
	assert_int_equal(tx_released, 2);
	hw_dma_free(&f->s.dev, &mem);
}

static void
test_tx_checksum_ppi(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct hw_dma mem;
	struct nic_buf b;
	struct nic_tx_meta m = { 14, 34, NIC_PROTO_TCP, 0, 0, NIC_TX_CSUM_L4 };

	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	frame(mem.va, 1000, 2);
	txbuf(&b, mem.va, 1000);
	tx_released = 0;
	assert_int_equal(nic_tx(n, 0, &b, &m), TERN_OK);
	assert_true(f->v.wire[0].csum_ppi);
	assert_int_equal(f->v.wire[0].csum_info,
	    RNDIS_TXCSUM_IPV4 | RNDIS_TXCSUM_TCP | 34u << 16);
	assert_memory_equal(f->v.wire[0].data, mem.va, 1000);
	nic_poll(n, 64);
	assert_int_equal(tx_released, 1);
	hw_dma_free(&f->s.dev, &mem);
}

static void
test_tx_full_is_eagain(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct hw_dma mem;
	static struct nic_buf b[NETVSC_TX_SLOTS + 1];

	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	frame(mem.va, 1200, 4);
	tx_released = 0;
	f->v.f_no_drain = true;
	int i;
	for (i = 0; i < NETVSC_TX_SLOTS; i++) {
		txbuf(&b[i], mem.va, 1200);
		assert_int_equal(nic_tx(n, 0, &b[i], NULL), TERN_OK);
	}
	txbuf(&b[i], mem.va, 1200);
	assert_int_equal(nic_tx(n, 0, &b[i], NULL), TERN_EAGAIN);
	assert_int_equal(tx_released, 0);	/* the caller still owns it */
	assert_int_equal(n->stats.tx_ring_full, 1);
	/* Out of slots, not ring: the queue waits for a completion. */
	assert_true(n->tx_wakes);
	assert_int_equal(sc_of(n)->txw_why[0], NETVSC_TXW_SLOT);
	assert_int_equal(((struct vmbus_ring_hdr *)hv_sim_chan(&f->s,
	    RELID_NET)->in.base)->pending_send_sz, 0);
	nic_poll(n, 64);
	assert_int_equal(f->up.txready, 0);	/* nothing completed yet */
	f->v.f_no_drain = false;
	netvsc_vsp_drain(&f->v);
	assert_int_equal(f->v.nwire, NETVSC_TX_SLOTS);
	while (nic_poll(n, 64) > 0)
		;
	assert_int_equal(tx_released, NETVSC_TX_SLOTS);
	assert_int_equal(f->up.txready, 1);	/* once, from the poll */
	assert_int_equal(sc_of(n)->st.tx_wakeups, 1);
	nic_poll(n, 64);
	assert_int_equal(f->up.txready, 1);
	assert_int_equal(nic_tx(n, 0, &b[i], NULL), TERN_OK);
	nic_poll(n, 64);
	assert_int_equal(tx_released, NETVSC_TX_SLOTS + 1);
	hw_dma_free(&f->s.dev, &mem);
}

static void
test_comp_unknown_ids(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	struct hw_dma mem;
	struct nic_buf b;

	assert_int_equal(netvsc_vsp_comp_bogus(&f->v, 0x1234), 0);
	/* A TX-space id for a slot never used, and one with a stale gen. */
	assert_int_equal(netvsc_vsp_comp_bogus(&f->v, NETVSC_TID_TX | 5), 0);
	assert_int_equal(netvsc_vsp_comp_bogus(&f->v, NETVSC_TID_TX | 7ull << 16), 0);
	nic_poll(n, 64);
	assert_int_equal(sc->st.comp_unknown, 3);
	assert_int_equal(n->stats.bad_completions, 3);
	/* A real frame's completion, replayed: the second is unknown. */
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	frame(mem.va, 600, 1);
	txbuf(&b, mem.va, 600);
	tx_released = 0;
	f->v.f_hold_tx = true;
	assert_int_equal(nic_tx(n, 0, &b, NULL), TERN_OK);
	uint64_t tid = f->v.held[0].tid;
	netvsc_vsp_release_tx(&f->v);
	nic_poll(n, 64);
	assert_int_equal(tx_released, 1);
	assert_int_equal(netvsc_vsp_comp_bogus(&f->v, tid), 0);
	nic_poll(n, 64);
	assert_int_equal(tx_released, 1);
	assert_int_equal(sc->st.comp_unknown, 4);
	/* The next frame reuses the slot with a new generation: the old
	   id replayed now must not complete it. */
	f->v.f_hold_tx = true;
	assert_int_equal(nic_tx(n, 0, &b, NULL), TERN_OK);
	assert_true(f->v.held[0].tid != tid);
	assert_int_equal(f->v.held[0].tid & 0xffff, tid & 0xffff);
	assert_int_equal(netvsc_vsp_comp_bogus(&f->v, tid), 0);
	nic_poll(n, 64);
	assert_int_equal(tx_released, 1);
	assert_int_equal(sc->st.comp_unknown, 5);
	netvsc_vsp_release_tx(&f->v);
	nic_poll(n, 64);
	assert_int_equal(tx_released, 2);
	hw_dma_free(&f->s.dev, &mem);
}


/* The host fails a frame (status 2): counted, the chain still goes back. */
static void
test_tx_completion_failed(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	struct hw_dma mem;
	struct nic_buf b;

	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	frame(mem.va, 800, 3);
	txbuf(&b, mem.va, 800);
	tx_released = 0;
	f->v.f_tx_status = NVSP_STAT_FAIL;
	assert_int_equal(nic_tx(n, 0, &b, NULL), TERN_OK);
	assert_int_equal(nic_poll(n, 64), 1);
	assert_int_equal(tx_released, 1);
	assert_int_equal(sc_of(n)->st.tx_status_bad, 1);
	assert_int_equal(n->stats.tx_errors, 1);
	hw_dma_free(&f->s.dev, &mem);
}

static void
test_tx_oversize_dropped(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	static uint8_t big[2000];
	struct nic_buf b;
	txbuf(&b, big, sizeof(big));
	tx_released = 0;
	assert_int_equal(nic_tx(n, 0, &b, NULL), TERN_EINVAL);
	assert_int_equal(tx_released, 1);
	assert_int_equal(n->stats.tx_drops, 1);
	assert_int_equal(f->v.nwire, 0);
}


/* ---- the real netstack on top ------------------------------------------ */

struct tcpx {
	uint64_t now;
	size_t got;
	bool in_rxbuf;		/* every piece pointed into the receive buffer */
	const uint8_t *lo, *hi;
	uint8_t data[1000];
};
static uint64_t tx_now(void *ctx) { return ((struct tcpx *)ctx)->now; }
static uint32_t tx_random(void *ctx) { (void)ctx; return 0x9e3779b9u; }

static void
tx_recv(void *ctx, struct tcp_pcb *p, const uint8_t *d, size_t n, struct nic_buf *b)
{
	struct tcpx *x = ctx;
	(void)p;
	if (n == 0)
		return;
	if (b == NULL || d < x->lo || d + n > x->hi)
		x->in_rxbuf = false;
	if (x->got + n <= sizeof(x->data))
		assert_memory_equal(d, x->data + x->got, n);
	x->got += n;
}

static void
tx_accept(void *ctx, struct tcp_pcb *p)
{
	p->cbs.recv = tx_recv;
	p->ctx = ctx;
}

static uint32_t
seg(uint8_t *fr, const uint8_t *mac, uint8_t flags, uint32_t sq, uint32_t ack,
    const uint8_t *data, size_t dlen)
{
	uint32_t src = 0x0a630001, dst = 0x0a630002;
	memcpy(fr, mac, 6);
	memcpy(fr + 6, "\x02\x00\x00\x00\x00\x99", 6);
	fr[12] = 0x08;
	fr[13] = 0x00;
	uint8_t *ip = fr + 14, *t = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(40 + dlen));
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
	if (dlen > 0)
		memcpy(t + 20, data, dlen);
	uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) +
	    (dst & 0xffff) + IPPROTO_TCP + (uint32_t)(20 + dlen);
	wr16(t + 16, ns_csum(t, 20 + dlen, pseudo));
	return (uint32_t)(54 + dlen);
}

/* ARP, handshake and 1000 bytes of data through netvsc into the real
   netstack: the data reaches the application inside the receive buffer,
   the stack's answers reach the VSP's wire. */
static void
test_tcp_through_netstack(void **state)
{
	struct fx *f = *state;
	static struct netstack ns;
	static struct ns_txbuf txmem[NS_TXBUFS];
	static struct tcpx x;
	static uint8_t fr[1200];
	const uint8_t *fp = fr;
	uint32_t l;

	assert_int_equal(vmbus_probe(&f->vb, table), 1);
	struct nic *n = nic_first();
	struct netvsc_softc *sc = n->sc;
	memset(&x, 0, sizeof(x));
	x.now = 1000000000ull;
	x.in_rxbuf = true;
	x.lo = sc->rx->buf.va;
	x.hi = x.lo + sc->rx->buf.len;
	for (size_t i = 0; i < sizeof(x.data); i++)
		x.data[i] = (uint8_t)(i * 11 + 3);
	struct netstack_port port = { tx_now, tx_random, NULL, &x };
	netstack_attach(&ns, n, &port, txmem);
	netstack_set_static(&ns, 0x0a630002, 0xffffff00u, 0x0a630001, 0);
	assert_int_equal(tcp_listen(&ns, 80, tx_accept, &x), TERN_OK);

	/* The peer's ARP request teaches the stack its address. */
	memset(fr, 0, 60);
	memset(fr, 0xff, 6);
	fr[6] = 0x02; fr[11] = 0x99; fr[12] = 0x08; fr[13] = 0x06;
	uint8_t *a = fr + 14;
	a[1] = 1; a[2] = 0x08; a[4] = 6; a[5] = 4; a[7] = 1;
	a[8] = 0x02; a[13] = 0x99;
	wr32(a + 14, 0x0a630001);
	wr32(a + 24, 0x0a630002);
	l = 60;
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, -1) != 0);
	netstack_poll(&ns);
	int w0 = f->v.nwire;
	assert_true(w0 >= 1);			/* the ARP reply */

	l = seg(fr, n->mac, 0x02, 1000, 0, NULL, 0);
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1,
	    RNDIS_RXCSUM_TCP_OK | RNDIS_RXCSUM_IP_OK) != 0);
	netstack_poll(&ns);
	assert_int_equal(f->v.nwire, w0 + 1);
	const struct vsp_frame *sa = &f->v.wire[w0];
	assert_int_equal(sa->data[47], 0x12);		/* SYN|ACK */
	/* Control segments carry a full checksum (no PPI asked for). */
	assert_false(sa->csum_ppi);
	uint32_t ps = (rd32(sa->data + 26) >> 16) + (rd32(sa->data + 26) & 0xffff) +
	    (rd32(sa->data + 30) >> 16) + (rd32(sa->data + 30) & 0xffff) +
	    IPPROTO_TCP + (rd16(sa->data + 16) - 20u);
	assert_int_equal(ns_csum(sa->data + 34, rd16(sa->data + 16) - 20u, ps), 0);
	uint32_t iss = rd32(sa->data + 38);

	l = seg(fr, n->mac, 0x10, 1001, iss + 1, NULL, 0);
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, RNDIS_RXCSUM_TCP_OK) != 0);
	netstack_poll(&ns);
	l = seg(fr, n->mac, 0x18, 1001, iss + 1, x.data, sizeof(x.data));
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, RNDIS_RXCSUM_TCP_OK) != 0);
	netstack_poll(&ns);
	x.now += 500000000ull;		/* past the delayed ACK */
	netstack_poll(&ns);
	assert_int_equal(x.got, sizeof(x.data));
	assert_true(x.in_rxbuf);
	assert_int_equal(ns.tcp.st.bad_csum, 0);
	assert_int_equal(n->stats.rx_copy_bytes, 0);
	/* The last frame out acknowledges all 1000 bytes. */
	const struct vsp_frame *ack = &f->v.wire[(f->v.nwire - 1) % VSP_WIRE];
	assert_int_equal(rd32(ack->data + 42), 1001 + sizeof(x.data));
	/* Every transfer went back to the host once the stack was done. */
	netvsc_vsp_drain(&f->v);
	assert_int_equal(f->v.xfer_out, 0);
}


/* vRSS: the host grants three sub-channels; four queues, each frame sent
   on queue k leaves on channel k, frames the host sends on sub-channel k
   come up on queue k and are acknowledged on that channel. */
static void
test_subchannels_are_queues(void **state)
{
	struct fx *f = *state;
	f->v.max_sub = 3;
	struct nic *n = bring_up(f);
	struct hw_dma mem;
	struct nic_buf b;

	assert_int_equal(n->nqueues, 4);
	assert_non_null(strstr(kstub_markers, "driver=netvsc mac=00:15:5d:01:02:03 mtu=1500 queues=4"));
	assert_int_equal(f->v.nsubch, 3);
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	frame(mem.va, 900, 6);
	tx_released = 0;
	for (int q = 0; q < 4; q++) {
		txbuf(&b, mem.va, 900);
		assert_int_equal(nic_tx(n, q, &b, NULL), TERN_OK);
		assert_int_equal(f->v.wire[q].relid,
		    q == 0 ? (uint32_t)RELID_NET : f->v.sub_relid[q - 1]);
		assert_int_equal(nic_poll_queue(n, q, 64), 1);	/* its completion */
		assert_int_equal(tx_released, q + 1);
		assert_int_equal(n->queue[q].stats.tx_packets, 1);
	}
	uint8_t fr[120];
	const uint8_t *fp = fr;
	uint32_t l = sizeof(fr);
	frame(fr, l, 5);
	f->up.hold = true;
	f->v.rx_q = 3;
	uint64_t tid = netvsc_vsp_rx(&f->v, &fp, &l, 1, -1);
	f->v.rx_q = 0;
	assert_true(tid != 0);
	assert_int_equal(nic_poll_queue(n, 0, 64), 0);
	assert_int_equal(nic_poll_queue(n, 3, 64), 1);
	assert_int_equal(f->up.held[0]->queue, 3);
	assert_int_equal(n->queue[3].stats.rx_packets, 1);
	up_release_all(&f->up);
	netvsc_vsp_drain(&f->v);	/* the VSP checks the ack's channel */
	assert_false(netvsc_vsp_xfer_outstanding(&f->v, tid));
	/* The primary rescinded: detach closes the sub-channels too. */
	hv_sim_rescind(&f->s, RELID_NET);
	vmbus_poll(&f->vb);
	assert_null(nic_first());
	for (int i = 0; i < 3; i++)
		assert_false(hv_sim_chan(&f->s, f->v.sub_relid[i])->open);
	hw_dma_free(&f->s.dev, &mem);
}

static void
test_no_subchannels_before_nvsp5(void **state)
{
	struct fx *f = *state;
	f->v.max_sub = 3;
	f->v.max_nvsp = NVSP_V4;
	struct nic *n = bring_up(f);
	assert_int_equal(n->nqueues, 1);
	assert_int_equal(f->v.nsubch, 0);
}


/* ---- vRSS: hash, indirection table, host send table ---------------------- */

/* The well-known Toeplitz key of Microsoft's RSS verification suite (a
   public fact, written out here, not taken from the driver). */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The suite's IPv4 rows: source, destination, ports, IPv4 hash,
   IPv4+TCP hash. */
static void
test_toeplitz_known_vectors(void **state)
{
	static const struct {
		uint8_t src[4], dst[4];
		uint16_t sport, dport;
		uint32_t h_ip, h_tcp;
	} vec[] = {
		{ { 66, 9, 149, 187 }, { 161, 142, 100, 80 }, 2794, 1766, 0x323e8fc2, 0x51ccc178 },
		{ { 199, 92, 111, 2 }, { 65, 69, 140, 83 }, 14230, 4739, 0xd718262a, 0xc626b0ea },
		{ { 24, 19, 198, 95 }, { 12, 22, 207, 184 }, 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
		{ { 38, 27, 205, 30 }, { 209, 142, 163, 6 }, 48228, 2217, 0x82989176, 0xafc7327f },
		{ { 153, 39, 163, 191 }, { 202, 188, 127, 2 }, 44251, 1303, 0x5d1809c5, 0x10e828a2 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		uint8_t in[12];
		memcpy(in, vec[i].src, 4);
		memcpy(in + 4, vec[i].dst, 4);
		in[8] = (uint8_t)(vec[i].sport >> 8);
		in[9] = (uint8_t)vec[i].sport;
		in[10] = (uint8_t)(vec[i].dport >> 8);
		in[11] = (uint8_t)vec[i].dport;
		assert_int_equal(netvsc_vsp_toeplitz(ms_key, 40, in, 8), vec[i].h_ip);
		assert_int_equal(netvsc_vsp_toeplitz(ms_key, 40, in, 12), vec[i].h_tcp);
	}
	/* And the driver's default key is that key. */
	assert_memory_equal(netvsc_rss_key_default, ms_key, 40);
}

/* An IPv4 frame to the guest (10.0.0.4) from src:sport, TCP or UDP. */
static uint32_t
ip_frame(uint8_t *b, uint32_t src, uint16_t sport, uint8_t proto, bool frag)
{
	uint32_t len = 14 + 20 + 20 + 16;
	memset(b, 0, len);
	memcpy(b, "\x00\x15\x5d\x01\x02\x03", 6);
	memcpy(b + 6, "\x00\x15\x5d\x09\x09\x09", 6);
	b[12] = 0x08;
	uint8_t *ip = b + 14;
	ip[0] = 0x45;
	ip[2] = 0;
	ip[3] = (uint8_t)(len - 14);
	ip[6] = frag ? 0x20 : 0x40;	/* MF, else DF */
	ip[8] = 64;
	ip[9] = proto;
	ip[12] = (uint8_t)(src >> 24); ip[13] = (uint8_t)(src >> 16);
	ip[14] = (uint8_t)(src >> 8); ip[15] = (uint8_t)src;
	ip[16] = 10; ip[17] = 0; ip[18] = 0; ip[19] = 4;
	ip[20] = (uint8_t)(sport >> 8); ip[21] = (uint8_t)sport;
	ip[22] = 0; ip[23] = 80;		/* destination port 80 */
	return len;
}

/* The queue the test expects, from the standard's definition and the
   driver's documented table (entry i = channel i mod 4): independent of
   the VSP's routing code. */
static int
expect_q(const uint8_t *fr, bool tcp)
{
	uint8_t in[12];
	memcpy(in, fr + 14 + 12, 8);
	memcpy(in + 8, fr + 14 + 20, 4);
	uint32_t h = netvsc_vsp_toeplitz(ms_key, 40, in, tcp ? 12 : 8);
	return (int)((h & 127) % 4);
}

static int
rx_queue_of(struct up *u, const uint8_t *fr, uint32_t len)
{
	for (int i = 0; i < u->nheld; i++)
		if (u->held[i]->len == len && memcmp(u->held[i]->data, fr, len) == 0)
			return u->held[i]->queue;
	return -1;
}

/* Four channels: the guest sets Toeplitz IPv4/TCP with the well-known key
   and a table spreading over all four; 64 TCP flows, UDP, a fragment and
   ARP land exactly where hash + table say, come up with nic_buf.queue =
   that channel, and are acknowledged on it. */
static void
test_rss_spreads_flows(void **state)
{
	struct fx *f = *state;
	f->v.max_sub = 3;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	static uint8_t fr[67][128];
	const uint8_t *fp[67];
	uint32_t l[67];
	int want[67], per_q[4] = { 0 };

	assert_int_equal(n->nqueues, 4);
	assert_true(sc->rss);
	assert_int_equal(sc->st.rss_set, 1);
	/* What the host was told, field by field (the VSP checked the rest). */
	assert_true(f->v.rss_on);
	assert_int_equal(f->v.rss_sets, 1);
	assert_int_equal(f->v.rss_hash, NDIS_HASH_FUNC_TOEPLITZ | NDIS_HASH_IPV4 |
	    NDIS_HASH_TCP_IPV4);
	assert_memory_equal(f->v.rss_key, ms_key, 40);
	assert_int_equal(f->v.rss_ntab, 128);
	for (int i = 0; i < 128; i++)
		assert_int_equal(f->v.rss_tab[i], (uint32_t)(i % 4));

	for (int i = 0; i < 64; i++) {
		l[i] = ip_frame(fr[i], 0xc0a80100u + (uint32_t)(i % 7),
		    (uint16_t)(40000 + 13 * i), 6, false);
		want[i] = expect_q(fr[i], true);
	}
	l[64] = ip_frame(fr[64], 0xc0a80177u, 5353, 17, false);	/* UDP: pair */
	want[64] = expect_q(fr[64], false);
	l[65] = ip_frame(fr[65], 0xc0a80133u, 41000, 6, true);	/* fragment */
	want[65] = expect_q(fr[65], false);
	frame(fr[66], 60, 9);					/* not IPv4 */
	fr[66][12] = 0x08;
	fr[66][13] = 0x06;
	l[66] = 60;
	want[66] = 0;
	for (int i = 0; i < 67; i++) {
		fp[i] = fr[i];
		per_q[want[i]]++;
	}
	/* The flows really spread: every channel gets some. */
	for (int q = 0; q < 4; q++)
		assert_true(per_q[q] > 0);
	f->up.hold = true;
	assert_true(netvsc_vsp_rx(&f->v, fp, l, 64, -1) != 0);
	assert_true(netvsc_vsp_rx(&f->v, fp + 64, l + 64, 3, -1) != 0);
	for (int q = 0; q < 4; q++)
		nic_poll_queue(n, q, 128);
	assert_int_equal(f->up.nheld, 67);
	for (int i = 0; i < 67; i++)
		assert_int_equal(rx_queue_of(&f->up, fr[i], l[i]), want[i]);
	for (int q = 0; q < 4; q++) {
		assert_int_equal(n->queue[q].stats.rx_packets, (uint64_t)per_q[q]);
		assert_int_equal(f->v.rx_chan_frames[q], (uint64_t)per_q[q]);
	}
	up_release_all(&f->up);
	netvsc_vsp_drain(&f->v);	/* acks checked against their channels */
	assert_int_equal(f->v.xfer_out, 0);
}

/* The host refuses the receive-scale parameters: attach still succeeds
   with four queues, the refusal is logged and counted, receive stays on
   queue 0 and transmit works on every queue. */
static void
test_rss_refused_keeps_queue0(void **state)
{
	struct fx *f = *state;
	f->v.max_sub = 3;
	f->v.f_rss_refuse = true;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	uint8_t fr[8][128];
	const uint8_t *fp[8];
	uint32_t l[8];
	struct hw_dma mem;
	struct nic_buf b;

	assert_int_equal(n->nqueues, 4);
	assert_false(sc->rss);
	assert_int_equal(sc->st.rss_refused, 1);
	assert_false(f->v.rss_on);
	assert_true(kstub_logged("receive-scale parameters not set"));
	for (int i = 0; i < 8; i++) {
		l[i] = ip_frame(fr[i], 0xc0a80100u, (uint16_t)(50000 + 101 * i), 6, false);
		fp[i] = fr[i];
	}
	f->up.hold = true;
	assert_true(netvsc_vsp_rx(&f->v, fp, l, 8, -1) != 0);
	for (int q = 1; q < 4; q++)
		assert_int_equal(nic_poll_queue(n, q, 64), 0);
	assert_int_equal(nic_poll_queue(n, 0, 64), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(rx_queue_of(&f->up, fr[i], l[i]), 0);
	up_release_all(&f->up);
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	frame(mem.va, 300, 4);
	txbuf(&b, mem.va, 300);
	tx_released = 0;
	assert_int_equal(nic_tx(n, 2, &b, NULL), TERN_OK);
	assert_int_equal(f->v.wire[0].relid, f->v.sub_relid[1]);
	assert_int_equal(nic_poll_queue(n, 2, 64), 1);
	assert_int_equal(tx_released, 1);
	netvsc_vsp_drain(&f->v);
	assert_int_equal(f->v.xfer_out, 0);
	hw_dma_free(&f->s.dev, &mem);
}

/* An RNDIS SET of OID_GEN_RECEIVE_SCALE_PARAMETERS made by the test (not
   the driver) and sent on the NIC's primary as the driver sends control
   messages; its completions reach the driver as unexpected ones. */
static void
raw_rss_set(struct nic *n, const void *info, uint32_t ilen)
{
	struct netvsc_softc *sc = sc_of(n);
	struct rndis_oid_req q;
	memset(&q, 0, sizeof(q));
	q.type = RNDIS_MSG_SET;
	q.len = (uint32_t)sizeof(q) + ilen;
	q.rid = 0x7777;
	q.oid = RNDIS_OID_RSS_PARAMS;
	q.info_len = ilen;
	q.info_off = RNDIS_INFO_OFF;
	memcpy(sc->ctl.va, &q, sizeof(q));
	memcpy((uint8_t *)sc->ctl.va + sizeof(q), info, ilen);
	hw_dma_sync_dev(sc->hw, sc->ctl.va, q.len);
	struct {
		struct vmbus_gpa_hdr h;
		struct vmbus_pagebuf pb;
	} ext = { { 0, 1 }, { q.len, (uint32_t)(sc->ctl.pa & 4095), sc->ctl.pa >> 12 } };
	struct nvsp_rndis_pkt np = { NVSP_MSG_RNDIS_PKT, NVSP_CHAN_CONTROL,
	    NVSP_NO_SECTION, 0 };
	uint8_t m[NVSP_MSG_SIZE];
	memset(m, 0, sizeof(m));
	memcpy(m, &np, sizeof(np));
	assert_int_equal(vmbus_chan_send(sc->ch, VMBUS_PKT_DATA_GPA_DIRECT,
	    VMBUS_PKT_FLAG_COMPLETION, 0x9999, &ext, sizeof(ext), m, sizeof(m)),
	    TERN_OK);
	nic_poll(n, 64);
}

struct rss_body {
	struct ndis_rss_params p;
	uint32_t tab[128];
	uint8_t key[40];
};

static void
rss_body_good(struct rss_body *b)
{
	memset(b, 0, sizeof(*b));
	b->p.obj_type = NDIS_OBJ_RSS_PARAMS;
	b->p.obj_rev = NDIS_RSS_PARAMS_REV2;
	b->p.obj_size = 40;
	b->p.hash_info = NDIS_HASH_FUNC_TOEPLITZ | NDIS_HASH_TCP_IPV4;
	b->p.itab_size = 512;
	b->p.itab_off = 40;
	b->p.key_size = 40;
	b->p.key_off = 40 + 512;
	for (int i = 0; i < 128; i++)
		b->tab[i] = (uint32_t)(3 - i % 4);
	memcpy(b->key, ms_key, 40);
}

/* The VSP is strict about every field of the RSS SET: a well-formed one
   from the test is taken (table reversed), each broken field is a
   protocol error at the host and changes nothing. */
static void
test_vsp_rss_set_strict(void **state)
{
	struct fx *f = *state;
	f->v.max_sub = 3;
	struct nic *n = bring_up(f);
	struct rss_body b;

	rss_body_good(&b);
	raw_rss_set(n, &b, sizeof(b));
	assert_int_equal(hv_sim_error_count(&f->s), 0);
	assert_int_equal(f->v.rss_sets, 2);
	assert_int_equal(f->v.rss_tab[0], 3);
	assert_int_equal(f->v.rss_hash, NDIS_HASH_FUNC_TOEPLITZ | NDIS_HASH_TCP_IPV4);

	f->expect_errors = true;
	for (int k = 0; k < 17; k++) {
		uint32_t len = sizeof(b);
		rss_body_good(&b);
		switch (k) {
		case 0: b.p.obj_type = 0x88; break;
		case 1: b.p.obj_rev = 1; break;
		case 2: b.p.obj_size = 36; break;
		case 3: b.p.flags = NDIS_RSS_FLAG_KEY_UNCHANGED; break;
		case 4: b.p.base_cpu = 1; break;
		case 5: b.p.hash_info = 2 | NDIS_HASH_TCP_IPV4; break;	/* function */
		case 6: b.p.hash_info = NDIS_HASH_FUNC_TOEPLITZ; break;	/* no type */
		case 7: b.p.hash_info |= 0x10000; break;		/* unknown type */
		case 8: b.p.itab_size = 510; break;
		case 9: b.p.itab_size = 4 * 96; b.p.key_off = 40 + 4 * 96;
			len = 40 + 4 * 96 + 40; memmove((uint8_t *)&b + len - 40, ms_key, 40);
			break;						/* not 2^n */
		case 10: b.p.itab_off = 42; break;
		case 11: b.p.itab_off = 0xfffffff0u; break;
		case 12: b.p.key_size = 16; break;
		case 13: b.p.key_off = 40 + 500; break;		/* overlaps */
		case 14: len -= 4; break;			/* key past the end */
		case 15: b.p.cpu_masks_n = 1; break;
		default: b.tab[77] = 4; break;			/* no channel 4 */
		}
		int before = hv_sim_error_count(&f->s);
		raw_rss_set(n, &b, len);
		if (hv_sim_error_count(&f->s) <= before)
			fail_msg("broken RSS field %d not caught by the VSP", k);
		assert_int_equal(f->v.rss_sets, 2);
		assert_int_equal(f->v.rss_tab[0], 3);
	}
	/* Extra bytes after the key: slack, also refused. */
	int before = hv_sim_error_count(&f->s);
	uint8_t big[sizeof(b) + 8];
	rss_body_good(&b);
	memset(big, 0, sizeof(big));
	memcpy(big, &b, sizeof(b));
	raw_rss_set(n, big, sizeof(big));
	assert_true(hv_sim_error_count(&f->s) > before);
	assert_int_equal(f->v.rss_sets, 2);
	/* DISABLE_RSS, well formed: taken, and the VSP stops hashing. */
	before = hv_sim_error_count(&f->s);
	rss_body_good(&b);
	b.p.flags = NDIS_RSS_FLAG_DISABLE;
	assert_true(f->v.rss_on);
	raw_rss_set(n, &b, sizeof(b));
	assert_int_equal(hv_sim_error_count(&f->s), before);
	assert_int_equal(f->v.rss_sets, 3);
	assert_false(f->v.rss_on);
}

/* One SEND_INDIRECTION_TABLE message: header, then `count` entries at
   `off` (all equal to `val`, except entry 5 = bad5), `len` bytes. */
static int
send_tab(struct fx *f, uint32_t count, uint32_t off, uint32_t len,
    uint32_t val, uint32_t bad5)
{
	uint8_t m[256];
	struct nvsp_send_indir_tab h = { NVSP_MSG_SEND_INDIR_TAB, count, off };
	memset(m, 0, sizeof(m));
	memcpy(m, &h, sizeof(h));
	for (uint32_t i = 0; i < 16 && off + 4 * i + 4 <= sizeof(m); i++) {
		uint32_t e = i == 5 ? bad5 : (val + i) % 4;
		memcpy(m + off + 4 * i, &e, 4);
	}
	return netvsc_vsp_send_inband(&f->v, m, len);
}

/* The host's send table: a good one is kept; short, wrong-count,
   out-of-bounds, unaligned and wrong-channel ones are counted and
   ignored, the good one stays. */
static void
test_send_table_hostile(void **state)
{
	struct fx *f = *state;
	f->v.max_sub = 3;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);

	assert_false(sc->send_tab_ok);
	assert_int_equal(send_tab(f, 16, 12, 12 + 64, 1, 2), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(sc->st.sendtab_ok, 1);
	assert_true(sc->send_tab_ok);
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(sc->send_tab[i], i == 5 ? 2 : (1 + i) % 4);
	assert_int_equal(send_tab(f, 16, 12, 8, 0, 0), 0);		/* short */
	assert_int_equal(send_tab(f, 15, 12, 12 + 64, 0, 0), 0);	/* count */
	assert_int_equal(send_tab(f, 0xffffffffu, 12, 12 + 64, 0, 0), 0);
	assert_int_equal(send_tab(f, 16, 12, 12 + 60, 0, 0), 0);	/* past end */
	assert_int_equal(send_tab(f, 16, 0xfffffff0u, 12 + 64, 0, 0), 0);
	assert_int_equal(send_tab(f, 16, 14, 14 + 64, 0, 0), 0);	/* unaligned */
	assert_int_equal(send_tab(f, 16, 4, 4 + 64, 0, 0), 0);		/* in header */
	assert_int_equal(send_tab(f, 16, 12, 12 + 64, 0, 4), 0);	/* channel 4 */
	assert_int_equal(send_tab(f, 16, 12, 12 + 64, 0, 0xffffffffu), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(sc->st.sendtab_bad, 9);
	assert_int_equal(sc->st.sendtab_ok, 1);
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(sc->send_tab[i], i == 5 ? 2 : (1 + i) % 4);
	assert_true(kstub_logged("send table ignored"));
	/* The NIC still works. */
	uint8_t fr[128];
	const uint8_t *fp = fr;
	uint32_t l = ip_frame(fr, 0xc0a80105u, 4242, 6, false);
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, -1) != 0);
	assert_int_equal(nic_poll(n, 64), 1);
}

/* NVSP 6.0 hosts may put a wrong offset in the message; the table then
   follows the 40-byte NVSP message (fact from Linux). */
static void
test_send_table_nvsp6_offset(void **state)
{
	struct fx *f = *state;
	f->v.max_sub = 1;
	f->v.max_nvsp = NVSP_V6;
	struct nic *n = bring_up(f);
	struct netvsc_softc *sc = sc_of(n);
	assert_int_equal(n->nqueues, 2);
	/* Offset field says 12, the table is at 40: entries i%2 there. */
	uint8_t m[40 + 64];
	struct nvsp_send_indir_tab h = { NVSP_MSG_SEND_INDIR_TAB, 16, 12 };
	memset(m, 0, sizeof(m));
	memcpy(m, &h, sizeof(h));
	for (uint32_t i = 0; i < 16; i++) {
		uint32_t e = i % 2;
		memcpy(m + 40 + 4 * i, &e, 4);
	}
	assert_int_equal(netvsc_vsp_send_inband(&f->v, m, sizeof(m)), 0);
	nic_poll_queue(n, 0, 64);
	assert_int_equal(sc->st.sendtab_ok, 1);
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(sc->send_tab[i], i % 2);
	assert_true(sc->rss);
	for (int i = 0; i < 128; i++)
		assert_int_equal(f->v.rss_tab[i], (uint32_t)(i % 2));
}

/* ---- lifetime ------------------------------------------------------------ */

static void
test_detach_with_lent_buffers(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	uint8_t fr[2][300];
	const uint8_t *fp[2] = { fr[0], fr[1] };
	uint32_t l[2] = { 300, 200 };
	frame(fr[0], 300, 1);
	frame(fr[1], 200, 2);
	f->up.hold = true;
	assert_true(netvsc_vsp_rx(&f->v, fp, l, 2, -1) != 0);
	nic_poll(n, 64);
	assert_int_equal(f->up.nheld, 2);
	int live = f->s.nalloc;
	assert_int_equal(vmbus_unload(&f->vb), TERN_OK);
	assert_null(nic_first());
	assert_true(f->v.rx_revoked && f->v.tx_revoked);
	/* The receive buffer and the pool are still there (2 blocks). */
	assert_true(f->s.nalloc >= 2 && f->s.nalloc < live);
	assert_memory_equal(f->up.held[0]->data, fr[0], 300);
	assert_memory_equal(f->up.held[1]->data, fr[1], 200);
	int before = f->s.nalloc;
	nic_buf_release(f->up.held[1]);
	assert_int_equal(f->s.nalloc, before);
	nic_buf_release(f->up.held[0]);
	f->up.nheld = 0;
	assert_int_equal(f->s.nalloc, before - 2);
}

static void
test_rescind_with_lent_buffers(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	uint8_t fr[100];
	const uint8_t *fp = fr;
	uint32_t l = sizeof(fr);
	frame(fr, l, 3);
	f->up.hold = true;
	assert_true(netvsc_vsp_rx(&f->v, &fp, &l, 1, -1) != 0);
	nic_poll(n, 64);
	assert_int_equal(f->up.nheld, 1);
	hv_sim_rescind(&f->s, RELID_NET);
	vmbus_poll(&f->vb);
	assert_null(nic_first());
	assert_memory_equal(f->up.held[0]->data, fr, sizeof(fr));
	up_release_all(&f->up);
}


/* Rescind in the middle of traffic with buffers lent, then the host
   offers the NIC again: a new NIC with the same MAC comes up, carries
   frames both ways, and the old buffers still go back cleanly. */
static void
test_rescind_reoffer_mid_traffic(void **state)
{
	struct fx *f = *state;
	struct nic *n = bring_up(f);
	uint8_t fr[3][400];
	const uint8_t *fp[3] = { fr[0], fr[1], fr[2] };
	uint32_t l[3] = { 400, 300, 200 };
	struct hw_dma mem;
	struct nic_buf b;

	for (int i = 0; i < 3; i++)
		frame(fr[i], l[i], (uint8_t)(i + 40));
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &mem), 0);
	frame(mem.va, 1000, 8);
	txbuf(&b, mem.va, 1000);
	tx_released = 0;
	f->up.hold = true;
	assert_true(netvsc_vsp_rx(&f->v, fp, l, 3, -1) != 0);
	nic_poll(n, 64);
	f->v.f_hold_tx = true;		/* a frame in flight at the rescind */
	assert_int_equal(nic_tx(n, 0, &b, NULL), TERN_OK);
	hv_sim_rescind(&f->s, RELID_NET);
	vmbus_poll(&f->vb);
	assert_null(nic_first());
	assert_int_equal(tx_released, 1);	/* given back by detach */
	f->v.nheld = 0;				/* its completion is moot */
	f->v.f_hold_tx = false;

	netvsc_vsp_reoffered(&f->v);
	hv_sim_offer(&f->s, hv_sim_guid_netvsc, 1, RELID_NET, CONN_NET);
	vmbus_poll(&f->vb);
	struct nic *n2 = nic_first();
	assert_non_null(n2);
	assert_memory_equal(n2->mac, f->v.mac, 6);
	n2->rx = up_rx;
	n2->upper = &f->up;
	/* The old lent buffers come back now: nothing reaches the new NIC. */
	up_release_all(&f->up);
	f->up.hold = false;
	int rx0 = f->up.rx;
	assert_true(netvsc_vsp_rx(&f->v, fp, l, 3, -1) != 0);
	assert_int_equal(nic_poll(n2, 64), 3);
	assert_int_equal(f->up.rx, rx0 + 3);
	assert_memory_equal(f->up.last, fr[2], 200);
	txbuf(&b, mem.va, 1000);
	int w = f->v.nwire;
	assert_int_equal(nic_tx(n2, 0, &b, NULL), TERN_OK);
	assert_int_equal(f->v.nwire, w + 1);
	nic_poll(n2, 64);
	assert_int_equal(tx_released, 2);
	netvsc_vsp_drain(&f->v);
	assert_int_equal(f->v.xfer_out, 0);
	hw_dma_free(&f->s.dev, &mem);
}


static void
test_host_never_answers_init(void **state)
{
	struct fx *f = *state;
	f->v.f_no_drain = true;
	assert_int_equal(vmbus_probe(&f->vb, table), 0);
	assert_null(nic_first());
	assert_true(kstub_logged("no NVSP INIT_COMPLETE after 5000 ms"));
}

/* Every reply of the bring-up lost in turn (NVSP completions and RNDIS
   completions): attach fails with the wait that named it, or succeeds
   when the lost one was not needed, never hangs, and leaks nothing. */
static void
test_lost_reply_each_step(void **state)
{
	(void)state;
	int failed = 0;
	for (int at = 1; at <= 16; at++) {
		struct fx *f = malloc(sizeof(*f));
		fx_init(f);
		f->v.f_drop_at = at;
		int bound = vmbus_probe(&f->vb, table);
		if (bound == 0) {
			failed++;
			assert_true(kstub_logged("no NVSP") || kstub_logged("no RNDIS") ||
			    kstub_logged("no SEND_RNDIS_PKT_COMPLETE"));
			assert_null(nic_first());
		}
		int leaked = fx_fini(f);
		int errs = hv_sim_error_count(&f->s);
		char first[160];
		memcpy(first, f->s.err[0], sizeof(first));
		free(f);
		if (errs != 0)
			fail_msg("reply %d lost: host saw %d protocol errors, first: %s",
			    at, errs, first);
		assert_int_equal(leaked, 0);
		assert_int_equal(softcs_live, 0);
		assert_null(nic_first());
	}
	assert_true(failed >= 10);
}

/* With sub-channels, every reply lost in turn: a lost SUBCHANNEL or
   receive-scale reply leaves fewer queues or receive on queue 0, never a
   failed attach, never a leak. */
static void
test_lost_reply_with_rss(void **state)
{
	(void)state;
	int rss_lost = 0, rss_ok = 0;
	for (int at = 1; at <= 24; at++) {
		struct fx *f = malloc(sizeof(*f));
		fx_init(f);
		f->v.max_sub = 3;
		f->v.f_drop_at = at;
		int bound = vmbus_probe(&f->vb, table);
		if (kstub_logged("receive-scale parameters not set")) {
			rss_lost++;
			assert_int_equal(bound, 1);
			struct nic *n = nic_first();
			assert_non_null(n);
			assert_false(sc_of(n)->rss);
			assert_int_equal(n->nqueues, 4);
		} else if (bound == 1 && sc_of(nic_first())->rss) {
			rss_ok++;
		}
		int leaked = fx_fini(f);
		int errs = hv_sim_error_count(&f->s);
		free(f);
		assert_int_equal(errs, 0);
		assert_int_equal(leaked, 0);
		assert_int_equal(softcs_live, 0);
		assert_null(nic_first());
	}
	assert_true(rss_lost >= 1);
	assert_true(rss_ok >= 1);
}

static void
test_dma_failure_each_step(void **state)
{
	(void)state;
	for (int at = 1; at < 12; at++) {
		struct fx *f = malloc(sizeof(*f));
		fx_init(f);
		f->s.f_dma_fail_at = at;
		int bound = vmbus_probe(&f->vb, table);
		if (bound == 0)
			assert_null(nic_first());
		int leaked = fx_fini(f);
		int errs = hv_sim_error_count(&f->s);
		free(f);
		assert_int_equal(leaked, 0);
		assert_int_equal(errs, 0);
		assert_int_equal(softcs_live, 0);
		assert_null(nic_first());
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_bringup),
		T(test_mtu_and_link_from_host),
		T(test_nvsp_fallback),
		T(test_nvsp_v1_no_ndis_config),
		T(test_nvsp_all_refused),
		T(test_rndis_init_refused),
		T(test_rndis_mute_is_bounded),
		T(test_rndis_malformed_reply),
		T(test_recv_buf_two_sections_refused),
		T(test_offload_refused),
		T(test_rx_zero_copy_ack_after_release),
		T(test_rx_checksum_ppi),
		T(test_rx_bad_ranges),
		T(test_rx_malformed_rndis),
		T(test_rx_bound_on_held_transfers),
		T(test_link_down_up),
		T(test_tx_small_copied),
		T(test_tx_large_page_buffers),
		T(test_tx_checksum_ppi),
		T(test_tx_full_is_eagain),
		T(test_comp_unknown_ids),
		T(test_tx_completion_failed),
		T(test_tx_oversize_dropped),
		T(test_tcp_through_netstack),
		T(test_subchannels_are_queues),
		T(test_no_subchannels_before_nvsp5),
		T(test_toeplitz_known_vectors),
		T(test_rss_spreads_flows),
		T(test_rss_refused_keeps_queue0),
		T(test_vsp_rss_set_strict),
		T(test_send_table_hostile),
		T(test_send_table_nvsp6_offset),
		T(test_detach_with_lent_buffers),
		T(test_rescind_with_lent_buffers),
		T(test_rescind_reoffer_mid_traffic),
		T(test_host_never_answers_init),
		cmocka_unit_test(test_lost_reply_each_step),
		cmocka_unit_test(test_lost_reply_with_rss),
		cmocka_unit_test(test_dma_failure_each_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
