/*
 * vmbus_ring.c - one direction of a VMBus channel ring (PROTOCOLS.md
 * B.10): the writer's full/empty rule (never exactly full), the trailer,
 * signalling only on empty -> non-empty while the reader has not masked
 * interrupts, the writer's pending_send_sz (set to the bytes a refused
 * packet needs, cleared when they are free) and the reader's
 * pending_send_sz rule.
 *
 * The host writes our inbound write_index and our outbound read_index:
 * both are input.  An index outside the data area or not 8-aligned, or a
 * packet header whose lengths do not fit what is in the ring, marks the
 * ring broken (counted, logged once); every later call then fails with
 * TERN_EPROTO instead of reading anywhere the host points.
 */
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "vmbus/vmbus_var.h"

void
vmbus_ring_init(struct vmbus_ring *r, struct hw_dev *d, void *base,
    uint32_t bytes)
{
	memset(r, 0, sizeof(*r));
	r->dev = d;
	r->hdr = base;
	r->data = (uint8_t *)base + VMBUS_RING_HDR_SIZE;
	r->dsize = bytes - VMBUS_RING_HDR_SIZE;
	memset(base, 0, VMBUS_RING_HDR_SIZE);
	r->hdr->feature_bits = VMBUS_RING_FEAT_PENDING;
	hw_dma_sync_dev(d, base, sizeof(*r->hdr));
}

static int
ring_broken(struct vmbus_ring *r, const char *what, uint32_t a, uint32_t b)
{
	r->errs++;
	if (!r->broken)
		log_warn(r->dev->name, "ring %s (0x%x, 0x%x; data size 0x%x); ring stopped",
		    what, a, b, r->dsize);
	r->broken = true;
	return TERN_EPROTO;
}

static bool
index_ok(const struct vmbus_ring *r, uint32_t i)
{
	return i < r->dsize && (i & 7) == 0;
}

/* Copy len bytes into the ring at `off`, wrapping; returns the new off. */
static uint32_t
ring_put(struct vmbus_ring *r, uint32_t off, const void *src, size_t len)
{
	const uint8_t *s = src;
	while (len > 0) {
		size_t n = r->dsize - off;
		if (n > len)
			n = len;
		memcpy(r->data + off, s, n);
		hw_dma_sync_dev(r->dev, r->data + off, n);
		s += n;
		len -= n;
		off = (uint32_t)((off + n) % r->dsize);
	}
	return off;
}

static uint32_t
ring_get(struct vmbus_ring *r, uint32_t off, void *dst, size_t len)
{
	uint8_t *d = dst;
	while (len > 0) {
		size_t n = r->dsize - off;
		if (n > len)
			n = len;
		hw_dma_sync_cpu(r->dev, r->data + off, n);
		memcpy(d, r->data + off, n);
		d += n;
		len -= n;
		off = (uint32_t)((off + n) % r->dsize);
	}
	return off;
}

int
vmbus_ring_write(struct vmbus_ring *r, const struct vmbus_iov *iov, int n,
    bool *signal)
{
	size_t total = VMBUS_PKT_TRAILER;

	*signal = false;
	if (r->broken)
		return TERN_EPROTO;
	for (int i = 0; i < n; i++)
		total += iov[i].len;
	if ((total & 7) != 0)
		return TERN_EINVAL;
	if (total >= r->dsize)
		return TERN_ERANGE;
	uint32_t w = hw_dma_load32(r->dev, &r->hdr->write_index);
	uint32_t rd = hw_dma_load32(r->dev, &r->hdr->read_index);
	if (!index_ok(r, w) || !index_ok(r, rd))
		return ring_broken(r, "bad index on send", w, rd);
	uint32_t avail = w >= rd ? r->dsize - (w - rd) : rd - w;
	/* Never exactly full: read == write would then read as empty. */
	if (avail <= total) {
		r->full++;
		/* Ask the reader to signal when this much is free (B.10).  The
		   largest blocked packet wins: a small one (an ack) refused
		   behind a large one must not lower the mark the large one
		   waits for. */
		if (r->hdr->pending_send_sz < total) {
			r->hdr->pending_send_sz = (uint32_t)total;
			hw_dma_sync_dev(r->dev, &r->hdr->pending_send_sz, 4);
		}
		return TERN_EAGAIN;
	}
	/* A packet as large as the mark went in: nobody waits any more.  A
	   smaller one (an ack while a frame waits) leaves the mark alone. */
	if (r->hdr->pending_send_sz != 0 && total >= r->hdr->pending_send_sz) {
		r->hdr->pending_send_sz = 0;
		hw_dma_sync_dev(r->dev, &r->hdr->pending_send_sz, 4);
	}
	uint32_t off = w;
	for (int i = 0; i < n; i++)
		off = ring_put(r, off, iov[i].base, iov[i].len);
	uint64_t trailer = (uint64_t)w << 32;
	off = ring_put(r, off, &trailer, sizeof(trailer));
	/* The packet is in memory before the index that publishes it. */
	hw_mb();
	__atomic_store_n(&r->hdr->write_index, off, __ATOMIC_RELEASE);
	hw_dma_sync_dev(r->dev, &r->hdr->write_index, 4);
	hw_mb();
	/* Hosts expect an interrupt only on empty -> non-empty (B.10). */
	if (hw_dma_load32(r->dev, &r->hdr->interrupt_mask) == 0 &&
	    hw_dma_load32(r->dev, &r->hdr->read_index) == w)
		*signal = true;
	return TERN_OK;
}

