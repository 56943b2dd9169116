/*
 * ena_sim_int.h - what the two halves of the ENA simulator (ena_sim.c:
 * registers, admin, AENQ; ena_sim_io.c: TX and RX) share.  Test-internal.
 */
#ifndef TERN_TESTS_ENA_SIM_INT_H
#define TERN_TESTS_ENA_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/ena/ena_sim.h"

/* Record a protocol error (counted, first and last message kept). */
void esim_perr(struct ena_sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Is `a` a usable DMA address (non-zero, within the DMA width)? */
bool esim_addr_ok(struct ena_sim *s, uint64_t a, const char *what);
/* MSI-X vector `vec`: management gated by INTR_MASK, IO auto-masked. */
void esim_raise_irq(struct ena_sim *s, uint16_t vec);
/* A TX SQ doorbell: consume and transmit up to `tail`. */
void esim_tx_doorbell(struct ena_sim *s, struct esim_sq *sq, uint16_t tail);

#endif
