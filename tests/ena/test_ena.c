/*
 * test_ena.c - the ENA driver (ena/ena.c, ena/ena_datapath.c) against
 * the strict simulator in ena_sim.c: bring-up with and without LLQ and
 * read-less MMIO, TX and RX through the simulated wire with checksum
 * offload and multi-buffer frames, interrupts that stay masked until
 * the unmask write, hostile completions and admin responses (counted,
 * never a crash), AENQ events (link, keep-alive, device-requested reset)
 * and recovery with the NIC and its MAC kept.  Every test ends with the
 * simulator's protocol error count checked and, after detach, no DMA
 * allocation left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "tests/ena/ena_sim.h"
#include "tests/hw/kstubs.h"

struct fix {
	struct ena_sim sim;
	struct ena_softc sc;
	struct nic_buf *rx[64];
	int nrx;
	int link_events;
	bool last_link;
	int tx_released;
	struct nic_buf tb[12];
	uint8_t tmem[12][9200];
};

static void
on_rx(void *upper, struct nic_buf *b)
{
	struct fix *f = upper;
	if (f->nrx < 64)
		f->rx[f->nrx++] = b;
	else
		nic_buf_release_chain(b);
}

static void
on_link(void *upper, bool up)
{
	struct fix *f = upper;
	f->link_events++;
	f->last_link = up;
}

static void
tx_release(struct nic_buf *b)
{
	struct fix *f = b->owner;
	f->tx_released++;
}

/* The real NIC registry (kernel/dev/dev.c) with a listener counting what
   the driver registers and unregisters. */
static int nic_added, nic_removed;
static void on_nic_added(void *ctx, struct nic *n) { nic_added++; }
static void on_nic_removed(void *ctx, struct nic *n) { nic_removed++; }
static struct nic_listener nic_counter = { on_nic_added, on_nic_removed, NULL, NULL };

static struct fix *
fix_new(void (*tweak)(struct ena_sim_cfg *))
{
	static bool listening;
	if (!listening) {
		nic_listen(&nic_counter);
		listening = true;
	}
	struct fix *f = calloc(1, sizeof(*f));
	struct ena_sim_cfg c;
	ena_sim_default_cfg(&c);
	if (tweak != NULL)
		tweak(&c);
	ena_sim_init(&f->sim, &c);
	ena_sim_bind(&f->sim, &f->sc.hw, &f->sc.regs, &f->sc.llq_bar);
	strcpy(f->sc.hw.name, "ena0");
	f->sc.readless = c.readless;
	f->sc.nvec = 1 + ENA_MAX_QUEUES;
	f->sc.ncpus = 2;
	kstub_reset();
	nic_added = nic_removed = 0;
	return f;
}

static int
fix_attach(struct fix *f)
{
	int rc = ena_attach_core(&f->sc, 0);
	if (rc == TERN_OK) {
		f->sc.nic.rx = on_rx;
		f->sc.nic.link_change = on_link;
		f->sc.nic.upper = f;
	}
	return rc;
}

static void
fix_release_rx(struct fix *f)
{
	for (int i = 0; i < f->nrx; i++)
		nic_buf_release_chain(f->rx[i]);
	f->nrx = 0;
}

/* Detach (when attached), check nothing leaked, free. */
static void
fix_end(struct fix *f, bool attached)
{
	fix_release_rx(f);
	if (attached)
		ena_detach_core(&f->sc);
	assert_int_equal(f->sim.ndma, 0);
	ena_sim_fini(&f->sim);
	free(f);
}

/* ---- frames ------------------------------------------------------ */

