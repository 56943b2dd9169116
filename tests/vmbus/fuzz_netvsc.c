/*
 * fuzz_netvsc.c - libFuzzer target: a hostile netvsc host (PROTOCOLS.md
 * B.11/B.12).  Each input brings a netvsc NIC up against the simulator's
 * VSP, then plays a script of host actions: transfer packets with any
 * page set and ranges over bytes the input writes into the receive
 * buffer, raw RNDIS messages (data, completions, indications) one range
 * each, completions with any transaction id and payload, inband NVSP
 * messages of any type (often a send indirection table with a fuzzed
 * body), frames the guest sends, and polls by an upper
 * layer that holds some buffers and releases them later.  The driver
 * must never crash, read out of bounds, leak or hang; the input ends
 * with UNLOAD and every lent buffer released.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/vmbus/netvsc_vsp.h"
#include "vmbus/netvsc.h"
#include "vmbus/netvsc_var.h"
#include "vmbus/vmbus_var.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nic_buf *held[64];
static int nheld;

static void
fz_rx(void *ctx, struct nic_buf *b)
{
	(void)ctx;
	volatile uint8_t sink = 0;
	for (uint32_t i = 0; i < b->len; i++)	/* every byte must be readable */
		sink ^= b->data[i];
	(void)sink;
	if (nheld < 64 && (b->len & 1))
		held[nheld++] = b;
	else
		nic_buf_release(b);
}

static void fz_link(void *ctx, bool up) { (void)ctx; (void)up; }
static void *fz_zalloc(size_t n) { return calloc(1, n ? n : 1); }
static void fz_txrel(struct nic_buf *b) { (void)b; }
static const struct driver *const fz_table[] = { &netvsc_driver, NULL };

struct rd {
	const uint8_t *p;
	size_t n;
};
static uint32_t
take(struct rd *r, int bytes)
{
	uint32_t v = 0;
	for (int i = 0; i < bytes && r->n > 0; i++, r->p++, r->n--)
		v |= (uint32_t)*r->p << (8 * i);
	return v;
}

