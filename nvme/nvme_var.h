/*
 * nvme_var.h - NVMe driver state.
 */
#ifndef TERN_NVME_VAR_H
#define TERN_NVME_VAR_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/dev/blk.h"
#include "kernel/hw/hw.h"
#include "nvme/nvme_reg.h"

#define NVME_AQ_DEPTH	32
#define NVME_IOQ_DEPTH	64
#define NVME_MAX_NS	4
#define NVME_MAX_IOQ	4	/* I/O queue pairs: one per CPU, up to this */
/* Largest transfer we offer even when MDTS allows more (or is 0). */
#define NVME_MAX_XFER	(8u << 20)
/* Extra PRP list pages shared by a controller's commands whose list does
   not fit the slot's own page (transfers above 2 MiB). */
#define NVME_CHAIN_PAGES 16

struct nvme_queue {
	uint16_t qid, depth;
	struct hw_dma sq, cq;
	uint16_t sq_tail, cq_head;
	uint16_t sq_head;	/* as reported by the controller */
	uint8_t phase;
	uint32_t sq_db, cq_db;	/* doorbell offsets */
	/* I/O queues only. */
	struct hw_dma prp;	/* one PRP list page per command slot */
	struct blk_req *inflight[NVME_IOQ_DEPTH];	/* by command id */
	uint16_t iv;		/* MSI-X entry of its CQ */
	bool ien;		/* CQ created with interrupts enabled */
};

struct nvme_softc;

struct nvme_ns {
	struct blk_dev blk;
	struct nvme_softc *sc;
	uint32_t nsid;
	uint32_t lba_shift;
};

struct nvme_softc {
	struct hw_dev hw;
	struct hw_bar regs;
	uint64_t cap;
	uint32_t dstrd;
	uint64_t timeout_ns;	/* CAP.TO */
	bool amazon;
	bool broken;
	bool detached;
	char sn[21], mn[41], ebs_dev[33];
	uint32_t mdts_bytes;
	uint16_t oncs;
	bool vwc;
	uint16_t iodepth;
	uint16_t admin_cid;		/* last admin command id */
	struct nvme_queue aq, ioq[NVME_MAX_IOQ];
	uint32_t nioq;			/* I/O queue pairs in use */
	struct hw_dma ident;		/* 4 KiB identify buffer */
	struct hw_dma chain;		/* NVME_CHAIN_PAGES list pages */
	uint32_t chain_used;		/* bitmap of chain pages taken */
	uint32_t nns;
	struct nvme_ns ns[NVME_MAX_NS];
	int unit;
	uint64_t bad_completions;

	/* Set by the bus glue before nvme_attach_core. */
	uint32_t want_ioq;		/* queue pairs to ask for (CPUs); 0 = 1 */
	uint16_t nvec;			/* MSI-X entries for I/O CQs; 0 = polled */
	uint64_t intrs;			/* completion interrupts taken */
};

int nvme_attach_core(struct nvme_softc *sc, int unit);
/* Unregisters every namespace, shuts down (bounded by CAP.TO), frees;
   idempotent. */
void nvme_detach_core(struct nvme_softc *sc);
void nvme_blk_detach(struct blk_dev *d);	/* blk_ops.detach */
int nvme_reset(struct nvme_softc *sc);
/* MSI-X handler for any I/O CQ entry: counts; poll does the work. */
void nvme_intr(void *ctx, int vector);
int nvme_submit(struct nvme_softc *sc, struct nvme_queue *q, const struct nvme_sqe *e);
/* Count a completion the controller should not have posted; true when
   it deserves a log line (powers of two of the running count). */
bool nvme_bad_completion(struct nvme_softc *sc);
bool nvme_next_cqe(struct nvme_softc *sc, struct nvme_queue *q, struct nvme_cqe *out);
/* Complete every I/O command in flight with `status` (TERN_ECANCELED on
   detach); only once the controller stopped.  Returns how many. */
int nvme_cancel_all(struct nvme_softc *sc, int status);

#endif