static uint16_t
csum16(const uint8_t *p, uint32_t n, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t
pseudo(const uint8_t *ip, uint8_t proto, uint32_t l4len)
{
	return csum16(ip + 12, 8, 0) + proto + l4len;
}

/* Ethernet + IPv4 + UDP (or TCP with `tcp_opt` option bytes) frame of
   `payload` bytes; the L4 checksum field holds the pseudo-header sum
   (partial) when `partial`, else the full checksum. */
static uint32_t
mk_frame_ex(uint8_t *f, uint32_t ip_opt, bool tcp, uint32_t tcp_opt, uint32_t payload,
    bool partial, uint8_t seed)
{
	uint32_t l4hl = tcp ? 20 + tcp_opt : 8;
	uint32_t ihl = 20 + ip_opt;
	uint32_t len = 14 + ihl + l4hl + payload;
	memset(f, 0, len);
	memcpy(f, "\x02\x1d\x0f\xec\x20\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	uint8_t *ip = f + 14;
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[2] = (uint8_t)((len - 14) >> 8);
	ip[3] = (uint8_t)(len - 14);
	ip[6] = 0x40;	/* DF */
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	memcpy(ip + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	uint16_t ipc = (uint16_t)~csum16(ip, ihl, 0);
	ip[10] = (uint8_t)(ipc >> 8);
	ip[11] = (uint8_t)ipc;
	uint8_t *l4 = ip + ihl;
	l4[0] = 0x30; l4[1] = 0x39; l4[2] = 0x00; l4[3] = 0x50;
	if (tcp) {
		l4[12] = (uint8_t)((l4hl / 4) << 4);
		l4[13] = 0x18;
	} else {
		l4[4] = (uint8_t)((8 + payload) >> 8);
		l4[5] = (uint8_t)(8 + payload);
	}
	for (uint32_t i = 0; i < payload; i++)
		l4[l4hl + i] = (uint8_t)(seed + i * 7);
	uint32_t l4len = l4hl + payload;
	uint32_t ps = pseudo(ip, ip[9], l4len);
	uint32_t field = tcp ? 16 : 6;
	uint16_t v;
	if (partial) {
		v = csum16(NULL, 0, ps);
	} else {
		v = (uint16_t)~csum16(l4, l4len, ps);
		if (!tcp && v == 0)
			v = 0xffff;
	}
	l4[field] = (uint8_t)(v >> 8);
	l4[field + 1] = (uint8_t)v;
	return len;
}

static uint32_t
mk_frame(uint8_t *f, bool tcp, uint32_t tcp_opt, uint32_t payload, bool partial, uint8_t seed)
{
	return mk_frame_ex(f, 0, tcp, tcp_opt, payload, partial, seed);
}

static bool
l4_csum_ok(const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + 14;
	uint32_t l4len = len - 34;
	return csum16(ip + 20, l4len, pseudo(ip, ip[9], l4len)) == 0xffff;
}

/* Split a frame into a chain of test buffers at the increasing cut
   points cut1 and cut2 (0: no cut). */
static struct nic_buf *
mk_chain(struct fix *f, const uint8_t *frame, uint32_t len, uint32_t cut1, uint32_t cut2)
{
	uint32_t cuts[4];
	int nc = 0;
	cuts[nc++] = 0;
	if (cut1 > 0 && cut1 < len)
		cuts[nc++] = cut1;
	if (cut2 > cuts[nc - 1] && cut2 < len)
		cuts[nc++] = cut2;
	cuts[nc++] = len;
	struct nic_buf *head = NULL, **tail = &head;
	for (int k = 0; k + 1 < nc; k++) {
		struct nic_buf *b = &f->tb[k];
		memset(b, 0, sizeof(*b));
		b->data = f->tmem[k];
		b->len = cuts[k + 1] - cuts[k];
		b->cap = sizeof(f->tmem[k]);
		memcpy(b->data, frame + cuts[k], b->len);
		b->release = tx_release;
		b->owner = f;
		b->refs = 1;
		*tail = b;
		tail = &b->next;
	}
	return head;
}

static struct nic_tx_meta
meta_for(bool tcp, bool csum)
{
	struct nic_tx_meta m = { 14, 34, tcp ? NIC_PROTO_TCP : NIC_PROTO_UDP, 0, 0,
		csum ? NIC_TX_CSUM_L4 : 0 };
	return m;
}

/* ---- bring-up ------------------------------------------------------ */

static void
test_bringup_llq(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_string_equal(kstub_last_marker, "NIC name=ena0 driver=ena mac=02:1d:0f:ec:20:01 "
	    "mtu=9001 queues=4 llq=on");
	assert_int_equal(f->sim.perrs, 0);
	assert_true(f->sim.readless_reads > 0);
	assert_int_equal(f->sim.plain_reads, 0);
	assert_true(f->sim.host_info_set);
	struct ena_host_info hi;
	memcpy(&hi, f->sim.host_info, sizeof(hi));
	assert_int_equal(hi.num_cpus, 2);
	assert_int_equal(hi.ena_spec_version, 0x200);
	assert_string_equal((char *)hi.os_dist_str, "tern");
	assert_int_equal(f->sim.mtu, 9001);
	assert_true(f->sim.aenq_enabled & (1u << ENA_AENQ_KEEP_ALIVE));
	assert_true(f->sim.aenq_enabled & (1u << ENA_AENQ_DEVICE_REQUEST_RESET));
	assert_true(f->sim.llq_on);
	assert_int_equal(f->sim.llq_entry, 128);
	assert_int_equal(f->sc.llq_inline, 96);
	assert_int_equal(f->sc.nic.offloads, NIC_OFF_TX_CSUM | NIC_OFF_RX_CSUM);
	assert_int_equal(nic_added, 1);
	ena_detach_core(&f->sc);
	assert_int_equal(nic_removed, 1);
	assert_int_equal(f->sim.perrs, 0);
	assert_int_equal(f->sim.ndma, 0);
	ena_sim_fini(&f->sim);
	free(f);
}

static void no_llq(struct ena_sim_cfg *c) { c->llq = false; }
static void large_llq(struct ena_sim_cfg *c) { c->llq_large = true; }
static void plain_reads(struct ena_sim_cfg *c) { c->readless = false; }
static void legacy_queues(struct ena_sim_cfg *c) { c->max_queues_ext = false; c->nq = 2; }

static void
test_bringup_variants(void **state)
{
	(void)state;
	struct fix *f = fix_new(no_llq);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_non_null(strstr(kstub_last_marker, "llq=off"));
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);

	f = fix_new(large_llq);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_int_equal(f->sim.llq_entry, 256);
	assert_int_equal(f->sc.llq_inline, 224);
	assert_int_equal(f->sc.tx_depth, 128);	/* halved: no wide depth */
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);

	f = fix_new(plain_reads);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_int_equal(f->sim.readless_reads, 0);
	assert_true(f->sim.plain_reads > 0);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);

	f = fix_new(legacy_queues);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_non_null(strstr(kstub_last_marker, "queues=2"));
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

/* ---- TX / RX ------------------------------------------------------- */

static void
tx_round(struct fix *f, bool tcp, uint32_t payload, int q)
{
	uint8_t frame[9200], got[9200];
	uint32_t len = mk_frame(frame, tcp, 0, payload, true, (uint8_t)payload);
	uint32_t hdr = tcp ? 54 : 42;
	struct nic_buf *c = mk_chain(f, frame, len, hdr, hdr + payload / 2);
	struct nic_tx_meta m = meta_for(tcp, true);
	int before = f->tx_released;
	assert_int_equal(nic_tx(&f->sc.nic, q, c, &m), TERN_OK);
	int n = ena_sim_wire_pop(&f->sim, got, sizeof(got));
	assert_int_equal(n, (int)len);
	/* Everything but the checksum field is the frame we sent; the
	   device completed the checksum. */
	uint32_t field = 34 + (tcp ? 16 : 6);
	assert_memory_equal(got, frame, field);
	assert_memory_equal(got + field + 2, frame + field + 2, len - field - 2);
	assert_true(l4_csum_ok(got, len));
	assert_int_equal(nic_poll_queue(&f->sc.nic, q, 64), 1);
	assert_int_equal(f->tx_released - before, 3);
}

static void
traffic(void (*tweak)(struct ena_sim_cfg *))
{
	struct fix *f = fix_new(tweak);
	assert_int_equal(fix_attach(f), TERN_OK);
	for (int i = 0; i < 600; i++)	/* wraps every ring twice */
		tx_round(f, i & 1, 100 + (uint32_t)i, i % f->sc.nq);
	assert_int_equal(f->sc.nic.stats.tx_packets, 600);

	/* RX: a valid UDP frame arrives on each queue. */
	for (int i = 0; i < 600; i++) {
		uint8_t frame[2000];
		uint32_t len = mk_frame(frame, false, 0, 200 + (uint32_t)i, false, (uint8_t)i);
		uint16_t q = (uint16_t)(i % f->sc.nq);
		/* rx_pending follows the completion phase across the wraps. */
		assert_false(f->sc.nic.ops->rx_pending(&f->sc.nic, q));
		assert_int_equal(ena_sim_rx(&f->sim, q, frame, len), 0);
		assert_true(f->sc.nic.ops->rx_pending(&f->sc.nic, q));
		assert_int_equal(f->nrx, 0);
		assert_int_equal(nic_poll_queue(&f->sc.nic, q, 64), 1);
		assert_false(f->sc.nic.ops->rx_pending(&f->sc.nic, q));
		assert_int_equal(f->nrx, 1);
		struct nic_buf *b = f->rx[0];
		assert_int_equal(b->len, len);
		assert_null(b->next);
		assert_memory_equal(b->data, frame, len);
		assert_int_equal(b->flags & NIC_RXCSUM_MASK, NIC_RXCSUM_GOOD);
		assert_int_equal(b->queue, q);
		fix_release_rx(f);
	}
	assert_int_equal(f->sim.perrs, 0);
	if (f->sc.llq)
		assert_true(f->sc.st.llq_entries >= 600);
	fix_end(f, true);
}

static void test_traffic_llq(void **state) { (void)state; traffic(NULL); }
static void test_traffic_host(void **state) { (void)state; traffic(no_llq); }
static void test_traffic_large_llq(void **state) { (void)state; traffic(large_llq); }

/* A frame whose data all fits inline still carries one empty buffer
   descriptor; a frame of many buffers spans several LLQ entries. */
static void
test_llq_shapes(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	uint8_t frame[200], got[9200];
	uint32_t len = mk_frame(frame, false, 0, 20, false, 1);	/* 62 bytes */
	struct nic_buf *c = mk_chain(f, frame, len, 42, 0);
	assert_int_equal(nic_tx(&f->sc.nic, 0, c, NULL), TERN_OK);
	assert_int_equal(ena_sim_wire_pop(&f->sim, got, sizeof(got)), (int)len);
	assert_memory_equal(got, frame, len);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 1);
	assert_int_equal(f->tx_released, 2);

	/* Ten buffers of 120 bytes: 96 bytes inline, ten descriptors, two
	   before the header and eight in a second 128-byte entry. */
	static uint8_t big[1200];
	uint32_t blen = mk_frame(big, false, 0, 1200 - 42, false, 5);
	struct nic_buf *head = NULL, **tail = &head;
	for (int i = 0; i < 10; i++) {
		struct nic_buf *b = &f->tb[i];
		memset(b, 0, sizeof(*b));
		b->data = f->tmem[i];
		b->len = 120;
		memcpy(b->data, big + 120 * i, 120);
		b->release = tx_release;
		b->owner = f;
		b->refs = 1;
		*tail = b;
		tail = &b->next;
	}
	uint64_t entries = f->sc.st.llq_entries;
	assert_int_equal(nic_tx(&f->sc.nic, 0, head, NULL), TERN_OK);
	assert_int_equal(f->sc.st.llq_entries - entries, 2);
	assert_int_equal(ena_sim_wire_pop(&f->sim, got, sizeof(got)), (int)blen);
	assert_memory_equal(got, big, blen);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 1);
	assert_int_equal(f->tx_released, 12);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

