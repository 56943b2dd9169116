/*
 * nvme.c - NVMe controller bring-up and administration (NVMe Base 2.0
 * 3.5.1 initialization, 3.6 shutdown), bus independent.
 *
 * Order: disable and wait CSTS.RDY = 0 (bounded by CAP.TO), admin queues,
 * enable and wait RDY = 1 (bounded by CAP.TO, CSTS.CFS aborts), Identify
 * Controller, Number of Queues (one pair per CPU, as many as granted, at
 * most NVME_MAX_IOQ), the I/O completion/submission queue pairs (qid 1..n;
 * with MSI-X each CQ interrupts on entry (qid-1) % nvec, and a controller
 * refusing that gets a polled CQ instead), Identify Namespace for each
 * active namespace (one blk_dev each).
 * Everything the controller returns is checked: completion ids must be
 * in flight, phase tags and queue ids must fit, sizes must make sense.
 * Amazon (EBS) controllers: DMA below 2^48, the volume id from the serial
 * number and the device name from the vendor area are reported.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "nvme/nvme_var.h"

#define ADMIN_TIMEOUT_NS	5000000000ULL

static uint32_t rd4(struct nvme_softc *sc, uint32_t r) { return hw_read32(&sc->regs, r); }
static void wr4(struct nvme_softc *sc, uint32_t r, uint32_t v) { hw_write32(&sc->regs, r, v); }

static void
wr8(struct nvme_softc *sc, uint32_t r, uint64_t v)
{
	wr4(sc, r, (uint32_t)v);
	wr4(sc, r + 4, (uint32_t)(v >> 32));
}

/* Wait until CSTS.RDY == want, bounded by CAP.TO. */
static int
wait_ready(struct nvme_softc *sc, uint32_t want)
{
	uint64_t end = hw_now_ns(&sc->hw) + sc->timeout_ns;
	for (;;) {
		uint32_t s = rd4(sc, NVME_CSTS);
		if (s == 0xffffffffu) {
			log_error("nvme", "%s: CSTS reads all-ones: controller gone", sc->hw.name);
			return TERN_ENODEV;
		}
		if ((s & NVME_CSTS_CFS) && want == 1) {
			log_error("nvme", "%s: controller fatal status while enabling", sc->hw.name);
			return TERN_EIO;
		}
		if ((s & NVME_CSTS_RDY) == want)
			return TERN_OK;
		if (hw_now_ns(&sc->hw) > end) {
			log_error("nvme", "%s: CSTS.RDY did not become %u within CAP.TO (%llu ms)",
			    sc->hw.name, want, (unsigned long long)(sc->timeout_ns / 1000000));
			return TERN_ETIMEDOUT;
		}
		hw_delay_us(&sc->hw, 100);
	}
}

static int
queue_alloc(struct nvme_softc *sc, struct nvme_queue *q, uint16_t qid, uint16_t depth)
{
	memset(q, 0, sizeof(*q));
	q->qid = qid;
	q->depth = depth;
	q->phase = 1;
	uint32_t stride = 4u << sc->dstrd;
	q->sq_db = NVME_DB_BASE + (2u * qid) * stride;
	q->cq_db = NVME_DB_BASE + (2u * qid + 1) * stride;
	if (hw_dma_alloc(&sc->hw, (size_t)depth * 64, 4096, &q->sq) != 0)
		return TERN_ENOMEM;
	if (hw_dma_alloc(&sc->hw, (size_t)depth * 16, 4096, &q->cq) != 0) {
		hw_dma_free(&sc->hw, &q->sq);
		return TERN_ENOMEM;
	}
	memset(q->sq.va, 0, q->sq.len);
	memset(q->cq.va, 0, q->cq.len);
	return TERN_OK;
}

static void
queue_free(struct nvme_softc *sc, struct nvme_queue *q)
{
	hw_dma_free(&sc->hw, &q->prp);
	hw_dma_free(&sc->hw, &q->sq);
	hw_dma_free(&sc->hw, &q->cq);
}

