/*
 * virtio_dmanames.c - see virtio_dmanames.h.  The layouts are the
 * driver's (virtio/virtio.c used_off, virtio_var.h), read from the softc
 * at message time, so the names follow whatever queue size was set up.
 */
#include <stdio.h>

#include "tests/virtio/virtio_dmanames.h"

static const struct hw_replay_layout desc_fields[] = {	/* 2.7.5 */
	{ 0, 8, "addr" }, { 8, 4, "len" }, { 12, 2, "flags" }, { 14, 2, "next" },
	{ 0, 0, NULL },
};

static const struct hw_replay_layout blk_slot_fields[] = {	/* 5.2.6, then our status byte */
	{ 0, 4, "hdr.type" }, { 4, 4, "hdr.reserved" }, { 8, 8, "hdr.sector" },
	{ 16, 1, "status" }, { 0, 0, NULL },
};

static const struct hw_replay_layout net_hdr_fields[] = {	/* 5.1.6 */
	{ 0, 1, "flags" }, { 1, 1, "gso_type" }, { 2, 2, "hdr_len" },
	{ 4, 2, "gso_size" }, { 6, 2, "csum_start" }, { 8, 2, "csum_offset" },
	{ 10, 2, "num_buffers" }, { 0, 0, NULL },
};

static bool
in(uint64_t pa, uint64_t base, uint64_t len)
{
	return pa >= base && pa - base < len;
}

bool
virtq_dma_name(const struct virtq *q, uint64_t pa, struct hw_replay_field *f)
{
	char pre[64];
	uint64_t n = q->size;
	if (n == 0 || q->mem.len == 0)
		return false;
	if (in(pa, q->mem.pa, 16 * n)) {
		uint64_t i = (pa - q->mem.pa) / 16;
		snprintf(pre, sizeof(pre), "virtq %u desc[%u]", q->index, (unsigned)i);
		return hw_replay_pick(desc_fields, q->mem.pa + 16 * i, (pa - q->mem.pa) % 16, pre, f);
	}
	uint64_t av = q->mem.pa + 16 * n;
	if (in(pa, av, 4 + 2 * n)) {
		uint64_t o = pa - av;
		f->pa = av + (o & ~1ULL);
		f->len = 2;
		if (o < 2)
			snprintf(f->name, sizeof(f->name), "virtq %u avail.flags", q->index);
		else if (o < 4)
			snprintf(f->name, sizeof(f->name), "virtq %u avail.idx", q->index);
		else
			snprintf(f->name, sizeof(f->name), "virtq %u avail.ring[%u]", q->index,
			    (unsigned)((o - 4) / 2));
		return true;
	}
	uint64_t tbl = (uint64_t)q->ind_max * 16;
	if (tbl != 0 && in(pa, q->ind_mem.pa, n * tbl)) {
		uint64_t o = pa - q->ind_mem.pa, head = o / tbl, e = o % tbl / 16;
		snprintf(pre, sizeof(pre), "virtq %u desc[%u] indirect[%u]", q->index,
		    (unsigned)head, (unsigned)e);
		return hw_replay_pick(desc_fields, q->ind_mem.pa + head * tbl + e * 16, o % 16, pre, f);
	}
	return false;
}

bool
virtio_blk_dma_name(void *arg, uint64_t pa, struct hw_replay_field *f)
{
	const struct virtio_blk_softc *sc = arg;
	const uint64_t sz = sizeof(struct vblk_slot);
	if (virtq_dma_name(&sc->q, pa, f))
		return true;
	if (sc->slots_mem.len != 0 && in(pa, sc->slots_mem.pa, VBLK_SLOTS * sz)) {
		uint64_t o = pa - sc->slots_mem.pa;
		char pre[48];
		snprintf(pre, sizeof(pre), "virtio-blk slot[%u]", (unsigned)(o / sz));
		return hw_replay_pick(blk_slot_fields, sc->slots_mem.pa + o / sz * sz, o % sz, pre, f);
	}
	return false;
}

bool
virtio_net_dma_name(void *arg, uint64_t pa, struct hw_replay_field *f)
{
	const struct virtio_net_softc *sc = arg;
	if (virtq_dma_name(&sc->ctrlq, pa, f))
		return true;
	for (int k = 0; k < VNET_MAX_PAIRS; k++) {
		const struct vnet_queue *vq = &sc->q[k];
		if (virtq_dma_name(&vq->rxq, pa, f) || virtq_dma_name(&vq->txq, pa, f))
			return true;
		if (vq->tx_hdr_mem.len != 0 &&
		    in(pa, vq->tx_hdr_mem.pa, (uint64_t)VNET_TX_SLOTS * VNET_HDR_SIZE)) {
			uint64_t o = pa - vq->tx_hdr_mem.pa;
			char pre[48];
			snprintf(pre, sizeof(pre), "virtio-net tx hdr[%u]", (unsigned)(o / VNET_HDR_SIZE));
			return hw_replay_pick(net_hdr_fields, vq->tx_hdr_mem.pa + o / VNET_HDR_SIZE *
			    VNET_HDR_SIZE, o % VNET_HDR_SIZE, pre, f);
		}
	}
	return false;
}
