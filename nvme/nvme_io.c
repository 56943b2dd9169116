/*
 * nvme_io.c - the NVMe datapath behind kernel/dev/blk.h (NVM Command Set
 * 3.2; PRP rules in NVMe Base 2.0 4.1.1 / shared/PROTOCOLS.md C.6).
 *
 * One command per request on the queue pair the caller names (blk queue
 * q is I/O queue pair q + 1, one per CPU), command id = slot in that
 * queue.  PRP1 is the first page (it may carry an offset),
 * PRP2 the second page or a PRP list: the slot's own list page, chained
 * through pages of the controller's shared pool when a transfer needs more
 * than 512 entries (above 2 MiB).  Segments must be page-granular except
 * for the start of the first and the end of the last: anything else is
 * refused (TERN_EINVAL), as are transfers above max_transfer (MDTS).
 * A request completes only when its completion entry arrives.  On Amazon
 * controllers no I/O is ever aborted for taking long.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "nvme/nvme_var.h"

#define PG 4096ULL
#define PRPS_PER_PAGE 512u
/* A command outstanding this long is logged once; it is never aborted. */
#define IO_SLOW_NS	30000000000ULL

/* drv[] use in a blk_req while the driver owns it. */
#define R_SUBMITTED	0	/* submission time */
#define R_LOGGED	1	/* slow command logged */
#define R_NS		2	/* struct nvme_ns * */
#define R_CHAIN		3	/* chain pages taken (bitmap) */

static struct nvme_ns *req_ns(struct blk_req *r) { return (struct nvme_ns *)(uintptr_t)r->drv[R_NS]; }

static void
chain_put(struct nvme_softc *sc, struct blk_req *r)
{
	sc->chain_used &= ~(uint32_t)r->drv[R_CHAIN];
	r->drv[R_CHAIN] = 0;
}

/* Take n pool pages for r; TERN_EAGAIN when the pool is short now. */
static int
chain_get(struct nvme_softc *sc, struct blk_req *r, uint32_t n)
{
	uint32_t got = 0;
	for (uint32_t k = 0; k < NVME_CHAIN_PAGES && n > 0 && sc->chain.va != NULL; k++) {
		if (sc->chain_used & (1u << k))
			continue;
		got |= 1u << k;
		n--;
	}
	if (n > 0)
		return TERN_EAGAIN;
	sc->chain_used |= got;
	r->drv[R_CHAIN] = got;
	return TERN_OK;
}

/* Appends PRP entries to a list, chaining into pool pages as it fills. */
struct prp_writer {
	struct nvme_softc *sc;
	uint64_t *page;
	uint32_t i, left;	/* next index in page, entries still to write */
	uint32_t pool;		/* pool pages not yet used */
};

static void
prp_put(struct prp_writer *w, uint64_t pa)
{
	if (w->i == PRPS_PER_PAGE - 1 && w->left > 1) {
		/* Base 2.0 4.1.1: the last entry of a full page points on. */
		uint32_t k = (uint32_t)__builtin_ctz(w->pool);
		w->pool &= w->pool - 1;
		w->page[w->i] = w->sc->chain.pa + k * PG;
		hw_dma_sync_dev(&w->sc->hw, w->page, (w->i + 1) * 8);
		w->page = (uint64_t *)((uint8_t *)w->sc->chain.va + k * PG);
		w->i = 0;
	}
	w->page[w->i++] = pa;
	w->left--;
	if (w->left == 0)
		hw_dma_sync_dev(&w->sc->hw, w->page, w->i * 8);
}

/* Pool pages a list of e entries needs beyond the slot's own page. */
static uint32_t
chain_pages(uint32_t e)
{
	if (e <= PRPS_PER_PAGE)
		return 0;
	return (e - PRPS_PER_PAGE + PRPS_PER_PAGE - 2) / (PRPS_PER_PAGE - 1);
}

