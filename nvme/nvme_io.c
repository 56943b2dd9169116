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
/* A command outstanding this long is logged once; it is never aborted. */
#define IO_SLOW_NS	30000000000ULL

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

/* Build the command for request r in slot `slot` (validated, PRPs set). */
static int
build_cmd(struct nvme_ns *ns, struct blk_req *r, uint32_t slot, struct nvme_sqe *e)
{
	struct blk_dev *d = &ns->blk;

	memset(e, 0, sizeof(*e));
	e->nsid = ns->nsid;
	e->cid = (uint16_t)slot;
	if (r->op == BLK_FLUSH) {
		e->opc = NVME_CMD_FLUSH;
		return TERN_OK;
	}
	if (r->op != BLK_READ && r->op != BLK_WRITE &&
	    !(r->op == BLK_WRITE_ZEROES && (d->features & BLK_F_WRITE_ZEROES)))
		return TERN_ENOTSUP;
	if (r->nblocks == 0 || r->nblocks > 65536 || r->lba >= d->nblocks ||
	    r->nblocks > d->nblocks - r->lba)
		return TERN_EINVAL;
	e->cdw10 = (uint32_t)r->lba;
	e->cdw11 = (uint32_t)(r->lba >> 32);
	e->cdw12 = (r->nblocks - 1) | ((r->flags & BLK_REQ_FUA) ? NVME_RW_FUA : 0);
	if (r->op == BLK_WRITE_ZEROES) {
		e->opc = NVME_CMD_WRITE_ZEROES;
		return TERN_OK;
	}
	uint64_t bytes = 0;
	if (r->nsegs == 0 || r->nsegs > BLK_MAX_SEGS)
		return TERN_EINVAL;
	for (uint32_t i = 0; i < r->nsegs; i++)
		bytes += r->segs[i].len;
	if (bytes != (uint64_t)r->nblocks << ns->lba_shift || bytes > d->max_transfer)
		return TERN_EINVAL;
	e->opc = r->op == BLK_READ ? NVME_CMD_READ : NVME_CMD_WRITE;
	return build_prps(ns->sc, r, slot, e);
}

static int
nvme_blk_submit(struct blk_dev *d, struct blk_req *r)
{
	struct nvme_ns *ns = d->sc;
	struct nvme_softc *sc = ns->sc;
	struct nvme_sqe e;

	if (sc->broken)
		return TERN_ENODEV;
	if (r->op == BLK_FLUSH && !sc->vwc) {
		r->status = TERN_OK;
		d->stats.flushes++;
		r->done(r);
		return TERN_OK;
	}
	uint32_t slot = 0;
	while (slot < sc->ioq.depth && sc->inflight[slot] != NULL)
		slot++;
	if (slot == sc->ioq.depth)
		return TERN_EAGAIN;
	int rc = build_cmd(ns, r, slot, &e);
	if (rc != TERN_OK)
		return rc;
	rc = nvme_submit(sc, &sc->ioq, &e);
	if (rc != TERN_OK)
		return rc;
	sc->inflight[slot] = r;
	r->drv[0] = hw_now_ns(&sc->hw);	/* submitted at */
	r->drv[1] = 0;			/* slow command logged */
	r->drv[2] = (uint64_t)(uintptr_t)ns;
	return TERN_OK;
}

/*
 * CSTS.CFS: reset the controller and resubmit every command in flight
 * (nothing was acknowledged, so repeating them is safe: reads and writes
 * of the same data are idempotent).  If the reset fails, the commands
 * complete with TERN_EIO; none is reported successful.
 */
static int
recover(struct nvme_softc *sc, struct blk_dev *d)
{
	int n = 0;
	d->stats.resets++;
	int rc = nvme_reset(sc);
	for (uint32_t i = 0; i < sc->ioq.depth; i++) {
		struct blk_req *r = sc->inflight[i];
		struct nvme_sqe e;
		if (r == NULL)
			continue;
		if (rc == TERN_OK) {
			struct nvme_ns *ns = (struct nvme_ns *)(uintptr_t)r->drv[2];
			if (build_cmd(ns, r, i, &e) == TERN_OK &&
			    nvme_submit(sc, &sc->ioq, &e) == TERN_OK)
				continue;
		}
		sc->inflight[i] = NULL;
		r->status = TERN_EIO;
		d->stats.errors++;
		r->done(r);
		n++;
	}
	return n;
}

/*
 * Log (once each) commands outstanding for more than IO_SLOW_NS.  They
 * stay in flight: an EBS volume may stall for a long time and still
 * complete, and aborting a write would leave its outcome unknown.
 */
static void
log_slow(struct nvme_softc *sc, struct blk_dev *d)
{
	uint64_t now = hw_now_ns(&sc->hw);
	for (uint32_t i = 0; i < sc->ioq.depth; i++) {
		struct blk_req *r = sc->inflight[i];
		if (r == NULL || r->drv[1] != 0 || now - r->drv[0] < IO_SLOW_NS)
			continue;
		r->drv[1] = 1;
		d->stats.timeouts_logged++;
		log_warn("nvme", "%s: command id %u (op %d, LBA %llu) outstanding for %llu s%s",
		    sc->hw.name, i, r->op, (unsigned long long)r->lba,
		    (unsigned long long)((now - r->drv[0]) / 1000000000ULL),
		    sc->amazon ? "; EBS: still waiting" : "; still waiting");
	}
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
		} else if (r->op == BLK_WRITE || r->op == BLK_WRITE_ZEROES) {
			d->stats.writes++;
			d->stats.write_bytes += (uint64_t)r->nblocks << ns->lba_shift;
		} else {
			d->stats.flushes++;
		}
		r->done(r);
		n++;
	}
	if (n == 0 && !sc->broken) {
		if (hw_read32(&sc->regs, NVME_CSTS) & NVME_CSTS_CFS)
			return recover(sc, d);
		log_slow(sc, d);
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