static void
test_llq_header_too_big(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	uint8_t frame[2000];
	/* 14 + 24 (IP options) + 60 (TCP options) = 98 > 96 inline bytes. */
	uint32_t len = mk_frame_ex(frame, 4, true, 40, 500, true, 3);
	struct nic_buf *c = mk_chain(f, frame, len, 98, 0);
	struct nic_tx_meta m = meta_for(true, true);
	m.l4_off = 38;
	assert_int_equal(nic_tx(&f->sc.nic, 0, c, &m), TERN_EINVAL);
	assert_int_equal(f->sc.st.llq_hdr_too_big, 1);
	assert_int_equal(f->sim.nwire, 0);
	assert_int_equal(f->tx_released, 0);	/* the caller still owns it */
	/* Without LLQ the same frame goes out. */
	fix_end(f, true);
	f = fix_new(no_llq);
	assert_int_equal(fix_attach(f), TERN_OK);
	c = mk_chain(f, frame, len, 98, 0);
	assert_int_equal(nic_tx(&f->sc.nic, 0, c, &m), TERN_OK);
	assert_int_equal(f->sim.nwire, 1);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

static void
test_rx_jumbo_chain(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	static uint8_t frame[9100];
	uint32_t len = mk_frame(frame, false, 0, 9001 - 28, false, 9);
	assert_int_equal(len, 9015);
	assert_int_equal(ena_sim_rx(&f->sim, 1, frame, len), 0);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 1, 64), 1);
	assert_int_equal(f->nrx, 1);
	uint32_t off = 0, nb = 0;
	for (struct nic_buf *b = f->rx[0]; b != NULL; b = b->next, nb++) {
		assert_memory_equal(b->data, frame + off, b->len);
		off += b->len;
	}
	assert_int_equal(off, len);
	assert_int_equal(nb, 5);
	assert_int_equal(f->rx[0]->flags & NIC_RXCSUM_MASK, NIC_RXCSUM_GOOD);
	fix_release_rx(f);
	/* The buffers came back and were posted again. */
	assert_int_equal(nic_poll_queue(&f->sc.nic, 1, 64), 0);
	assert_int_equal(f->sc.rxq[1].posted, f->sc.rxq[1].depth - 1);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