static int
build_prps(struct nvme_softc *sc, struct nvme_queue *q, struct blk_req *r,
    uint32_t slot, struct nvme_sqe *e)
{
	uint64_t spa[BLK_MAX_SEGS];
	uint32_t np = 0;

	/* Pass 1: check every segment and count the pages. */
	for (uint32_t i = 0; i < r->nsegs; i++) {
		uint64_t pa = spa[i] = hw_virt_to_phys(&sc->hw, r->segs[i].va);
		uint64_t len = r->segs[i].len;
		if (pa == ~0ULL || (sc->hw.dma_limit && pa + len > sc->hw.dma_limit))
			return TERN_ERANGE;
		if (i > 0 && (pa & (PG - 1)) != 0)
			return TERN_EINVAL;	/* only the first may start mid-page */
		if (i + 1 < r->nsegs && ((pa + len) & (PG - 1)) != 0)
			return TERN_EINVAL;	/* only the last may end mid-page */
		np += (uint32_t)(((pa + len + PG - 1) & ~(PG - 1)) - (pa & ~(PG - 1))) / PG;
		if (r->op == BLK_WRITE)
			hw_dma_sync_dev(&sc->hw, r->segs[i].va, len);
	}
	if (np == 0)
		return TERN_EINVAL;
	int rc = chain_get(sc, r, chain_pages(np - 1));
	if (rc != TERN_OK)
		return rc;

	/* Pass 2: PRP1, then PRP2 directly or as a list. */
	struct prp_writer w = { .sc = sc, .left = np - 1, .pool = (uint32_t)r->drv[R_CHAIN],
		.page = (uint64_t *)((uint8_t *)q->prp.va + (size_t)slot * PG) };
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->nsegs; i++) {
		uint64_t pa = spa[i];
		for (uint64_t p = pa & ~(PG - 1); p < pa + r->segs[i].len; p += PG, n++) {
			if (n == 0)
				e->prp1 = pa;
			else if (np == 2)
				e->prp2 = p;
			else
				prp_put(&w, p);
		}
	}
	if (np > 2)
		e->prp2 = q->prp.pa + (uint64_t)slot * PG;
	return TERN_OK;
}

/* Dataset Management: one deallocate range, kept in the slot's page. */
static int
build_dsm(struct nvme_queue *q, struct blk_req *r, uint32_t slot, struct nvme_sqe *e)
{
	struct nvme_softc *sc = req_ns(r)->sc;
	struct nvme_dsm_range *rg =
	    (struct nvme_dsm_range *)((uint8_t *)q->prp.va + (size_t)slot * PG);
	rg->cattr = 0;
	rg->nlb = r->nblocks;
	rg->slba = r->lba;
	hw_dma_sync_dev(&sc->hw, rg, sizeof(*rg));
	e->opc = NVME_CMD_DSM;
	e->prp1 = q->prp.pa + (uint64_t)slot * PG;
	e->cdw10 = 0;			/* one range (0-based) */
	e->cdw11 = NVME_DSM_AD;
	return TERN_OK;
}

/* Build the command for request r in slot `slot` of q (validated). */
static int
build_cmd(struct nvme_ns *ns, struct nvme_queue *q, struct blk_req *r, uint32_t slot,
    struct nvme_sqe *e)
{
	struct blk_dev *d = &ns->blk;

	memset(e, 0, sizeof(*e));
	e->nsid = ns->nsid;
	e->cid = (uint16_t)slot;
	r->drv[R_NS] = (uint64_t)(uintptr_t)ns;
	r->drv[R_CHAIN] = 0;
	if (r->op == BLK_FLUSH) {
		e->opc = NVME_CMD_FLUSH;
		return TERN_OK;
	}
	bool ok = r->op == BLK_READ || r->op == BLK_WRITE ||
	    (r->op == BLK_WRITE_ZEROES && (d->features & BLK_F_WRITE_ZEROES)) ||
	    (r->op == BLK_DISCARD && (d->features & BLK_F_DISCARD));
	if (!ok)
		return TERN_ENOTSUP;
	if (r->nblocks == 0 || r->lba >= d->nblocks || r->nblocks > d->nblocks - r->lba)
		return TERN_EINVAL;
	if (r->op == BLK_DISCARD)
		return build_dsm(q, r, slot, e);
	if (r->nblocks > 65536)		/* NLB is 16 bits, 0-based */
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
	return build_prps(ns->sc, q, r, slot, e);
}

