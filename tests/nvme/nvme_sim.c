/*
 * nvme_sim.c - NVMe controller simulator (see nvme_sim.h).
 * Registers per NVMe Base 2.0 3.1, queues 4.1/4.2/4.6, PRPs per C.6.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/nvme/nvme_sim.h"

#define PG 4096ULL

static struct nvme_sim *S(struct hw_dev *d) { return d->backend; }

void
nvme_sim_init(struct nvme_sim *s, bool amazon, uint32_t nns, uint64_t nsze)
{
	memset(s, 0, sizeof(*s));
	s->amazon = amazon;
	s->nns = nns;
	s->mdts = 5;		/* 128 KiB */
	for (uint32_t i = 0; i < nns; i++) {
		s->nsze[i] = nsze;
		s->disk[i] = calloc(nsze, 512);
	}
}

void
nvme_sim_fini(struct nvme_sim *s)
{
	for (uint32_t i = 0; i < s->nns; i++)
		free(s->disk[i]);
}

/* Walk a PRP description (C.6) and copy len bytes to/from buf. */
static int
prp_xfer(struct nvme_sim *s, uint64_t prp1, uint64_t prp2, uint8_t *buf,
    uint64_t len, bool to_host)
{
	uint64_t done = 0, list = 0;
	uint32_t li = 0;
	uint64_t addr = prp1;
	int n = 0;
	while (done < len) {
		if (n == 1) {
			uint64_t rest = len - done;
			if (rest <= PG)
				addr = prp2;
			else {
				list = prp2;
				li = 0;
			}
		}
		if (n >= 1 && list != 0) {
			uint64_t *l = (uint64_t *)(uintptr_t)(list & ~(PG - 1));
			uint32_t idx = (uint32_t)((list & (PG - 1)) / 8) + li;
			if (idx == 511 && len - done > PG) {	/* chain */
				list = l[511];
				li = 0;
				continue;
			}
			addr = l[idx];
			li++;
		}
		if (n >= 1 && (addr & (PG - 1)) != 0)
			return -1;
		if (addr == 0 || (s->amazon && addr >= (1ULL << 48))) {
			s->rejected_dma++;
			return -1;
		}
		if (addr >= s->pa_bias)
			addr -= s->pa_bias;
		uint64_t chunk = PG - (addr & (PG - 1));
		if (chunk > len - done)
			chunk = len - done;
		if (to_host)
			memcpy((void *)(uintptr_t)addr, buf + done, chunk);
		else
			memcpy(buf + done, (void *)(uintptr_t)addr, chunk);
		done += chunk;
		n++;
	}
	return 0;
}

static void
put_str(uint8_t *dst, const char *s, size_t n)
{
	memset(dst, ' ', n);
	memcpy(dst, s, strlen(s) < n ? strlen(s) : n);
}

static uint16_t
identify(struct nvme_sim *s, const uint8_t *e, uint64_t prp1, uint64_t prp2)
{
	uint8_t id[4096];
	uint32_t nsid, cns;
	memcpy(&nsid, e + 4, 4);
	memcpy(&cns, e + 40, 4);
	memset(id, 0, sizeof(id));
	cns &= 0xff;
	if (cns == 1) {
		uint16_t vid = s->amazon ? 0x1d0f : 0x1b36;
		memcpy(id, &vid, 2);
		put_str(id + 4, s->amazon ? "vol0abc123" : "TERNSIM1", 20);
		put_str(id + 0x18, s->amazon ? "Amazon Elastic Block Store" : "tern sim", 40);
		id[0x4d] = s->mdts;
		memcpy(id + 0x204, &s->nns, 4);
		id[0x20d] = 1;	/* VWC */
		id[0x208] = 1u << 3 | 1u << 2;	/* ONCS: Write Zeroes, DSM */
		if (s->amazon)
			memcpy(id + 0xc00, "/dev/sdf", 8);
	} else if (cns == 0) {
		if (nsid == 0 || nsid > s->nns)
			return 0x0b;	/* invalid namespace */
		memcpy(id, &s->nsze[nsid - 1], 8);
		memcpy(id + 8, &s->nsze[nsid - 1], 8);
		id[0x19] = 0;	/* one format */
		id[0x1a] = 0;
		uint32_t lbaf = 9u << 16;
		memcpy(id + 0x80, &lbaf, 4);
	} else if (cns == 2) {
		for (uint32_t i = 0; i < s->nns; i++) {
			uint32_t v = i + 1;
			memcpy(id + 4 * i, &v, 4);
		}
	} else {
		return 0x02;	/* invalid field */
	}
	return prp_xfer(s, prp1, prp2, id, 4096, true) ? 0x04 : 0;
}

