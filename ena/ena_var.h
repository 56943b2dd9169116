/*
 * ena_var.h - ENA driver state (internal to ena/ and its tests).
 *
 * One softc per device: register windows, the admin queue and AENQ, the
 * negotiated device limits, and up to ENA_MAX_QUEUES TX/RX queue pairs.
 * Rings, buffers and the nic_buf tables are allocated once at attach and
 * kept across a device reset, so receive buffers the upper layer still
 * holds stay valid and the NIC keeps its registration (PROTOCOLS.md A.4).
 */
#ifndef TERN_ENA_VAR_H
#define TERN_ENA_VAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ena/ena.h"
#include "ena/ena_reg.h"
#include "kernel/dev/nic.h"
#include "kernel/hw/hw.h"

#define ENA_MAX_QUEUES		4	/* build-time limit on queue pairs */
#define ENA_RING_MAX		256	/* entries per IO ring (power of two) */
#define ENA_AQ_DEPTH		32	/* A.4 step 7 */
#define ENA_AENQ_DEPTH		16
#define ENA_RX_BUF		2048	/* bytes per receive buffer */
#define ENA_TX_MAX_BUFS		16	/* buffers of one frame (< 19, A.6.3) */
#define ENA_ADMIN_TO_DEFAULT_MS	3000	/* A.4 step 4 */
#define ENA_KEEPALIVE_DEFAULT_MS 6000	/* A.4 keep-alive */
#define ENA_TX_TIMEOUT_DEFAULT_MS 5000	/* missing TX completion (A.6.6 hint) */
#define ENA_READLESS_SPINS	200000	/* A.3 step 2, 1 us each */
#define ENA_MTU_MAX		9001	/* largest L3 MTU we carry */
#define ENA_DRV_VERSION		0x67000100u	/* 'g' module type, 0.1.0 */

struct ena_tx_slot {
	struct nic_buf *chain;	/* NULL: req_id free */
	uint16_t ndesc;		/* ring units it used (descs or LLQ entries) */
	uint64_t sent_ns;	/* when it was handed to the device */
};

struct ena_txq {
	uint16_t depth;
	uint16_t sq_idx, cq_idx;	/* device indices (A.7 responses) */
	uint32_t db_off, unmask_off, llq_off;
	struct hw_dma sq, cq;		/* sq unused in LLQ mode */
	uint16_t tail;			/* running producer counter */
	uint8_t sq_phase;
	uint16_t cq_head;
	uint8_t cq_phase;
	uint16_t used;			/* ring units outstanding */
	uint16_t since_db;		/* LLQ entries since the last doorbell */
	uint16_t free_ids[ENA_RING_MAX];
	uint16_t nfree;
	struct ena_tx_slot slot[ENA_RING_MAX];
	bool live;
	bool intr_on;			/* upper layer wants the interrupt */
};

/* Where a receive buffer is (struct ena_rxq.state). */
#define ENA_RXB_FREE	0	/* ours, ready to post */
#define ENA_RXB_DEVICE	1	/* posted */
#define ENA_RXB_FRAME	2	/* part of a frame being assembled */
#define ENA_RXB_LENT	3	/* handed to the upper layer */

struct ena_rxq {
	uint16_t depth;
	uint16_t sq_idx, cq_idx;
	uint32_t db_off, unmask_off;
	struct hw_dma sq, cq, bufs;
	uint16_t tail;
	uint8_t sq_phase;
	uint16_t cq_head;
	uint8_t cq_phase;
	uint16_t posted;		/* buffers the device holds */
	uint16_t free_ids[ENA_RING_MAX];	/* buffers ready to post */
	uint16_t nfree;
	uint8_t state[ENA_RING_MAX];	/* ENA_RXB_*, by req_id */
	struct nic_buf nb[ENA_RING_MAX];
	struct nic_buf *head, *last;	/* a multi-buffer frame in progress */
	struct ena_softc *sc;
	bool live;
};

struct ena_softc {
	struct hw_dev hw;
	struct hw_bar regs;		/* BAR0 */
	struct hw_bar llq_bar;		/* BAR2, write-combining; len 0: none */
	bool readless;			/* A.3: register reads through DMA */
	uint16_t nvec;			/* MSI-X entries bound (0: polled) */
	uint16_t ncpus;			/* reported in host info */
	uint16_t bdf;
	int unit;