/* An I/O queue pair: rings plus one PRP list page per command slot. */
static int
ioq_alloc(struct nvme_softc *sc, struct nvme_queue *q, uint16_t qid, uint16_t depth)
{
	int rc = queue_alloc(sc, q, qid, depth);
	if (rc != TERN_OK)
		return rc;
	if (hw_dma_alloc(&sc->hw, (size_t)depth * 4096, 4096, &q->prp) != 0) {
		queue_free(sc, q);
		return TERN_ENOMEM;
	}
	return TERN_OK;
}

/* Empty a queue pair's rings before (re)creating it on the controller. */
static void
queue_reset(struct nvme_queue *q)
{
	memset(q->sq.va, 0, q->sq.len);
	memset(q->cq.va, 0, q->cq.len);
	q->sq_tail = q->cq_head = q->sq_head = 0;
	q->phase = 1;
}

/* Put one entry on a submission queue and ring its doorbell. */
int
nvme_submit(struct nvme_softc *sc, struct nvme_queue *q, const struct nvme_sqe *e)
{
	uint16_t next = (uint16_t)((q->sq_tail + 1) % q->depth);
	if (next == q->sq_head)
		return TERN_EAGAIN;	/* full */
	void *slot = (uint8_t *)q->sq.va + (size_t)q->sq_tail * 64;
	memcpy(slot, e, 64);
	q->sq_tail = next;
	hw_wmb();
	hw_dma_sync_dev(&sc->hw, slot, 64);
	wr4(sc, q->sq_db, q->sq_tail);
	return TERN_OK;
}

/*
 * Count one completion the controller should not have posted; true when
 * it is worth a console line (the 1st, 2nd, 4th, 8th, ...), so a device
 * that floods the queues cannot flood the serial console too.
 */
bool
nvme_bad_completion(struct nvme_softc *sc)
{
	uint64_t n = ++sc->bad_completions;
	return (n & (n - 1)) == 0;
}

/*
 * Take the next completion if its phase tag says it is new.  Returns true
 * with *out filled; validates the SQ head and the queue id.  An entry
 * that fails validation is consumed, counted in bad_completions and
 * skipped; at most one queue's worth of them is skipped per call (then
 * false), so a device that keeps writing bad entries cannot keep the
 * caller here: it returns to its own deadline check.
 */
bool
nvme_next_cqe(struct nvme_softc *sc, struct nvme_queue *q, struct nvme_cqe *out)
{
	for (uint32_t skipped = 0; skipped < q->depth; skipped++) {
		const struct nvme_cqe *c = (const struct nvme_cqe *)q->cq.va + q->cq_head;
		/* The phase is read once, through the hw layer, so a recorded
		   trace holds the value the driver acted on; the rest of the
		   entry is complete once the phase says it is new. */
		uint32_t dw3 = hw_dma_load32(&sc->hw, (const uint32_t *)c + 3);
		if (((dw3 >> 16) & 1) != q->phase)
			return false;
		hw_rmb();
		hw_dma_sync_cpu(&sc->hw, c, sizeof(*c));
		*out = *c;
		out->cid = (uint16_t)dw3;
		out->status = (uint16_t)(dw3 >> 16);
		if (++q->cq_head == q->depth) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		wr4(sc, q->cq_db, q->cq_head);
		if (out->sqhd < q->depth && out->sqid == q->qid) {
			q->sq_head = out->sqhd;
			return true;
		}
		if (nvme_bad_completion(sc))
			log_warn("nvme", "%s: completion with SQ head %u / SQ id %u on queue %u "
			    "ignored (%llu bad so far)", sc->hw.name, out->sqhd, out->sqid,
			    q->qid, (unsigned long long)sc->bad_completions);
	}
	return false;
}

/*
 * Run one admin command synchronously, bounded by ADMIN_TIMEOUT_NS.
 * Returns TERN_OK, TERN_EIO (the controller failed it or reported a
 * fatal status) or TERN_ETIMEDOUT.  A completion for another command id
 * is consumed and counted (bad_completions) and the wait goes on; the
 * deadline is checked on every pass, whatever the queue holds, so a
 * device that posts nothing but stray completions is given up on in time.
 */