/* Write one entry on completion queue cqid for submission queue sqid. */
static void
post(struct nvme_sim *s, uint16_t cqid, uint16_t sqid, uint16_t cid, uint16_t status,
    uint32_t dw0)
{
	struct sim_q *sq = &s->sq[sqid], *cq = &s->cq[cqid];
	uint8_t *ent = (uint8_t *)(uintptr_t)(cq->base + (uint64_t)cq->tail * 16);
	uint16_t sf = (uint16_t)(status << 1 | cq->phase);
	memcpy(ent, &dw0, 4);
	memset(ent + 4, 0, 4);
	memcpy(ent + 8, &sq->head, 2);
	memcpy(ent + 10, &sqid, 2);
	memcpy(ent + 12, &cid, 2);
	memcpy(ent + 14, &sf, 2);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	if (cq->ien && s->irq != NULL) {
		s->irqs++;
		s->irq(s->irq_ctx, cq->iv);
	}
}

static void
complete(struct nvme_sim *s, uint16_t sqid, uint16_t cid, uint16_t status, uint32_t dw0)
{
	post(s, s->sq[sqid].cqid, sqid, cid, status, dw0);
}

/* One more stray completion on CQ qid (its SQ has the same id), unless
   the flood reached its cap. */
static void
stray(struct nvme_sim *s, uint16_t qid)
{
	if (s->strays >= (s->stray_cap ? s->stray_cap : SIM_STRAY_CAP))
		return;
	s->strays++;
	s->now_ns += 1000000;
	post(s, qid, qid, SIM_STRAY_CID, 0, 0);
}

static uint16_t
admin(struct nvme_sim *s, const uint8_t *e, uint32_t *dw0)
{
	uint64_t prp1, prp2;
	uint32_t c10, c11;
	memcpy(&prp1, e + 24, 8);
	memcpy(&prp2, e + 32, 8);
	memcpy(&c10, e + 40, 4);
	memcpy(&c11, e + 44, 4);
	uint16_t qid = c10 & 0xffff, qs = (uint16_t)((c10 >> 16) + 1);
	switch (e[0]) {
	case 0x06:
		return identify(s, e, prp1, prp2);
	case 0x09:
	case 0x0a:
		if ((c10 & 0xff) != 0x07)
			return 0x02;
	{
		/* Grant what was asked for, up to what we have (0-based). */
		uint32_t have = s->grant_ioq ? s->grant_ioq : SIM_NQ - 1;
		uint32_t nsq = (c11 & 0xffff) + 1, ncq = (c11 >> 16) + 1;
		nsq = nsq < have ? nsq : have;
		ncq = ncq < have ? ncq : have;
		*dw0 = (ncq - 1) << 16 | (nsq - 1);
		return 0;
	}
	case 0x05:	/* create I/O CQ */
		if (qid == 0 || qid >= SIM_NQ || s->cq[qid].live)
			return 0x101;	/* invalid queue identifier */
		if ((c11 & 2) && (s->f_refuse_ien || (c11 >> 16) >= s->nvec))
			return 0x108;	/* invalid interrupt vector */
		s->cq[qid] = (struct sim_q){ .live = true, .base = prp1, .size = qs, .phase = 1,
			.ien = (c11 & 2) != 0, .iv = (uint16_t)(c11 >> 16) };
		return 0;
	case 0x01:	/* create I/O SQ */
		if (qid == 0 || qid >= SIM_NQ || s->sq[qid].live)
			return 0x101;
		if (!s->cq[c11 >> 16].live || (c11 >> 16) == 0)
			return 0x100;	/* completion queue invalid */
		s->sq[qid] = (struct sim_q){ .live = true, .base = prp1, .size = qs,
			.cqid = (uint16_t)(c11 >> 16) };
		return 0;
	case 0x00:
		if (qid == 0 || qid >= SIM_NQ) return 0x101;
		s->sq[qid].live = false;
		return 0;
	case 0x04:
		if (qid == 0 || qid >= SIM_NQ) return 0x101;
		s->cq[qid].live = false;
		return 0;
	}
	return 0x01;	/* invalid opcode */
}

