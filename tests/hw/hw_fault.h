/*
 * hw_fault.h - fault-injecting wrapper around another hardware-seam
 * backend (host only), after SQLite's test_vfs: every call goes to the
 * inner backend until a countdown of calls of the chosen kind reaches
 * zero; from then on (or once, for HW_FAULT_ONCE) the fault applies:
 *   HW_FAULT_READ_ONES   register, config and MSR reads and CPUID
 *                        return all-ones (device gone)
 *   HW_FAULT_TIME_JUMP   hw_now_ns jumps 10 s ahead on every read
 *                        (every bounded wait times out)
 *   HW_FAULT_DMA_ALLOC   hw_dma_alloc fails with TERN_ENOMEM
 *   HW_FAULT_SYNC_BYTES  bytes handed over by hw_dma_sync_cpu are
 *                        corrupted (each byte xor 0xa5 after the inner
 *                        backend filled them)
 *   HW_FAULT_RAND        hw_rand reports no value (the CPU asks for a
 *                        retry), without asking the inner backend
 *   HW_FAULT_HYPERCALL   hw_hypercall returns HV_STATUS_INSUFFICIENT_
 *                        BUFFERS (0x13, TLFS: the host is short of
 *                        memory, retry later) without calling the inner
 *                        backend
 * The wrapper owns nothing the driver allocated: DMA memory still comes
 * from and returns to the inner backend.
 */
#ifndef TERN_TESTS_HW_FAULT_H
#define TERN_TESTS_HW_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/hw/hw.h"

enum hw_fault_kind {
	HW_FAULT_NONE,
	HW_FAULT_READ_ONES,
	HW_FAULT_TIME_JUMP,
	HW_FAULT_DMA_ALLOC,
	HW_FAULT_SYNC_BYTES,
	HW_FAULT_RAND,
	HW_FAULT_HYPERCALL,
};

#define HW_FAULT_HV_STATUS	0x13	/* HV_STATUS_INSUFFICIENT_BUFFERS */

struct hw_fault {
	const struct hw_ops *inner;
	void *inner_backend;
	enum hw_fault_kind kind;
	int countdown;		/* matching calls before the fault fires */
	bool once;		/* fire once, then pass through again */
	bool fired;		/* set when the fault first fired */
	uint64_t jump_ns;	/* accumulated time jump */
	uint64_t injected;	/* faults injected */
};

/* Wrap whatever backend d currently has.  `countdown` calls of the kind
   pass through; the next ones fault. */
void hw_fault_wrap(struct hw_fault *f, struct hw_dev *d, enum hw_fault_kind kind,
    int countdown, bool once);
/* Put the inner backend back. */
void hw_fault_unwrap(struct hw_fault *f, struct hw_dev *d);

extern const struct hw_ops hw_fault_ops;

const char *hw_fault_kind_name(enum hw_fault_kind kind);

/*
 * The fault loop every driver's fault test runs: for each kind from
 * `first` to `last`, call run(kind, countdown, ctx) for countdown 0, 1,
 * 2, ... until a run reports that its fault never fired (the scenario
 * made fewer calls of that kind than the countdown: every point has been
 * tried).  `run` sets up a fresh device, wraps it with hw_fault_wrap,
 * runs the scenario, checks what it must (freed memory, errors reported)
 * and returns whether the fault fired.  One line per kind on stdout,
 * prefixed by `what`.  Countdowns tried per kind go to runs[kind - first]
 * when runs is not NULL.  Returns 0, or the first kind still firing after
 * `max` countdowns (a scenario that never ends is a failure too).
 */
int hw_fault_loop(const char *what, enum hw_fault_kind first, enum hw_fault_kind last,
    int max, bool (*run)(enum hw_fault_kind kind, int countdown, void *ctx), void *ctx,
    int *runs);

#endif
