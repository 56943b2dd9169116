/*
 * virtio_blk.c - virtio block device (virtio v1.2 section 5.2) behind
 * kernel/dev/blk.h.
 *
 * Each request is one chain: a 16-byte header the device reads, the data
 * segments (device writes them for reads), and a one-byte status the
 * device writes.  Headers and statuses live in a small DMA array of
 * slots.  Segments larger than size_max are split into several
 * descriptors and a request that would need more than seg_max is refused
 * with TERN_EINVAL, never shortened.  A request completes only when the
 * device returned its chain, with the device's status.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "virtio/virtio_var.h"

static int vblk_submit(struct blk_dev *d, uint32_t q, struct blk_req *r);
static int vblk_poll(struct blk_dev *d, uint32_t q);
static void vblk_detach(struct blk_dev *d);

static const struct blk_ops vblk_ops = {
	.submit = vblk_submit,
	.poll = vblk_poll,
	.detach = vblk_detach,
};

/*
 * Attach's resources in the order it takes them.  vblk_undo(sc, vd, s)
 * gives back `s` and everything taken before it; attach's failure labels
 * and detach share it.
 */
enum vblk_step { VBLK_UNDO_Q, VBLK_UNDO_SLOTS };

static void
vblk_undo(struct virtio_blk_softc *sc, struct virtio_dev *vd, enum vblk_step s)
{
	switch (s) {
	case VBLK_UNDO_SLOTS:
		hw_dma_free(vd->hw, &sc->slots_mem);
		/* FALLTHROUGH */
	case VBLK_UNDO_Q:
		virtq_free(vd, &sc->q);
		break;
	}
}

int
virtio_blk_attach_core(struct virtio_blk_softc *sc, struct virtio_dev *vd, int unit)
{
	struct blk_dev *b = &sc->blk;
	int rc;

	ksnprintf(b->name, sizeof(b->name), "virtio-blk%d", unit);
	sc->detached = false;
	rc = virtio_init(vd, 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
	    1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
	    1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_F_INDIRECT_DESC);
	if (rc != TERN_OK)
		goto fail;

	uint64_t sectors = virtio_cfg64(vd, VIRTIO_BLK_CFG_CAPACITY);
	uint32_t bs = 512;
	if (virtio_has(vd, VIRTIO_BLK_F_BLK_SIZE)) {
		bs = virtio_cfg32(vd, VIRTIO_BLK_CFG_BLK_SIZE);
		if (bs < 512 || bs > 65536 || (bs & (bs - 1)) != 0) {
			log_warn("virtio-blk", "%s: ignoring blk_size %u", b->name, bs);
			bs = 512;
		}
	}
	sc->seg_max = BLK_MAX_SEGS;
	if (virtio_has(vd, VIRTIO_BLK_F_SEG_MAX)) {
		uint32_t m = virtio_cfg32(vd, VIRTIO_BLK_CFG_SEG_MAX);
		if (m >= 1 && m < sc->seg_max)
			sc->seg_max = m;
	}
	sc->size_max = 1U << 20;
	if (virtio_has(vd, VIRTIO_BLK_F_SIZE_MAX)) {
		uint32_t m = virtio_cfg32(vd, VIRTIO_BLK_CFG_SIZE_MAX);
		if (m >= 512 && m < sc->size_max)
			sc->size_max = m & ~511U;
	}
	if (sectors == ~0ULL || sectors == 0) {
		log_error("virtio-blk", "%s: bad capacity %llu", b->name,
		    (unsigned long long)sectors);
		rc = TERN_EIO;
		goto fail;
	}

	rc = virtq_setup(vd, &sc->q, 0, 128);
	if (rc != TERN_OK)
		goto fail;
	/* Header, data segments and status in one ring slot each. */
	virtq_use_indirect(&sc->q, (uint16_t)(sc->seg_max + 2));
	if (hw_dma_alloc(vd->hw, sizeof(struct vblk_slot) * VBLK_SLOTS, 4096, &sc->slots_mem) != 0) {
		rc = TERN_ENOMEM;
		goto fail_q;
	}
	sc->slots = sc->slots_mem.va;
	for (uint32_t i = 0; i < VBLK_SLOTS; i++)
		sc->free_slots[i] = i;
	sc->nfree = VBLK_SLOTS;

	sc->sectors_per_block = bs / 512;
	b->block_size = bs;
	b->nblocks = sectors / sc->sectors_per_block;
	uint32_t per_req = sc->q.ind_max != 0 ? 1 : 3;
	b->nqueues = 1;		/* VIRTIO_BLK_F_MQ not negotiated */
	b->queue_depth = sc->q.size / per_req < VBLK_SLOTS ? sc->q.size / per_req : VBLK_SLOTS;
	b->max_segs = sc->seg_max < BLK_MAX_SEGS ? sc->seg_max : BLK_MAX_SEGS;
	b->max_transfer = sc->size_max * b->max_segs;
	b->features = (virtio_has(vd, VIRTIO_BLK_F_FLUSH) ? BLK_F_FLUSH : 0) |
	    (virtio_has(vd, VIRTIO_BLK_F_RO) ? BLK_F_RO : 0);
	b->ops = &vblk_ops;
	b->sc = sc;
	virtio_ready(vd);
	blk_register(b);
	marker("BLK name=%s sectors=%llu bsize=%u", b->name,
	    (unsigned long long)sectors, bs);
	return TERN_OK;

fail_q:
	vblk_undo(sc, vd, VBLK_UNDO_Q);
fail:
	log_error("virtio-blk", "%s: attach failed: %s", b->name, err_str(rc));
	return rc;
}