/* ---- hostile device ------------------------------------------------ */

static void
test_rx_csum_bad_and_mbz(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	uint8_t frame[400];
	uint32_t len = mk_frame(frame, true, 0, 100, false, 4);
	f->sim.f_rx_csum_bad = true;
	assert_int_equal(ena_sim_rx(&f->sim, 0, frame, len), 0);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 1);
	assert_int_equal(f->rx[0]->flags & NIC_RXCSUM_MASK, NIC_RXCSUM_BAD);
	fix_release_rx(f);
	f->sim.f_rx_mbz = true;
	assert_int_equal(ena_sim_rx(&f->sim, 0, frame, len), 0);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 0);
	assert_int_equal(f->nrx, 0);
	assert_int_equal(f->sc.st.bad_rx_cdesc, 1);
	/* The buffer was recycled: traffic continues. */
	assert_int_equal(ena_sim_rx(&f->sim, 0, frame, len), 0);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 1);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

static void
test_rx_stale_phase(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	uint8_t frame[400];
	uint32_t len = mk_frame(frame, false, 0, 100, false, 4);
	f->sim.f_rx_stale_phase = true;
	assert_int_equal(ena_sim_rx(&f->sim, 0, frame, len), 0);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 0);
	assert_int_equal(f->nrx, 0);
	assert_int_equal(f->sc.nic.stats.rx_packets, 0);
	fix_end(f, true);
}

/* A bad req_id asks for a reset; the next poll recovers: queues anew,
   receive buffers the upper layer held survive, the MAC is kept. */
