/*
 * nvme_io.c - the NVMe datapath behind kernel/dev/blk.h (NVM Command Set
 * 3.2; PRP rules in NVMe Base 2.0 4.1.1 / shared/PROTOCOLS.md C.6).
 *
 * One command per request, command id = slot.  PRP1 is the first page
 * (it may carry an offset), PRP2 the second page or the slot's PRP list
 * page.  Segments must be page-granular except for the start of the first
 * and the end of the last: anything else is refused (TERN_EINVAL), as are
 * transfers above max_transfer (MDTS, at most one list page = 2 MiB).
 * A request completes only when its completion entry arrives.  On Amazon
 * controllers no I/O is ever aborted for taking long.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "nvme/nvme_var.h"

int nvme_submit(struct nvme_softc *sc, struct nvme_queue *q, const struct nvme_sqe *e);
bool nvme_next_cqe(struct nvme_softc *sc, struct nvme_queue *q, struct nvme_cqe *out);

#define PG 4096ULL

static int
build_prps(struct nvme_softc *sc, struct blk_req *r, uint32_t slot, struct nvme_sqe *e)
{
	uint64_t *list = (uint64_t *)((uint8_t *)sc->prp_pages.va + (size_t)slot * PG);
	uint64_t list_pa = sc->prp_pages.pa + (uint64_t)slot * PG;
	uint64_t pages[512 + 1];
	uint32_t np = 0;

	for (uint32_t i = 0; i < r->nsegs; i++) {
		uint64_t pa = hw_virt_to_phys(&sc->hw, r->segs[i].va);
		uint64_t len = r->segs[i].len;
		if (pa == ~0ULL || (sc->hw.dma_limit && pa + len > sc->hw.dma_limit))
			return TERN_ERANGE;
		if (i > 0 && (pa & (PG - 1)) != 0)
			return TERN_EINVAL;	/* only the first may start mid-page */
		if (i + 1 < r->nsegs && ((pa + len) & (PG - 1)) != 0)
			return TERN_EINVAL;	/* only the last may end mid-page */
		for (uint64_t p = pa & ~(PG - 1); p < pa + len; p += PG) {
			if (np == 512 + 1)
				return TERN_EINVAL;
			pages[np] = np == 0 ? pa : p;
			np++;
		}
	}
	if (np == 0)
		return TERN_EINVAL;
	e->prp1 = pages[0];
	if (np == 2)
		e->prp2 = pages[1];
	else if (np > 2) {
		for (uint32_t i = 1; i < np; i++)
			list[i - 1] = pages[i];
		e->prp2 = list_pa;
	}
	return TERN_OK;
}

static int
nvme_blk_submit(struct blk_dev *d, struct blk_req *r)
{
	struct nvme_ns *ns = d->sc;
	struct nvme_softc *sc = ns->sc;
	struct nvme_sqe e;

	if (sc->broken)
		return TERN_ENODEV;
	memset(&e, 0, sizeof(e));
	e.nsid = ns->nsid;
	if (r->op == BLK_FLUSH) {
		if (!sc->vwc) {
			r->status = TERN_OK;
			d->stats.flushes++;
			r->done(r);
			return TERN_OK;
		}
		e.opc = NVME_CMD_FLUSH;
	} else if (r->op == BLK_READ || r->op == BLK_WRITE) {
		uint64_t bytes = 0;
		if (r->nblocks == 0 || r->nblocks > 65536 || r->lba >= d->nblocks ||
		    r->nblocks > d->nblocks - r->lba || r->nsegs == 0 || r->nsegs > BLK_MAX_SEGS)
			return TERN_EINVAL;
		for (uint32_t i = 0; i < r->nsegs; i++)
			bytes += r->segs[i].len;
		if (bytes != (uint64_t)r->nblocks << ns->lba_shift || bytes > d->max_transfer)
			return TERN_EINVAL;
		e.opc = r->op == BLK_READ ? NVME_CMD_READ : NVME_CMD_WRITE;
		e.cdw10 = (uint32_t)r->lba;
		e.cdw11 = (uint32_t)(r->lba >> 32);
		e.cdw12 = (r->nblocks - 1) | ((r->flags & BLK_REQ_FUA) ? NVME_RW_FUA : 0);
	} else {
		return TERN_ENOTSUP;
	}
	uint32_t slot = 0;
	while (slot < sc->ioq.depth && sc->inflight[slot] != NULL)
		slot++;
	if (slot == sc->ioq.depth)
		return TERN_EAGAIN;
	if (r->op != BLK_FLUSH) {
		int rc = build_prps(sc, r, slot, &e);
		if (rc != TERN_OK)
			return rc;
	}
	e.cid = (uint16_t)slot;
	int rc = nvme_submit(sc, &sc->ioq, &e);
	if (rc != TERN_OK)
		return rc;
	sc->inflight[slot] = r;
	return TERN_OK;
}

static int
nvme_blk_poll(struct blk_dev *d)
{
	struct nvme_ns *ns = d->sc;
	struct nvme_softc *sc = ns->sc;
	struct nvme_cqe c;
	int n = 0;

	while (nvme_next_cqe(sc, &sc->ioq, &c)) {
		if (c.cid >= sc->ioq.depth || sc->inflight[c.cid] == NULL) {
			sc->bad_completions++;
			d->stats.bad_completions++;
			log_warn("nvme", "%s: completion for command id %u not in flight; ignored",
			    sc->hw.name, c.cid);
			continue;
		}
		struct blk_req *r = sc->inflight[c.cid];
		sc->inflight[c.cid] = NULL;
		uint16_t st = c.status >> 1;
		if (st == 0) {
			r->status = TERN_OK;
		} else {
			uint16_t sct = (st >> 8) & 7, scode = st & 0xff;
			r->status = (sct == 0 && scode == 0x80) ? TERN_ERANGE : TERN_EIO;
			d->stats.errors++;
			log_warn("nvme", "%s: command at LBA %llu failed: type %u code 0x%02x",
			    d->name, (unsigned long long)r->lba, sct, scode);
		}
		if (r->op == BLK_READ) {
			d->stats.reads++;
			d->stats.read_bytes += (uint64_t)r->nblocks << ns->lba_shift;
			for (uint32_t i = 0; i < r->nsegs; i++)
				hw_dma_sync_cpu(&sc->hw, r->segs[i].va, r->segs[i].len);
		} else if (r->op == BLK_WRITE) {
			d->stats.writes++;
			d->stats.write_bytes += (uint64_t)r->nblocks << ns->lba_shift;
		} else {
			d->stats.flushes++;
		}
		r->done(r);
		n++;
	}
	return n;
}

static void
nvme_blk_detach(struct blk_dev *d)
{
	struct nvme_ns *ns = d->sc;
	nvme_detach_core(ns->sc);
}

const struct blk_ops nvme_blk_ops = {
	.submit = nvme_blk_submit,
	.poll = nvme_blk_poll,
	.detach = nvme_blk_detach,
};
