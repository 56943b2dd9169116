/*
 * ena_sim.h - a strict ENA device simulator for host tests, written from
 * shared/PROTOCOLS.md section A (A.12 checklist).  It is a struct hw_ops
 * backend: BAR0 register accesses (window index 0) and LLQ writes into
 * BAR2 (index 2, hw_write_block only) land here; admin commands run when
 * AQ_DB is written, TX runs when an SQ doorbell is written, frames reach
 * the driver when a test injects them (ena_sim_rx).  Physical address ==
 * host address.  Time is virtual (delay_us advances it).
 *
 * Strict: every field the driver gets wrong (phase, command id, reserved
 * flags, unsupported feature, depth, direction, doorbell beyond what was
 * written, partial LLQ entry, burst limit, req_id, address width,
 * checksum metadata, ...) is recorded as a protocol error: perrs counts
 * them and perr_first/perr_last hold the messages, so a test asserts
 * perrs == 0 after correct traffic and perrs > 0 for a broken driver.
 */
#ifndef TERN_TESTS_ENA_SIM_H
#define TERN_TESTS_ENA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hw/hw.h"

#define ESIM_MAXQ		8	/* device queues of each kind */
#define ESIM_MAX_DEPTH		256
#define ESIM_AQ_MAX		64
#define ESIM_WIRE_MAX		64	/* frames kept on the TX wire */
#define ESIM_FRAME_MAX		9100
#define ESIM_DB_BASE		0x1000	/* SQ doorbells: + 4 * sq_idx */
#define ESIM_UNMASK_BASE	0x2000	/* unmask registers: + 4 * vector */
#define ESIM_BAR0_LEN		0x4000
#define ESIM_NVEC		(1 + ESIM_MAXQ)
/* What ena_sim.mangle is shown. */
#define ESIM_M_REG		0	/* a register value (plain or read-less) */
#define ESIM_M_ACQ		1	/* an admin completion entry */
#define ESIM_M_AENQ		2	/* an AENQ entry */
#define ESIM_M_TXC		3	/* a TX completion */
#define ESIM_M_RXC		4	/* an RX completion */

struct esim_cq {
	bool live;
	uint64_t base;
	uint16_t depth, tail;
	uint8_t phase, words;
	uint16_t vec;
	int sq;			/* bound SQ or -1 */
};

struct esim_sq {
	bool live;
	uint8_t dir, place;
	uint64_t base;
	uint16_t depth, cq;
	uint16_t head, tail;	/* running: consumed, doorbell */
	uint32_t llq_off;
	uint16_t since_db;	/* LLQ entries written since the doorbell */
	uint32_t llq_written[ESIM_MAX_DEPTH];	/* LLQ writes per entry slot */
};

struct esim_frame {
	uint8_t data[ESIM_FRAME_MAX];
	uint32_t len;
	uint16_t sq;
};

struct ena_sim_cfg {
	uint8_t mac[6];
	uint32_t max_mtu;
	uint16_t nq;			/* queue pairs offered */
	uint16_t depth;			/* max SQ/CQ depth */
	bool readless;			/* answers MMIO_REG_READ */
	bool llq;			/* offers feature 4 */
	bool llq_large;			/* recommends 256-byte entries */
	uint16_t burst;			/* max_tx_burst_size bytes (0: no limit flag) */
	bool max_queues_ext;		/* feature 7, else 2 */
	uint8_t admin_to;		/* CAPS 19:16 */
	uint8_t reset_to;		/* CAPS 5:1 */
	uint8_t dma_width;
	uint32_t offload_tx, offload_rx;
	uint16_t watchdog_ms;		/* HW_HINTS driver_watchdog_timeout */
	uint16_t max_tx_descs, max_rx_descs;
	bool msix_off;			/* the function has no MSI-X (polled
					   fallback): nothing is delivered, an
					   unmask or INTR_MASK = 0 is an error */
};

struct ena_sim {
	struct ena_sim_cfg cfg;
	uint64_t now_ns;

	/* Registers. */
	uint32_t dev_sts, intr_mask, reset_reason;
	uint64_t aq_base, acq_base, aenq_base, mmio_resp;
	uint32_t aq_caps, acq_caps, aenq_caps;
	uint16_t aq_head;		/* running: entries consumed */
	uint16_t acq_tail;
	uint8_t acq_phase;
	uint16_t aenq_tail, aenq_head_db;
	uint8_t aenq_phase;
	bool admin_up;