static void
bad_req_id(bool rx)
{
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	uint8_t frame[400], tx[400];
	uint32_t len = mk_frame(frame, false, 0, 100, false, 4);
	/* One frame held by the "stack" across the reset. */
	assert_int_equal(ena_sim_rx(&f->sim, 0, frame, len), 0);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 1);
	struct nic_buf *held = f->rx[0];
	f->nrx = 0;
	if (rx) {
		f->sim.f_rx_bad_req_id = true;
		assert_int_equal(ena_sim_rx(&f->sim, 0, frame, len), 0);
	} else {
		f->sim.f_tx_bad_req_id = true;
		struct nic_buf *c = mk_chain(f, frame, len, 42, 0);
		assert_int_equal(nic_tx(&f->sc.nic, 0, c, NULL), TERN_OK);
		assert_int_equal(ena_sim_wire_pop(&f->sim, tx, sizeof(tx)), (int)len);
	}
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 0);
	if (rx)
		assert_int_equal(f->sc.st.bad_rx_req_id, 1);
	else
		assert_int_equal(f->sc.st.bad_tx_req_id, 1);
	assert_true(f->sc.reset_pending);
	struct nic_buf *c2 = mk_chain(f, frame, len, 42, 0);
	assert_int_equal(nic_tx(&f->sc.nic, 0, c2, NULL), TERN_EAGAIN);	/* not during reset */
	uint64_t resets = f->sim.resets;
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->sc.st.resets, 1);
	assert_int_equal(f->sim.resets, resets + 1);
	assert_int_equal(f->sim.reset_reason, rx ? ENA_RESET_INV_RX_REQ_ID : ENA_RESET_INV_TX_REQ_ID);
	assert_false(f->sc.reset_pending);
	assert_int_equal(nic_added, 1);
	assert_int_equal(nic_removed, 0);
	assert_memory_equal(f->sc.nic.mac, "\x02\x1d\x0f\xec\x20\x01", 6);
	if (!rx)
		assert_int_equal(f->tx_released, 2);	/* the in-flight chain went back */
	/* Traffic after the reset, then the held buffer comes back. */
	assert_int_equal(ena_sim_rx(&f->sim, 0, frame, len), 0);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 0, 64), 1);
	assert_memory_equal(f->rx[0]->data, frame, len);
	tx_round(f, false, 300, 0);
	nic_buf_release(held);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

static void test_bad_rx_req_id(void **state) { (void)state; bad_req_id(true); }
static void test_bad_tx_req_id(void **state) { (void)state; bad_req_id(false); }

static void dma32(struct ena_sim_cfg *c) { c->dma_width = 32; }

static void
test_admin_faults(void **state)
{
	(void)state;
	/* A command that never completes: attach gives up in bounded time. */
	struct fix *f = fix_new(NULL);
	f->sim.f_admin_drop = 1;
	assert_int_equal(fix_attach(f), TERN_ETIMEDOUT);
	assert_int_equal(f->sc.st.admin_timeouts, 1);
	assert_true(f->sim.now_ns < 10ULL * 1000000000ULL);
	assert_true(kstub_logged("no completion in 500 ms"));
	fix_end(f, false);

	/* A stray completion id is skipped, counted, and attach goes on. */
	f = fix_new(NULL);
	f->sim.f_admin_bad_id = true;
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_int_equal(f->sc.st.admin_bad_resp, 1);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);

	/* CREATE_SQ refused: attach fails cleanly. */
	f = fix_new(NULL);
	f->sim.f_admin_fail_op = ENA_ADMIN_CREATE_SQ;
	assert_int_equal(fix_attach(f), TERN_EIO);
	assert_int_equal(f->sc.st.admin_errors, 1);
	fix_end(f, false);

	/* Read-less responses never come: bounded, counted. */
	f = fix_new(NULL);
	f->sim.f_readless_dead = true;
	assert_int_not_equal(fix_attach(f), TERN_OK);
	assert_true(f->sc.st.readless_timeouts >= 1);
	fix_end(f, false);

	/* A 32-bit DMA width with admin memory above 4 GiB (host heap):
	   refused, nothing left behind. */
	f = fix_new(dma32);
	f->sim.quiet = true;
	assert_int_equal(fix_attach(f), TERN_ERANGE);
	assert_true(kstub_logged("above the device's 32-bit DMA width"));
	fix_end(f, false);

	/* Reset never starts. */
	f = fix_new(NULL);
	f->sim.f_never_reset = true;
	assert_int_equal(fix_attach(f), TERN_ETIMEDOUT);
	assert_true(kstub_logged("reset start"));
	fix_end(f, false);
}

/* Every DMA allocation of attach failing in turn: clean failure, no
   leak; then one that succeeds. */
static void
test_attach_dma_countdown(void **state)
{
	(void)state;
	int k;
	for (k = 1; k < 100; k++) {
		struct fix *f = fix_new(NULL);
		f->sim.f_dma_fail_at = (uint32_t)k;
		f->sim.quiet = true;
		int rc = fix_attach(f);
		bool ok = rc == TERN_OK;
		if (!ok)
			assert_int_equal(rc, TERN_ENOMEM);
		assert_int_equal(f->sim.perrs, 0);
		fix_end(f, ok);
		if (ok)
			break;
	}
	assert_true(k > 5 && k < 100);
}

/* ---- AENQ, watchdog, interrupts ------------------------------------ */

static void
advance_ms(struct fix *f, uint32_t ms, bool keepalive)
{
	for (uint32_t t = 0; t < ms; t += 500) {
		f->sim.now_ns += 500ULL * 1000000;
		if (keepalive && (t / 500) % 2 == 1)
			ena_sim_keepalive(&f->sim);
		nic_poll_queue(&f->sc.nic, 0, 64);
	}
}