	struct hw_dma mmio_resp;
	uint16_t mmio_seq;

	uint32_t caps;
	uint32_t reset_to_ms, admin_to_ms;
	uint8_t dma_width;

	/* Admin queue (A.5). */
	struct hw_dma aq, acq;
	uint16_t aq_tail;
	uint8_t aq_phase;
	uint16_t acq_head;
	uint8_t acq_phase;
	uint16_t cmd_seq;
	bool admin_dead;		/* a command timed out: reset needed */

	/* AENQ (A.10). */
	struct hw_dma aenq;
	uint16_t aenq_head;		/* running counter, starts at depth */
	uint8_t aenq_phase;
	uint32_t aenq_groups;
	volatile bool aenq_irq;		/* vector 0 fired: walk the AENQ */

	struct hw_dma host_info;

	/* Device limits (A.6). */
	uint32_t features, capabilities;
	uint32_t max_mtu;
	uint16_t max_queues, tx_depth, rx_depth;
	uint16_t max_tx_descs, max_rx_descs;
	uint32_t max_tx_header;
	uint32_t off_tx, off_rx;

	/* LLQ (A.9). */
	bool llq;
	uint16_t llq_entry;		/* bytes per entry */
	uint16_t llq_inline;		/* header bytes that fit */
	uint16_t llq_burst;		/* entries per doorbell, 0: no limit */

	uint16_t nq;
	struct ena_txq txq[ENA_MAX_QUEUES];
	struct ena_rxq rxq[ENA_MAX_QUEUES];

	/* Watchdog and recovery (A.4 keep-alive, A.10). */
	uint64_t last_keepalive_ns;
	uint64_t keepalive_to_ns;	/* 0: no watchdog */
	uint64_t tx_to_ns;		/* missing TX completion, 0: none */
	uint8_t reset_reason;
	bool reset_pending;
	bool dead;			/* recovery failed: NIC stays quiet */
	uint32_t reset_tries;
	uint64_t last_reset_try_ns;
	uint64_t last_sts_check_ns;

	struct nic nic;
	bool registered;
	struct ena_stats st;
};

static inline uint64_t
ena_ms_ns(uint32_t ms)
{
	return (uint64_t)ms * 1000000ULL;
}

/* ena_admin.c: registers, reset and the admin queue. */
uint32_t ena_reg_read(struct ena_softc *sc, uint32_t off);
void ena_reg_write(struct ena_softc *sc, uint32_t off, uint32_t v);
void ena_mem_addr(struct ena_mem_addr *a, uint64_t pa);
void ena_set_mmio_resp(struct ena_softc *sc);
int ena_dev_reset(struct ena_softc *sc, uint8_t reason);
/* One command (64 bytes, header filled in here); the completion into
   resp (MAY be NULL).  TERN_OK, TERN_ENOTSUP, TERN_EIO, TERN_ETIMEDOUT. */
int ena_admin_exec(struct ena_softc *sc, void *cmd, struct ena_acq_entry *resp);
bool ena_feature_ok(const struct ena_softc *sc, uint8_t id);
int ena_get_feature(struct ena_softc *sc, uint8_t id, uint8_t ver, void *out, size_t len);
int ena_set_feature(struct ena_softc *sc, uint8_t id, uint8_t ver, const void *in,
    size_t len);

/* ena.c: the control path shared with the datapath. */
void ena_request_reset(struct ena_softc *sc, uint8_t reason, const char *why);
void ena_service(struct ena_softc *sc);
void ena_aenq_process(struct ena_softc *sc);

/* ena_datapath.c. */
int ena_tx(struct nic *n, int queue, struct nic_buf *chain,
    const struct nic_tx_meta *meta);
int ena_poll(struct nic *n, int queue, int budget);
bool ena_rx_pending(struct nic *n, int queue);
void ena_intr_enable(struct nic *n, int queue, bool on);
void ena_rx_fill(struct ena_softc *sc, struct ena_rxq *rq);
void ena_rx_ring_reset(struct ena_softc *sc, struct ena_rxq *rq);
void ena_tx_ring_reset(struct ena_softc *sc, struct ena_txq *tq);

#endif /* TERN_ENA_VAR_H */