	/* Feature state. */
	uint32_t aenq_enabled;
	bool llq_on;
	uint16_t llq_entry;
	uint16_t llq_accel;
	uint32_t mtu;
	uint8_t host_info[196];
	bool host_info_set;

	struct esim_cq cq[ESIM_MAXQ * 2];
	struct esim_sq sq[ESIM_MAXQ * 2];
	uint8_t *llq_mem;
	uint32_t llq_len;

	/* Interrupts: IO vectors auto-mask until the unmask write (A.11). */
	bool vec_masked[ESIM_NVEC];
	bool vec_pending[ESIM_NVEC];
	uint64_t irqs[ESIM_NVEC];		/* delivered */
	uint64_t unmask_writes[ESIM_NVEC];	/* with bit 30 set */
	void (*irq)(void *ctx, int vec);
	void *irq_ctx;

	/* Wire.  With on_tx set, transmitted frames go there (a TAP in
	   ternsim) instead of into wire[]. */
	void (*on_tx)(void *ctx, const uint8_t *frame, uint32_t len);
	void *on_tx_ctx;
	struct esim_frame wire[ESIM_WIRE_MAX];
	uint32_t nwire;
	uint64_t tx_frames, rx_frames, rx_nobuf, aenq_dropped;
	uint64_t admin_cmds, resets, readless_reads, plain_reads;
	uint64_t ndma;

	/* Hostile mode (fuzzing): when set, called on every value the
	   driver is about to read (ESIM_M_*), which it may change. */
	void (*mangle)(void *ctx, int kind, void *p, size_t len);
	void *mangle_ctx;

	/* Protocol errors. */
	uint64_t perrs;
	char perr_first[200], perr_last[200];
	bool quiet;			/* do not print them */

	/* Faults on demand (each applies once unless noted). */
	uint32_t f_admin_drop;		/* swallow the next N admin commands */
	bool f_admin_bad_id;		/* a stray completion before the real one */
	uint8_t f_admin_fail_op;	/* fail the next command of this opcode */
	uint8_t f_admin_fail_status;
	bool f_readless_dead;		/* never answer MMIO_REG_READ */
	bool f_tx_bad_req_id;
	bool f_tx_lose;			/* the next frame goes out, its completion never */
	bool f_rx_bad_req_id;
	bool f_rx_stale_phase;
	bool f_rx_mbz;
	bool f_rx_csum_bad;
	uint32_t f_reset_after_tx;	/* after N frames: AENQ DEVICE_REQUEST_RESET */
	uint32_t f_dma_fail_at;
	/* Countdowns (1 = the next one; 0 = off): the k-th admin command
	   fails with f_admin_fail_status (or "unknown error") / is never
	   completed; the k-th read-less read is never answered. */
	uint32_t f_admin_fail_at, f_admin_drop_at, f_readless_drop_at;
	bool f_never_reset;		/* RESET_IN_PROGRESS never rises */
};

extern const struct hw_ops ena_sim_ops;
void ena_sim_default_cfg(struct ena_sim_cfg *c);
void ena_sim_init(struct ena_sim *s, const struct ena_sim_cfg *c);
void ena_sim_fini(struct ena_sim *s);
/* Bind a softc's seam to the simulator: hw, regs (index 0) and, when the
   simulator has LLQ memory, llq (index 2). */
void ena_sim_bind(struct ena_sim *s, struct hw_dev *hw, struct hw_bar *regs,
    struct hw_bar *llq);

/* A frame from the wire to RX queue pair `pair`; 0 when delivered, -1
   when the driver had not posted enough buffers (counted in rx_nobuf). */
int ena_sim_rx(struct ena_sim *s, uint16_t pair, const void *frame, uint32_t len);
/* Receive descriptors the driver has posted on pair `pair` (0: none). */
uint32_t ena_sim_rx_room(struct ena_sim *s, uint16_t pair);
/* Post an AENQ event; 0, or -1 when the group is disabled or the
   queue is full. */
int ena_sim_aenq(struct ena_sim *s, uint16_t group, uint16_t syndrome,
    const void *payload, uint32_t len);
int ena_sim_keepalive(struct ena_sim *s);
int ena_sim_link(struct ena_sim *s, bool up);
/* Pop the oldest transmitted frame into buf (up to cap); its length, or
   -1 when the wire is empty. */
int ena_sim_wire_pop(struct ena_sim *s, void *buf, uint32_t cap);

#endif