/* An offset into the 2 MiB receive buffer, often near its end. */
static uint32_t
where(struct rd *r)
{
	switch (take(r, 1) & 3) {
	case 0: return NETVSC_RXBUF_BYTES - take(r, 2) % 4096;
	case 1: return take(r, 4);
	default: return take(r, 3) % NETVSC_RXBUF_BYTES;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_sim s;
	static struct hv hv;
	static struct vmbus vb;
	static struct netvsc_vsp v;
	static struct hw_dma hc, txmem;
	struct rd r = { data, size };

	memset(&hv, 0, sizeof(hv));
	memset(&vb, 0, sizeof(vb));
	hv_sim_init(&s);
	hv_sim_offer(&s, hv_sim_guid_netvsc, 1, 14, 0x2e);
	netvsc_vsp_init(&v, &s, 14);
	hv.read_tsc = hv_sim_read_tsc;
	if (hv_probe(&hv, &s.dev) != TERN_OK || hw_dma_alloc(&s.dev, 4096, 4096, &hc) != 0 ||
	    hv_hypercall_enable(&hv, hc.pa) != TERN_OK || hv_synic_init(&hv, 0x41) != TERN_OK)
		abort();
	v.max_sub = take(&r, 1) % 4;	/* sub-channels: 0 to 3 queues more */
	vb.bus.zalloc = fz_zalloc;
	vb.bus.free = free;
	if (vmbus_connect(&vb, &hv) != TERN_OK || vmbus_probe(&vb, fz_table) != 1)
		abort();
	struct nic *n = nic_first();
	n->rx = fz_rx;
	n->link_change = fz_link;
	if (hw_dma_alloc(&s.dev, 3 * 4096, 4096, &txmem) != 0)
		abort();
	struct sim_chan *c = hv_sim_chan(&s, 14);
	uint8_t buf[2048];
	struct nic_buf tb[4];

	for (int step = 0; step < 64 && r.n > 0 && nic_first() != NULL; step++) {
		uint32_t op = take(&r, 1);
		v.rx_q = (int)((op >> 3) % (v.nsubch + 1));	/* the channel */
		op %= 8;
		if (op == 0) {			/* transfer packet, raw ranges */
			struct vmbus_xfer_range rg[8];
			uint16_t set = take(&r, 1) & 1 ? 0xCAFE : (uint16_t)take(&r, 2);
			int k = (int)(take(&r, 1) % 9);
			for (int i = 0; i < k; i++) {
				rg[i].byte_count = take(&r, 1) & 1 ? take(&r, 2) : take(&r, 4);
				rg[i].byte_offset = where(&r);
			}
			netvsc_vsp_xfer_raw(&v, set, rg, k);
		} else if (op == 1) {		/* bytes into the receive buffer */
			uint32_t off = where(&r) & ~3u;
			uint32_t len = take(&r, 1) + 1;
			uint8_t *dst = netvsc_vsp_rxbuf(&v, off, len);
			if (dst != NULL && len >= 44 && take(&r, 1) & 1) {
				/* A PACKET header with fuzzed offsets and lengths. */
				struct rndis_packet pk = { RNDIS_MSG_PACKET, take(&r, 2),
				    take(&r, 2), take(&r, 2), 0, 0, 0, take(&r, 2),
				    take(&r, 1), 0, 0 };
				memcpy(dst, &pk, sizeof(pk));
				dst += sizeof(pk);
				len -= sizeof(pk);
			}
			for (uint32_t i = 0; dst != NULL && i < len; i++)
				dst[i] = (uint8_t)take(&r, 1);
		} else if (op == 2) {		/* raw RNDIS messages */
			uint32_t len = take(&r, 1) + 8;
			for (uint32_t i = 0; i < len; i++)
				buf[i] = (uint8_t)take(&r, 1);
			const void *mp = buf;
			netvsc_vsp_rx_msgs(&v, &mp, &len, 1);
		} else if (op == 3) {		/* completion, any id */
			uint64_t tid = (uint64_t)take(&r, 4) | (uint64_t)take(&r, 4) << 32;
			uint32_t len = take(&r, 1) % 48;
			for (uint32_t i = 0; i < len; i++)
				buf[i] = (uint8_t)take(&r, 1);
			hv_sim_chan_send(&s, v.rx_q > 0 ? hv_sim_chan(&s, v.sub_relid[v.rx_q - 1]) : c,
			    0xB, 0, tid, buf, len);
		} else if (op == 4) {		/* any packet type, inband */
			uint16_t type = (uint16_t)take(&r, 1);
			uint32_t len = take(&r, 1) % 128;
			for (uint32_t i = 0; i < len; i++)
				buf[i] = (uint8_t)take(&r, 1);
			if ((type & 0x80) && len >= 4) {
				/* NVSP SEND_INDIRECTION_TABLE, fuzzed body. */
				uint32_t t = NVSP_MSG_SEND_INDIR_TAB;
				type = 0x6;
				memcpy(buf, &t, 4);
			}
			hv_sim_chan_send(&s, c, type, (uint16_t)take(&r, 1), take(&r, 4), buf, len);
		} else if (op == 5) {		/* frames the guest sends */
			uint32_t len = 14 + take(&r, 2) % 1500;
			uint32_t split = take(&r, 2) % len;
			memset(tb, 0, sizeof(tb));
			tb[0] = (struct nic_buf){ .data = (uint8_t *)txmem.va + 100, .len = split,
			    .release = fz_txrel, .refs = 1 };
			tb[1] = (struct nic_buf){ .data = (uint8_t *)txmem.va + 4090, .len = len - split,
			    .release = fz_txrel, .refs = 1 };
			tb[0].next = split > 0 ? &tb[1] : NULL;
			struct nic_buf *head = split > 0 ? &tb[0] : &tb[1];
			if (split == 0)
				tb[1].len = len;
			v.f_hold_tx = take(&r, 1) & 1;
			if (nic_tx(n, v.rx_q, head, NULL) == TERN_OK)
				netvsc_vsp_release_tx(&v);
			/* The chain lives on this stack: its completion must
			   come back before the next frame (or detach drops it). */
			nic_poll(n, 64);
		} else if (op == 6) {		/* link */
			netvsc_vsp_link(&v, take(&r, 1) & 1);
		} else {			/* the upper layer polls, releases */
			for (int q = 0; q < n->nqueues; q++)
				nic_poll_queue(n, q, (int)(take(&r, 1) % 64) + 1);
			int keep = (int)(take(&r, 1) % 8);
			while (nheld > keep)
				nic_buf_release(held[--nheld]);
		}
		netvsc_vsp_drain(&v);
	}
	if (nic_first() != NULL)
		nic_poll(n, 64);
	vmbus_unload(&vb);
	vmbus_fini(&vb);
	while (nheld > 0)
		nic_buf_release(held[--nheld]);
	hw_dma_free(&s.dev, &txmem);
	hv_synic_fini(&hv);
	hv_hypercall_disable(&hv);
	hw_dma_free(&s.dev, &hc);
	if (hv_sim_fini(&s) != 0 || nic_first() != NULL)
		abort();		/* leaked DMA memory or a registered NIC */
	return 0;
}