static int
vblk_submit(struct blk_dev *d, uint32_t q, struct blk_req *r)
{
	struct virtio_blk_softc *sc = d->sc;
	struct virtio_dev *vd = &sc->bus.vd;
	struct virtq_buf bufs[BLK_MAX_SEGS + 2];
	int n = 0;

	if (vd->broken)
		return TERN_ENODEV;
	uint32_t type;
	switch (r->op) {
	case BLK_READ:
		type = VIRTIO_BLK_T_IN;
		break;
	case BLK_WRITE:
		if (d->features & BLK_F_RO)
			return TERN_EINVAL;
		type = VIRTIO_BLK_T_OUT;
		break;
	case BLK_FLUSH:
		if (!(d->features & BLK_F_FLUSH)) {
			/* No volatile cache: every completed write is durable.
			   done() runs from the next poll, not from here. */
			d->stats.flushes++;
			blk_complete_later(d, r, TERN_OK);
			return TERN_OK;
		}
		type = VIRTIO_BLK_T_FLUSH;
		break;
	default:
		return TERN_ENOTSUP;
	}
	if (r->op != BLK_FLUSH) {
		uint64_t bytes = 0;
		if (r->nblocks == 0 || r->lba >= d->nblocks ||
		    r->nblocks > d->nblocks - r->lba || r->nsegs > BLK_MAX_SEGS)
			return TERN_EINVAL;
		for (uint32_t i = 0; i < r->nsegs; i++) {
			if (r->segs[i].len == 0 || r->segs[i].len % 512 != 0)
				return TERN_EINVAL;
			bytes += r->segs[i].len;
		}
		if (bytes != (uint64_t)r->nblocks * d->block_size)
			return TERN_EINVAL;
	}
	if (sc->nfree == 0)
		return TERN_EAGAIN;
	uint32_t slot = sc->free_slots[sc->nfree - 1];
	struct vblk_slot *s = &sc->slots[slot];
	s->hdr.type = type;
	s->hdr.reserved = 0;
	s->hdr.sector = r->op == BLK_FLUSH ? 0 : r->lba * sc->sectors_per_block;
	s->status = 0xff;
	hw_dma_sync_dev(&sc->bus.hw, &s->hdr, sizeof(s->hdr));
	bufs[n++] = (struct virtq_buf){ sc->slots_mem.pa + slot * sizeof(*s), 16, false };
	if (r->op != BLK_FLUSH) {
		for (uint32_t i = 0; i < r->nsegs; i++) {
			uint64_t pa = hw_virt_to_phys(&sc->bus.hw, r->segs[i].va);
			if (r->op == BLK_WRITE)
				hw_dma_sync_dev(&sc->bus.hw, r->segs[i].va, r->segs[i].len);
			uint32_t left = r->segs[i].len;
			while (left > 0) {
				uint32_t k = left < sc->size_max ? left : sc->size_max;
				if ((uint32_t)n - 1 >= sc->seg_max)
					return TERN_EINVAL;	/* would exceed seg_max */
				bufs[n++] = (struct virtq_buf){ pa, k, r->op == BLK_READ };
				pa += k;
				left -= k;
			}
		}
	}
	bufs[n++] = (struct virtq_buf){ sc->slots_mem.pa + slot * sizeof(*s) + 16, 1, true };
	int rc = virtq_add(&sc->q, bufs, n, (void *)(uintptr_t)(slot + 1));
	if (rc != TERN_OK)
		return rc;
	sc->nfree--;
	sc->inflight[slot] = r;
	virtq_kick(&sc->q);
	return TERN_OK;
}

