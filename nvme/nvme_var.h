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

struct nvme_queue {
	uint16_t qid, depth;
	struct hw_dma sq, cq;
	uint16_t sq_tail, cq_head;
	uint16_t sq_head;	/* as reported by the controller */
	uint8_t phase;
	uint32_t sq_db, cq_db;	/* doorbell offsets */
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
	char sn[21], mn[41], ebs_dev[33];
	uint32_t mdts_bytes;
	uint16_t oncs;
	bool vwc;
	struct nvme_queue aq, ioq;
	struct hw_dma ident;		/* 4 KiB identify buffer */
	struct hw_dma prp_pages;	/* one PRP list page per I/O slot */
	struct blk_req *inflight[NVME_IOQ_DEPTH];
	uint32_t nns;
	struct nvme_ns ns[NVME_MAX_NS];
	int unit;
	uint64_t bad_completions;
};

int nvme_attach_core(struct nvme_softc *sc, int unit);
void nvme_detach_core(struct nvme_softc *sc);
int nvme_reset(struct nvme_softc *sc);

#endif