bool
vmbus_ring_send_ready(struct vmbus_ring *r)
{
	uint32_t pend = r->hdr->pending_send_sz;
	if (pend == 0)
		return true;
	if (r->broken)
		return false;
	uint32_t w = hw_dma_load32(r->dev, &r->hdr->write_index);
	uint32_t rd = hw_dma_load32(r->dev, &r->hdr->read_index);
	if (!index_ok(r, w) || !index_ok(r, rd)) {
		ring_broken(r, "bad index on send", w, rd);
		return false;
	}
	uint32_t avail = w >= rd ? r->dsize - (w - rd) : rd - w;
	/* The same test as the write's: more than the packet, never exactly
	   full. */
	if (avail <= pend)
		return false;
	r->hdr->pending_send_sz = 0;
	hw_dma_sync_dev(r->dev, &r->hdr->pending_send_sz, 4);
	return true;
}

bool
vmbus_ring_empty(struct vmbus_ring *r)
{
	return hw_dma_load32(r->dev, &r->hdr->write_index) ==
	    hw_dma_load32(r->dev, &r->hdr->read_index);
}

int
vmbus_ring_read(struct vmbus_ring *r, void *buf, size_t buflen,
    uint32_t *pktlen, bool *signal)
{
	struct vmbus_pkt_desc d;

	*signal = false;
	*pktlen = 0;
	if (r->broken)
		return TERN_EPROTO;
	uint32_t w = hw_dma_load32(r->dev, &r->hdr->write_index);
	uint32_t rd = hw_dma_load32(r->dev, &r->hdr->read_index);
	if (!index_ok(r, w) || !index_ok(r, rd))
		return ring_broken(r, "bad index on receive", w, rd);
	uint32_t avail = w >= rd ? w - rd : r->dsize - rd + w;
	if (avail == 0)
		return TERN_EAGAIN;
	if (avail < sizeof(d) + VMBUS_PKT_TRAILER)
		return ring_broken(r, "short packet", avail, 0);
	hw_rmb();
	ring_get(r, rd, &d, sizeof(d));
	uint32_t plen = (uint32_t)d.len8 * 8;
	uint32_t hlen = (uint32_t)d.offset8 * 8;
	if (plen < sizeof(d) || hlen < sizeof(d) || hlen > plen ||
	    plen + VMBUS_PKT_TRAILER > avail)
		return ring_broken(r, "bad packet lengths", plen, hlen);
	*pktlen = plen;
	if (plen > buflen)
		return TERN_ERANGE;
	ring_get(r, rd, buf, plen);
	uint32_t nrd = (uint32_t)((rd + plen + VMBUS_PKT_TRAILER) % r->dsize);
	/* Done reading the packet before the host may overwrite it. */
	hw_rmb();
	__atomic_store_n(&r->hdr->read_index, nrd, __ATOMIC_RELEASE);
	hw_dma_sync_dev(r->dev, &r->hdr->read_index, 4);
	hw_mb();
	/* A blocked host writer asked for pending_send_sz bytes: signal once
	   our read moves the free space from "not enough" to "enough". */
	if (r->hdr->feature_bits & VMBUS_RING_FEAT_PENDING) {
		uint32_t pend = hw_dma_load32(r->dev, &r->hdr->pending_send_sz);
		uint32_t before = r->dsize - avail;
		uint32_t after = before + plen + VMBUS_PKT_TRAILER;
		if (pend != 0 && before <= pend && after > pend)
			*signal = true;
	}
	return TERN_OK;
}