static void
test_aenq_link_and_keepalive(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_int_equal(ena_sim_link(&f->sim, false), 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_false(f->sc.nic.link_up);
	assert_int_equal(f->link_events, 1);
	assert_int_equal(ena_sim_link(&f->sim, true), 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_true(f->sc.nic.link_up);
	assert_int_equal(f->link_events, 2);

	/* More events than the AENQ holds, in steps: the head doorbell
	   frees the slots each time. */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(ena_sim_keepalive(&f->sim), 0);
		if (i % 10 == 9)
			nic_poll_queue(&f->sc.nic, 0, 64);
	}
	assert_int_equal(f->sc.st.keepalives, 100);

	/* Keep-alives every second for 20 s: no reset. */
	advance_ms(f, 20000, true);
	assert_int_equal(f->sc.st.resets, 0);
	/* They stop: after the 6 s default the watchdog resets. */
	advance_ms(f, 7000, false);
	assert_int_equal(f->sc.st.keepalive_missed, 1);
	assert_int_equal(f->sc.st.resets, 1);
	assert_int_equal(f->sim.reset_reason, ENA_RESET_KEEP_ALIVE_TO);
	assert_int_equal(f->sim.perrs, 0);
	tx_round(f, true, 500, 0);
	fix_end(f, true);
}

struct named {
	const char *name;
	uint64_t v;
};

static void
find_counter(void *arg, const char *name, uint64_t v)
{
	struct named *w = arg;
	if (strcmp(name, w->name) == 0)
		w->v = v;
}

/* A NOTIFICATION with new hints (syndrome 2) shortens the keep-alive
   watchdog; an unknown syndrome is counted. */
static void
test_aenq_hints(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	struct ena_feat_hw_hints h;
	memset(&h, 0, sizeof(h));
	h.driver_watchdog_timeout = 2000;
	assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_NOTIFICATION,
	    ENA_AENQ_SYND_UPDATE_HINTS, &h, sizeof(h)), 0);
	assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_NOTIFICATION, 77, NULL, 0), 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->sc.st.aenq_bad, 1);
	advance_ms(f, 1500, false);
	assert_int_equal(f->sc.st.resets, 0);
	advance_ms(f, 1500, false);
	assert_int_equal(f->sc.st.keepalive_missed, 1);
	assert_int_equal(f->sc.st.resets, 1);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

static void
test_aenq_device_reset_and_fatal(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_DEVICE_REQUEST_RESET, 0, NULL, 0), 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->sc.st.device_reset_requests, 1);
	assert_int_equal(f->sc.st.resets, 1);
	/* 19 does not fit 4 bits and the device has no extended reasons:
	   "generic" (A.2). */
	assert_int_equal(f->sim.reset_reason, ENA_RESET_GENERIC);
	tx_round(f, false, 64, 1);

	/* DEV_STS.FATAL, seen by the once-a-second status check. */
	f->sim.dev_sts |= ENA_DEV_STS_FATAL;
	advance_ms(f, 1500, true);
	assert_int_equal(f->sc.st.fatal_errors, 1);
	assert_int_equal(f->sc.st.resets, 2);

	/* Reset after N frames, in the middle of traffic. */
	f->sim.f_reset_after_tx = 3;
	for (int i = 0; i < 10; i++) {
		uint8_t frame[400];
		uint32_t len = mk_frame(frame, false, 0, 100, false, 4);
		struct nic_buf *c = mk_chain(f, frame, len, 42, 0);
		int rc = nic_tx(&f->sc.nic, 0, c, NULL);
		assert_true(rc == TERN_OK || rc == TERN_EAGAIN);
		nic_poll_queue(&f->sc.nic, 0, 64);
		ena_sim_wire_pop(&f->sim, frame, sizeof(frame));
	}
	assert_int_equal(f->sc.st.resets, 3);
	/* What /stats shows (struct nic.counters). */
	struct named want = { "ena.resets", UINT64_MAX };
	assert_non_null(f->sc.nic.counters);
	f->sc.nic.counters(&f->sc.nic, find_counter, &want);
	assert_int_equal(want.v, 3);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

static void no_watchdog(struct ena_sim_cfg *c) { c->watchdog_ms = 0xffff; }

/* A completion that never comes: after the TX timeout (5 s) a reset
   (reason 3) gives the chain back and the ring is whole again. */