static uint16_t
io(struct nvme_sim *s, const uint8_t *e)
{
	uint32_t nsid, c10, c11, c12;
	uint64_t prp1, prp2;
	memcpy(&nsid, e + 4, 4);
	memcpy(&prp1, e + 24, 8);
	memcpy(&prp2, e + 32, 8);
	memcpy(&c10, e + 40, 4);
	memcpy(&c11, e + 44, 4);
	memcpy(&c12, e + 48, 4);
	if (nsid == 0 || nsid > s->nns)
		return 0x0b;
	uint64_t slba = (uint64_t)c11 << 32 | c10;
	uint64_t nlb = (c12 & 0xffff) + 1ULL;
	uint8_t *disk = s->disk[nsid - 1];
	switch (e[0]) {
	case 0x00:
		return 0;
	case 0x09: {	/* Dataset Management */
		uint32_t nr = (c10 & 0xff) + 1;
		uint8_t rg[256 * 16];
		if (prp_xfer(s, prp1, prp2, rg, nr * 16, false))
			return 0x04;
		for (uint32_t i = 0; i < nr; i++) {
			uint32_t n;
			uint64_t lba;
			memcpy(&n, rg + 16 * i + 4, 4);
			memcpy(&lba, rg + 16 * i + 8, 8);
			if (lba >= s->nsze[nsid - 1] || n > s->nsze[nsid - 1] - lba)
				return 0x80;
			if (c11 & 4)	/* deallocated blocks read back as zeroes */
				memset(disk + lba * 512, 0, (uint64_t)n * 512);
			s->dsm_ranges++;
		}
		return 0;
	}
	case 0x01:
	case 0x02:
	case 0x08:
		if (slba >= s->nsze[nsid - 1] || nlb > s->nsze[nsid - 1] - slba)
			return 0x80;	/* LBA out of range */
		if (e[0] == 0x08) {
			memset(disk + slba * 512, 0, nlb * 512);
			return 0;
		}
		if (nlb * 512 > (PG << s->mdts))
			return 0x02;
		if (prp_xfer(s, prp1, prp2, disk + slba * 512, nlb * 512, e[0] == 0x02))
			return 0x04;	/* data transfer error */
		return 0;
	}
	return 0x01;
}

static void
ring_sq(struct nvme_sim *s, uint16_t qid, uint16_t tail)
{
	struct sim_q *sq = &s->sq[qid];
	if (!sq->live || tail >= sq->size)
		return;
	sq->tail = tail;
	while (sq->head != sq->tail) {
		uint8_t e[64];
		memcpy(e, (void *)(uintptr_t)(sq->base + (uint64_t)sq->head * 64), 64);
		sq->head = (uint16_t)((sq->head + 1) % sq->size);
		uint16_t cid;
		memcpy(&cid, e + 2, 2);
		if (qid != 0 && s->f_cfs_io) {
			s->f_cfs_io = false;
			s->csts |= 2;	/* fatal: this and the rest are lost */
			return;
		}
		uint32_t dw0 = 0;
		uint16_t st = qid == 0 ? admin(s, e, &dw0) : io(s, e);
		s->cmds++;
		sq->cmds++;
		if (qid != 0 && s->f_drop) {
			s->f_drop = false;
			continue;
		}
		if (qid != 0 && s->f_stale_phase) {
			s->f_stale_phase = false;
			s->cq[sq->cqid].phase ^= 1;
			complete(s, qid, cid, st, dw0);
			s->cq[sq->cqid].phase ^= 1;
			s->cq[sq->cqid].tail = (uint16_t)((s->cq[sq->cqid].tail +
			    s->cq[sq->cqid].size - 1) % s->cq[sq->cqid].size);
			continue;
		}
		if (s->f_stray_cid) {
			stray(s, qid);	/* instead of the real completion */
			continue;
		}
		if (qid != 0 && s->f_wrong_cid) {
			s->f_wrong_cid = false;
			complete(s, qid, (uint16_t)(cid + 40), 0, 0);	/* bogus */
		}
		if (qid != 0 && s->hold_io && s->nheld < 64) {
			s->held[s->nheld].sqid = qid;
			s->held[s->nheld].cid = cid;
			s->held[s->nheld++].status = st;
			continue;
		}
		complete(s, qid, cid, st, dw0);
	}
}

int
nvme_sim_release(struct nvme_sim *s, uint16_t sqid, uint16_t cid)
{
	for (uint32_t i = 0; i < s->nheld; i++) {
		if (s->held[i].sqid != sqid || s->held[i].cid != cid)
			continue;
		uint16_t st = s->held[i].status;
		s->held[i] = s->held[--s->nheld];
		complete(s, sqid, cid, st, 0);
		return 0;
	}
	return -1;
}

