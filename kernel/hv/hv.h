/*
 * hv.h - Hyper-V enlightenments: detection (PROTOCOLS.md B.1), guest OS
 * id (B.3), the hypercall page and HvPostMessage/HvSignalEvent (B.4), the
 * SynIC message and event pages with the EOM rule (B.5), the reference
 * TSC page and TIME_REF_COUNT (B.6), the crash MSRs (B.2), and
 * synthetic timer 0 as the tick (B.6, hv_timer.c).
 *
 * Portable: every MSR, CPUID and hypercall goes through the hardware seam
 * on hv->dev, so the kernel and host tests (tests/vmbus/hv_sim.c) build
 * the same file.  One struct hv per machine (the VMBus connect CPU); the
 * caller owns it and zeroes it before hv_probe().
 *
 * Order: hv_probe, hv_hypercall_enable, hv_synic_init, hv_time_init (any
 * order after probe for the last); each checks its own CPUID privilege
 * and returns TERN_ENOTSUP, leaving the MSRs alone, when it is missing.
 * Nothing here blocks except hv_post_message's bounded retry.
 */
#ifndef TERN_HV_H
#define TERN_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/hv/hv_reg.h"
#include "kernel/hw/hw.h"

struct hv_stats {
	uint64_t msgs, msgs_bad, eoms, cmpxchg_lost;
	uint64_t posts, post_retries, post_fail, signals, signal_fail;
	uint64_t tsc_reads, tsc_retries, tsc_fallbacks;
};

struct hv {
	struct hw_dev *dev;		/* the "cpu" device all calls go through */
	uint32_t leaf[HV_CPUID_NLEAVES][4]; /* raw 0x40000000..0x4000000A */
	uint32_t max_leaf;
	uint32_t priv_lo, priv_hi, misc, recommend; /* leaf 3 EAX/EBX/EDX, 4 EAX */
	uint32_t vp_index;
	bool hypercall_on, synic_on, tsc_page_on;
	int vector;			/* SINT2 vector */
	struct hw_dma simp, siefp, tsc_page, post_page;
	uint64_t tsc_hz;		/* from TSC_FREQUENCY, 0 when not offered */
	uint32_t clock_seq;		/* TSC page sequence hv_clock_rate used */
	uint64_t clock_scale;		/* and the scale it gave */
	/* Reads the CPU's TSC (kernel: rdtsc; tests: the simulator).  MUST
	   be set before hv_time_init. */
	uint64_t (*read_tsc)(struct hw_dev *d);
	struct hv_stats st;
};

/* CPUID: Microsoft Hv vendor and the Hv#1 interface; fills hv->leaf and
   the feature words.  TERN_ENODEV when not Hyper-V. */
int hv_probe(struct hv *hv, struct hw_dev *d);
/* "HV version=<major>.<minor>.<build> features=<priv_lo>:<priv_hi>:<misc>
   rec=<recommend> max_leaf=<..>" (no "TERN ").  Returns the length. */
size_t hv_format(const struct hv *hv, char *buf, size_t n);
/* tern's guest OS id (B.3, open-source format). */
uint64_t hv_guest_os_id(void);

/*
 * Write the guest OS id, then HYPERCALL = page_pa | 1 (preserving bits
 * 11:1) and read it back.  `page_pa` is a page the caller mapped
 * executable (kernel: exec_page_alloc) and installs with
 * hw_hypercall_set_page after this returns TERN_OK.  TERN_ENOTSUP without
 * the hypercall privilege, TERN_EIO when the enable bit did not stick.
 */
int hv_hypercall_enable(struct hv *hv, uint64_t page_pa);
/* Disable the hypercall page and clear the guest OS id. */
void hv_hypercall_disable(struct hv *hv);

/*
 * SynIC on this CPU: zeroed message and event pages (SIMP, SIEFP), the
 * post-message input page, SINT2 = `vector` (16..255, unmasked, no
 * AutoEOI: the kernel's interrupt path always EOIs the LAPIC), SCONTROL
 * enable.  Needs the hypercall page.  Undone by hv_synic_fini.
 */
int hv_synic_init(struct hv *hv, int vector);
void hv_synic_fini(struct hv *hv);

/*
 * Take the message in SINT `sint`'s slot (B.5): copy it to *out, free
 * the slot with a compare-exchange, full barrier, then EOM if the host
 * flagged more pending.  TERN_EAGAIN when the slot is empty; TERN_EPROTO
 * (slot still freed, counted) when payload_size exceeds 240.
 */
int hv_msg_take(struct hv *hv, unsigned sint, struct hv_message *out);
/* Atomically test and clear event flag `bit` of SINT `sint`. */
bool hv_event_test_clear(struct hv *hv, unsigned sint, uint32_t bit);

/*
 * HvPostMessage of `len` (<= 240) bytes to `conn_id`, message type 1.
 * Retries INSUFFICIENT_MEMORY/BUFFERS up to 100 times with a growing
 * delay (bounded, about 100 ms in all).  *status gets the last
 * hypervisor status.  TERN_OK on success, TERN_EIO otherwise.
 */
