/*
 * nvme_dmanames.c - see nvme_dmanames.h.  Queue places come from the
 * softc at message time; a command's CDW meanings from the opcode the
 * driver put in that entry.
 */
#include <stdio.h>

#include "tests/nvme/nvme_dmanames.h"

#define PG 4096ULL

static const struct hw_replay_layout sqe_fields[] = {	/* Base 2.0 4.2, figure 88 */
	{ 0, 1, "opc" }, { 1, 1, "flags (FUSE, PSDT)" }, { 2, 2, "cid" },
	{ 4, 4, "nsid" }, { 8, 8, "cdw2-3" }, { 16, 8, "mptr" }, { 24, 8, "prp1" },
	{ 32, 8, "prp2" }, { 40, 4, "cdw10" }, { 44, 4, "cdw11" }, { 48, 4, "cdw12" },
	{ 52, 4, "cdw13" }, { 56, 4, "cdw14" }, { 60, 4, "cdw15" }, { 0, 0, NULL },
};

/* What CDW10..12 hold for the commands this driver sends. */
static const char *
cdw_meaning(bool admin, uint8_t opc, int dw)
{
	if (!admin) {
		switch (opc) {
		case NVME_CMD_READ: case NVME_CMD_WRITE: case NVME_CMD_WRITE_ZEROES:
			return dw == 10 ? "SLBA low" : dw == 11 ? "SLBA high" :
			    dw == 12 ? "NLB-1, FUA" : NULL;
		case NVME_CMD_DSM:
			return dw == 10 ? "NR" : dw == 11 ? "attributes (AD)" : NULL;
		}
		return NULL;
	}
	switch (opc) {
	case NVME_ADM_IDENTIFY:
		return dw == 10 ? "CNS, CNTID" : NULL;
	case NVME_ADM_CREATE_SQ:
		return dw == 10 ? "QSIZE, QID" : dw == 11 ? "CQID, QPRIO, PC" : NULL;
	case NVME_ADM_CREATE_CQ:
		return dw == 10 ? "QSIZE, QID" : dw == 11 ? "IV, IEN, PC" : NULL;
	case NVME_ADM_DELETE_SQ: case NVME_ADM_DELETE_CQ:
		return dw == 10 ? "QID" : NULL;
	case NVME_ADM_SET_FEATURES:
		return dw == 10 ? "FID" : dw == 11 ? "feature value" : NULL;
	}
	return NULL;
}

static bool
in(uint64_t pa, uint64_t base, uint64_t len)
{
	return pa >= base && pa - base < len;
}

static bool
sqe_name(const struct nvme_queue *q, uint64_t pa, struct hw_replay_field *f)
{
	if (q->sq.len == 0 || !in(pa, q->sq.pa, (uint64_t)q->depth * 64))
		return false;
	uint64_t o = pa - q->sq.pa, i = o / 64;
	uint8_t opc = ((const uint8_t *)q->sq.va)[i * 64];
	for (const struct hw_replay_layout *t = sqe_fields; t->name != NULL; t++) {
		if (o % 64 < t->off || o % 64 >= t->off + t->len)
			continue;
		int dw = t->off >= 40 ? 10 + (int)(t->off - 40) / 4 : 0;
		const char *m = dw ? cdw_meaning(q->qid == 0, opc, dw) : NULL;
		f->pa = q->sq.pa + i * 64 + t->off;
		f->len = t->len;
		snprintf(f->name, sizeof(f->name), "nvme %s sq %u sqe[%u].%s%s%s%s",
		    q->qid == 0 ? "admin" : "I/O", q->qid, (unsigned)i, t->name,
		    m ? " (" : "", m ? m : "", m ? ")" : "");
		return true;
	}
	return false;
}

static const struct hw_replay_layout dsm_fields[] = {	/* NVM Command Set 3.2.3 */
	{ 0, 4, "cattr" }, { 4, 4, "nlb" }, { 8, 8, "slba" }, { 0, 0, NULL },
};

/* Does a Dataset Management entry in q point at this slot page (else it
   holds a PRP list)? */
static bool
dsm_uses(const struct nvme_queue *q, uint64_t page)
{
	for (uint32_t i = 0; i < q->depth; i++) {
		const struct nvme_sqe *e = (const struct nvme_sqe *)q->sq.va + i;
		if (e->opc == NVME_CMD_DSM && e->prp1 == page)
			return true;
	}
	return false;
}

bool
nvme_dma_name(void *arg, uint64_t pa, struct hw_replay_field *f)
{
	const struct nvme_softc *sc = arg;
	char pre[64];
	if (sqe_name(&sc->aq, pa, f))
		return true;
	for (uint32_t k = 0; k < NVME_MAX_IOQ; k++) {
		const struct nvme_queue *q = &sc->ioq[k];
		if (sqe_name(q, pa, f))
			return true;
		if (q->prp.len != 0 && in(pa, q->prp.pa, (uint64_t)q->depth * PG)) {
			uint64_t o = pa - q->prp.pa, page = q->prp.pa + o / PG * PG;
			if (dsm_uses(q, page)) {
				snprintf(pre, sizeof(pre), "nvme I/O sq %u slot %u DSM range",
				    q->qid, (unsigned)(o / PG));
				return hw_replay_pick(dsm_fields, page, o % PG, pre, f);
			}
			f->pa = q->prp.pa + (o & ~7ULL);
			f->len = 8;
			snprintf(f->name, sizeof(f->name), "nvme I/O sq %u slot %u PRP list[%u]",
			    q->qid, (unsigned)(o / PG), (unsigned)(o % PG / 8));
			return true;
		}
	}
	if (sc->chain.len != 0 && in(pa, sc->chain.pa, (uint64_t)NVME_CHAIN_PAGES * PG)) {
		uint64_t o = pa - sc->chain.pa;
		f->pa = sc->chain.pa + (o & ~7ULL);
		f->len = 8;
		snprintf(f->name, sizeof(f->name), "nvme PRP chain page %u [%u]",
		    (unsigned)(o / PG), (unsigned)(o % PG / 8));
		return true;
	}
	return false;
}