static void
test_tx_completion_lost(void **state)
{
	(void)state;
	struct fix *f = fix_new(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	uint8_t frame[200], got[200];
	uint32_t len = mk_frame(frame, false, 0, 60, false, 2);
	f->sim.f_tx_lose = true;
	struct nic_buf *c = mk_chain(f, frame, len, 42, 0);
	assert_int_equal(nic_tx(&f->sc.nic, 1, c, NULL), TERN_OK);
	assert_int_equal(ena_sim_wire_pop(&f->sim, got, sizeof(got)), (int)len);
	advance_ms(f, 4000, true);
	assert_int_equal(f->tx_released, 0);
	assert_int_equal(f->sc.st.tx_timeouts, 0);
	advance_ms(f, 3000, true);
	assert_int_equal(f->sc.st.tx_timeouts, 1);
	assert_int_equal(f->sc.st.resets, 1);
	assert_int_equal(f->sim.reset_reason, ENA_RESET_MISSING_TX_CMPL);
	assert_int_equal(f->tx_released, 2);
	assert_int_equal(f->sc.txq[1].used, 0);
	assert_int_equal(f->sc.txq[1].nfree, f->sc.txq[1].depth);
	tx_round(f, false, 100, 1);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

/* The HW hint 0xffff turns the keep-alive watchdog off; a MAC that
   changes across a reset is logged and the registered one kept; a device
   that never finishes a reset gets three attempts, then stays quiet. */
static void
test_recovery_edges(void **state)
{
	(void)state;
	struct fix *f = fix_new(no_watchdog);
	assert_int_equal(fix_attach(f), TERN_OK);
	advance_ms(f, 30000, false);
	assert_int_equal(f->sc.st.keepalive_missed, 0);
	assert_int_equal(f->sc.st.resets, 0);

	f->sim.cfg.mac[5] = 0x77;
	assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_DEVICE_REQUEST_RESET, 0, NULL, 0), 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->sc.st.resets, 1);
	assert_true(kstub_logged("MAC changed across reset"));
	assert_memory_equal(f->sc.nic.mac, "\x02\x1d\x0f\xec\x20\x01", 6);

	f->sim.f_never_reset = true;
	assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_DEVICE_REQUEST_RESET, 0, NULL, 0), 0);
	for (int i = 0; i < 10; i++) {
		nic_poll_queue(&f->sc.nic, 0, 64);
		f->sim.now_ns += 1100ULL * 1000000;
	}
	assert_int_equal(f->sc.st.reset_failures, 3);
	assert_true(f->sc.dead);
	assert_true(kstub_logged("giving up after 3 attempts"));
	uint8_t frame[100];
	uint32_t len = mk_frame(frame, false, 0, 40, false, 1);
	struct nic_buf *c = mk_chain(f, frame, len, 0, 0);
	assert_int_equal(nic_tx(&f->sc.nic, 0, c, NULL), TERN_EAGAIN);
	assert_int_equal(nic_removed, 0);
	f->sim.f_never_reset = false;
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

static int irq_count[ESIM_NVEC];
/* The MSI-X message reaching the CPU: counted, then the driver's handler. */
static void
on_irq(void *ctx, int vec)
{
	irq_count[vec]++;
	ena_intr(ctx, vec);
}

static struct fix *
fix_irq(void (*tweak)(struct ena_sim_cfg *))
{
	struct fix *f = fix_new(tweak);
	memset(irq_count, 0, sizeof(irq_count));
	f->sim.irq = on_irq;
	f->sim.irq_ctx = &f->sc;
	return f;
}

static void
test_interrupt_unmask(void **state)
{
	(void)state;
	struct fix *f = fix_irq(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	uint8_t frame[400];
	uint32_t len = mk_frame(frame, false, 0, 100, false, 4);
	/* Masked from creation: no interrupt until the unmask write. */
	assert_int_equal(ena_sim_rx(&f->sim, 2, frame, len), 0);
	assert_int_equal(irq_count[3], 0);
	nic_intr_enable(&f->sc.nic, 2, true);
	assert_int_equal(f->sim.unmask_writes[3], 1);
	assert_int_equal(irq_count[3], 1);	/* the pending one */
	assert_int_equal(ena_sim_rx(&f->sim, 2, frame, len), 0);
	assert_int_equal(irq_count[3], 1);	/* auto-masked */
	assert_int_equal(nic_poll_queue(&f->sc.nic, 2, 64), 2);
	nic_intr_enable(&f->sc.nic, 2, true);
	assert_int_equal(irq_count[3], 2);
	assert_int_equal(ena_sim_rx(&f->sim, 2, frame, len), 0);
	assert_int_equal(irq_count[3], 2);
	/* The upper layer's loop: interrupt, poll pass, re-enable.  One
	   unmask write per pass that re-enables, one interrupt per pass;
	   a pass that leaves the interrupt off writes nothing and the
	   next frame stays silent. */
	for (int pass = 0; pass < 5; pass++) {
		uint64_t u = f->sim.unmask_writes[3];
		assert_int_equal(nic_poll_queue(&f->sc.nic, 2, 64), 1);
		nic_intr_enable(&f->sc.nic, 2, true);
		assert_int_equal(f->sim.unmask_writes[3], u + 1);
		assert_int_equal(ena_sim_rx(&f->sim, 2, frame, len), 0);
		assert_int_equal(irq_count[3], 3 + pass);
	}
	assert_int_equal(nic_poll_queue(&f->sc.nic, 2, 64), 1);
	nic_intr_enable(&f->sc.nic, 2, false);
	uint64_t u = f->sim.unmask_writes[3];
	assert_int_equal(ena_sim_rx(&f->sim, 2, frame, len), 0);
	assert_int_equal(f->sim.unmask_writes[3], u);
	assert_int_equal(irq_count[3], 7);
	assert_int_equal(nic_poll_queue(&f->sc.nic, 2, 64), 1);
	/* Other queues' vectors never fired: they were never unmasked. */
	assert_int_equal(irq_count[1] + irq_count[2] + irq_count[4], 0);
	assert_int_equal(f->sc.st.intrs, (uint64_t)(irq_count[0] + 7));
	fix_release_rx(f);
	/* After a reset the queue's interrupt is re-armed (it was on). */
	nic_intr_enable(&f->sc.nic, 2, true);
	assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_DEVICE_REQUEST_RESET, 0, NULL, 0), 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->sc.st.resets, 1);
	assert_int_equal(f->sim.intr_mask, 0);	/* management vector on again */
	int before = irq_count[3];
	assert_int_equal(ena_sim_rx(&f->sim, 2, frame, len), 0);
	assert_int_equal(irq_count[3], before + 1);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