static int
nvme_blk_submit(struct blk_dev *d, uint32_t qi, struct blk_req *r)
{
	struct nvme_ns *ns = d->sc;
	struct nvme_softc *sc = ns->sc;
	struct nvme_sqe e;

	if (sc->broken || sc->detached)
		return TERN_ENODEV;
	if (qi >= sc->nioq)
		return TERN_EINVAL;
	if (r->op == BLK_FLUSH && !sc->vwc) {
		/* No volatile cache: nothing to send; done() from the next
		   poll of this queue. */
		d->stats.flushes++;
		blk_complete_later(d, r, TERN_OK);
		return TERN_OK;
	}
	struct nvme_queue *q = &sc->ioq[qi];
	uint32_t slot = 0;
	while (slot < q->depth && q->inflight[slot] != NULL)
		slot++;
	if (slot == q->depth)
		return TERN_EAGAIN;
	int rc = build_cmd(ns, q, r, slot, &e);
	if (rc == TERN_OK)
		rc = nvme_submit(sc, q, &e);
	if (rc != TERN_OK) {
		chain_put(sc, r);
		return rc;
	}
	q->inflight[slot] = r;
	r->drv[R_SUBMITTED] = hw_now_ns(&sc->hw);
	r->drv[R_LOGGED] = 0;
	return TERN_OK;
}

static void
fail_req(struct nvme_softc *sc, struct blk_req *r, int status)
{
	chain_put(sc, r);
	if (status != TERN_ECANCELED)
		req_ns(r)->blk.stats.errors++;
	blk_complete(&req_ns(r)->blk, r, status);
}

/*
 * Complete every command still in flight on every queue with `status`;
 * returns how many.  Only once the controller no longer processes them
 * (shut down, disabled or gone): until then it may still write into the
 * requests' buffers.
 */
int
nvme_cancel_all(struct nvme_softc *sc, int status)
{
	int n = 0;
	for (uint32_t qi = 0; qi < sc->nioq; qi++) {
		struct nvme_queue *q = &sc->ioq[qi];
		for (uint32_t i = 0; i < q->depth && i < NVME_IOQ_DEPTH; i++) {
			struct blk_req *r = q->inflight[i];
			if (r == NULL)
				continue;
			q->inflight[i] = NULL;
			fail_req(sc, r, status);
			n++;
		}
	}
	return n;
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
	for (uint32_t qi = 0; qi < sc->nioq; qi++) {
		struct nvme_queue *q = &sc->ioq[qi];
		for (uint32_t i = 0; i < q->depth; i++) {
			struct blk_req *r = q->inflight[i];
			struct nvme_sqe e;
			if (r == NULL)
				continue;
			chain_put(sc, r);
			if (rc == TERN_OK && build_cmd(req_ns(r), q, r, i, &e) == TERN_OK &&
			    nvme_submit(sc, q, &e) == TERN_OK)
				continue;
			q->inflight[i] = NULL;
			fail_req(sc, r, TERN_EIO);
			n++;
		}
	}
	return n;
}

/*
 * Log (once each) commands outstanding for more than IO_SLOW_NS.  They
 * stay in flight: an EBS volume may stall for a long time and still
 * complete, and aborting a write would leave its outcome unknown.
 */
static void
log_slow(struct nvme_softc *sc)
{
	uint64_t now = hw_now_ns(&sc->hw);
	for (uint32_t qi = 0; qi < sc->nioq; qi++) {
		struct nvme_queue *q = &sc->ioq[qi];
		for (uint32_t i = 0; i < q->depth; i++) {
			struct blk_req *r = q->inflight[i];
			if (r == NULL || r->drv[R_LOGGED] != 0 || now - r->drv[R_SUBMITTED] < IO_SLOW_NS)
				continue;
			r->drv[R_LOGGED] = 1;
			req_ns(r)->blk.stats.timeouts_logged++;
			log_warn("nvme", "%s: queue %u command id %u (op %d, LBA %llu) outstanding for %llu s%s",
			    sc->hw.name, q->qid, i, r->op, (unsigned long long)r->lba,
			    (unsigned long long)((now - r->drv[R_SUBMITTED]) / 1000000000ULL),
			    sc->amazon ? "; EBS: still waiting" : "; still waiting");
		}
	}
}