static int
admin(struct nvme_softc *sc, struct nvme_sqe *e, uint32_t *dw0)
{
	e->cid = ++sc->admin_cid % NVME_AQ_DEPTH;
	int rc = nvme_submit(sc, &sc->aq, e);
	if (rc != TERN_OK)
		return rc;
	uint64_t end = hw_now_ns(&sc->hw) + ADMIN_TIMEOUT_NS;
	uint32_t strays = 0;
	struct nvme_cqe c;
	for (;;) {
		if (nvme_next_cqe(sc, &sc->aq, &c)) {
			if (c.cid == e->cid) {
				if (dw0 != NULL)
					*dw0 = c.dw0;
				uint16_t st = c.status >> 1;
				if (st != 0) {
					log_warn("nvme", "%s: admin opcode 0x%02x failed: status 0x%x",
					    sc->hw.name, e->opc, st);
					return TERN_EIO;
				}
				return TERN_OK;
			}
			/* One line per command; the give-up line has the count. */
			(void)nvme_bad_completion(sc);
			if (strays++ == 0)
				log_warn("nvme", "%s: admin completion for cid %u, waiting for %u "
				    "(opcode 0x%02x); ignored", sc->hw.name, c.cid, e->cid, e->opc);
		} else if (rd4(sc, NVME_CSTS) & NVME_CSTS_CFS) {
			log_error("nvme", "%s: controller fatal status during admin opcode 0x%02x",
			    sc->hw.name, e->opc);
			return TERN_EIO;
		}
		if (hw_now_ns(&sc->hw) > end) {
			log_error("nvme", "%s: admin opcode 0x%02x cid %u: no completion for it "
			    "on the admin CQ within %llu ms (%u stray completions)",
			    sc->hw.name, e->opc, e->cid,
			    (unsigned long long)(ADMIN_TIMEOUT_NS / 1000000), strays);
			return TERN_ETIMEDOUT;
		}
		hw_delay_us(&sc->hw, 10);
	}
}