int hv_post_message(struct hv *hv, uint32_t conn_id, const void *msg,
    size_t len, uint16_t *status);
/* HvSignalEvent (fast) on `conn_id`, flag 0.  TERN_OK or TERN_EIO. */
int hv_signal_event(struct hv *hv, uint32_t conn_id);

/*
 * Time: map the reference TSC page when offered, read TSC_FREQUENCY when
 * offered (hv->tsc_hz, 0 otherwise).  TERN_ENOTSUP when neither the page
 * nor TIME_REF_COUNT is offered.
 */
int hv_time_init(struct hv *hv);
void hv_time_fini(struct hv *hv);
/*
 * Partition reference time in 100 ns units: from the TSC page with the
 * sequence check (up to 8 tries), else TIME_REF_COUNT (counted as a
 * fallback).  TERN_ENOTSUP when there is no source.
 */
int hv_ref_time(struct hv *hv, uint64_t *t100ns);
/* "hv-tsc-page", "hv-ref-count" or "none". */
const char *hv_clock_source(const struct hv *hv);

/* Crash MSRs (CPUID 0x40000003 EDX bit 10): P0..P4 then CTL notify.
   Returns false when the host does not offer them. */
bool hv_crash_report(struct hv *hv, const uint64_t p[5]);

/*
 * The panic hook's report (hv_kern.c installs it): P0 = "TERNPANC"
 * (0x5445524e50414e43), P1..P4 = the first 32 bytes of `reason`
 * (zero-padded, little-endian words), then CTL notify.  False when the
 * host does not offer the crash MSRs.
 */
bool hv_crash_report_reason(struct hv *hv, const char *reason);
#define HV_CRASH_P0_TERN	0x5445524e50414e43ull	/* "TERNPANC" */

/*
 * TSC rate for the kernel clock (hv_kern.c's hand-over): from the
 * reference TSC page's scale while its sequence is valid and stable
 * (*scale set, returns "hv-tsc-page"), else from the frequency MSR
 * (*hz set, "hv-tsc-freq"), else NULL.  Remembers the sequence it used:
 * hv_clock_rate_changed() then says whether the host rewrote the page
 * since (a live migration) and gives the new scale.
 */
const char *hv_clock_rate(struct hv *hv, uint64_t *scale, uint64_t *hz);
bool hv_clock_rate_changed(struct hv *hv, uint64_t *scale);

/*
 * Synthetic timer 0 as the tick (B.6, hv_timer.c).  Direct mode (the
 * timer raises `vector` itself) when CPUID 0x40000003 EDX bit 19 offers
 * it, else message mode: HVMSG_TIMER_EXPIRED in SINT3's slot of the
 * SynIC message page, SINT3 = `vector` (needs hv_synic_init first).
 * Periodic, or a one-shot re-armed from hv_stimer_isr at the absolute
 * reference time of the next tick (needs hv_ref_time).
 */
enum { HV_STIMER_OFF = 0, HV_STIMER_MODE_DIRECT, HV_STIMER_MODE_MESSAGE };

struct hv_stimer {
	struct hv *hv;
	int mode;			/* HV_STIMER_OFF when not running */
	bool periodic;
	int vector;
	uint64_t period;		/* 100 ns units */
	uint64_t next;			/* one-shot: expiry armed (100 ns) */
	uint64_t ticks, spurious, msgs_bad, late, rearm_fail;
};

/*
 * Start timer 0 at `hz` (1..10000) on `vector` (16..255).  TERN_ENOTSUP
 * (nothing written) without the timer privilege (EAX bit 3), or in
 * message mode without a SynIC; TERN_EIO when the enable bit does not
 * read back; TERN_EINVAL on bad arguments.
 */
int hv_stimer_start(struct hv_stimer *t, struct hv *hv, int vector,
    uint32_t hz, bool periodic);
/* The timer's interrupt: returns the ticks to account (0 or 1).  In
   message mode takes SINT3's message (EOM rule included); a spurious
   interrupt or a message that is not timer 0's expiry is counted, not a
   tick.  A one-shot is re-armed. */
unsigned hv_stimer_isr(struct hv_stimer *t);
/* Stop the timer (CONFIG 0, COUNT 0) and mask SINT3 in message mode. */
void hv_stimer_stop(struct hv_stimer *t);
/* "direct", "message" or "off". */
const char *hv_stimer_mode_name(int mode);

/*
 * Kernel glue (hv_kern.c), called from the composition root after
 * platform_detect: does nothing (TERN_ENODEV) unless CPUID offers the
 * Hyper-V hypercall interface.  hv_kern() is the brought-up state for
 * the VMBus, NULL without a SynIC.  Built into the kernel, and on the
 * host only by tests/vmbus/test_hv_kern.c.
 */
int hv_kern_init(void);
struct hv *hv_kern(void);
/* Thread context: hand a changed reference TSC page rate (live
   migration) to the kernel clock.  Called from vmbus_kern_poll. */
void hv_kern_clock_poll(void);

#endif /* TERN_HV_H */