/*
 * Reap the queue: at most VBLK_SLOTS completions per call, so a done()
 * that resubmits (and a device that completes at once) cannot keep the
 * caller here; the rest waits for the next poll.
 */
static int
vblk_poll(struct blk_dev *d, uint32_t q)
{
	struct virtio_blk_softc *sc = d->sc;
	int done = 0;
	uint32_t len, seen = 0;
	void *cookie;

	d->stats.intrs = sc->bus.vd.intrs;
	while (seen++ < VBLK_SLOTS && (cookie = virtq_get(&sc->q, &len)) != NULL) {
		uint32_t slot = (uint32_t)(uintptr_t)cookie - 1;
		struct blk_req *r = sc->inflight[slot];
		sc->inflight[slot] = NULL;
		sc->free_slots[sc->nfree++] = slot;
		if (r == NULL) {
			d->stats.bad_completions++;
			continue;
		}
		hw_dma_sync_cpu(&sc->bus.hw, &sc->slots[slot].status, 1);
		uint8_t st = sc->slots[slot].status;
		int status = TERN_OK;
		if (st != VIRTIO_BLK_S_OK) {
			status = st == VIRTIO_BLK_S_UNSUPP ? TERN_ENOTSUP : TERN_EIO;
			d->stats.errors++;
			log_warn("virtio-blk", "%s: request at block %llu failed, status %u",
			    d->name, (unsigned long long)r->lba, st);
		}
		if (r->op == BLK_READ) {
			d->stats.reads++;
			d->stats.read_bytes += (uint64_t)r->nblocks * d->block_size;
			for (uint32_t i = 0; i < r->nsegs; i++)
				hw_dma_sync_cpu(&sc->bus.hw, r->segs[i].va, r->segs[i].len);
		} else if (r->op == BLK_WRITE) {
			d->stats.writes++;
			d->stats.write_bytes += (uint64_t)r->nblocks * d->block_size;
		} else {
			d->stats.flushes++;
		}
		blk_complete(d, r, status);
		done++;
	}
	if (done == 0 && virtio_check_broken(&sc->bus.vd)) {
		/* Fail everything in flight: the device will not answer. */
		for (uint32_t i = 0; i < VBLK_SLOTS; i++) {
			struct blk_req *r = sc->inflight[i];
			if (r == NULL)
				continue;
			sc->inflight[i] = NULL;
			blk_complete(d, r, TERN_ENODEV);
			done++;
		}
	}
	return done;
}

/* Reset the device, cancel what it held, free; runs once per attach. */
static void
vblk_stop(struct virtio_blk_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	if (sc->detached)
		return;
	sc->detached = true;
	/* After the reset the device no longer touches our memory, so the
	   requests it held can go back to their callers. */
	virtio_reset(vd);
	for (uint32_t i = 0; i < VBLK_SLOTS; i++) {
		struct blk_req *r = sc->inflight[i];
		if (r != NULL) {
			sc->inflight[i] = NULL;
			blk_complete(&sc->blk, r, TERN_ECANCELED);
		}
	}
	vblk_undo(sc, vd, VBLK_UNDO_SLOTS);
}

/*
 * Detach: the disk leaves the block registry first (blk_unregister closes
 * it to submits and calls back vblk_detach), so no caller keeps a pointer
 * to a softc the bus is about to free.  Idempotent.
 */
void
virtio_blk_detach_core(struct virtio_blk_softc *sc)
{
	blk_unregister(&sc->blk);
	vblk_stop(sc);
}

/* blk_ops.detach */
static void
vblk_detach(struct blk_dev *d)
{
	vblk_stop(d->sc);
}
