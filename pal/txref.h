/*
 * txref.h - the transmit references a workload run has lent out.
 *
 * sock_send_ref queues workload memory by reference (zero copy): frames
 * in a NIC's TX ring point into the workload's image or heap until the
 * NIC completes them, which can be after the run ended.  The runtime
 * counts those references per run ("epoch") and, before it reuses the
 * image region or frees the run's memory, waits for the count to reach
 * zero (txref_drain), bounded.  Portable (kernel and host tests): needs
 * only the scheduler.
 */
#ifndef TERN_PAL_TXREF_H
#define TERN_PAL_TXREF_H

#include <stdint.h>

#include "pal/sched.h"

struct txref {
	uint32_t epoch;			/* the run being counted */
	uint32_t out;			/* its references not yet released */
	uint64_t taken, released;	/* totals, all epochs */
	uint64_t stale;			/* released after their run was given up */
	uint64_t abandoned;		/* references given up on by txref_drain */
	struct sched_event idle;	/* set whenever out == 0 */
};

void txref_init(struct txref *r);

/* The epoch a new socket records; its references are taken and put with
   it. */
static inline uint32_t txref_epoch(const struct txref *r) { return r->epoch; }

/* A reference was handed to the netstack.  One of an older epoch (its
   run is over) is not counted. */
void txref_take(struct txref *r, uint32_t epoch);

/* The netstack released a reference (the NIC is done with the frame).
   From the poll hook or a thread; wakes txref_drain when the last one of
   the current epoch comes back. */
void txref_put(struct sched *s, struct txref *r, uint32_t epoch);

/* From a thread: waits until every reference of the current epoch came
   back or `deadline` passes.  Returns 0 when all came back, else how many
   are still out; either way the epoch then advances, so later releases
   of those are counted as stale and never confuse the next run. */
uint32_t txref_drain(struct sched *s, struct txref *r, uint64_t deadline);

#endif /* TERN_PAL_TXREF_H */
