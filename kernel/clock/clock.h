/*
 * clock.h - choosing the kernel's reference clock and calibrating the TSC
 * against it (issue 3 "Clocks").
 *
 * The kernel clock (kernel/time.h) always reads the TSC; what varies is
 * how its rate is known and whether it can be trusted:
 *   kvmclock  KVM signature + clocksource feature bit (EC2 Nitro, KVM):
 *             the rate comes from the pvclock page (mul/shift);
 *   tsc       invariant TSC (CPUID 0x80000007 EDX[8]): calibrated against
 *             the HPET, else the ACPI PM timer;
 *   hpet      no invariant TSC but an HPET: HPET is the trustworthy
 *             reference, the TSC is still calibrated against it;
 *   pmtimer   likewise with the ACPI PM timer (Hyper-V has no HPET).
 * clock_init() prints "TERN CLOCK source=<s> hz=<n>", hz being the rate of
 * the chosen source (the TSC rate for tsc and kvmclock).
 *
 * The Hyper-V reference TSC page (PROTOCOLS.md B.6) is a slot for the
 * VMBus work: once it has mapped the page (only if
 * platform_has_hyperv_ref_tsc()), it calls clock_hv_ref_tsc(scale) which
 * derives the TSC rate from the page's scale and hands it to time.
 *
 * The pure helpers below are host-tested (tests/platform/test_clock.c).
 */
#ifndef TERN_CLOCK_H
#define TERN_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

enum clock_source {
	CLOCK_TSC = 0,
	CLOCK_KVMCLOCK,
	CLOCK_HPET,
	CLOCK_PMTIMER,
};

struct clock_caps {
	bool kvmclock;		/* platform_has_kvmclock() */
	bool invariant_tsc;
	bool hpet;		/* usable HPET found */
	bool pmtimer;		/* ACPI PM timer present */
};

/* Pick the source from the capabilities (rules above). */
int clock_choose(const struct clock_caps *caps);
const char *clock_source_name(int source);

/* tsc_delta ticks elapsed while the reference advanced ref_delta ticks of
   a ref_hz clock: the TSC rate; 0 when ref_delta is 0. */
uint64_t clock_ratio_hz(uint64_t tsc_delta, uint64_t ref_delta,
    uint64_t ref_hz);
/* TSC rate implied by a pvclock page (ns = ((tsc << shift) * mul) >> 32,
   shift negative meaning a right shift). 0 if mul is 0. */
uint64_t clock_pvclock_tsc_hz(uint32_t mul, int8_t shift);
/* TSC rate implied by a Hyper-V reference TSC page scale
   (100ns = (tsc * scale) >> 64).  0 if scale is 0. */
uint64_t clock_hv_scale_tsc_hz(uint64_t scale);
/* HPET counter rate from the GCAP_ID period in femtoseconds; 0 when the
   period is outside the spec's (0, 100 ns] range. */
uint64_t clock_hpet_hz(uint32_t period_fs);

/*
 * A long calibration window taken in the background.  The boot measures
 * the TSC against the HPET or PM timer over at least CLOCK_QUICK_MS
 * (from clock_init to clock_settle, the buses' attach in between); the
 * window opened then is closed once CLOCK_WINDOW_MIN_MS have passed
 * (from the scheduler loop's service hook), giving the rate over that
 * much longer span at no cost to the boot.
 */
#define CLOCK_QUICK_MS		1
#define CLOCK_WINDOW_MIN_MS	250
#define CLOCK_WINDOW_AGREE_PPM	20000	/* 2 %: more is a stall or a pause */

struct clock_window {
	uint64_t tsc0, ref0;	/* samples at the start */
	uint64_t ref_hz, ref_mask;
	uint64_t last_hz;	/* the rate a restarted window measured (0: none) */
	uint64_t last_ms;	/* and over how long */
	bool open;
};

void clock_window_open(struct clock_window *w, uint64_t tsc, uint64_t ref,
    uint64_t ref_hz, uint64_t ref_mask);
/* The rate over the window from its start to (tsc, ref), with the rate in
   use `cur_hz` judging how much time passed: 0 while shorter than
   CLOCK_WINDOW_MIN_MS.  A window longer than half the reference's wrap
   period (a wrap could hide) or whose rate disagrees with cur_hz by more
   than CLOCK_WINDOW_AGREE_PPM (the reference stalled, or the VM was
   paused between the samples) gives 0 too, and starts again from
   (tsc, ref); *restarted says so.  A rate returned closes the window. */
uint64_t clock_window_close(struct clock_window *w, uint64_t tsc,
    uint64_t ref, uint64_t cur_hz, bool *restarted);

#if defined(TERN_KERNEL)
/* Choose, print TERN CLOCK, and take the first pair of the quick TSC
   measurement.  Needs acpi_init() and platform_detect() first.  Never
   fails (keeps the PIT calibration when no better reference answers). */
void clock_init(void);
/* Closes the quick measurement once CLOCK_QUICK_MS of the reference
   passed since clock_init (the boot's work between them fills it; what
   it did not is waited for) and opens the background window; keeps a
   rate the host gave meanwhile (Hyper-V).  Once, after the buses. */
void clock_settle(void);
/* The source chosen by clock_init(). */
int clock_source(void);
/* Recalibrate the TSC against the HPET or PM timer now (`ms` of it);
   returns the rate or 0 when neither answers. */
uint64_t clock_calibrate_tsc(unsigned ms);
/* Closes clock_init's background calibration window when it is due and
   hands the refined rate to the kernel clock; cheap when there is none.
   Thread context (the scheduler's service hook). */
void clock_refine(void);
/* Slot for vmbus/: the Hyper-V reference TSC page is live with `scale`. */
void clock_hv_ref_tsc(uint64_t scale);
#endif

#endif /* TERN_CLOCK_H */