/* A.11 vector 0: with MSI-X the management vector is unmasked after
   bring-up (INTR_MASK = 0); an AENQ event interrupts and the next poll of
   any queue, not only queue 0, walks the AENQ. */
static void
test_mgmt_vector_aenq(void **state)
{
	(void)state;
	struct fix *f = fix_irq(NULL);
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_int_equal(f->sim.intr_mask, 0);
	int mgmt = irq_count[0];
	assert_int_equal(f->sc.st.mgmt_intrs, (uint64_t)mgmt);
	assert_int_equal(ena_sim_link(&f->sim, false), 0);
	assert_int_equal(irq_count[0], mgmt + 1);
	assert_int_equal(f->sc.st.mgmt_intrs, (uint64_t)mgmt + 1);
	assert_int_equal(f->link_events, 0);	/* the handler only marks it */
	nic_poll_queue(&f->sc.nic, 3, 64);
	assert_int_equal(f->link_events, 1);
	assert_false(f->last_link);
	assert_false(f->sc.nic.link_up);
	/* No interrupt, no walk from queue 3: the event waits for queue 0. */
	f->sim.irq = NULL;
	assert_int_equal(ena_sim_link(&f->sim, true), 0);
	nic_poll_queue(&f->sc.nic, 3, 64);
	assert_int_equal(f->link_events, 1);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->link_events, 2);
	assert_true(f->sc.nic.link_up);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

/* Without MSI-X (the PCI glue bound no vector): INTR_MASK stays 1, no
   unmask is ever written (the simulator calls either a protocol error),
   nothing interrupts, the AENQ is walked from queue 0's poll and traffic
   moves by polling alone. */
static void
no_msix(struct ena_sim_cfg *c)
{
	c->msix_off = true;
}

static void
test_polled_fallback(void **state)
{
	(void)state;
	struct fix *f = fix_irq(no_msix);
	f->sc.nvec = 0;
	assert_int_equal(fix_attach(f), TERN_OK);
	assert_int_equal(f->sim.intr_mask, 1);
	assert_int_equal(f->sc.nq, 4);
	assert_true(kstub_logged("polled"));
	uint8_t frame[400];
	uint32_t len = mk_frame(frame, false, 0, 100, false, 4);
	for (int q = 0; q < 4; q++) {
		nic_intr_enable(&f->sc.nic, q, true);	/* asked, nothing to arm */
		assert_int_equal(ena_sim_rx(&f->sim, (uint16_t)q, frame, len), 0);
		assert_int_equal(nic_poll_queue(&f->sc.nic, q, 64), 1);
		nic_intr_enable(&f->sc.nic, q, true);
	}
	assert_int_equal(f->nrx, 4);
	fix_release_rx(f);
	assert_int_equal(ena_sim_link(&f->sim, false), 0);
	nic_poll_queue(&f->sc.nic, 2, 64);
	assert_int_equal(f->link_events, 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->link_events, 1);
	/* A reset in polled mode keeps INTR_MASK at 1. */
	assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_DEVICE_REQUEST_RESET, 0, NULL, 0), 0);
	nic_poll_queue(&f->sc.nic, 0, 64);
	assert_int_equal(f->sc.st.resets, 1);
	assert_int_equal(f->sim.intr_mask, 1);
	for (int v = 0; v < ESIM_NVEC; v++) {
		assert_int_equal(irq_count[v], 0);
		assert_int_equal(f->sim.unmask_writes[v], 0);
	}
	assert_int_equal(f->sc.st.intrs, 0);
	assert_int_equal(f->sim.perrs, 0);
	fix_end(f, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bringup_llq),
		cmocka_unit_test(test_bringup_variants),
		cmocka_unit_test(test_traffic_llq),
		cmocka_unit_test(test_traffic_host),
		cmocka_unit_test(test_traffic_large_llq),
		cmocka_unit_test(test_llq_shapes),
		cmocka_unit_test(test_llq_header_too_big),
		cmocka_unit_test(test_rx_jumbo_chain),
		cmocka_unit_test(test_rx_csum_bad_and_mbz),
		cmocka_unit_test(test_rx_stale_phase),
		cmocka_unit_test(test_bad_rx_req_id),
		cmocka_unit_test(test_bad_tx_req_id),
		cmocka_unit_test(test_admin_faults),
		cmocka_unit_test(test_attach_dma_countdown),
		cmocka_unit_test(test_aenq_link_and_keepalive),
		cmocka_unit_test(test_aenq_hints),
		cmocka_unit_test(test_aenq_device_reset_and_fatal),
		cmocka_unit_test(test_interrupt_unmask),
		cmocka_unit_test(test_mgmt_vector_aenq),
		cmocka_unit_test(test_polled_fallback),
		cmocka_unit_test(test_recovery_edges),
		cmocka_unit_test(test_tx_completion_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