/* Copy an identify string, trimming the space padding. */
static void
id_string(char *dst, const uint8_t *src, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		dst[k++] = (src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"') ? (char)src[i] : '?';
	while (k > 0 && dst[k - 1] == ' ')
		k--;
	dst[k] = '\0';
}

static int
identify(struct nvme_softc *sc, uint32_t cns, uint32_t nsid)
{
	struct nvme_sqe e = { .opc = NVME_ADM_IDENTIFY, .nsid = nsid,
		.prp1 = sc->ident.pa, .cdw10 = cns };
	memset(sc->ident.va, 0, 4096);
	int rc = admin(sc, &e, NULL);
	if (rc == TERN_OK)
		hw_dma_sync_cpu(&sc->hw, sc->ident.va, 4096);
	return rc;
}

/* Admin queue registers, CC.EN, wait for RDY (bounded by CAP.TO). */
static int
enable_ctrl(struct nvme_softc *sc)
{
	/* INTMS is for pin interrupts and must be left alone under MSI-X. */
	if (sc->nvec == 0)
		wr4(sc, NVME_INTMS, 0xffffffffu);
	wr4(sc, NVME_AQA, (uint32_t)(NVME_AQ_DEPTH - 1) << 16 | (NVME_AQ_DEPTH - 1));
	wr8(sc, NVME_ASQ, sc->aq.sq.pa);
	wr8(sc, NVME_ACQ, sc->aq.cq.pa);
	wr4(sc, NVME_CC, NVME_CC_EN | NVME_CC_IOSQES | NVME_CC_IOCQES);
	return wait_ready(sc, 1);
}

/*
 * Set Features Number of Queues: ask for `want` pairs; returns how many
 * the controller granted (its 0-based NSQA/NCQA, clamped) in *got.
 */
static int
set_num_queues(struct nvme_softc *sc, uint32_t want, uint32_t *got)
{
	uint32_t dw0 = 0;
	struct nvme_sqe e = { .opc = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES,
		.cdw11 = (want - 1) << 16 | (want - 1) };
	int rc = admin(sc, &e, &dw0);
	if (rc != TERN_OK)
		return rc;
	uint32_t nsq = (dw0 & 0xffff) + 1, ncq = (dw0 >> 16) + 1;
	*got = nsq < ncq ? nsq : ncq;
	if (*got > want)
		*got = want;
	return TERN_OK;
}

/* Create one I/O CQ/SQ pair; a CQ refused with interrupts gets polled. */
static int
create_pair(struct nvme_softc *sc, struct nvme_queue *q)
{
	int rc;
	uint32_t size = (uint32_t)(q->depth - 1) << 16 | q->qid;
	struct nvme_sqe e;
	q->ien = sc->nvec > 0;
	q->iv = sc->nvec > 0 ? (uint16_t)((q->qid - 1) % sc->nvec) : 0;
	for (;;) {
		e = (struct nvme_sqe){ .opc = NVME_ADM_CREATE_CQ, .prp1 = q->cq.pa,
			.cdw10 = size, .cdw11 = NVME_CQ_PC |
			(q->ien ? NVME_CQ_IEN | NVME_CQ_IV(q->iv) : 0) };
		rc = admin(sc, &e, NULL);
		if (rc != TERN_EIO || !q->ien)
			break;
		log_warn("nvme", "%s: CQ %u refused with MSI-X entry %u; polled instead",
		    sc->hw.name, q->qid, q->iv);
		q->ien = false;
		q->iv = 0;
	}
	if (rc != TERN_OK)
		return rc;
	e = (struct nvme_sqe){ .opc = NVME_ADM_CREATE_SQ, .prp1 = q->sq.pa,
		.cdw10 = size, .cdw11 = (uint32_t)q->qid << 16 | 1 /* CQ qid, PC */ };
	return admin(sc, &e, NULL);
}

/* Number of Queues (must still grant what we use), then every pair. */
static int
create_ioqs(struct nvme_softc *sc)
{
	uint32_t got;
	int rc = set_num_queues(sc, sc->nioq, &got);
	if (rc != TERN_OK)
		return rc;
	if (got < sc->nioq) {
		log_error("nvme", "%s: controller now grants %u queue pairs, %u in use",
		    sc->hw.name, got, sc->nioq);
		return TERN_EIO;
	}
	for (uint32_t i = 0; i < sc->nioq; i++)
		if ((rc = create_pair(sc, &sc->ioq[i])) != TERN_OK)
			return rc;
	return TERN_OK;
}

/*
 * Controller reset after a fatal status (CSTS.CFS): disable, empty the
 * rings, enable and recreate the I/O queues.  The caller resubmits what
 * was in flight.  On failure the controller is marked broken.
 */
int
nvme_reset(struct nvme_softc *sc)
{
	int rc;
	log_warn("nvme", "%s: controller fatal status: resetting", sc->hw.name);
	wr4(sc, NVME_CC, 0);
	if ((rc = wait_ready(sc, 0)) != TERN_OK)
		goto fail;
	queue_reset(&sc->aq);
	for (uint32_t i = 0; i < sc->nioq; i++)
		queue_reset(&sc->ioq[i]);
	if ((rc = enable_ctrl(sc)) != TERN_OK)
		goto fail;
	if ((rc = create_ioqs(sc)) != TERN_OK)
		goto fail;
	return TERN_OK;
fail:
	sc->broken = true;
	log_error("nvme", "%s: reset failed: %s; controller out of service",
	    sc->hw.name, err_str(rc));
	return rc;
}

extern const struct blk_ops nvme_blk_ops;

static void
ns_attach(struct nvme_softc *sc, uint32_t nsid)
{
	if (identify(sc, 0, nsid) != TERN_OK)
		return;
	const uint8_t *id = sc->ident.va;
	uint64_t nsze;
	memcpy(&nsze, id + NVME_IDN_NSZE, 8);
	if (nsze == 0)
		return;		/* inactive namespace */
	uint32_t fmt = id[NVME_IDN_FLBAS] & 0xf;
	if (fmt > id[NVME_IDN_NLBAF]) {
		log_warn("nvme", "%s: namespace %u uses LBA format %u of %u", sc->hw.name,
		    nsid, fmt, id[NVME_IDN_NLBAF] + 1);
		return;
	}
	uint32_t lbaf;
	memcpy(&lbaf, id + NVME_IDN_LBAF + 4 * fmt, 4);
	uint32_t shift = (lbaf >> 16) & 0xff;
	if (shift < 9 || shift > 16 || (lbaf & 0xffff) != 0) {
		log_warn("nvme", "%s: namespace %u: unsupported LBA size 2^%u (metadata %u)",
		    sc->hw.name, nsid, shift, lbaf & 0xffff);
		return;
	}
	if (sc->nns == NVME_MAX_NS)
		return;
	struct nvme_ns *ns = &sc->ns[sc->nns++];
	ns->sc = sc;
	ns->nsid = nsid;
	ns->lba_shift = shift;
	struct blk_dev *b = &ns->blk;
	ksnprintf(b->name, sizeof(b->name), "nvme%dn%u", sc->unit, nsid);
	b->block_size = 1u << shift;
	b->nblocks = nsze;
	b->queue_depth = sc->iodepth - 1u;
	b->nqueues = sc->nioq;	/* blk queue q is I/O queue pair q + 1 */
	b->max_transfer = sc->mdts_bytes;
	if ((uint64_t)b->max_transfer > (65536ULL << shift))
		b->max_transfer = (uint32_t)(65536ULL << shift);	/* NLB is 16 bits */
	b->max_segs = BLK_MAX_SEGS;
	b->features = (sc->vwc ? BLK_F_FLUSH : 0) | BLK_F_FUA |
	    ((sc->oncs & NVME_ONCS_WRITE_ZEROES) ? BLK_F_WRITE_ZEROES : 0) |
	    ((sc->oncs & NVME_ONCS_DSM) ? BLK_F_DISCARD : 0);
	b->ops = &nvme_blk_ops;
	b->sc = ns;
	blk_register(b);
	if (sc->amazon) {
		/* EBS: the serial is the volume id without its dash. */
		const char *v = sc->sn;
		char vol[24] = "";
		if (strncmp(v, "vol", 3) == 0 && v[3] != '-')
			ksnprintf(vol, sizeof(vol), "vol-%s", v + 3);
		else
			ksnprintf(vol, sizeof(vol), "%s", v);
		marker("BLK name=%s sectors=%llu bsize=%u model=\"%s\" serial=%s ebs_volume=%s ebs_dev=%s",
		    b->name, (unsigned long long)nsze, b->block_size, sc->mn, sc->sn, vol,
		    sc->ebs_dev[0] ? sc->ebs_dev : "none");
	} else {
		marker("BLK name=%s sectors=%llu bsize=%u model=\"%s\" serial=%s", b->name,
		    (unsigned long long)nsze, b->block_size, sc->mn, sc->sn);
	}
}

/*
 * Attach's resources in the order it takes them.  nvme_undo(sc, s,
 * shut_down) gives back `s` and everything taken before it; attach's
 * failure labels and detach share it.  Detach has already shut the
 * controller down (CC.SHN), so it skips attach's CC.EN=0.
 */
enum nvme_undo_step {
	NVME_UNDO_AQ, NVME_UNDO_IDENT, NVME_UNDO_ENABLE, NVME_UNDO_CHAIN,
	NVME_UNDO_IOQ,
};

static void
nvme_undo(struct nvme_softc *sc, enum nvme_undo_step s, bool shut_down)
{
	switch (s) {
	case NVME_UNDO_IOQ:
		for (uint32_t i = 0; i < sc->nioq; i++)
			queue_free(sc, &sc->ioq[i]);
		/* FALLTHROUGH */
	case NVME_UNDO_CHAIN:
		hw_dma_free(&sc->hw, &sc->chain);
		/* FALLTHROUGH */
	case NVME_UNDO_ENABLE:
		if (!shut_down)
			wr4(sc, NVME_CC, 0);
		/* FALLTHROUGH */
	case NVME_UNDO_IDENT:
		hw_dma_free(&sc->hw, &sc->ident);
		/* FALLTHROUGH */
	case NVME_UNDO_AQ:
		queue_free(sc, &sc->aq);
		break;
	}
}

int
nvme_attach_core(struct nvme_softc *sc, int unit)
{
	int rc;
	sc->unit = unit;
	sc->cap = hw_read64(&sc->regs, NVME_CAP);
	if (sc->cap == ~0ULL) {
		log_error("nvme", "%s: CAP reads all-ones: controller absent", sc->hw.name);
		return TERN_ENODEV;
	}
	sc->dstrd = NVME_CAP_DSTRD(sc->cap);
	uint32_t to = NVME_CAP_TO(sc->cap);
	sc->timeout_ns = (uint64_t)(to ? to : 1) * 500000000ULL;
	if (!NVME_CAP_CSS_NVM(sc->cap) || NVME_CAP_MPSMIN(sc->cap) != 0 ||
	    NVME_CAP_MQES(sc->cap) < 1) {
		log_error("nvme", "%s: unsupported controller (CAP 0x%llx)", sc->hw.name,
		    (unsigned long long)sc->cap);
		return TERN_ENOTSUP;
	}

	wr4(sc, NVME_CC, rd4(sc, NVME_CC) & ~NVME_CC_EN);
	if ((rc = wait_ready(sc, 0)) != TERN_OK)
		goto fail;
	sc->iodepth = NVME_IOQ_DEPTH;
	if (NVME_CAP_MQES(sc->cap) + 1u < sc->iodepth)
		sc->iodepth = (uint16_t)(NVME_CAP_MQES(sc->cap) + 1);
	if ((rc = queue_alloc(sc, &sc->aq, 0, NVME_AQ_DEPTH)) != TERN_OK)
		goto fail;
	rc = TERN_ENOMEM;
	if (hw_dma_alloc(&sc->hw, 4096, 4096, &sc->ident) != 0)
		goto fail_aq;
	if ((rc = enable_ctrl(sc)) != TERN_OK)
		goto fail_ident;

	if ((rc = identify(sc, 1, 0)) != TERN_OK)
		goto fail_disable;
	const uint8_t *id = sc->ident.va;
	uint16_t vid = (uint16_t)(id[NVME_IDC_VID] | id[NVME_IDC_VID + 1] << 8);
	sc->amazon = vid == NVME_VID_AMAZON;
	id_string(sc->sn, id + NVME_IDC_SN, 20);
	id_string(sc->mn, id + NVME_IDC_MN, 40);
	if (sc->amazon) {
		const char *d = (const char *)id + NVME_IDC_VS_AREA;
		size_t n = strnlen(d, 32);
		if (n >= 5 && strncmp(d, "/dev/", 5) == 0) {
			d += 5;
			n -= 5;
		}
		id_string(sc->ebs_dev, (const uint8_t *)d, n);
	}
	/* MDTS is a power of two in minimum pages (4 KiB); 0 is no limit.
	   We go up to NVME_MAX_XFER, chaining PRP list pages past 2 MiB. */
	uint32_t mdts = id[NVME_IDC_MDTS];
	sc->mdts_bytes = (mdts == 0 || mdts > 11) ? NVME_MAX_XFER : 4096u << mdts;
	if (sc->mdts_bytes > NVME_MAX_XFER)
		sc->mdts_bytes = NVME_MAX_XFER;
	uint32_t nn;
	memcpy(&nn, id + NVME_IDC_NN, 4);
	sc->oncs = (uint16_t)(id[NVME_IDC_ONCS] | id[NVME_IDC_ONCS + 1] << 8);
	sc->vwc = id[NVME_IDC_VWC] & 1;
	if (sc->mdts_bytes > (2u << 20) &&
	    hw_dma_alloc(&sc->hw, NVME_CHAIN_PAGES * 4096, 4096, &sc->chain) != 0) {
		log_error("nvme", "%s: no DMA memory for %u PRP chain pages", sc->hw.name,
		    NVME_CHAIN_PAGES);
		rc = TERN_ENOMEM;
		goto fail_disable;
	}

	uint32_t want = sc->want_ioq == 0 ? 1 : sc->want_ioq;
	if (want > NVME_MAX_IOQ)
		want = NVME_MAX_IOQ;
	if ((rc = set_num_queues(sc, want, &sc->nioq)) != TERN_OK)
		goto fail_chain;
	for (uint32_t i = 0; i < sc->nioq; i++) {
		if ((rc = ioq_alloc(sc, &sc->ioq[i], (uint16_t)(i + 1), sc->iodepth)) != TERN_OK) {
			sc->nioq = i;
			goto fail_ioq;
		}
	}
	if ((rc = create_ioqs(sc)) != TERN_OK)
		goto fail_ioq;

	uint32_t polled = 0;
	for (uint32_t i = 0; i < sc->nioq; i++)
		polled += !sc->ioq[i].ien;
	log_info("nvme", "%s: \"%s\" serial %s, %u namespace(s), MDTS %u KiB, cache %s, "
	    "%u queue pair(s) (%u polled)%s", sc->hw.name, sc->mn, sc->sn, nn,
	    sc->mdts_bytes / 1024, sc->vwc ? "yes" : "no", sc->nioq, polled,
	    sc->amazon ? ", Amazon EBS/instance store" : "");
	for (uint32_t ns = 1; ns <= nn && ns <= 16; ns++)
		ns_attach(sc, ns);
	return TERN_OK;

fail_ioq:
	nvme_undo(sc, NVME_UNDO_IOQ, false);
	goto fail;
fail_chain:
	nvme_undo(sc, NVME_UNDO_CHAIN, false);
	goto fail;
fail_disable:
	nvme_undo(sc, NVME_UNDO_ENABLE, false);
	goto fail;
fail_ident:
	nvme_undo(sc, NVME_UNDO_IDENT, false);
	goto fail;
fail_aq:
	nvme_undo(sc, NVME_UNDO_AQ, false);
fail:
	log_error("nvme", "%s: attach failed: %s", sc->hw.name, err_str(rc));
	return rc;
}

/*
 * Orderly shutdown (CC.SHN = normal: the controller completes what it
 * has and writes back its volatile cache), bounded by CAP.TO, then free
 * everything.  Safe to call again (several namespaces, power-off).
 */
static void
nvme_shutdown(struct nvme_softc *sc)
{
	if (sc->detached)
		return;
	sc->detached = true;
	wr4(sc, NVME_CC, (rd4(sc, NVME_CC) & ~(3u << 14)) | NVME_CC_SHN_NORMAL);
	uint64_t end = hw_now_ns(&sc->hw) + sc->timeout_ns;
	uint32_t shst;
	while ((shst = NVME_CSTS_SHST(rd4(sc, NVME_CSTS))) != 2 && hw_now_ns(&sc->hw) < end)
		hw_delay_us(&sc->hw, 100);
	if (shst == 2)
		log_info("nvme", "%s: shutdown complete", sc->hw.name);
	else
		log_warn("nvme", "%s: shutdown not complete within CAP.TO (%llu ms, SHST %u); "
		    "stopping anyway", sc->hw.name,
		    (unsigned long long)(sc->timeout_ns / 1000000), shst);
	/* Shut down (or given up on): commands still in flight go back to
	   their callers before their queues and PRP pages are freed. */
	int n = nvme_cancel_all(sc, TERN_ECANCELED);
	if (n > 0)
		log_warn("nvme", "%s: %d I/O commands in flight at detach cancelled",
		    sc->hw.name, n);
	nvme_undo(sc, NVME_UNDO_IOQ, true);
}

/*
 * Detach: every namespace leaves the block registry (blk_unregister calls
 * back nvme_blk_detach, so the first one shuts the controller down and
 * cancels what is in flight on every namespace), then the shutdown runs
 * here for a controller that registered none.  Safe to call again.
 */
void
nvme_detach_core(struct nvme_softc *sc)
{
	for (uint32_t i = 0; i < sc->nns; i++)
		blk_unregister(&sc->ns[i].blk);
	nvme_shutdown(sc);
}

/* blk_ops.detach: the registry lets go of one namespace. */
void
nvme_blk_detach(struct blk_dev *d)
{
	struct nvme_ns *ns = d->sc;
	nvme_shutdown(ns->sc);
}
