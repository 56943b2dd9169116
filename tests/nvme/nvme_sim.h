/*
 * nvme_sim.h - an NVMe controller simulator for host tests, written from
 * shared/PROTOCOLS.md C.9.  It is a struct hw_ops backend: the driver's
 * register accesses land here and commands run synchronously when a
 * submission doorbell is written.  Physical address == host address.
 */
#ifndef TERN_TESTS_NVME_SIM_H
#define TERN_TESTS_NVME_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hw/hw.h"

#define SIM_NQ		5	/* admin + up to four I/O pairs */
#define SIM_MAX_NS	2
#define SIM_STRAY_CID	0xfffe
#define SIM_STRAY_CAP	100000

struct sim_q {
	bool live;
	uint64_t base;
	uint16_t size, head, tail, cqid;
	uint8_t phase;		/* CQ: phase the device writes next */
	bool ien;		/* CQ: interrupts enabled */
	uint16_t iv;		/* CQ: MSI-X entry */
	uint64_t cmds;		/* SQ: commands taken */
};

struct nvme_sim {
	uint32_t cc, csts, aqa, intms;
	uint64_t asq, acq;
	struct sim_q sq[SIM_NQ], cq[SIM_NQ];
	bool amazon;
	uint32_t nns;
	uint64_t nsze[SIM_MAX_NS];
	uint8_t *disk[SIM_MAX_NS];	/* 512-byte blocks */
	uint8_t mdts;
	uint64_t now_ns;
	/* Fault injection: applied to the next I/O completion. */
	bool f_wrong_cid, f_drop, f_stale_phase;
	bool f_cfs_on_enable, f_never_ready;
	bool f_cfs_io;		/* next I/O command: not run, CSTS.CFS set */
	/* Stray completions: every command completes with a command id
	   nobody submitted (SIM_STRAY_CID) instead of its own, and each
	   time the driver acknowledges an entry (CQ head doorbell) another
	   stray follows, 1 ms of device time later.  Forever, as far as
	   the driver can tell: the flood stops only at stray_cap entries
	   (0: SIM_STRAY_CAP), so a driver that never gives up ends its
	   test with strays == cap instead of hanging it. */
	bool f_stray_cid;
	uint64_t strays, stray_cap;
	/* A failing attach step: the f_dma_fail_at-th DMA allocation from
	   now fails (1 = the next one; 0 = none). */
	uint32_t f_dma_fail_at;
	uint64_t pa_bias;		/* added by virt_to_phys (49-bit tests) */
	uint32_t grant_ioq;		/* Number of Queues answer; 0: SIM_NQ - 1 */
	uint16_t nvec;			/* MSI-X entries; a CQ asking for more fails */
	bool f_refuse_ien;		/* every CQ with IEN: Invalid Interrupt Vector */
	void (*irq)(void *ctx, int entry);	/* MSI-X message for an IEN CQ */
	void *irq_ctx;
	uint64_t irqs, dsm_ranges;
	uint64_t cmds, rejected_dma;
	uint64_t ndma;			/* live DMA allocations */
	/* Held completions: with hold_io, I/O commands run at the doorbell
	   as always but their completion entries wait here until the test
	   releases them, in any order, with nvme_sim_release. */
	bool hold_io;
	struct { uint16_t sqid, cid, status; } held[64];
	uint32_t nheld;
};

extern const struct hw_ops nvme_sim_ops;
void nvme_sim_init(struct nvme_sim *s, bool amazon, uint32_t nns, uint64_t nsze);
void nvme_sim_fini(struct nvme_sim *s);
/* Post the held completion of command `cid` on SQ `sqid`: 0, or -1 when
   none is held. */
int nvme_sim_release(struct nvme_sim *s, uint16_t sqid, uint16_t cid);

#endif