static uint64_t
sim_read(struct hw_bar *b, uint32_t off, int width)
{
	struct nvme_sim *s = S(b->dev);
	switch (off) {
	case 0x00: {
		/* MQES 63, CQR, TO 2 (1 s), DSTRD 0, CSS NVM, MPSMIN 0 */
		uint64_t cap = 63 | 1ULL << 16 | 2ULL << 24 | 1ULL << 37;
		return width == 8 ? cap : (uint32_t)cap;
	}
	case 0x04: return 0;
	case 0x08: return 0x00020000;
	case 0x0c: return s->intms;
	case 0x14: return s->cc;
	case 0x1c: return s->csts;
	case 0x24: return s->aqa;
	}
	return 0;
}

static void
sim_write(struct hw_bar *b, uint32_t off, int width, uint64_t v)
{
	struct nvme_sim *s = S(b->dev);
	if (off >= 0x1000) {
		uint32_t idx = (off - 0x1000) / 4;
		uint16_t qid = (uint16_t)(idx / 2);
		if (qid >= SIM_NQ || (s->csts & 3) != 1)
			return;
		if (idx & 1) {
			s->cq[qid].head = (uint16_t)v;
			if (s->f_stray_cid && s->cq[qid].live)
				stray(s, qid);
		} else
			ring_sq(s, qid, (uint16_t)v);
		return;
	}
	switch (off) {
	case 0x0c: s->intms |= (uint32_t)v; break;
	case 0x24: s->aqa = (uint32_t)v; break;
	case 0x28: s->asq = (s->asq & ~0xffffffffULL) | (uint32_t)v; break;
	case 0x2c: s->asq = (s->asq & 0xffffffffULL) | v << 32; break;
	case 0x30: s->acq = (s->acq & ~0xffffffffULL) | (uint32_t)v; break;
	case 0x34: s->acq = (s->acq & 0xffffffffULL) | v << 32; break;
	case 0x14: {
		uint32_t old = s->cc;
		s->cc = (uint32_t)v;
		if ((v & 1) && !(old & 1)) {
			memset(s->sq, 0, sizeof(s->sq));
			memset(s->cq, 0, sizeof(s->cq));
			s->sq[0] = (struct sim_q){ .live = true, .base = s->asq,
				.size = (uint16_t)((s->aqa & 0xfff) + 1) };
			s->cq[0] = (struct sim_q){ .live = true, .base = s->acq,
				.size = (uint16_t)(((s->aqa >> 16) & 0xfff) + 1), .phase = 1 };
			s->csts = s->f_cfs_on_enable ? 2 : s->f_never_ready ? 0 : 1;
		} else if (!(v & 1)) {
			s->csts = 0;
			s->nheld = 0;	/* a disabled controller forgets them */
		}
		if ((v >> 14) & 3)
			s->csts = (s->csts & ~0xcu) | 2u << 2;	/* shutdown complete */
		break;
	}
	}
}

static int
sim_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	size_t n = (len + PG - 1) & ~(PG - 1);
	if (S(d)->f_dma_fail_at != 0 && --S(d)->f_dma_fail_at == 0)
		return -1;
	void *p = aligned_alloc(align < PG ? PG : align, n);
	if (p == NULL)
		return -1;
	memset(p, 0, n);
	out->va = p;
	out->pa = (uint64_t)(uintptr_t)p;
	out->len = len;
	S(d)->ndma++;
	return 0;
}

static void
sim_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	if (dma->va == NULL)
		return;
	free(dma->va);
	dma->va = NULL;
	S(d)->ndma--;
}

static uint64_t sim_v2p(struct hw_dev *d, const void *va) { return (uint64_t)(uintptr_t)va + S(d)->pa_bias; }
static void sim_sync(struct hw_dev *d, const void *va, size_t len) { }
static uint64_t sim_now(struct hw_dev *d) { return S(d)->now_ns; }
static void sim_delay(struct hw_dev *d, uint32_t us) { S(d)->now_ns += (uint64_t)us * 1000; }

const struct hw_ops nvme_sim_ops = {
	.read = sim_read,
	.write = sim_write,
	.dma_alloc = sim_dma_alloc,
	.dma_free = sim_dma_free,
	.virt_to_phys = sim_v2p,
	.dma_sync_cpu = sim_sync,
	.dma_sync_dev = sim_sync,
	.now_ns = sim_now,
	.delay_us = sim_delay,
};
