/*
 * ena.h - the AWS Elastic Network Adapter driver (PROTOCOLS.md A).
 *
 * A bus-independent core (ena.c: bring-up, admin queue, AENQ, features,
 * IO queues, reset and recovery; ena_datapath.c: TX incl. LLQ, RX) behind
 * kernel/dev/nic.h, and thin PCI glue (ena_pci.c).  Callers outside ena/
 * rely on:
 *  - ena_attach_core(sc, unit): sc->hw, sc->regs (BAR0), sc->llq_bar
 *    (BAR2, len 0 when absent), sc->readless, sc->nvec and sc->ncpus set
 *    by the bus glue; the rest of sc zeroed.  Brings the device up,
 *    registers NIC "ena<unit>" and prints the marker
 *    "TERN NIC name=ena0 driver=ena mac=... mtu=... queues=N llq=on|off".
 *    Returns TERN_OK or a negative tern_err with everything undone.
 *    Blocks for bounded device waits only (CAPS timeouts).
 *  - ena_detach_core(sc): unregisters the NIC and frees everything.
 *  - ena_intr(ctx = sc, vector): interrupt handler for every MSI-X entry
 *    (0 management, 1 + q for queue pair q; A.11): counts; vector 0
 *    marks the AENQ for the next poll of any queue.  The work is done by
 *    ops->poll; the IO vector stays masked (A.11 auto-mask) until the
 *    upper layer calls intr_enable(q, true) after its poll pass.
 *  - the counters of struct ena_stats ("ena.<field>" in /stats).
 */
#ifndef TERN_ENA_H
#define TERN_ENA_H

#include <stdint.h>

struct ena_softc;

struct ena_stats {
	uint64_t resets;		/* completed recoveries */
	uint64_t reset_failures;	/* recoveries that gave up */
	uint64_t admin_cmds;
	uint64_t admin_timeouts;	/* no completion within the CAPS bound */
	uint64_t admin_errors;		/* device status != success */
	uint64_t admin_bad_resp;	/* wrong command id, stray completion */
	uint64_t readless_timeouts;	/* A.3 response never came */
	uint64_t readless_bad;		/* response for another register */
	uint64_t aenq_events;
	uint64_t aenq_bad;		/* unknown group or disabled group */
	uint64_t keepalives;
	uint64_t keepalive_missed;	/* watchdog resets */
	uint64_t link_changes;
	uint64_t device_reset_requests;
	uint64_t fatal_errors;
	uint64_t bad_tx_req_id;		/* completion for a free/out-of-range id */
	uint64_t bad_rx_req_id;
	uint64_t bad_rx_cdesc;		/* MBZ bits, length, chain errors */
	uint64_t llq_hdr_too_big;	/* headers past the inline room: refused */
	uint64_t llq_entries;
	uint64_t tx_too_many_bufs;	/* frames over the descriptor limit */
	uint64_t tx_timeouts;		/* a TX completion never came: reset */
	uint64_t intrs;			/* MSI-X interrupts, every vector */
	uint64_t mgmt_intrs;		/* of them on vector 0 (admin/AENQ) */
};

int ena_attach_core(struct ena_softc *sc, int unit);
void ena_detach_core(struct ena_softc *sc);
void ena_intr(void *ctx, int vector);
/* Name/value pairs of sc's counters for /stats: calls fn for each. */
void ena_stats_foreach(const struct ena_softc *sc,
    void (*fn)(void *arg, const char *name, uint64_t v), void *arg);

#endif /* TERN_ENA_H */