static void
account(struct blk_req *r)
{
	struct nvme_ns *ns = req_ns(r);
	struct blk_stats *s = &ns->blk.stats;
	uint64_t bytes = (uint64_t)r->nblocks << ns->lba_shift;
	switch (r->op) {
	case BLK_READ:
		s->reads++;
		s->read_bytes += bytes;
		for (uint32_t i = 0; i < r->nsegs; i++)
			hw_dma_sync_cpu(&ns->sc->hw, r->segs[i].va, r->segs[i].len);
		break;
	case BLK_WRITE:
	case BLK_WRITE_ZEROES:
		s->writes++;
		s->write_bytes += bytes;
		break;
	case BLK_DISCARD:
		s->discards++;
		break;
	default:
		s->flushes++;
	}
}

/*
 * Reap one queue's completions; returns how many requests completed.  At
 * most one queue depth of entries per call: a device that keeps posting
 * (stray ids included) cannot keep the poll loop here, the rest waits for
 * the next poll.
 */
static int
reap(struct nvme_softc *sc, struct nvme_queue *q)
{
	struct nvme_cqe c;
	int n = 0;

	for (uint32_t seen = 0; seen < q->depth && nvme_next_cqe(sc, q, &c); seen++) {
		if (c.cid >= q->depth || q->inflight[c.cid] == NULL) {
			sc->ns[0].blk.stats.bad_completions++;
			if (nvme_bad_completion(sc))
				log_warn("nvme", "%s: completion for command id %u not in flight on "
				    "queue %u; ignored (%llu bad so far)", sc->hw.name, c.cid, q->qid,
				    (unsigned long long)sc->bad_completions);
			continue;
		}
		struct blk_req *r = q->inflight[c.cid];
		q->inflight[c.cid] = NULL;
		chain_put(sc, r);
		uint16_t st = c.status >> 1;
		int status = TERN_OK;
		if (st != 0) {
			uint16_t sct = (st >> 8) & 7, scode = st & 0xff;
			status = (sct == 0 && scode == 0x80) ? TERN_ERANGE : TERN_EIO;
			req_ns(r)->blk.stats.errors++;
			log_warn("nvme", "%s: op %d at LBA %llu failed: type %u code 0x%02x",
			    req_ns(r)->blk.name, r->op, (unsigned long long)r->lba, sct, scode);
		}
		account(r);
		blk_complete(&req_ns(r)->blk, r, status);
		n++;
	}
	return n;
}

/* Poll blk queue qi: its pair's completions; when there were none, the
   controller-wide checks (fatal status, slow commands). */
static int
nvme_blk_poll(struct blk_dev *d, uint32_t qi)
{
	struct nvme_ns *ns = d->sc;
	struct nvme_softc *sc = ns->sc;
	int n = 0;

	if (sc->detached || qi >= sc->nioq)
		return 0;
	n = reap(sc, &sc->ioq[qi]);
	d->stats.intrs = sc->intrs;
	if (n == 0 && !sc->broken) {
		if (hw_read32(&sc->regs, NVME_CSTS) & NVME_CSTS_CFS)
			return recover(sc, d);
		log_slow(sc);
	}
	return n;
}

/* The interrupt only has to wake the CPU out of hlt; poll reaps. */
void
nvme_intr(void *ctx, int vector)
{
	struct nvme_softc *sc = ctx;
	sc->intrs++;
}

const struct blk_ops nvme_blk_ops = {
	.submit = nvme_blk_submit,
	.poll = nvme_blk_poll,
	.detach = nvme_blk_detach,
};
